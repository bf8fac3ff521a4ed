// The media of one room between this node and the others: one PipeTransport per other node (its
// pair is that node's PipeTransport for the same room, SRTP and RTX on), the pipe consumers this
// node serves to them, and the pipe producers it holds of their producers (same id as the origin's,
// so a listener here consumes one as it would a local producer).
//
// Lifetimes: a pipe producer lives while a local consumer uses it (or a consume is on its way):
// the last one gone closes it and tells the origin to close its pipe consumer, so no media crosses
// to nobody. A pipe consumer crosses media only while a local consumer of its pipe producer is
// resumed (pipe.resume / pipe.pause), so its resume asks the sender for a keyframe when that
// consumer can take it. Why: mediasoup makes a pipe consumer running and its creation asks the
// sender for a keyframe, which reached the listener's node while the listener's consumer was still
// paused (dropped there); that consumer's own request came soon after, and a browser ignores an
// intra request within 300 ms of the last one (libwebrtc's EncoderRtcpFeedback), so the listener
// waited for mediasoup's keyframe retry, 1 s later. So a video pipe consumer's resume is held until
// the sender takes requests again when the keyframe its creation asked for has come (and was
// dropped, the pipe consumer being paused); before that, it lets that keyframe through. A transport pair lives while both nodes hold the room: it closes with this router, on
// the other node's `room.closed` and on its `nodeLost` (closeNode).
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';

/** A browser sender ignores a keyframe request this soon after the one before (libwebrtc's kMinKeyframeSendIntervalMs), plus a margin. */
const SENDER_KEYFRAME_INTERVAL_MS = 330;
import {
  PIPE_PAUSE,
  PIPE_RELEASE,
  PIPE_RESUME,
  PipeEndpoint,
  PipedProducer,
  RoomRequest,
  read,
  toRtpParameters,
  toSrtp,
  type RemoteProducer,
} from './pipeMessages.js';

/** Where pipe transports listen: the node's RTC address (and what other nodes are told, if it differs). */
export interface PipeListen {
  ip: string;
  announcedAddress?: string;
}

interface Link {
  transport: Promise<ms.PipeTransport>;
  /** Set before connect() is awaited: both sides may start at once, each connects once. */
  connected: boolean;
  /** This side's pipe.connect exchange, shared by every pipe producer that needs the link. */
  linking?: Promise<ms.PipeTransport>;
  /** Pipe consumers serving that node, by producer id. */
  served: Map<string, Served>;
}

interface Served {
  consumer: ms.Consumer;
  producer: ms.Producer;
  /** When its creation asked the sender for a keyframe (performance.now()). */
  since: number;
  /** What that node wants last (pipe.resume / pipe.pause), applied at once or when `held` fires. */
  flowing: boolean;
  held?: NodeJS.Timeout;
}

interface Piped {
  nodeId: string;
  /** Shared with the room's registry: its `paused` is the origin's latest. */
  info: RemoteProducer;
  producer: Promise<ms.Producer | undefined>;
  /** The origin made a pipe consumer for it: closing it here without the origin's say asks for that one's close. */
  served: boolean;
  /** Local consumers of it now, and consumes on their way: it closes when both are none. */
  consumers: Set<ms.Consumer>;
  pending: number;
  /** What the origin was told last: its pipe consumer is resumed (it starts paused). */
  flowing: boolean;
  closed: boolean;
  /** The pauses and resumes it is following, one after the other. */
  syncing: Promise<void>;
}

export class RoomPipes {
  private readonly links = new Map<string, Link>();
  /** When each local video producer piped from here last received a keyframe (performance.now()). */
  private readonly keyframes = new WeakMap<ms.Producer, number>();
  private readonly piped = new Map<string, Piped>();
  private closed = false;

