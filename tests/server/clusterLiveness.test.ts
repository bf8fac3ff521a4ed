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
    expect(liveness.heard('b', 'b1')).toBeUndefined();
    expect(liveness.heard('b', 'b1')).toBeUndefined();
    expect(liveness.heard('b', 'b2')).toBe('b1');
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
