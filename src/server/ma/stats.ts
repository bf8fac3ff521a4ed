// GET /v1/api/stats (with the API key): what the server holds right now, for operators and the
// scale benchmark's leak check: MR's counts (its maps and the mediasoup workers' dumps, so an
// object MR forgot but a worker still holds shows up) and this process's memory.
import type { MediaStats } from '../mr/api.js';
import { unhandledRejections } from '../processGuards.js';

export type { MediaStats, WorkerStats } from '../mr/api.js';

export interface ServerStats extends MediaStats {
  /** The Node process (MA + MR); the workers are separate processes. */
  process: { rssBytes: number; heapUsedBytes: number; uptimeSeconds: number; unhandledRejections: number };
}

/**
 * `collectGarbage` (`?gc=1`) runs a full GC first when the process was started with `--expose-gc`
 * (the scale benchmark does), so that the heap figure shows what is held, not what awaits collection.
 */
export async function serverStats(media: () => Promise<MediaStats>, options: { collectGarbage?: boolean } = {}): Promise<ServerStats> {
  if (options.collectGarbage) (globalThis as { gc?: () => void }).gc?.();
  const counts = await media();
  const mem = process.memoryUsage();
  return { ...counts, process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, uptimeSeconds: Math.round(process.uptime()), unhandledRejections: unhandledRejections() } };
}
