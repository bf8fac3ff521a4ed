// The one error a store throws for an engine that cannot answer now (PostgreSQL down, restarting,
// out of connections, unreachable): a fault to survive, not a bug. Callers turn it into "try again
// later" (HTTP 503 with Retry-After, socket close 1013), never into "unauthorized" or a 500.

/** What the token API puts in Retry-After when the database cannot answer (seconds). */
export const RETRY_AFTER_SECONDS = 5;

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(message = 'the database is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}