  constructor(
    private readonly roomId: string,
    private readonly router: ms.Router,
    private readonly cluster: Cluster,
    private readonly listen: PipeListen,
    private readonly logger: Logger,
  ) {
    // Follows the local consumers of each pipe producer, whoever creates them.
    router.observer.on('newtransport', (transport) =>
      transport.observer.on('newconsumer', (consumer) => {
        const piped = this.piped.get(consumer.producerId);
        if (!piped || transport.type === 'pipe') return;
        piped.consumers.add(consumer);
        consumer.observer.on('pause', () => this.follow(piped));
        consumer.observer.on('resume', () => this.follow(piped));
        consumer.observer.once('close', () => {
          piped.consumers.delete(consumer);
          this.follow(piped);
          this.releaseIfUnused(piped);
        });
        this.follow(piped);
      }),
    );
  }

  /** Pipe transports open now (tests and stats). */
  get linkCount(): number {
    return this.links.size;
  }

  // ---- the side that holds the producer ----

  /** Another node starts (or joins) the pair: this side connects to it once and says where it is. */
  async answerConnect(nodeId: string, remote: PipeEndpoint): Promise<PipeEndpoint> {
    const link = this.link(nodeId);
    const transport = await link.transport;
    await this.connectOnce(link, transport, remote);
    return endpoint(transport);
  }

  /** A pipe consumer of a local producer for `nodeId`: its parameters make the pipe producer there. */
  async answerConsume(nodeId: string, producer: ms.Producer): Promise<PipedProducer> {
    const link = this.link(nodeId);
    const transport = await link.transport;
    // A node asks again only after releasing (its messages arrive in order): a leftover is stale.
    link.served.get(producer.id)?.consumer.close();
    await this.watchKeyframes(producer);
    const consumer = await transport.consume({ producerId: producer.id });
    const served: Served = { consumer, producer, since: performance.now(), flowing: false };
    link.served.set(producer.id, served);
    consumer.observer.once('close', () => {
      clearTimeout(served.held);
      if (link.served.get(producer.id) === served) link.served.delete(producer.id);
    });
    // Paused (mediasoup makes it running) until that node has a consumer that wants it: see the header.
    // Before the answer, so that node's pipe.resume always comes after it.
    await consumer.pause();
    return { kind: consumer.kind, rtpParameters: consumer.rtpParameters as unknown as PipedProducer['rtpParameters'], paused: consumer.producerPaused };
  }

  /** `nodeId` has a consumer of `producerId` that wants media (its resume asks the sender for a keyframe), or none has any more. */
  flow(nodeId: string, producerId: string, flowing: boolean): void {
    const served = this.links.get(nodeId)?.served.get(producerId);
    if (!served || served.consumer.closed) return;
    served.flowing = flowing;
    clearTimeout(served.held);
    served.held = undefined;
    // A video resume asks the sender for a keyframe: if the creation's has come already, not before the sender takes one again.
    const creationsCame = (this.keyframes.get(served.producer) ?? -Infinity) >= served.since;
    const wait = flowing && creationsCame ? served.since + SENDER_KEYFRAME_INTERVAL_MS - performance.now() : 0;
    if (wait > 0) served.held = setTimeout(() => this.applyFlow(served), wait);
    else this.applyFlow(served);
  }

  /** Notes the keyframes `producer` receives (mediasoup's trace events; nothing else here uses a producer's). */
  private async watchKeyframes(producer: ms.Producer): Promise<void> {
    if (producer.kind !== 'video' || this.keyframes.has(producer)) return;
    this.keyframes.set(producer, -Infinity);
    producer.observer.on('trace', (trace) => {
      if (trace.type === 'keyframe') this.keyframes.set(producer, performance.now());
    });
    await producer.enableTraceEvent(['keyframe']).catch(() => undefined);
  }

  private applyFlow(served: Served): void {
    served.held = undefined;
    const { consumer } = served;
    if (consumer.closed) return;
    // The worker takes requests in order, so a pause right behind a resume ends paused.
    void (served.flowing ? consumer.resume() : consumer.pause()).catch(() => undefined);
  }

  /** `nodeId` closed its pipe producer of `producerId`. */
  release(nodeId: string, producerId: string): void {
    this.links.get(nodeId)?.served.get(producerId)?.consumer.close();
  }

  // ---- the side that listens ----

