// The generated docs are the machines: regenerated here in memory, they must equal what is
// committed (`npm run docs` updates them), and the generator must show every state and transition.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { notifications } from '../../src/protocol/messages.js';
import { requests } from '../../src/protocol/requests.js';
import { allNodes, childSystemIds, edges, generateDocs, machines, mermaid, type DocsSources } from '../../scripts/docs.js';
import { clientMachine } from '../../machines/clientMachine.js';
import { definitionTotals } from '../model/modelHarness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path: string): string | undefined => {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
};
const sources = (): DocsSources => ({ protocolMd: read('docs/protocol.md') ?? '', messagesTs: read('src/protocol/messages.ts') ?? '', requestsTs: read('src/protocol/requests.ts') ?? '' });

describe('generated docs', () => {
  it('every committed generated file is up to date (run `npm run docs` when this fails)', () => {
    const files = generateDocs(sources());
    expect(Object.keys(files).sort()).toEqual(
      [...Object.keys(machines).map((m) => `docs/machines/${m}.md`), 'docs/machines/README.md', 'docs/protocol.md'].sort(),
    );
    const stale = Object.entries(files)
      .filter(([path, content]) => read(path) !== content)
      .map(([path]) => path);
    expect(stale, `stale generated docs: run \`npm run docs\``).toEqual([]);
  });

  it.each(Object.entries(machines))('%s: the diagram shows every state node and the table every transition', (name, { machine, source }) => {
    const page = generateDocs(sources())[`docs/machines/${name}.md`]!;
    const diagram = mermaid(machine);
    const totals = definitionTotals(machine);
    // every state node except the root is a Mermaid state
    for (const node of allNodes(machine).slice(1)) expect(diagram).toContain(`as ${node.id.replace(/[^A-Za-z0-9_]/g, '_')}`);
    // the same transitions the model-based tests count, one table row each
    expect(edges(machine)).toHaveLength(totals.transitions.length);
    const rows = page.split('## Transitions')[1]!.split('## Actors')[0]!.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(totals.transitions.length);
    // every transition with a target is an edge of the diagram
    const targeted = edges(machine).reduce((n, e) => n + e.targets.length, 0);
    expect(diagram.split('\n').filter((l) => / --> (?!\[\*\])/.test(l) && !l.trim().startsWith('[*]'))).toHaveLength(targeted);
    expect(page).toContain(source);
  });

  it('draws a statechart as Mermaid: initial, final, parallel regions, guards, delays, invoke done/error', () => {
    const toy = setup({
      actors: { work: fromPromise(async () => 1) },
      guards: { ok: () => true },
      delays: { soon: 10 },
    }).createMachine({
      id: 'toy',
      initial: 'idle',
      states: {
        idle: { on: { go: { guard: 'ok', target: 'busy' }, poke: { actions: () => {} } }, after: { soon: 'busy' } },
        busy: {
          type: 'parallel',
          states: {
            a: { initial: 'x', states: { x: { invoke: { id: 'work', src: 'work', onDone: 'y', onError: '#toy.done' } }, y: {} } },
            b: { initial: 'z', states: { z: {} } },
          },
        },
        done: { type: 'final' },
      },
    });
    expect(mermaid(toy)).toBe(
      [
        'stateDiagram-v2',
        '  state "idle" as toy_idle',
        '  state "busy" as toy_busy',
        '  state toy_busy {',
        '    state "a" as toy_busy_a',
        '    state toy_busy_a {',
        '      state "x" as toy_busy_a_x',
        '      toy_busy_a_x: invoke work',
        '      state "y" as toy_busy_a_y',
        '      [*] --> toy_busy_a_x',
        '      toy_busy_a_x --> toy_busy_a_y: done work',
        '    }',
        '    --',
        '    state "b" as toy_busy_b',
        '    state toy_busy_b {',
        '      state "z" as toy_busy_b_z',
        '      [*] --> toy_busy_b_z',
        '    }',
        '  }',
        '  state "done" as toy_done',
        '  [*] --> toy_idle',
        '  toy_done --> [*]',
        '  toy_idle --> toy_busy: go [ok]',
        '  toy_idle --> toy_busy: after soon',
        '  toy_busy_a_x --> toy_done: error work',
      ].join('\n'),
    );
    // the targetless `poke` is a row of the table, not an edge
    expect(edges(toy).map((e) => `${e.label}${e.targets.length ? '' : ' (no target)'}`)).toContain('poke (no target)');
  });

  it('names the systemId of every child machine of the root', () => {
    const childMachines = Object.entries(clientMachine.implementations.actors as Record<string, { root?: unknown }>)
      .filter(([, logic]) => logic.root)
      .map(([src]) => src);
    expect(childMachines.length).toBeGreaterThanOrEqual(5);
    for (const src of childMachines) expect(childSystemIds[src], `docs: childSystemIds has no entry for '${src}'`).toBeDefined();
  });

  it('docs/protocol.md lists every request and notification of the schemas, and keeps its prose', () => {
    const text = generateDocs(sources())['docs/protocol.md']!;
    for (const method of Object.keys(requests)) expect(text).toMatch(new RegExp(`^\\| \`${method}\` \\|`, 'm'));
    for (const method of Object.keys(notifications)) expect(text).toMatch(new RegExp(`^\\| \`${method}\` \\|`, 'm'));
    expect(text).toContain('## The sequence');
    expect(() => generateDocs({ ...sources(), protocolMd: '# no markers' })).toThrow(/markers/);
  });
});
