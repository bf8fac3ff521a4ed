// The media of one room between this node and the others: one PipeTransport per other node (its
// pair is that node's PipeTransport for the same room, SRTP and RTX on), the pipe consumers this
// node serves to them, and the pipe producers it holds of their producers (same id as the origin's,
// so a listener here consumes one as it would a local producer).
//
// Lifetimes: a pipe producer lives while a local consumer uses it (or a consume is on its way):
// the last one gone closes it and tells the origin to close its pipe consumer, so no media crosses
// to nobody. A transport pair lives while both nodes hold the room: it closes with this router, on
// the other node's `room.closed` and on its `nodeLost` (closeNode).
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import {
  PIPE_RELEASE,
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
  served: Map<string, ms.Consumer>;
}

interface Piped {
  nodeId: string;
  /** Shared with the room's registry: its `paused` is the origin's latest. */
  info: RemoteProducer;
  producer: Promise<ms.Producer | undefined>;
  /** The origin made a pipe consumer for it: closing it here without the origin's say asks for that one's close. */
  served: boolean;
  /** Local consumers of it now, and consumes on their way: it closes when both are zero. */
  consumers: number;
  pending: number;
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
  ) {
    // Counts the local consumers of each pipe producer, whoever creates them.
    router.observer.on('newtransport', (transport) =>
      transport.observer.on('newconsumer', (consumer) => {
        const piped = this.piped.get(consumer.producerId);
        if (!piped || transport.type === 'pipe') return;
        piped.consumers += 1;
        consumer.observer.once('close', () => {
          piped.consumers -= 1;
          this.releaseIfUnused(piped);
        });
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
    link.served.get(producer.id)?.close();
    const consumer = await transport.consume({ producerId: producer.id });
    link.served.set(producer.id, consumer);
    consumer.observer.once('close', () => {
      if (link.served.get(producer.id) === consumer) link.served.delete(producer.id);
    });
    return { kind: consumer.kind, rtpParameters: consumer.rtpParameters as unknown as PipedProducer['rtpParameters'], paused: consumer.producerPaused };
  }

  /** `nodeId` closed its pipe producer of `producerId`. */
  release(nodeId: string, producerId: string): void {
    this.links.get(nodeId)?.served.get(producerId)?.close();
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
      const created: Piped = { nodeId, info, producer: Promise.resolve(undefined), served: false, consumers: 0, pending: 0, closed: false, syncing: Promise.resolve() };
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

  /** Nobody here uses it now (every use is done, so it is made or failed): close it, and its feed at the origin. */
  private releaseIfUnused(piped: Piped): void {
    if (piped.closed || piped.consumers > 0 || piped.pending > 0) return;
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
