// Every machine of the product has a model-based test, and the coverage table flags what is not
// covered (the table itself: coverageReporter.ts, printed by `npm run test:model`).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { coverageTable, productMachines } from './coverageReporter.js';
import type { CoverageRecord } from './modelHarness.js';

const here = dirname(fileURLToPath(import.meta.url));

const record = (machine: string, states: [number, number], transitions: [number, number]): CoverageRecord => ({
  machine,
  explored: 10,
  paths: 3,
  stateNodes: { covered: states[0], total: states[1], uncovered: states[0] < states[1] ? [`${machine}.lost`] : [] },
  transitions: { covered: transitions[0], total: transitions[1], uncovered: transitions[0] < transitions[1] ? [`${machine}.x --go`] : [] },
});

describe('model coverage', () => {
  it.each(productMachines())('%s has a model-based test that plans and runs its paths', (machine) => {
    const text = readFileSync(join(here, `${machine}.test.ts`), 'utf8');
    expect(text).toContain(`from '../../machines/${machine}.js'`);
    expect(text).toMatch(/testModel\(/);
    expect(text).toMatch(/uncovered\(coverage\)\)\.toEqual\(\{ stateNodes: \[\], transitions: \[\] \}\)/);
  });

  it('the table is complete only when every machine ran at 100% of both', () => {
    const full = coverageTable([record('aMachine', [5, 5], [7, 7]), record('bMachine', [3, 3], [2, 2])], ['aMachine', 'bMachine']);
    expect(full.complete).toBe(true);
    expect(full.text).toMatch(/aMachine\s+10\s+3\s+5\/5\s+100%\s+7\/7\s+100%\s+ok/);
    expect(full.text).toMatch(/total\s+8\/8\s+100%\s+9\/9\s+100%\s+ok/);

    const partial = coverageTable([record('aMachine', [4, 5], [7, 7])], ['aMachine']);
    expect(partial.complete).toBe(false);
    expect(partial.text).toContain('aMachine: state node not covered: aMachine.lost');
    expect(partial.text).toMatch(/4\/5\s+80%.*UNCOVERED/);

    const missing = coverageTable([record('aMachine', [5, 5], [7, 7])], ['aMachine', 'bMachine']);
    expect(missing.complete).toBe(false);
    expect(missing.text).toMatch(/bMachine.*NOT TESTED/);
  });
});
