// One room's life across nodes, at this node: it keeps the room directory current (peers here),
// tells the other nodes about the local producers, learns theirs, pipes each one here as soon as it
// is known (over a pipe pair set up as soon as both nodes hold the room: pipes.ts), has listening
// peers here consume them, and has the room's speaker observers hear their audio. The Room calls
// the hooks; ClusterRooms (below) hands it what other nodes say.
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import { ClusterRequestError, type Cluster, type ClusterMessage } from '../cluster/cluster.js';

/**
 * After an outage, a node's producers are asked for this many times, each waiting this long, a
 * pause apart: the other node may need a few seconds to listen again and register (until then a
 * request to it is refused at once), so the asks span about half a minute at most.
 */
const REDISCOVER_ATTEMPTS = 12;
const REDISCOVER_TIMEOUT_MS = 2_000;
const REDISCOVER_PAUSE_MS = 1_000;
import type { Peer } from './peer.js';
import {
  PIPE_PAUSE,
  PIPE_RELEASE,
  PIPE_RESUME,
  PipeConnect,
  ProducerOpened,
  ProducerRef,
  ProducersAnswer,
  RoomMessage,
  RoomRef,
  RoomRequest,
  read,
  type PipeEndpoint,
  type PipedProducer,
  type RemoteProducer,
} from './pipeMessages.js';
import { RoomPipes, type PipeListen } from './pipes.js';
import { RemoteProducers, type RemoteEntry } from './remoteProducers.js';
import type { RoomSpeakers } from './speakerObserver.js';

/** What a span needs of its room. */
export interface SpanRoom {
  readonly id: string;
  readonly router: ms.Router;
  readonly peers: ReadonlyMap<string, Peer>;
  /** Who speaks: each node observes every audio producer of the room, its own and the piped ones. */
  readonly speakers: Pick<RoomSpeakers, 'add'>;
}

export class RoomSpan {
  readonly remote = new RemoteProducers();
  readonly pipes: RoomPipes;
  private discovered = false;
  private closed = false;

  constructor(
    private readonly room: SpanRoom,
    private readonly cluster: Cluster,
    listen: PipeListen,
    private readonly logger: Logger,
    private readonly onClosed: (span: RoomSpan) => void,
  ) {
    this.pipes = new RoomPipes(room.id, room.router, cluster, listen, logger, (producer, info) => room.speakers.add(producer, info.userId));
  }

  // ---- hooks of the local room ----

  /** A peer joined or left (the room is still open). The first one also asks the others what they hold. */
  peersChanged(peers: number): void {
    this.cluster.setRoomPeers(this.room.id, peers);
    if (this.discovered) return;
    this.discovered = true;
    // After setRoomPeers: a node opening the room at the same time sees this one, or is seen by it.
    void this.discover();
  }

  /** A local producer went live: the other nodes hear of it, and of its pauses and its close. */
  localProducer(producer: ms.Producer, userId: string): void {
    const roomId = this.room.id;
    const producerId = producer.id;
    this.cluster.broadcast({ type: RoomMessage.producerOpened, roomId, ...describe(producer, userId) });
    producer.observer.on('pause', () => this.cluster.broadcast({ type: RoomMessage.producerPaused, roomId, producerId }));
    producer.observer.on('resume', () => this.cluster.broadcast({ type: RoomMessage.producerResumed, roomId, producerId }));
    producer.observer.once('close', () => {
      if (!this.closed) this.cluster.broadcast({ type: RoomMessage.producerClosed, roomId, producerId });
    });
  }

  /** A local peer started listening: it consumes every remote producer too. */
  peerListening(peer: Peer): void {
    for (const entry of this.remote.all()) this.consumeRemote(entry, [peer]);
  }

  /** The room closed here: the others close their pipes of it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(this);
    this.pipes.close();
    this.cluster.setRoomPeers(this.room.id, 0);
    this.cluster.broadcast({ type: RoomMessage.closed, roomId: this.room.id });
  }

  // ---- what other nodes say of this room ----

  opened(from: string, info: RemoteProducer): void {
    const entry = this.remote.open(from, info);
    if (entry) this.announce(entry);
    else this.pipes.syncPaused(info.producerId);
  }

  paused(from: string, producerId: string, paused: boolean): void {
    if (this.remote.setPaused(from, producerId, paused)) this.pipes.syncPaused(producerId);
  }

  producerClosed(from: string, producerId: string): void {
    if (this.remote.close(from, producerId)) this.pipes.closeProducer(producerId);
  }

  /** `nodeId` closed its router of this room, or left the cluster. */
  nodeGone(nodeId: string): void {
    this.remote.dropNode(nodeId);
    this.pipes.closeNode(nodeId);
  }