  /**
   * The pipe producer of a remote producer, created on first use; `done` must be called once the
   * caller's consumes are made (or abandoned), so an unused pipe producer does not stay open.
   * The promise resolves undefined when it cannot be had (closed meanwhile, origin gone).
   */
  use(nodeId: string, info: RemoteProducer): { producer: Promise<ms.Producer | undefined>; done: () => void } {
    let piped = this.piped.get(info.producerId);
    if (!piped || piped.closed) {
      const created: Piped = {
        nodeId,
        info,
        producer: Promise.resolve(undefined),
        served: false,
        consumers: new Set(),
        pending: 0,
        flowing: false,
        closed: false,
        syncing: Promise.resolve(),
      };
      created.producer = this.createPipeProducer(created);
      this.piped.set(info.producerId, created);
      piped = created;
    }
    const used = piped;
    used.pending += 1;
    let called = false;
    return {
      producer: used.producer,
      done: () => {
        if (called) return;
        called = true;
        used.pending -= 1;
        this.releaseIfUnused(used);
      },
    };
  }

  /**
   * The origin paused or resumed it: local consumers hear it from the pipe producer. One still
   * being made follows once it exists. In turn: mediasoup's `paused` changes only when the worker
   * has answered, so a resume right behind a pause must wait for the pause to be done.
   */
  syncPaused(producerId: string): void {
    const piped = this.piped.get(producerId);
    if (!piped || piped.closed) return;
    this.follow(piped);
    piped.syncing = piped.syncing.then(async () => {
      const producer = await piped.producer;
      if (!producer || producer.closed || producer.paused === piped.info.paused) return;
      await (piped.info.paused ? producer.pause() : producer.resume()).catch(() => undefined);
    });
  }

  /** The origin closed it: local consumers see 'producerclose'. */
  closeProducer(producerId: string): void {
    const piped = this.piped.get(producerId);
    if (piped) this.closePiped(piped);
  }

  /** `nodeId` left the room or the cluster: its pipe producers and the transport to it close. */
  closeNode(nodeId: string): void {
    for (const piped of [...this.piped.values()]) if (piped.nodeId === nodeId) this.closePiped(piped);
    const link = this.links.get(nodeId);
    if (!link) return;
    this.links.delete(nodeId);
    void link.transport.then((t) => t.close(), () => undefined);
  }

  /** The room closed here (its router closes every transport with it). */
  close(): void {
    this.closed = true;
    for (const piped of this.piped.values()) piped.closed = true;
    this.piped.clear();
    for (const nodeId of [...this.links.keys()]) this.closeNode(nodeId);
  }

  private link(nodeId: string): Link {
    const existing = this.links.get(nodeId);
    if (existing) return existing;
    if (this.closed) throw new Error(`room ${this.roomId} is closed here`);
    const link: Link = { transport: this.createTransport(nodeId), connected: false, served: new Map() };
    this.links.set(nodeId, link);
    link.transport.then(
      (transport) => {
        // Closed here (closeNode) or with the router: a later need creates a new pair.
        transport.observer.once('close', () => {
          if (this.links.get(nodeId) === link) this.links.delete(nodeId);
        });
        if (this.links.get(nodeId) !== link) transport.close();
      },
      () => {
        if (this.links.get(nodeId) === link) this.links.delete(nodeId);
      },
    );
    return link;
  }

  private createTransport(nodeId: string): Promise<ms.PipeTransport> {
    const { ip, announcedAddress } = this.listen;
    return this.router.createPipeTransport({
      listenInfo: { protocol: 'udp', ip, ...(announcedAddress !== undefined && { announcedAddress }) },
      enableSrtp: true,
      enableRtx: true,
      appData: { roomId: this.roomId, nodeId },
    });
  }

  /** This side's half of the pair exchange: tells `nodeId` where it is, connects to its answer. */
  private linked(nodeId: string): Promise<ms.PipeTransport> {
    const link = this.link(nodeId);
    link.linking ??= (async () => {
      const transport = await link.transport;
      const answer = await this.cluster.request(nodeId, { type: RoomRequest.pipeConnect, roomId: this.roomId, ...endpoint(transport) });
      await this.connectOnce(link, transport, read(PipeEndpoint, answer));
      return transport;
    })();
    // A failed exchange leaves no half-made pair behind for the next try.
    link.linking.catch(() => this.links.get(nodeId) === link && this.closeNode(nodeId));
    return link.linking;
  }

