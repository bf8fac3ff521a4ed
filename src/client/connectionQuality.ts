// The client's connection quality (call health): one sample of what it measures → a level, and a
// debounce so that the level the page sees does not flap. Pure: no timers, no browser API.

/** `client.connectionQuality`: how well this client's media goes. */
export type ConnectionQuality = 'excellent' | 'good' | 'poor' | 'lost';

/**
 * The thresholds, each the lower bound of a level. Scores are mediasoup's (10 · delivered⁴ over an
 * interval, NACK repairs counted in): 9 means about 2.5 % of packets lost, 7 about 8 %. Loss is the
 * fraction the server reported not receiving from us. RTT follows ITU-T G.114 (one-way delay up to
 * 150 ms is transparent, up to 400 ms acceptable) halved for the rest of the mouth-to-ear path
 * (jitter buffer, codec).
 */
export interface QualityThreshold {
  minScore: number;
  maxLossFraction: number;
  maxRoundTripTimeMs: number;
}
export const qualityThresholds: Readonly<Record<'excellent' | 'good', QualityThreshold>> = {
  excellent: { minScore: 9, maxLossFraction: 0.02, maxRoundTripTimeMs: 200 },
  good: { minScore: 7, maxLossFraction: 0.1, maxRoundTripTimeMs: 500 },
};

/** A worse level is taken once every sample for this long said so; one sample of trouble is not trouble. */
export const WORSE_AFTER_MS = 2000;
/** A better level is taken only after this long: recovering is confirmed more slowly than trouble. */
export const BETTER_AFTER_MS = 5000;

/** What the client measured once. */
export interface QualitySample {
  /** The client is `connected` (anything else is `lost`, at once). */
  connected: boolean;
  /** The server's scores (0-10) of the streams this client sends and receives that are live now. */
  scores: readonly number[];
  /** The worst loss fraction (0-1) of its live streams, `null` when none was measured. */
  lossFraction: number | null;
  /** The round-trip time to the server (ms), `null` when not measured. */
  roundTripTimeMs: number | null;
}

const rank: Record<ConnectionQuality, number> = { excellent: 0, good: 1, poor: 2, lost: 3 };

/** The level one sample says: the worst of what its scores, loss and RTT say (nothing measured is nothing wrong). */
export function classifyQuality(sample: QualitySample): ConnectionQuality {
  if (!sample.connected) return 'lost';
  const levelOf = (ok: (t: QualityThreshold) => boolean): ConnectionQuality =>
    ok(qualityThresholds.excellent) ? 'excellent' : ok(qualityThresholds.good) ? 'good' : 'poor';
  const worstScore = sample.scores.length ? Math.min(...sample.scores) : null;
  const levels = [
    worstScore === null ? 'excellent' : levelOf((t) => worstScore >= t.minScore),
    sample.lossFraction === null ? 'excellent' : levelOf((t) => sample.lossFraction! <= t.maxLossFraction),
    sample.roundTripTimeMs === null ? 'excellent' : levelOf((t) => sample.roundTripTimeMs! <= t.maxRoundTripTimeMs),
  ] as ConnectionQuality[];
  return levels.reduce((a, b) => (rank[b] > rank[a] ? b : a));
}

/**
 * Turns levels measured over time into the level shown: `lost` and leaving it are taken at once
 * (the connection state is a fact, not a noisy figure); a worse level once samples have said worse
 * for `worseAfterMs`, a better one once they have said better for `betterAfterMs`. While waiting, the
 * level taken is the mildest the samples said (worse: the least bad of them; better: the least good).
 */
export class QualityDebouncer {
  #current: ConnectionQuality;
  #pending: { direction: 1 | -1; since: number; level: ConnectionQuality } | undefined;

  constructor(
    initial: ConnectionQuality = 'excellent',
    private readonly worseAfterMs = WORSE_AFTER_MS,
    private readonly betterAfterMs = BETTER_AFTER_MS,
  ) {
    this.#current = initial;
  }

  get current(): ConnectionQuality {
    return this.#current;
  }

  /** One measured level at `now` (ms); returns the level shown after it. */
  push(level: ConnectionQuality, now: number): ConnectionQuality {
    if (level === 'lost' || this.#current === 'lost' || level === this.#current) {
      this.#current = level;
      this.#pending = undefined;
      return level;
    }
    const direction = rank[level] > rank[this.#current] ? 1 : -1;
    const pending = this.#pending;
    if (!pending || pending.direction !== direction) {
      this.#pending = { direction, since: now, level };
    } else if (direction === 1 ? rank[level] < rank[pending.level] : rank[level] > rank[pending.level]) {
      pending.level = level;
    }
    const held = now - this.#pending!.since;
    if (held >= (direction === 1 ? this.worseAfterMs : this.betterAfterMs)) {
      this.#current = this.#pending!.level;
      this.#pending = undefined;
    }
    return this.#current;
  }
}
