// The pool of mediasoup workers: one per core, each with one WebRtcServer so all WebRTC traffic of
// a worker shares a single UDP+TCP port (RTC_MIN_PORT + index); ports above those are left to the
// worker for plain transports (recording). A dead worker is replaced on the same port.
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { Mediasoup } from './mediasoupLoader.js';

export interface WorkerPoolOptions {
  numWorkers: number;
  listenIp: string;
  announcedIp?: string;
  rtcMinPort: number;
  rtcMaxPort: number;
}

export interface WorkerSlot {
  readonly index: number;
  worker: ms.Worker;
  webRtcServer: ms.WebRtcServer;
  /** Rooms placed here: the least loaded slot gets the next room. */
  rooms: number;
}

const RESPAWN_DELAY_MS = 1_000;
/** How long a new room waits for a worker while every worker is being respawned. */
export const WORKER_WAIT_MS = 10_000;

export class WorkerPool {
  private readonly slots: (WorkerSlot | undefined)[];
  private closed = false;
  /** Callers of `whenLive` waiting for a respawned worker. */
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly mediasoup: Mediasoup,
    private readonly options: WorkerPoolOptions,
    private readonly logger: Logger,
  ) {
    this.slots = new Array<WorkerSlot | undefined>(options.numWorkers).fill(undefined);
  }

  static async start(mediasoup: Mediasoup, options: WorkerPoolOptions, logger: Logger): Promise<WorkerPool> {
    const pool = new WorkerPool(mediasoup, options, logger);
    try {
      await Promise.all(pool.slots.map((_, i) => pool.spawn(i)));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  /** Live workers; zero while every worker is being respawned. */
  get liveCount(): number {
    return this.slots.filter((s) => s !== undefined).length;
  }

  /** The live slot with the fewest rooms. */
  pick(): WorkerSlot {
    let best: WorkerSlot | undefined;
    for (const slot of this.slots) if (slot && (!best || slot.rooms < best.rooms)) best = slot;
    if (!best) throw new Error('no mediasoup worker is running');
    return best;
  }

  /**
   * The least loaded live slot; while every worker is being respawned (one worker died), waits for
   * the first one back rather than failing the client (bounded by `timeoutMs`).
   */
  async whenLive(timeoutMs = WORKER_WAIT_MS): Promise<WorkerSlot> {
    if (this.liveCount > 0) return this.pick();
    if (this.closed) throw new Error('the worker pool is closed');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`no mediasoup worker came back within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
    return this.pick();
  }

  /** Worker pids, for diagnostics and the worker-crash test. */
  pids(): number[] {
    return this.slots.flatMap((s) => (s ? [s.worker.pid] : []));
  }

  close(): void {
    this.closed = true;
    this.waiters = [];
    for (const slot of this.slots) slot?.worker.close();
    this.slots.fill(undefined);
  }

  private async spawn(index: number): Promise<void> {
    const { numWorkers, rtcMinPort, rtcMaxPort, listenIp, announcedIp } = this.options;
    const port = rtcMinPort + index;
    const worker = await this.mediasoup.createWorker({
      logLevel: 'warn',
      rtcMinPort: rtcMinPort + numWorkers,
      rtcMaxPort,
      appData: { index },
    });
    if (this.closed) {
      worker.close(); // the pool closed while this worker was starting
      return;
    }
    let webRtcServer: ms.WebRtcServer;
    try {
      const common = { ip: listenIp, port, ...(announcedIp !== undefined && { announcedAddress: announcedIp }) };
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ...common },
          { protocol: 'tcp', ...common },
        ],
      });
    } catch (err) {
      worker.close();
      throw new Error(`cannot listen for WebRTC on ${listenIp}:${port} (udp+tcp): ${(err as Error).message}`);
    }
    const slot: WorkerSlot = { index, worker, webRtcServer, rooms: 0 };
    this.slots[index] = slot;
    this.logger.info({ worker: index, pid: worker.pid, rtcPort: port }, 'mediasoup worker started');
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();

    worker.on('died', (err) => {
      // Its routers close with it (rooms see 'workerclose'); replace the worker on the same port.
      this.logger.error({ worker: index, pid: worker.pid, err: err.message }, 'mediasoup worker died, respawning');
      if (this.slots[index] === slot) this.slots[index] = undefined;
      this.respawn(index);
    });
  }

  private respawn(index: number): void {
    if (this.closed) return;
    this.spawn(index).catch((err: Error) => {
      this.logger.error({ worker: index, err: err.message }, 'respawning the mediasoup worker failed, retrying');
      setTimeout(() => this.respawn(index), RESPAWN_DELAY_MS).unref();
    });
  }
}
