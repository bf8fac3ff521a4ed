import { defaults } from './defaults.js';

/** When and how often to try again after the connection was lost. Replaceable as a whole. */
export interface ReconnectPolicy {
  /** Failed attempts in a row before giving up. */
  maxAttempts: number;
  /** Delay before attempt `attempt + 1` (`attempt` counts the failed ones so far, from 0). */
  delay(attempt: number): number;
}

export interface BackoffOptions {
  maxAttempts: number;
  initialDelay: number;
  maxDelay: number;
  multiplier: number;
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
