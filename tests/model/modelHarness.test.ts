// The harness itself must be able to fail: an unreachable state or transition is reported, a run
// whose implementation does not do what the oracle says throws, and so does a run of a machine
// whose graph is self-consistent but wrong (the oracle, not the machine, says what is right).
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup, type AnyStateMachine, type EventObject } from 'xstate';
import { definitionTotals, planPaths, runPath, testModel, uncovered, type ModelSpec, type Oracle } from './modelHarness.js';

/** A switch that, once on, does some work and is then done. */
function toggleMachine(flipTarget: 'on' | 'done' = 'on') {
  return setup({
    actors: { work: fromPromise(async () => 'ok') },
    guards: { never: () => false },
  }).createMachine({
    id: 'toggle',
    initial: 'off',
    states: {
      off: { on: { flip: flipTarget, jump: { guard: 'never', target: 'unreachable' } } },
      on: { invoke: { id: 'work', src: 'work', onDone: 'done' }, on: { flip: 'off' } },
      done: { type: 'final' },
      unreachable: {},
    },
  });
}

/** The user's view, by hand: flip turns it on (working) or off; work finishing makes it done. */
class ToggleOracle implements Oracle {
  state = 'off';
  expected() {
    return this.state;
  }
  apply(event: EventObject): boolean {
    if (this.state === 'done') return false;
    if (event.type === 'flip') this.state = this.state === 'off' ? 'on' : 'off';
    else if (event.type === 'xstate.done.actor.work' && this.state === 'on') this.state = 'done';
    else return false;
    return true;
  }
}

/** The implementation: an actor of `machine` whose work finishes when the test says. */
function spec(machine: AnyStateMachine): ModelSpec {
  return {
    name: 'toggle',
    machine,
    serialize: (s) => JSON.stringify(s.value),
    table: false,
    start: async (probe) => {
      let finish: (() => void) | undefined;
      const actor = createActor(
        machine.provide({ actors: { work: fromPromise(() => new Promise<string>((resolve) => (finish = () => resolve('ok')))) } }),
        { inspect: probe.inspect },
      ).start();
      probe.see(actor.getSnapshot());
      return {
        run: {
          act: (event) => (event.type === 'flip' ? actor.send(event) : finish!()),
          observe: () => (actor.getSnapshot().status === 'done' ? 'done' : String(actor.getSnapshot().value)),
          stop: async () => void actor.stop(),
        },
        oracle: new ToggleOracle(),
      };
    },
  };
}

describe('modelHarness', () => {
  it('counts state nodes and transitions from the definition', () => {
    const totals = definitionTotals(toggleMachine());
    expect(totals.stateNodes).toEqual(['toggle', 'toggle.off', 'toggle.on', 'toggle.done', 'toggle.unreachable']);
    expect(totals.transitions).toHaveLength(4);
  });

  it('counts what the real actor did, and reports what no path reaches', async () => {
    const coverage = await testModel(spec(toggleMachine()));
    expect(uncovered(coverage)).toEqual({ stateNodes: ['toggle.unreachable'], transitions: ['toggle.off --jump'] });
    expect(coverage.coveredTransitions).toEqual(new Set(['toggle.off --flip', 'toggle.on --flip', 'toggle.on --xstate.done.actor.work']));
  });

  it('fails a run whose implementation does not do what the oracle says', async () => {
    const good = spec(toggleMachine());
    const toDone = planPaths(good).paths.find((p) => p.steps.at(-1)?.event.type === 'xstate.done.actor.work')!;
    await expect(runPath(good, toDone)).resolves.toEqual({ steps: 2, skipped: 0 });
    // the implementation's actor ignores `flip`: the path is the good machine's, the run fails
    const deaf = setup({ actors: { work: fromPromise(async () => 'ok') } }).createMachine({ id: 'toggle', initial: 'off', states: { off: {}, on: {}, done: {} } });
    await expect(runPath({ ...good, start: spec(deaf).start }, toDone)).rejects.toThrow(/after step 1 \(flip .*\n\s+expected "on"\n\s+actual\s+"off"/);
  });

  it('fails a wrong machine even though its own graph agrees with it', async () => {
    // `flip` goes straight to `done`: planned from this machine, run against it, judged by the oracle
    const wrong = spec(toggleMachine('done'));
    await expect(testModel(wrong)).rejects.toThrow(/expected "on"\n\s+actual\s+"done"/);
  });
});
