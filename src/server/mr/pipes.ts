// The media of one room between this node and the others: one PipeTransport per other node (its
// pair is that node's PipeTransport for the same room, SRTP and RTX on), the pipe consumers this
// node serves to them, and the pipe producers it holds of their producers (same id as the origin's,
// so a listener here consumes one as it would a local producer).
//
// Made ahead of need, so that a listener on another node waits for nothing a listener on the
// producer's node does not: the pair as soon as both nodes hold peers of the room (`connect`, from
// the span's discovery), a pipe producer as soon as this node learns of a remote producer (`pipe`).
//
// Lifetimes: a transport pair lives while both nodes hold the room: it closes with this router, on
// the other node's `room.closed` and on its `nodeLost` (closeNode). A pipe producer lives with its
// producer and the pair. A video pipe consumer crosses media only while a local consumer of its
// pipe producer is resumed (pipe.resume / pipe.pause): no video crosses to nobody, and its resume
// asks the sender for the keyframe that listener needs. Audio crosses while the pipe producer lives,
// so every node's speaker observers hear every voice of the room (speakerObserver.ts).
//
// The keyframe: a paused pipe consumer drops the keyframe its creation asked for (mediasoup asks at
// creation; made at the producer's birth, before the sender has sent anything, the request goes
// nowhere), so its resume asks again, held when the sender would ignore that request
// (keyframeTiming.ts, as for every video consumer's resume on a node).
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import { ConsumerFlow, watchSender } from './keyframeTiming.js';
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
  /** What that node wants last (pipe.resume / pipe.pause). */
  flow: ConsumerFlow;
}

interface Piped {
  nodeId: string;
  /** Shared with the room's registry: its `paused` is the origin's latest. */
  info: RemoteProducer;
  producer: Promise<ms.Producer | undefined>;
  /** The origin made a pipe consumer for it: closing it here without the origin's say asks for that one's close. */
  served: boolean;
  /** Local consumers of it now: whether one is resumed decides whether video crosses. */
  consumers: Set<ms.Consumer>;
  /** What the origin's pipe consumer does as this node last told it (video starts paused, audio runs). */
  flowing: boolean;
  closed: boolean;
  /** The pauses and resumes it is following, one after the other. */
  syncing: Promise<void>;
}

export class RoomPipes {
  private readonly links = new Map<string, Link>();
  private readonly piped = new Map<string, Piped>();
  private closed = false;

  constructor(
    private readonly roomId: string,
    private readonly router: ms.Router,
    private readonly cluster: Cluster,
    private readonly listen: PipeListen,
    private readonly logger: Logger,
    /** A pipe producer was made (the room's speaker observers take its audio). */
    private readonly onPipeProducer: (producer: ms.Producer, info: RemoteProducer) => void = () => undefined,
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
    await watchSender(producer);
    const consumer = await transport.consume({ producerId: producer.id });
    const served: Served = { consumer, flow: new ConsumerFlow(consumer, producer) };
    link.served.set(producer.id, served);
    consumer.observer.once('close', () => {
      if (link.served.get(producer.id) === served) link.served.delete(producer.id);
    });
    // Video paused (mediasoup makes it running) until that node has a consumer that wants it: see
    // the header. Before the answer, so that node's pipe.resume always comes after it.
    if (consumer.kind === 'video') await served.flow.set(false);
    return { kind: consumer.kind, rtpParameters: consumer.rtpParameters as unknown as PipedProducer['rtpParameters'], paused: consumer.producerPaused };
  }

  /** `nodeId` has a consumer of `producerId` that wants media (its resume asks the sender for a keyframe), or none has any more. */
  flow(nodeId: string, producerId: string, flowing: boolean): void {
    const served = this.links.get(nodeId)?.served.get(producerId);
    if (!served || served.consumer.closed) return;
    void served.flow.set(flowing).catch(() => undefined);
  }

  /** `nodeId` closed its pipe producer of `producerId`. */
  release(nodeId: string, producerId: string): void {
    this.links.get(nodeId)?.served.get(producerId)?.consumer.close();
  }

  // ---- the side that listens ----

  /** Sets up the pair with `nodeId` ahead of any pipe producer (both nodes hold peers of the room). */
  connect(nodeId: string): void {
    if (this.closed) return;
    this.linked(nodeId).catch((err: Error) => this.logger.warn({ nodeId, err: err.message }, 'setting up the pipe pair failed'));
  }

  /**
   * The pipe producer of a remote producer, made on the first call; it lives with its producer and
   * the pair. Resolves undefined when it cannot be had (closed meanwhile, origin gone).
   */
  pipe(nodeId: string, info: RemoteProducer): Promise<ms.Producer | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const known = this.piped.get(info.producerId);
    if (known && !known.closed) return known.producer;
    const piped: Piped = {
      nodeId,
      info,
      producer: Promise.resolve(undefined),
      served: false,
      consumers: new Set(),
      flowing: info.kind === 'audio',
      closed: false,
      syncing: Promise.resolve(),
    };
    piped.producer = this.createPipeProducer(piped);
    this.piped.set(info.producerId, piped);
    return piped.producer;
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
    // Connected already (the other node's pipe.connect made the pair): nothing to exchange. Asking
    // again could only fail and close a working pair: a rediscovery after a Redis outage asks while
    // the other node may not listen again yet.
    link.linking ??= link.connected ? link.transport : (async () => {
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
      this.onPipeProducer(producer, info);
      return producer;
    } catch (err) {
      this.logger.warn({ producerId: info.producerId, from: nodeId, err: (err as Error).message }, 'piping a remote producer failed');
      this.closePiped(piped);
      this.askRelease(piped);
      return undefined;
    }
  }

  /**
   * Tells the origin whether its pipe consumer should cross media: audio always, video while a local
   * consumer is resumed. While the origin's producer is paused nothing crosses anyway and a
   * consumer's own resume is not observable (mediasoup's observer reports the effective state), so
   * any local consumer keeps it resumed then.
   */
  private follow(piped: Piped): void {
    if (piped.closed || !piped.served || !this.links.has(piped.nodeId)) return;
    const consumers = [...piped.consumers];
    const flowing = piped.info.kind === 'audio' || (consumers.length > 0 && (piped.info.paused || consumers.some((c) => !c.paused)));
    if (flowing === piped.flowing) return;
    piped.flowing = flowing;
    this.cluster.send(piped.nodeId, { type: flowing ? PIPE_RESUME : PIPE_PAUSE, roomId: this.roomId, producerId: piped.info.producerId });
  }

  /**
   * Asks the origin to close the pipe consumer feeding `piped` (made for a pipe producer that is not
   * wanted any more). Sent at once, so it goes before the pipe.consume of a pipe producer made again
   * for the same producer (the origin reads them in order).
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
