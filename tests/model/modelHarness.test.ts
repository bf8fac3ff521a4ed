// The harness itself must be able to fail: an unreachable state or transition is reported, and a
// run that does not follow the graph's prediction throws.
import { describe, expect, it } from 'vitest';
import { createMachine, fromPromise, setup } from 'xstate';
import { definitionTotals, planPaths, runPath, testModel, uncovered, type ModelSpec } from './modelHarness.js';

const toggle = setup({
  actors: { work: fromPromise(async () => 'ok') },
  guards: { never: () => false },
}).createMachine({
  id: 'toggle',
  initial: 'off',
  states: {
    off: { on: { flip: 'on', jump: { guard: 'never', target: 'unreachable' } } },
    on: { invoke: { id: 'work', src: 'work', onDone: 'done' }, on: { flip: 'off' } },
    done: { type: 'final' },
    unreachable: {},
  },
});

const spec: ModelSpec = { name: 'toggle', machine: toggle, serialize: (s) => JSON.stringify(s.value), table: false };

describe('modelHarness', () => {
  it('counts state nodes and transitions from the definition', () => {
    const totals = definitionTotals(toggle);
    expect(totals.stateNodes).toEqual(['toggle', 'toggle.off', 'toggle.on', 'toggle.done', 'toggle.unreachable']);
    expect(totals.transitions).toHaveLength(4);
  });

  it('reports what no path reaches', async () => {
    const coverage = await testModel(spec);
    expect(uncovered(coverage)).toEqual({ stateNodes: ['toggle.unreachable'], transitions: ['toggle.off --jump'] });
  });

  it('fails a run that does not reach the predicted state', async () => {
    const { paths } = planPaths(spec);
    const toDone = paths.find((p) => p.steps.at(-1)?.event.type === 'xstate.done.actor.work')!;
    expect(toDone).toBeDefined();
    await expect(runPath(spec, toDone)).resolves.toBeDefined();
    // the same path against a machine whose `flip` goes nowhere
    const broken = createMachine({ id: 'toggle', initial: 'off', states: { off: {}, on: {}, done: {}, unreachable: {} } });
    await expect(runPath({ ...spec, machine: broken }, toDone)).rejects.toThrow(/expected "on"/);
  });
});
