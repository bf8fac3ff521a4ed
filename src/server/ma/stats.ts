// GET /v1/api/stats (with the API key): what the server holds right now, for operators and the
// scale benchmark's leak check. Counts come from MR's own maps (rooms, peers) and from the
// mediasoup workers' dumps (transports, producers, consumers, routers, handlers), so an object
// that MR forgot but the worker still holds shows up here.
import { unhandledRejections } from '../processGuards.js';

export interface WorkerStats {
  pid: number;
  /** Routers alive in the worker (one per open room). */
  routers: number;
  /** WebRtcTransports registered in the worker's WebRtcServer. */
  webRtcTransports: number;
  /** Every live object of the worker registers one: the finest leak detector. */
  channelRequestHandlers: number;
}

export interface MediaStats {
  rooms: number;
  peers: number;
  /** From the routers' dumps. */
  transports: number;
  producers: number;
  consumers: number;
  workers: WorkerStats[];
}

export interface ServerStats extends MediaStats {
  /** The Node process (MA + MR); the workers are separate processes. */
  process: { rssBytes: number; heapUsedBytes: number; uptimeSeconds: number; unhandledRejections: number };
}

type Source = () => Promise<MediaStats>;
const sources = new Set<Source>();

/** A MediaRouter registers itself; the returned function unregisters it (on close). */
export function addStatsSource(source: Source): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

/**
 * Sum over every MediaRouter of this process (one, except in in-process tests). `collectGarbage`
 * (`?gc=1`) runs a full GC first when the process was started with `--expose-gc` (the scale
 * benchmark does), so that the heap figure shows what is held, not what awaits collection.
 */
export async function serverStats(options: { collectGarbage?: boolean } = {}): Promise<ServerStats> {
  if (options.collectGarbage) (globalThis as { gc?: () => void }).gc?.();
  const total: MediaStats = { rooms: 0, peers: 0, transports: 0, producers: 0, consumers: 0, workers: [] };
  for (const s of await Promise.all([...sources].map((source) => source()))) {
    total.rooms += s.rooms;
    total.peers += s.peers;
    total.transports += s.transports;
    total.producers += s.producers;
    total.consumers += s.consumers;
    total.workers.push(...s.workers);
  }
  const mem = process.memoryUsage();
  return { ...total, process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, uptimeSeconds: Math.round(process.uptime()), unhandledRejections: unhandledRejections() } };
}
