// MR's entry point behind the MediaRouterApi: rooms by id, each on the least loaded worker. In a
// cluster of several nodes each room also spans the nodes that hold its peers (roomSpan.ts).
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import type { MediaRouterApi, MediaStats, OpenPeerOptions, PeerHandle } from './api.js';
import { Peer } from './peer.js';
import type { Recordings } from './recordings.js';
import type { PipeListen } from './pipes.js';
import { Room } from './room.js';
import { ClusterRooms } from './roomSpan.js';
import type { WorkerPool, WorkerSlot } from './workers.js';

export interface MediaRouterOptions {
  /** The other nodes; a single-node cluster (or none) leaves every room on this node alone. */
  cluster?: Cluster;
  /** Where pipe transports to other nodes listen: the workers' RTC address. Default 127.0.0.1. */
  pipeListen?: PipeListen;
  /** Each room's speaker and audio-level observers (SPEAKER_DETECTION). Default on. */
  speakerDetection?: boolean;
}

export class MediaRouter implements MediaRouterApi {
  /** Promises, so two peers arriving together in a new room share one router. */
  private readonly rooms = new Map<string, Promise<Room>>();
  /** Worker slots rooms were placed on, for stats() (a dead worker's slot is dropped there). */
  private readonly slotsSeen = new Set<WorkerSlot>();
  private readonly clusterRooms: ClusterRooms | undefined;
  private readonly speakerDetection: boolean;

  constructor(
    private readonly pool: WorkerPool,
    private readonly recordings: Recordings,
    private readonly logger: Logger,
    { cluster, pipeListen = { ip: '127.0.0.1' }, speakerDetection = true }: MediaRouterOptions = {},
  ) {
    this.speakerDetection = speakerDetection;
    if (cluster?.multiNode) this.clusterRooms = new ClusterRooms(cluster, pipeListen, logger);
  }

  get ready(): boolean {
    return this.pool.liveCount > 0;
  }

  async openPeer({ roomId, userId, notify, onClosedByServer }: OpenPeerOptions): Promise<PeerHandle> {
    for (;;) {
      const room = await this.room(roomId);
      // A room that emptied (or lost its worker) while we waited is gone from the map: try again.
      if (room.closed) continue;
      this.slotsSeen.add(room.slot);
      const peer = new Peer(room, userId, notify, onClosedByServer, this.recordings, this.logger);
      room.addPeer(peer);
      return peer;
    }
  }

  close(): void {
    this.clusterRooms?.detach();
    this.pool.close();
    this.rooms.clear();
  }

  /** MR's own counts, and what the workers themselves hold (their dumps). */
  async stats(): Promise<MediaStats> {
    const rooms = (await Promise.allSettled([...this.rooms.values()])).flatMap((r) => (r.status === 'fulfilled' && !r.value.closed ? [r.value] : []));
    const out: MediaStats = { rooms: rooms.length, peers: 0, transports: 0, producers: 0, consumers: 0, workers: [] };
    for (const room of rooms) {
      out.peers += room.peers.size;
      const dump = await room.router.dump().catch(() => undefined);
      out.transports += dump?.transportIds.length ?? 0;
      out.producers += dump?.mapProducerIdConsumerIds.length ?? 0;
      out.consumers += dump?.mapConsumerIdProducerId.length ?? 0;
    }
    for (const slot of [...this.slotsSeen]) {
      if (slot.worker.closed) {
        this.slotsSeen.delete(slot);
        continue;
      }
      const [worker, server] = await Promise.all([slot.worker.dump(), slot.webRtcServer.dump()]).catch(() => [undefined, undefined] as const);
      if (!worker || !server) continue;
      out.workers.push({
        pid: worker.pid,
        routers: worker.routerIds.length,
        webRtcTransports: server.webRtcTransportIds.length,
        channelRequestHandlers: worker.channelMessageHandlers.channelRequestHandlers.length,
      });
    }
    return out;
  }

  private room(roomId: string): Promise<Room> {
    const existing = this.rooms.get(roomId);
    if (existing) return existing;
    // Rooms of a worker that died are re-created here, on a live (or respawned) worker, as their
    // clients reconnect.
    const created = this.pool.whenLive().then((slot) =>
      Room.create(
        roomId,
        slot,
        this.logger,
        () => {
          if (this.rooms.get(roomId) === created) this.rooms.delete(roomId);
        },
        this.clusterRooms,
        this.speakerDetection,
      ),
    );
    this.rooms.set(roomId, created);
    created.catch(() => {
      if (this.rooms.get(roomId) === created) this.rooms.delete(roomId);
    });
    return created;
  }
}
