import { defaults } from './defaults.js';

/** When and how often to try again after the connection was lost. Replaceable as a whole. */
export interface ReconnectPolicy {
  /** Failed attempts in a row before giving up. */
  maxAttempts: number;
  /** Delay before attempt `attempt + 1` (`attempt` counts the failed ones so far, from 0). */
  delay(attempt: number): number;
}

/** The settings of {@link backoffPolicy}; each missing one comes from `defaults.reconnect`. */
export interface BackoffOptions {
  /** Failed attempts in a row before giving up (`closed`, `closeReason` `'failed'`). Default 8. */
  maxAttempts: number;
  /** Delay before the first attempt (ms). Default 500. */
  initialDelay: number;
  /** No delay is longer than this (ms). Default 10 000. */
  maxDelay: number;
  /** Each delay is the previous one times this. Default 2. */
  multiplier: number;
  /** Each delay is randomised by ± this fraction (0.3: ± 30 %). Default 0.3. */
  jitter: number;
}

/** Capped exponential backoff with ± jitter. `random` is injectable for tests. */
export function backoffPolicy(options: Partial<BackoffOptions> = {}, random: () => number = Math.random): ReconnectPolicy {
  const o: BackoffOptions = { ...defaults.reconnect, ...options };
  return {
    maxAttempts: o.maxAttempts,
    delay(attempt) {
      const base = Math.min(o.initialDelay * o.multiplier ** attempt, o.maxDelay);
      const spread = base * o.jitter * (random() * 2 - 1);
      return Math.max(0, Math.round(Math.min(base + spread, o.maxDelay)));
    },
  };
}