  /** Live local producers, for another node's `room.producers`. */
  localProducers(): RemoteProducer[] {
    return [...this.room.peers.values()].flatMap((peer) => peer.producerList().filter((p) => !p.closed).map((p) => describe(p, peer.userId)));
  }

  localProducerById(producerId: string): ms.Producer | undefined {
    for (const peer of this.room.peers.values()) {
      const producer = peer.producerList().find((p) => p.id === producerId && !p.closed);
      if (producer) return producer;
    }
    return undefined;
  }

  /** The cluster's messages may have been lost (an outage): ask the other nodes again what they hold. */
  rediscover(): void {
    if (this.discovered && !this.closed) void this.discover(REDISCOVER_ATTEMPTS);
  }

  /**
   * One of this node and `nodeId` had judged the other lost, and was wrong (cluster.ts, `nodeBack`):
   * this side's half of what they shared is dropped as on its loss, then set up again with it.
   */
  nodeBack(nodeId: string): void {
    this.nodeGone(nodeId);
    // Asked even when the directory does not list it: a node back rewrites its entries only after
    // the beat that told this one it is back.
    if (this.discovered && !this.closed) void this.discover(REDISCOVER_ATTEMPTS, nodeId);
  }

  /**
   * Asks every other node of the room (and `also`) for its producers. `attempts` > 1 after an
   * outage: the other node's own link may come back a moment after this one's, and a request sent
   * before it listens again is lost, so an unanswered one is asked again (bounded).
   */
  private async discover(attempts = 1, also?: string): Promise<void> {
    const nodes = await this.cluster.roomNodes(this.room.id).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'room directory unavailable: remote producers are learnt from broadcasts only');
      return new Map<string, number>();
    });
    if (this.closed) return;
    // Both nodes hold peers of the room: the pair now, so no listener's first frame waits for it.
    for (const [nodeId, peers] of nodes) if (nodeId !== this.cluster.nodeId && peers > 0) this.pipes.connect(nodeId);
    // Also every node this one knows producers of: after a Redis restart the directory is empty
    // until each node writes its entries again, and those are the nodes whose news may be lost.
    const asked = new Set([...nodes.keys(), ...this.remote.all().map((entry) => entry.nodeId), ...(also === undefined ? [] : [also])]);
    asked.delete(this.cluster.nodeId);
    await Promise.all(
      [...asked].map(async (nodeId) => {
        try {
          const { producers } = read(ProducersAnswer, await this.askProducers(nodeId, attempts));
          if (this.closed) return;
          const { opened, closed, kept } = this.remote.replace(nodeId, producers);
          for (const entry of closed) this.pipes.closeProducer(entry.info.producerId);
          for (const entry of kept) this.pipes.syncPaused(entry.info.producerId);
          for (const entry of opened) this.announce(entry);
        } catch (err) {
          this.logger.warn({ nodeId, err: (err as Error).message }, 'asking a node for its producers of the room failed');
        }
      }),
    );
  }

  private async askProducers(nodeId: string, attempts: number): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.cluster.request(nodeId, { type: RoomRequest.producers, roomId: this.room.id }, attempts > 1 ? REDISCOVER_TIMEOUT_MS : undefined);
      } catch (err) {
        if (attempt >= attempts || this.closed || !(err instanceof ClusterRequestError)) throw err;
        // A refusal can be immediate (the link is still down): pace the next ask.
        await new Promise((resolve) => setTimeout(resolve, REDISCOVER_PAUSE_MS));
      }
    }
  }

  /** A remote producer is known: it is piped here at once, and every listening peer here consumes it. */
  private announce(entry: RemoteEntry): void {
    this.consumeRemote(entry, [...this.room.peers.values()].filter((p) => p.listening));
  }

  private consumeRemote(entry: RemoteEntry, peers: Peer[]): void {
    if (this.closed) return;
    void this.pipes.pipe(entry.nodeId, entry.info).then((producer) => producer && Promise.all(peers.map((peer) => peer.consume(producer, entry.info.userId))));
  }
}

