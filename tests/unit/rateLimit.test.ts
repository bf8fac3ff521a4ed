import { describe, expect, it } from 'vitest';
import { RateLimit } from '../../src/server/ma/rateLimit.js';

describe('RateLimit', () => {
  it('allows a burst, refuses beyond it, refills at its rate, and closes a client that keeps flooding', () => {
    let now = 0;
    const limit = new RateLimit(10, 5, 3, () => now);
    expect(Array.from({ length: 5 }, () => limit.take())).toEqual(['allow', 'allow', 'allow', 'allow', 'allow']);
    expect(limit.take()).toBe('refuse');
    now += 100; // 10 per second: one more token
    expect(limit.take()).toBe('allow');
    expect(limit.take()).toBe('refuse');
    // The third refusal within the window closes, though a request got through in between.
    expect(limit.take()).toBe('close');
  });

  it('forgets refusals once a window has passed: a client that slowed down is not closed', () => {
    let now = 0;
    const limit = new RateLimit(10, 1, 3, () => now, 1_000);
    expect([limit.take(), limit.take(), limit.take()]).toEqual(['allow', 'refuse', 'refuse']);
    now += 1_000;
    expect([limit.take(), limit.take(), limit.take()]).toEqual(['allow', 'refuse', 'refuse']);
  });

  it('never holds more than its burst however long it was idle', () => {
    let now = 0;
    const limit = new RateLimit(10, 2, 100, () => now);
    now += 60_000;
    expect([limit.take(), limit.take(), limit.take()]).toEqual(['allow', 'allow', 'refuse']);
  });
});