  private async connectOnce(link: Link, transport: ms.PipeTransport, remote: PipeEndpoint): Promise<void> {
    if (link.connected) return;
    link.connected = true;
    await transport.connect({ ip: remote.ip, port: remote.port, srtpParameters: toSrtp(remote) });
    this.logger.debug({ remote: `${remote.ip}:${remote.port}`, transportId: transport.id }, 'pipe connected');
  }

  private async createPipeProducer(piped: Piped): Promise<ms.Producer | undefined> {
    const { nodeId, info } = piped;
    try {
      const transport = await this.linked(nodeId);
      if (piped.closed) return undefined;
      const answer = read(PipedProducer, await this.cluster.request(nodeId, { type: RoomRequest.pipeConsume, roomId: this.roomId, producerId: info.producerId }));
      piped.served = true;
      if (piped.closed) {
        this.askRelease(piped);
        return undefined;
      }
      // The answer is the origin's state when it answered: its later events apply on top (syncPaused).
      piped.info.paused = answer.paused;
      const producer = await transport.produce({
        id: info.producerId,
        kind: answer.kind,
        rtpParameters: toRtpParameters(answer),
        paused: answer.paused,
        appData: info.appData,
      });
      producer.observer.once('close', () => this.closePiped(piped));
      if (piped.closed) {
        producer.close();
        return undefined;
      }
      this.logger.debug({ producerId: producer.id, from: nodeId }, 'pipe producer opened');
      return producer;
    } catch (err) {
      this.logger.warn({ producerId: info.producerId, from: nodeId, err: (err as Error).message }, 'piping a remote producer failed');
      this.closePiped(piped);
      this.askRelease(piped);
      return undefined;
    }
  }

  /**
   * Tells the origin whether its pipe consumer should cross media: while a local consumer is
   * resumed. While the origin's producer is paused nothing crosses anyway and a consumer's own
   * resume is not observable (mediasoup's observer reports the effective state), so any local
   * consumer keeps it resumed then.
   */
  private follow(piped: Piped): void {
    if (piped.closed || !piped.served || !this.links.has(piped.nodeId)) return;
    const consumers = [...piped.consumers];
    const flowing = consumers.length > 0 && (piped.info.paused || consumers.some((c) => !c.paused));
    if (flowing === piped.flowing) return;
    piped.flowing = flowing;
    this.cluster.send(piped.nodeId, { type: flowing ? PIPE_RESUME : PIPE_PAUSE, roomId: this.roomId, producerId: piped.info.producerId });
  }

  /** Nobody here uses it now (every use is done, so it is made or failed): close it, and its feed at the origin. */
  private releaseIfUnused(piped: Piped): void {
    if (piped.closed || piped.consumers.size > 0 || piped.pending > 0) return;
    this.closePiped(piped);
    this.askRelease(piped);
  }

  /**
   * Asks the origin to close the pipe consumer feeding `piped`. Sent at once, so it goes before the
   * pipe.consume of a pipe producer made again for the same producer (the origin reads them in order).
   */
  private askRelease(piped: Piped): void {
    if (!piped.served || !this.links.has(piped.nodeId)) return;
    piped.served = false;
    this.cluster.send(piped.nodeId, { type: PIPE_RELEASE, roomId: this.roomId, producerId: piped.info.producerId });
  }

  private closePiped(piped: Piped): void {
    if (this.piped.get(piped.info.producerId) === piped) this.piped.delete(piped.info.producerId);
    if (piped.closed) return;
    piped.closed = true;
    void piped.producer.then((producer) => producer?.close());
  }
}

function endpoint(transport: ms.PipeTransport): PipeEndpoint {
  const srtp = transport.srtpParameters;
  if (!srtp) throw new Error('a pipe transport without SRTP parameters');
  return { ip: transport.tuple.localAddress, port: transport.tuple.localPort, srtpParameters: srtp };
}
