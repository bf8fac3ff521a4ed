// Row writes that must not be lost while the database is down (a recording's end): tried at once,
// then retried in the background until the database is back, for a bounded time. The caller is
// never held up by an outage and never sees a rejection.
import type { Logger } from 'pino';
import { StoreUnavailableError } from './errors.js';

/** The first retry waits this long, each next one twice as long up to RETRY_MAX_MS (ms). */
export const RETRY_FIRST_MS = 250;
export const RETRY_MAX_MS = 5_000;
/** A write still failing this long after its first try is given up and logged (ms). */
export const GIVE_UP_MS = 10 * 60_000;

/** What became of a write's first try. */
export type WriteOutcome = 'written' | 'queued' | 'failed';

export class RetryingWrites {
  /** Each queued write's retry loop, with what it writes (for the log when it is given up). */
  private readonly pending = new Map<Promise<void>, Record<string, unknown>>();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly giveUpMs = GIVE_UP_MS,
  ) {}

  /** Queued writes not yet written nor given up. */
  get queued(): number {
    return this.pending.size;
  }

  /**
   * Runs `write` once. If the database is unavailable the write is queued and retried ('queued');
   * any other error is a bug: logged, not retried ('failed'). Never rejects.
   */
  async run(what: Record<string, unknown>, write: () => Promise<void>): Promise<WriteOutcome> {
    try {
      await write();
      return 'written';
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || this.closed) return this.failed(what, err);
      this.logger.warn({ ...what, err: err.message }, 'database unavailable: the row is written when it is back');
      const retry = this.retry(what, write, Date.now() + this.giveUpMs);
      this.pending.set(retry, what);
      void retry.finally(() => this.pending.delete(retry));
      return 'queued';
    }
  }

  /** Shutdown: waits for the queued writes at most `timeoutMs`, then gives the rest up (logged). */
  async settle(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(this.pending.keys()), timeout]);
    clearTimeout(timer);
    this.closed = true;
    for (const what of this.pending.values()) this.failed(what, new Error('shutting down while the database is unavailable'));
    this.pending.clear();
  }

  private failed(what: Record<string, unknown>, err: unknown): 'failed' {
    this.logger.error({ ...what, err: (err as Error).message }, 'a row could not be written: it is lost');
    return 'failed';
  }

  private async retry(what: Record<string, unknown>, write: () => Promise<void>, deadline: number): Promise<void> {
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
      if (this.closed) return; // given up by settle()
      if (Date.now() > deadline) return void this.failed(what, new Error('the database stayed unavailable'));
      try {
        await write();
        this.logger.info(what, 'the row is written: the database is back');
        return;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) return void this.failed(what, err);
      }
    }
  }
}
