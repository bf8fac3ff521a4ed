// MR's entry point behind the MediaRouterApi: rooms by id, each on the least loaded worker.
import type { Logger } from 'pino';
import type { MediaRouterApi, OpenPeerOptions, PeerHandle } from './api.js';
import { Peer } from './peer.js';
import type { Recordings } from './recordings.js';
import { Room } from './room.js';
import type { WorkerPool } from './workers.js';

export class MediaRouter implements MediaRouterApi {
  /** Promises, so two peers arriving together in a new room share one router. */
  private readonly rooms = new Map<string, Promise<Room>>();

  constructor(
    private readonly pool: WorkerPool,
    private readonly recordings: Recordings,
    private readonly logger: Logger,
  ) {}

  get ready(): boolean {
    return this.pool.liveCount > 0;
  }

  async openPeer({ roomId, userId, notify, onClosedByServer }: OpenPeerOptions): Promise<PeerHandle> {
    for (;;) {
      const room = await this.room(roomId);
      // A room that emptied (or lost its worker) while we waited is gone from the map: try again.
      if (room.closed) continue;
      const peer = new Peer(room, userId, notify, onClosedByServer, this.recordings, this.logger);
      room.addPeer(peer);
      return peer;
    }
  }

  close(): void {
    this.pool.close();
    this.rooms.clear();
  }

  private room(roomId: string): Promise<Room> {
    const existing = this.rooms.get(roomId);
    if (existing) return existing;
    const created = Room.create(roomId, this.pool.pick(), this.logger, () => {
      if (this.rooms.get(roomId) === created) this.rooms.delete(roomId);
    });
    this.rooms.set(roomId, created);
    created.catch(() => {
      if (this.rooms.get(roomId) === created) this.rooms.delete(roomId);
    });
    return created;
  }
}
