// Liveness: the death judgement each node makes from its own observations, on a manual clock.
import { describe, expect, it } from 'vitest';
import { Liveness } from '../../src/server/cluster/liveness.js';

const DEAD = 6_000;
const GAP = 4_000;

function watch() {
  let now = 0;
  const liveness = new Liveness(DEAD, GAP, () => now);
  /** Advances the clock in heartbeat steps, this node's own heartbeat coming back at each. */
  const run = (ms: number, step = 2_000) => {
    for (let t = 0; t < ms; t += step) {
      now += Math.min(step, ms - t);
      liveness.ownHeartbeat();
    }
  };
  return { liveness, run, advance: (ms: number) => (now += ms) };
}

describe('Liveness', () => {
  it('judges a node dead after deadMs of silence, once', () => {
    const { liveness, run } = watch();
    liveness.ownHeartbeat();
    liveness.heard('b', 'b1');
    run(5_000, 1_000);
    expect(liveness.dead()).toEqual([]);
    run(1_000, 1_000);
    expect(liveness.dead()).toEqual([{ nodeId: 'b', incarnation: 'b1', silentMs: 6_000 }]);
    expect(liveness.dead()).toEqual([]);
  });

  it('keeps a node that beats alive', () => {
    const { liveness, run } = watch();
    liveness.ownHeartbeat();
    for (let i = 0; i < 10; i++) {
      liveness.heard('b', 'b1');
      run(2_000);
      expect(liveness.dead()).toEqual([]);
    }
  });

  it('judges nobody while its own path through Redis is down, and counts silence only from when it works again', () => {
    const { liveness, run, advance } = watch();
    liveness.ownHeartbeat();
    liveness.heard('b', 'b1');
    run(2_000);
    liveness.disconnected(); // Redis restarted: nothing heard for 20 s
    advance(20_000);
    expect(liveness.dead()).toEqual([]);
    liveness.ownHeartbeat(); // back: b has not beaten for 22 s, but we could not have heard it
    run(5_000, 1_000);
    expect(liveness.dead()).toEqual([]);
    run(1_000, 1_000);
    expect(liveness.dead().map((l) => l.nodeId)).toEqual(['b']);
  });

  it('treats a gap in its own heartbeats (a stalled process, a frozen Redis) as an outage', () => {
    const { liveness, run, advance } = watch();
    liveness.ownHeartbeat();
    liveness.heard('b', 'b1');
    advance(GAP + 1); // own heartbeat late: not healthy now
    expect(liveness.healthyFor()).toBe(0);
    advance(10_000);
    expect(liveness.dead()).toEqual([]);
    liveness.ownHeartbeat();
    liveness.heard('b', 'b1'); // the buffered beat arrives
    run(6_000);
    expect(liveness.dead().map((l) => l.nodeId)).toEqual(['b']);
  });

  it('watches a node listed in the registry from when it was listed', () => {
    const { liveness, run } = watch();
    liveness.ownHeartbeat();
    run(6_000);
    liveness.listed('c', 'c1');
    run(4_000);
    expect(liveness.dead()).toEqual([]);
    run(2_000);
    expect(liveness.dead().map((l) => l.nodeId)).toEqual(['c']);
  });

  it('reports the process a node replaced when it comes back as another incarnation', () => {
    const { liveness } = watch();
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'new' });
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'alive' });
    expect(liveness.heard('b', 'b2')).toEqual({ kind: 'restarted', replaced: 'b1' });
  });

  it('says a node judged dead is back when the same process beats again, and watches it again', () => {
    const { liveness, run } = watch();
    liveness.ownHeartbeat();
    liveness.heard('b', 'b1');
    liveness.heard('c', 'c1');
    run(6_000);
    expect(liveness.dead().map((l) => l.nodeId)).toEqual(['b', 'c']);
    // b had stalled (SIGSTOP, a long GC pause): its process beats again.
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'back' });
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'alive' });
    // c really died and was started again under its id: a new node, not one back.
    expect(liveness.heard('c', 'c2')).toEqual({ kind: 'new' });
    run(6_000);
    expect(liveness.dead().map((l) => l.nodeId)).toEqual(['b', 'c']);
    // Judged dead a second time, back a second time; a judgement is answered once.
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'back' });
    // ...unless b could not be told (not subscribed again yet): back again at its next beat.
    liveness.untold('b', 'b1');
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'back' });
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'alive' });
    liveness.forget('b');
    expect(liveness.heard('b', 'b1')).toEqual({ kind: 'new' });
    // The old c process is not back once another was heard under its id.
    expect(liveness.heard('c', 'c1')).toEqual({ kind: 'new' });
  });

  it('forgets a node that left', () => {
    const { liveness, run } = watch();
    liveness.ownHeartbeat();
    liveness.heard('b', 'b1');
    expect(liveness.forget('b')).toEqual({ nodeId: 'b', incarnation: 'b1' });
    expect(liveness.forget('b')).toBeUndefined();
    run(10_000);
    expect(liveness.dead()).toEqual([]);
  });
});
