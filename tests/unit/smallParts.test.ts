import { describe, expect, it, vi } from 'vitest';
import { defaults } from '../../src/client/defaults.js';
import { MediaInfraError } from '../../src/client/MediaInfraError.js';
import { backoffPolicy } from '../../src/client/ReconnectPolicy.js';
import { TypedEmitter } from '../../src/client/TypedEmitter.js';

class Emitter extends TypedEmitter<{ a: [n: number]; b: [] }> {
  fire<K extends 'a' | 'b'>(event: K, ...args: { a: [number]; b: [] }[K]) {
    this.emit(event, ...args);
  }
}

describe('TypedEmitter', () => {
  it('on / once / off, and a throwing listener does not stop the others', () => {
    const e = new Emitter();
    const seen: string[] = [];
    const a = (n: number) => seen.push(`a${n}`);
    e.on('a', a);
    e.once('a', (n) => seen.push(`once${n}`));
    e.on('b', () => {
      throw new Error('boom');
    });
    e.on('b', () => seen.push('b'));
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    e.fire('a', 1);
    e.fire('a', 2);
    e.off('a', a);
    e.fire('a', 3);
    e.fire('b');
    expect(seen).toEqual(['a1', 'once1', 'a2', 'b']);
    expect(error).toHaveBeenCalledOnce();
    error.mockRestore();
  });
});

describe('backoffPolicy', () => {
  it('grows exponentially up to the cap', () => {
    const p = backoffPolicy({ initialDelay: 100, multiplier: 2, maxDelay: 1_000, jitter: 0 });
    expect([0, 1, 2, 3, 4, 10].map((n) => p.delay(n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('adds at most ± jitter, never above the cap', () => {
    const low = backoffPolicy({ initialDelay: 1_000, jitter: 0.3, maxDelay: 10_000 }, () => 0);
    const high = backoffPolicy({ initialDelay: 1_000, jitter: 0.3, maxDelay: 10_000 }, () => 0.999999);
    expect(low.delay(0)).toBe(700);
    expect(high.delay(0)).toBe(1_300);
    expect(high.delay(10)).toBe(10_000);
  });

  it('takes its defaults from defaults.ts', () => {
    expect(backoffPolicy().maxAttempts).toBe(defaults.reconnect.maxAttempts);
  });
});

describe('MediaInfraError', () => {
  it('keeps a stable code, a cause, and maps unknown codes to the fallback', () => {
    const cause = new Error('low level');
    const e = MediaInfraError.from(cause, 'TIMEOUT');
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'MediaInfraError', code: 'TIMEOUT', message: 'low level', cause });
    expect(MediaInfraError.from(e)).toBe(e);
    expect(MediaInfraError.fromInfo({ code: 'NOPE', message: 'm' }, 'SERVER_ERROR').code).toBe('SERVER_ERROR');
    expect(MediaInfraError.fromInfo({ code: 'NOT_FOUND', message: 'm' }, 'SERVER_ERROR').code).toBe('NOT_FOUND');
  });
});
