// One room = one mediasoup Router on one worker. Rooms share nothing, so ids from one room can
// never reach another. A room closes when its last peer leaves, or when its worker dies.
// In a cluster its span (roomSpan.ts) joins it to the same room on the other nodes.
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { Peer, PeerRoom } from './peer.js';
import type { ClusterRooms, RoomSpan } from './roomSpan.js';
import { RoomSpeakers, type Broadcast } from './speakerObserver.js';
import type { WorkerSlot } from './workers.js';

/** What every browser we target can send: Opus, VP8, VP9 profile 0, H264 constrained baseline. */
export const mediaCodecs: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

export class Room implements PeerRoom {
  readonly peers = new Map<string, Peer>();
  private closedFlag = false;
  /** Absent on a single node: nothing to tell, nothing to pipe. */
  private readonly span: RoomSpan | undefined;

  private constructor(
    readonly id: string,
    readonly router: ms.Router,
    readonly slot: WorkerSlot,
    private readonly logger: Logger,
    private readonly onClosed: (room: Room) => void,
    cluster: ClusterRooms | undefined,
    /** Who speaks (call health): its own producers and, in a cluster, those piped from other nodes (roomSpan.ts). */
    readonly speakers: RoomSpeakers,
  ) {
    this.span = cluster?.open(this);
    // The worker died: every peer loses its transports; the gateway drops their sockets so the
    // clients reconnect and land in a fresh room on a live worker.
    router.on('workerclose', () => this.close('media worker died'));
  }

  static async create(id: string, slot: WorkerSlot, logger: Logger, onClosed: (room: Room) => void, cluster?: ClusterRooms, speakerDetection = true): Promise<Room> {
    // Counted before the await so rooms created together spread over the workers.
    slot.rooms += 1;
    let router: ms.Router | undefined;
    let room: Room | undefined;
    let speakers: RoomSpeakers;
    try {
      router = await slot.worker.createRouter({ mediaCodecs, appData: { roomId: id } });
      speakers = await RoomSpeakers.create(router, (method, data) => room?.broadcast(method, data), speakerDetection);
    } catch (err) {
      slot.rooms -= 1;
      router?.close();
      throw err;
    }
    const log = logger.child({ roomId: id });
    log.info({ worker: slot.index, routerId: router.id }, 'room opened');
    room = new Room(id, router, slot, log, onClosed, cluster, speakers);
    return room;
  }

  get webRtcServer(): ms.WebRtcServer {
    return this.slot.webRtcServer;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  addPeer(peer: Peer): void {
    this.peers.set(peer.id, peer);
    this.span?.peersChanged(this.peers.size);
  }

  removePeer(peer: Peer): void {
    this.peers.delete(peer.id);
    if (this.peers.size === 0) this.close('last peer left');
    else this.span?.peersChanged(this.peers.size);
  }

  /** Tells every peer's client (call health: the speaker, audio levels). */
  readonly broadcast: Broadcast = (method, data) => {
    for (const peer of this.peers.values()) peer.tell(method, data);
  };

  /** A producer went live: every other peer that is listening starts consuming it, here and on the other nodes. */
  announceProducer(producer: ms.Producer, owner: Peer): void {
    this.speakers.add(producer, owner.userId);
    for (const peer of this.peers.values()) {
      if (peer !== owner && peer.listening) void peer.consume(producer, owner.userId);
    }
    this.span?.localProducer(producer, owner.userId);
  }

  /** A peer started listening; it has consumed the local producers, the span adds the other nodes'. */
  peerListening(peer: Peer): void {
    this.span?.peerListening(peer);
  }

  /** Producers of every peer but `peer`, with their owner's user id. */
  producersOfOthers(peer: Peer): { producer: ms.Producer; userId: string }[] {
    const out: { producer: ms.Producer; userId: string }[] = [];
    for (const other of this.peers.values()) {
      if (other === peer) continue;
      for (const producer of other.producerList()) out.push({ producer, userId: other.userId });
    }
    return out;
  }

  close(reason: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.slot.rooms -= 1;
    for (const peer of [...this.peers.values()]) peer.closeByServer(reason);
    this.peers.clear();
    this.router.close();
    this.span?.close();
    this.logger.info({ reason }, 'room closed');
    this.onClosed(this);
  }
}
