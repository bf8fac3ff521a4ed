// A promise nobody awaited that rejects would end Node (its default since v15), and with it every
// call on this server. Each one is a bug: logged with its stack and counted (GET /v1/api/stats),
// never allowed to take the process down.
import type { Logger } from 'pino';

let unhandled = 0;

/** Rejections nobody handled since the process started. */
export function unhandledRejections(): number {
  return unhandled;
}

/** Installs the process-wide handler once; later calls are no-ops. */
export function guardUnhandledRejections(logger: Logger): void {
  if (process.listenerCount('unhandledRejection') > 0) return;
  process.on('unhandledRejection', (reason) => {
    unhandled += 1;
    logger.error({ err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason), count: unhandled }, 'unhandled promise rejection (a bug: the server goes on)');
  });
}
