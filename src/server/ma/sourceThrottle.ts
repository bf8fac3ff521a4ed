// Per source address: wrong API keys are counted in a fixed window; a source that reaches the
// limit gets 429 for its wrong keys for the rest of that window (the caller lets the right key
// through). The map is bounded: the oldest sources are forgotten first.
export const WRONG_KEYS_PER_WINDOW = 10;
export const WINDOW_MS = 60_000;
/** Source addresses remembered at most by each per-source limit (oldest forgotten first). */
export const MAX_SOURCES = 10_000;

/** Sets `key` last in `map` (a Map iterates in insertion order) and forgets the oldest beyond MAX_SOURCES. */
export function rememberSource<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_SOURCES) map.delete(map.keys().next().value!);
}

interface Entry {
  windowStart: number;
  failures: number;
}

export class SourceThrottle {
  private readonly sources = new Map<string, Entry>();

  constructor(
    private readonly limit = WRONG_KEYS_PER_WINDOW,
    private readonly windowMs = WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `source` may try again, or 0 when it is not blocked. */
  blockedFor(source: string): number {
    const entry = this.current(source);
    if (!entry || entry.failures < this.limit) return 0;
    return entry.windowStart + this.windowMs - this.now();
  }

  failed(source: string): void {
    const entry = this.current(source) ?? { windowStart: this.now(), failures: 0 };
    entry.failures += 1;
    rememberSource(this.sources, source, entry);
  }

  private current(source: string): Entry | undefined {
    const entry = this.sources.get(source);
    if (entry && this.now() - entry.windowStart >= this.windowMs) {
      this.sources.delete(source);
      return undefined;
    }
    return entry;
  }
}
