// The table `npm run test:model` ends with: per machine, the state nodes and transitions of its
// definition that the real actors covered in the model-based runs (coverage.test.ts). Each run
// records its coverage in its test's meta (modelHarness.ts `testModel`); this reporter collects
// them once every file ran.
//   vitest run tests/model --reporter=default --reporter=./tests/model/coverageReporter.ts
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestModule } from 'vitest/node';
import type { CoverageRecord } from './modelHarness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The machines of the product: every `machines/*Machine.ts`. */
export function productMachines(dir = join(root, 'machines')): string[] {
  return readdirSync(dir)
    .filter((f) => /Machine\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

const pct = (covered: number, total: number) => (total === 0 ? 100 : Math.floor((covered / total) * 1000) / 10);

/** The table as text; `complete` is false when a machine is below 100% or was not tested. */
export function coverageTable(records: CoverageRecord[], machines: string[]): { text: string; complete: boolean } {
  const byName = new Map(records.map((r) => [r.machine, r]));
  const names = [...new Set([...machines, ...records.map((r) => r.machine)])];
  const header = ['machine', 'graph states', 'paths', 'steps run', 'state nodes', '%', 'transitions', '%', ''];
  const rows: string[][] = [];
  let complete = true;
  for (const name of names) {
    const r = byName.get(name);
    if (!r) {
      complete = false;
      rows.push([name, '–', '–', '–', '–', '', '–', '', 'NOT TESTED']);
      continue;
    }
    const full = r.stateNodes.covered === r.stateNodes.total && r.transitions.covered === r.transitions.total;
    if (!full) complete = false;
    rows.push([
      name,
      String(r.explored),
      String(r.paths),
      // steps done against the implementation / steps planned (the rest: the oracle says they cannot happen there)
      r.steps === undefined ? '–' : `${r.steps - (r.skipped ?? 0)}/${r.steps}`,
      `${r.stateNodes.covered}/${r.stateNodes.total}`,
      `${pct(r.stateNodes.covered, r.stateNodes.total)}%`,
      `${r.transitions.covered}/${r.transitions.total}`,
      `${pct(r.transitions.covered, r.transitions.total)}%`,
      full ? 'ok' : 'UNCOVERED',
    ]);
  }
  const total = (key: 'stateNodes' | 'transitions') =>
    records.reduce((a, r) => [a[0]! + r[key].covered, a[1]! + r[key].total], [0, 0] as number[]);
  const [sc, st] = total('stateNodes');
  const [tc, tt] = total('transitions');
  rows.push(['total', '', '', '', `${sc}/${st}`, `${pct(sc!, st!)}%`, `${tc}/${tt}`, `${pct(tc!, tt!)}%`, complete ? 'ok' : 'INCOMPLETE']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = ['Model-based coverage (state nodes and transitions of each machine definition):', '', line(header), line(widths.map((w) => '-'.repeat(w)))];
  for (const [i, r] of rows.entries()) {
    if (i === rows.length - 1) out.push(line(widths.map((w) => '-'.repeat(w))));
    out.push(line(r));
  }
  for (const r of records) {
    for (const n of r.stateNodes.uncovered) out.push(`  ${r.machine}: state node not covered: ${n}`);
    for (const t of r.transitions.uncovered) out.push(`  ${r.machine}: transition not covered: ${t}`);
  }
  return { text: out.join('\n'), complete };
}

export default class CoverageReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const records: CoverageRecord[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const meta = test.meta() as { modelCoverage?: CoverageRecord[] };
        records.push(...(meta.modelCoverage ?? []));
      }
    }
    // a filtered run (one file, `-t`) shows what ran; a run of every model test must show all
    const ranAll = testModules.some(
      (m) => m.moduleId.endsWith('coverage.test.ts') && [...m.children.allTests()].every((t) => t.result().state !== 'skipped'),
    );
    const { text, complete } = coverageTable(records, ranAll ? productMachines() : []);
    process.stdout.write(`\n${text}\n\n`);
    if (!complete) process.exitCode = 1;
  }
}