function describe(producer: ms.Producer, userId: string): RemoteProducer {
  return { producerId: producer.id, userId, kind: producer.kind, paused: producer.paused, appData: producer.appData };
}

/**
 * This node's side of every spanning room: one handler per message type, each routed to the open
 * room it names (a room not open here has nothing to learn and nothing to give).
 */
export class ClusterRooms {
  private readonly spans = new Map<string, RoomSpan>();
  private readonly onNodeLost = (nodeId: string) => {
    for (const span of this.spans.values()) span.nodeGone(nodeId);
  };
  private readonly onResynced = () => {
    for (const span of this.spans.values()) span.rediscover();
  };
  private readonly onNodeBack = (nodeId: string) => {
    for (const span of this.spans.values()) span.nodeBack(nodeId);
  };

  constructor(
    private readonly cluster: Cluster,
    private readonly listen: PipeListen,
    private readonly logger: Logger,
  ) {
    const on = (type: string, handle: (message: ClusterMessage, from: string) => void) =>
      cluster.onMessage(type, (message, from) => {
        try {
          handle(message, from);
        } catch (err) {
          this.logger.warn({ type, from, err: (err as Error).message }, 'cluster message ignored');
        }
      });
    on(RoomMessage.producerOpened, (m, from) => {
      const { roomId, ...info } = read(ProducerOpened, m);
      this.spans.get(roomId)?.opened(from, info);
    });
    on(RoomMessage.producerPaused, (m, from) => this.withProducer(m, (span, id) => span.paused(from, id, true)));
    on(RoomMessage.producerResumed, (m, from) => this.withProducer(m, (span, id) => span.paused(from, id, false)));
    on(RoomMessage.producerClosed, (m, from) => this.withProducer(m, (span, id) => span.producerClosed(from, id)));
    on(RoomMessage.closed, (m, from) => this.spans.get(read(RoomRef, m).roomId)?.nodeGone(from));
    on(PIPE_RELEASE, (m, from) => this.withProducer(m, (span, id) => span.pipes.release(from, id)));
    on(PIPE_RESUME, (m, from) => this.withProducer(m, (span, id) => span.pipes.flow(from, id, true)));
    on(PIPE_PAUSE, (m, from) => this.withProducer(m, (span, id) => span.pipes.flow(from, id, false)));
    cluster.onRequest(RoomRequest.producers, (m) => ({ producers: this.spans.get(read(RoomRef, m).roomId)?.localProducers() ?? [] }));
    cluster.onRequest(RoomRequest.pipeConnect, (m, from): Promise<PipeEndpoint> => {
      const { roomId, ...remote } = read(PipeConnect, m);
      return this.span(roomId).pipes.answerConnect(from, remote);
    });
    cluster.onRequest(RoomRequest.pipeConsume, (m, from): Promise<PipedProducer> => {
      const { roomId, producerId } = read(ProducerRef, m);
      const span = this.span(roomId);
      const producer = span.localProducerById(producerId);
      if (!producer) throw new Error(`no producer ${producerId} in room ${roomId} here`);
      return span.pipes.answerConsume(from, producer);
    });
    cluster.on('nodeLost', this.onNodeLost);
    cluster.on('resynced', this.onResynced);
    cluster.on('nodeBack', this.onNodeBack);
  }

  /** The span of a room opening here; it leaves the map when it closes with its room. */
  open(room: SpanRoom): RoomSpan {
    const span = new RoomSpan(room, this.cluster, this.listen, this.logger.child({ roomId: room.id }), (closed) => {
      if (this.spans.get(room.id) === closed) this.spans.delete(room.id);
    });
    this.spans.set(room.id, span);
    return span;
  }

  /** Stops listening to the cluster (the node is shutting down). */
  detach(): void {
    this.cluster.off('nodeLost', this.onNodeLost);
    this.cluster.off('resynced', this.onResynced);
    this.cluster.off('nodeBack', this.onNodeBack);
  }

  private span(roomId: string): RoomSpan {
    const span = this.spans.get(roomId);
    if (!span) throw new Error(`room ${roomId} is not open here`);
    return span;
  }

  private withProducer(message: ClusterMessage, act: (span: RoomSpan, producerId: string) => void): void {
    const { roomId, producerId } = read(ProducerRef, message);
    const span = this.spans.get(roomId);
    if (span) act(span, producerId);
  }
}
