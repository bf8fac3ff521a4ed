// One connected user in a room: its transports, producers and consumers. Every id a request names
// is looked up in this peer's own maps only, so another peer's ids are simply NOT_FOUND.
import { randomUUID } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/codes.js';
import { MAX_OFFERED_CONSUMERS, type NotificationData, type RequestData, type ResponseData, type RtpCapabilitiesOutline } from '../../protocol/messages.js';
import type { Notify, PeerHandle, PeerMethod, PeerRequest, PeerResponse, WelcomeTransports } from './api.js';
import { fromMediasoup, toMediasoup } from './protocolAdapter.js';
import { MediaError } from './errors.js';
import { ConsumerFlow, watchSender } from './keyframeTiming.js';
import type { EndedRecording, Recordings } from './recordings.js';
import { consumerStats, forwardConsumerScore, forwardProducerScore, producerStats } from './streamHealth.js';

type Direction = 'send' | 'recv';
/** A consumer created and what the client is told of it, until it is offered. */
interface CreatedConsumer {
  consumer: ms.Consumer;
  offer: NotificationData<'newConsumers'>['consumers'][number];
}
interface TransportEntry {
  transport: ms.WebRtcTransport;
  direction: Direction;
}

/** What a peer may ask of its room: a narrow view (the room owns its peers, not the other way round). */
export interface PeerRoom {
  readonly id: string;
  readonly router: ms.Router;
  readonly webRtcServer: ms.WebRtcServer;
  readonly speakers: { readonly speaker: PeerHandle['speaker'] };
  /** A producer of `owner` went live: the other listening peers consume it. */
  announceProducer(producer: ms.Producer, owner: Peer): void;
  producersOfOthers(peer: Peer): { producer: ms.Producer; userId: string }[];
  /** `peer` started listening: producers of other nodes reach it from there (not awaited: a slow node never holds `listen`). */
  peerListening(peer: Peer): void;
  removePeer(peer: Peer): void;
}

/** Bounds on what one client may allocate on the worker. */
const MAX_TRANSPORTS = 4;
const MAX_PRODUCERS = 32;
/** Remote tracks one client receives at most; beyond it, further producers are not offered to it. */
export const MAX_CONSUMERS = MAX_OFFERED_CONSUMERS;

/** mediasoup rejects bad RTP/DTLS objects with a TypeError whose message is safe to show. */
function asBadRequest(err: unknown): never {
  if (err instanceof TypeError) throw new MediaError(ErrorCode.BAD_REQUEST, err.message);
  if (err instanceof Error && err.name === 'UnsupportedError') throw new MediaError(ErrorCode.UNSUPPORTED_CODEC, err.message);
  throw err;
}

/** How many spatial and temporal layers a consumer can be asked for (its scalability mode, e.g. `L3T3`). */
function consumerLayerCounts(consumer: ms.Consumer): { spatialLayers: number; temporalLayers: number } {
  const mode = /^[LS](\d+)T(\d+)/.exec(consumer.rtpParameters.encodings?.[0]?.scalabilityMode ?? '');
  return mode ? { spatialLayers: Number(mode[1]), temporalLayers: Number(mode[2]) } : { spatialLayers: 1, temporalLayers: 1 };
}

export class Peer implements PeerHandle {
  readonly id = randomUUID();
  private rtpCapabilities: ms.RtpCapabilities | undefined;
  private readonly transports = new Map<string, TransportEntry>();
  private readonly producers = new Map<string, ms.Producer>();
  private readonly consumers = new Map<string, ms.Consumer>();
  /** Each consumer's pauses and resumes as its client asks them: a video resume may wait for its sender (keyframeTiming.ts). */
  private readonly flows = new WeakMap<ms.Consumer, ConsumerFlow>();
  /** Consumers the client was told of (`newConsumers`): only those get a `consumerClosed`. */
  private readonly offered = new WeakSet<ms.Consumer>();
  /** Producers consumed (or being consumed) now: listen and announce never duplicate one; its size is the consumer cap's count. */
  private readonly consumedProducers = new Set<string>();
  /** Producers whose recording the client asked to stop: its end is the response, not a notification. */
  private readonly stopsRequested = new Set<string>();
  private recvTransport: ms.WebRtcTransport | undefined;
  private listeningFlag = false;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly room: PeerRoom,
    readonly userId: string,
    private readonly notify: Notify,
    private readonly onClosedByServer: (reason: string) => void,
    private readonly recordings: Recordings,
    logger: Logger,
  ) {
    this.logger = logger.child({ peerId: this.id, roomId: room.id, userId });
  }

  get routerRtpCapabilities(): RtpCapabilitiesOutline {
    return fromMediasoup.routerCapabilities(this.room.router.rtpCapabilities);
  }

  get speaker(): PeerHandle['speaker'] {
    return this.room.speakers.speaker;
  }

  get listening(): boolean {
    return this.listeningFlag;
  }

  producerList(): ms.Producer[] {
    return [...this.producers.values()];
  }

  /** Every request MR answers, by method: the same table could serve requests from another node. */
  private readonly handlers: { [M in PeerMethod]: (data: RequestData<M>) => Promise<ResponseData<M>> | ResponseData<M> } = {
    join: (data) => this.join(data),
    createTransport: (data) => this.createTransport(data),
    connectTransport: (data) => this.connectTransport(data),
    restartIce: (data) => this.restartIce(data),
    produce: (data) => this.produce(data),
    pauseProducer: async ({ producerId }) => (await this.producer(producerId).pause(), {}),
    resumeProducer: async ({ producerId }) => (await this.producer(producerId).resume(), {}),
    closeProducer: ({ producerId }) => {
      this.producer(producerId).close();
      this.producers.delete(producerId);
      return {};
    },
    listen: () => this.listen(),
    pauseConsumer: ({ consumerId }) => this.flowConsumer(consumerId, false),
    resumeConsumer: ({ consumerId }) => this.flowConsumer(consumerId, true),
    resumeConsumers: ({ consumerIds }) => this.resumeConsumers(consumerIds),
    setConsumerPreferredLayers: (data) => this.setConsumerPreferredLayers(data),
    startRecord: (data) => this.startRecord(data),
    stopRecord: (data) => this.stopRecord(data),
    getProducerStats: ({ producerId }) => producerStats(this.producer(producerId)),
    getConsumerStats: ({ consumerId }) => consumerStats(this.consumer(consumerId)),
  };

  /** A notification for this peer's client while it is open (the room's: the speaker, audio levels). */
  readonly tell: Notify = (method, data) => {
    if (!this.closed) this.notify(method, data);
  };

  async request(req: PeerRequest): Promise<PeerResponse> {
    try {
      if (this.closed) throw new MediaError(ErrorCode.INVALID_STATE, 'the peer is closed');
      if (req.method !== 'join' && !this.rtpCapabilities) {
        throw new MediaError(ErrorCode.INVALID_STATE, `'${req.method}' is not allowed before 'join'`);
      }
      const handler = this.handlers[req.method] as (data: typeof req.data) => Promise<ResponseData<PeerMethod>> | ResponseData<PeerMethod>;
      return { ok: true, data: await handler(req.data) };
    } catch (err) {
      if (err instanceof MediaError) return { ok: false, error: { code: err.code, message: err.message } };
      // Details stay in the server log; the client gets a fixed, safe message.
      this.logger.error({ method: req.method, err }, 'request failed');
      return { ok: false, error: { code: ErrorCode.SERVER_ERROR, message: `${req.method} failed on the server` } };
    }
  }

  private async startRecord({ producerId }: RequestData<'startRecord'>): Promise<ResponseData<'startRecord'>> {
    const producer = this.producer(producerId);
    const owner = { roomId: this.room.id, userId: this.userId, router: this.room.router };
    const recording = await this.recordings.start(owner, producer, (ended) => this.recordingEnded(producerId, ended));
    return { recordingId: recording.id, path: recording.path };
  }

  private async stopRecord({ producerId }: RequestData<'stopRecord'>): Promise<ResponseData<'stopRecord'>> {
    this.producer(producerId);
    this.stopsRequested.add(producerId);
    try {
      const { id, path, result } = await this.recordings.stop(producerId);
      if (result.state === 'failed') throw new MediaError(ErrorCode.SERVER_ERROR, `the recording failed: ${result.reason ?? 'unknown'}`);
      return { id, path };
    } finally {
      this.stopsRequested.delete(producerId);
    }
  }

  /** A recording ended on its own (producer closed, ffmpeg died, shutdown): tell the client. */
  private recordingEnded(producerId: string, { id, path, result }: EndedRecording): void {
    if (this.closed || this.stopsRequested.has(producerId)) return;
    this.notify('recordingEnded', { producerId, id, path, state: result.state });
  }

  private join(data: RequestData<'join'>): ResponseData<'join'> {
    if (this.rtpCapabilities) throw new MediaError(ErrorCode.INVALID_STATE, 'already joined');
    // Checked in depth by router.canConsume() for every consumer.
    this.rtpCapabilities = toMediasoup.rtpCapabilities(data.rtpCapabilities);
    return { peerId: this.id };
  }

  private async createTransport({ direction }: RequestData<'createTransport'>): Promise<ResponseData<'createTransport'>> {
    if (this.transports.size >= MAX_TRANSPORTS) throw new MediaError(ErrorCode.INVALID_STATE, `at most ${MAX_TRANSPORTS} transports per client`);
    const transport = await this.room.router.createWebRtcTransport({
      webRtcServer: this.room.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      appData: { peerId: this.id, direction },
    });
    if (this.closed) {
      transport.close();
      throw new MediaError(ErrorCode.INVALID_STATE, 'the peer is closed');
    }
    this.transports.set(transport.id, { transport, direction });
    if (direction === 'recv') this.recvTransport = transport;
    transport.on('dtlsstatechange', (state) => this.logger.debug({ transportId: transport.id, state }, 'dtls state'));
    transport.on('routerclose', () => this.transports.delete(transport.id));
    this.logger.debug({ transportId: transport.id, direction }, 'transport created');
    return fromMediasoup.transport(transport);
  }

  /**
   * The transports a version-3 client gets with `welcome`. The client answers its transport's
   * `connect` at once, without waiting for `connectTransport` to be answered, so the browser may
   * start DTLS before mediasoup is connected (mediasoup drops DTLS until then; the browser resends).
   * On the send transport the server is the DTLS client: the browser (the offerer, its answer
   * written by mediasoup-client from this role) waits for mediasoup's ClientHello, sent as soon as
   * `connectTransport` arrives. On the recv transport the browser writes the answer itself and is
   * always the DTLS client, so there the role stays mediasoup's own (`auto`).
   */
  async openTransports(): Promise<WelcomeTransports> {
    const [send, recv] = await Promise.all([this.createTransport({ direction: 'send' }), this.createTransport({ direction: 'recv' })]);
    return { send: { ...send, dtlsParameters: { ...send.dtlsParameters, role: 'client' } }, recv };
  }

  private async connectTransport({ transportId, dtlsParameters }: RequestData<'connectTransport'>): Promise<ResponseData<'connectTransport'>> {
    const { transport } = this.transport(transportId);
    await transport.connect({ dtlsParameters: toMediasoup.dtlsParameters(dtlsParameters) }).catch(asBadRequest);
    return {};
  }

  private async restartIce({ transportId }: RequestData<'restartIce'>): Promise<ResponseData<'restartIce'>> {
    const { transport } = this.transport(transportId);
    return { iceParameters: fromMediasoup.iceParameters(await transport.restartIce()) };
  }

  private async produce(data: RequestData<'produce'>): Promise<ResponseData<'produce'>> {
    const entry = this.transport(data.transportId);
    if (entry.direction !== 'send') throw new MediaError(ErrorCode.INVALID_STATE, `transport ${data.transportId} is not a send transport`);
    if (this.producers.size >= MAX_PRODUCERS) throw new MediaError(ErrorCode.INVALID_STATE, `at most ${MAX_PRODUCERS} producers per client`);
    const wrongKind = data.rtpParameters.codecs.find((c) => !c.mimeType.toLowerCase().startsWith(`${data.kind}/`));
    if (wrongKind) throw new MediaError(ErrorCode.BAD_REQUEST, `codec ${wrongKind.mimeType} does not match kind '${data.kind}'`);
    // mediasoup refuses a MID its transport already has with a plain Error: say so as the client's mistake.
    const mid = data.rtpParameters.mid;
    if (mid !== undefined && [...this.producers.values()].some((p) => p.rtpParameters.mid === mid && !p.closed)) {
      throw new MediaError(ErrorCode.BAD_REQUEST, `mid '${mid}' is already used by another producer of this client`);
    }
    const producer = await entry.transport
      .produce({
        kind: data.kind,
        rtpParameters: toMediasoup.rtpParameters(data.rtpParameters),
        paused: data.paused ?? false,
        appData: data.appData ?? {},
      })
      .catch(asBadRequest);
    // From its birth: a resume of its consumers reads which keyframe requests its sender honoured.
    void watchSender(producer);
    if (this.closed) {
      producer.close();
      throw new MediaError(ErrorCode.INVALID_STATE, 'the peer is closed');
    }
    this.producers.set(producer.id, producer);
    producer.on('transportclose', () => this.producers.delete(producer.id));
    forwardProducerScore(producer, this.tell);
    this.logger.debug({ producerId: producer.id, kind: producer.kind }, 'producer created');
    // Same synchronous block as the map insert: a concurrent `listen` sees it exactly once.
    this.room.announceProducer(producer, this);
    return { producerId: producer.id };
  }

  /**
   * Answered once a pause is applied, and a resume at once even when it is held for the sender: the
   * client's next steps never wait for that.
   */
  private async flowConsumer(consumerId: string, flowing: boolean): Promise<ResponseData<'pauseConsumer'>> {
    await this.flows.get(this.consumer(consumerId))?.set(flowing);
    return {};
  }

  /** All or nothing: every id is looked up first (NOT_FOUND names the first that is not this peer's consumer now), then all resume. */
  private async resumeConsumers(consumerIds: readonly string[]): Promise<ResponseData<'resumeConsumers'>> {
    const consumers = consumerIds.map((id) => this.consumer(id));
    await Promise.all(consumers.map((consumer) => this.flows.get(consumer)?.set(true)));
    return {};
  }

  /** mediasoup clamps a layer out of range silently: the client is told instead. */
  private async setConsumerPreferredLayers({ consumerId, spatialLayer, temporalLayer }: RequestData<'setConsumerPreferredLayers'>): Promise<ResponseData<'setConsumerPreferredLayers'>> {
    const consumer = this.consumer(consumerId);
    const { spatialLayers, temporalLayers } = consumerLayerCounts(consumer);
    if (spatialLayer >= spatialLayers || (temporalLayer ?? 0) >= temporalLayers) {
      throw new MediaError(ErrorCode.BAD_REQUEST, `consumer ${consumerId} has ${spatialLayers} spatial and ${temporalLayers} temporal layers`);
    }
    await consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer !== undefined && { temporalLayer }) });
    return {};
  }

  private async listen(): Promise<ResponseData<'listen'>> {
    if (!this.recvTransport || this.recvTransport.closed) throw new MediaError(ErrorCode.INVALID_STATE, "'listen' needs a recv transport first");
    if (this.listeningFlag) return {};
    this.listeningFlag = true;
    const local = Promise.all(this.room.producersOfOthers(this).map(({ producer, userId }) => this.createConsumer(producer, userId)));
    this.room.peerListening(this);
    // Every track already here in one offer, before the answer: the client consumes them at once.
    this.offer(await local);
    return {};
  }

  /** Offers the client a consumer of a producer that went live (or reached this node) while it listens. */
  async consume(producer: ms.Producer, userId: string): Promise<void> {
    this.offer([await this.createConsumer(producer, userId)]);
  }

  /** Tells the client of the consumers still open (one `newConsumers`), each with its scores, then of every change of those. */
  private offer(created: ReadonlyArray<CreatedConsumer | undefined>): void {
    const open = created.filter((c): c is CreatedConsumer => c !== undefined && !c.consumer.closed);
    if (this.closed || open.length === 0) return;
    for (const { consumer } of open) this.offered.add(consumer);
    // Its producer may have paused or resumed since it was created, and its scores moved: the offer says how they are now.
    this.notify('newConsumers', {
      consumers: open.map(({ offer, consumer }) => ({ ...offer, producerPaused: consumer.producerPaused, score: consumer.score.score, producerScore: consumer.score.producerScore })),
    });
    for (const { consumer } of open) forwardConsumerScore(consumer, this.tell);
  }

  /**
   * Creates a paused consumer of a remote producer, to be offered. Never rejects: one producer
   * this peer cannot receive must not fail its `listen` nor reach another peer.
   */
  private async createConsumer(producer: ms.Producer, userId: string): Promise<CreatedConsumer | undefined> {
    try {
      return await this.createConsumerOrThrow(producer, userId);
    } catch (err) {
      this.logger.error({ producerId: producer.id, err: (err as Error).message }, 'consume failed');
      return undefined;
    }
  }

  private async createConsumerOrThrow(producer: ms.Producer, userId: string): Promise<CreatedConsumer | undefined> {
    const transport = this.recvTransport;
    const rtpCapabilities = this.rtpCapabilities;
    if (this.closed || !transport || !rtpCapabilities || this.consumedProducers.has(producer.id)) return undefined;
    const notConsumed = (code: 'UNSUPPORTED_CODEC' | 'INVALID_STATE', message: string) =>
      this.notify('trackNotConsumed', { producerId: producer.id, userId, kind: producer.kind, code, message });
    if (!this.room.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      this.logger.info({ producerId: producer.id, kind: producer.kind }, 'cannot consume: the client lacks a codec of this producer');
      notConsumed(ErrorCode.UNSUPPORTED_CODEC, `this browser cannot receive ${producer.kind} from ${userId}: no common codec`);
      return undefined;
    }
    if (this.consumedProducers.size >= MAX_CONSUMERS) {
      this.logger.warn({ producerId: producer.id, max: MAX_CONSUMERS }, 'not consumed: this client receives the most tracks it may');
      notConsumed(ErrorCode.INVALID_STATE, `not receiving ${producer.kind} from ${userId}: this client already receives ${MAX_CONSUMERS} tracks, the most it may`);
      return undefined;
    }
    this.consumedProducers.add(producer.id);
    let consumer: ms.Consumer;
    try {
      // Paused until the client has set up its side and resumes it (mediasoup's recommended order).
      consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, appData: { userId } });
    } catch (err) {
      // Typically the producer closed meanwhile.
      this.consumedProducers.delete(producer.id);
      this.logger.debug({ producerId: producer.id, err: (err as Error).message }, 'consume failed');
      return undefined;
    }
    if (this.closed) {
      consumer.close();
      return undefined;
    }
    this.consumers.set(consumer.id, consumer);
    this.flows.set(consumer, new ConsumerFlow(consumer, producer));
    // Until it is offered the client knows nothing of it: the offer carries its state then.
    const told = () => !this.closed && this.offered.has(consumer);
    const gone = (reason: string) => {
      this.consumers.delete(consumer.id);
      this.consumedProducers.delete(producer.id);
      // One that closed before its offer went out is never offered: the client hears nothing of it.
      if (told()) this.notify('consumerClosed', { consumerId: consumer.id, reason });
    };
    consumer.on('producerclose', () => gone('producer closed'));
    consumer.on('transportclose', () => gone('transport closed'));
    consumer.on('producerpause', () => told() && this.notify('consumerProducerPaused', { consumerId: consumer.id }));
    consumer.on('producerresume', () => told() && this.notify('consumerProducerResumed', { consumerId: consumer.id }));
    consumer.on('layerschange', (layers) => {
      if (told()) this.notify('consumerLayersChanged', { consumerId: consumer.id, layers: layers ?? null });
    });
    this.logger.debug({ consumerId: consumer.id, producerId: producer.id }, 'consumer created');
    return {
      consumer,
      offer: {
        id: consumer.id,
        producerId: producer.id,
        kind: consumer.kind,
        rtpParameters: fromMediasoup.consumerParameters(consumer.rtpParameters),
        userId,
        producerPaused: consumer.producerPaused,
        appData: producer.appData,
        ...(consumer.type === 'simulcast' && {
          // The client's encodings as validated (rtp.ts): mediasoup keeps the keys it has no type for. A
          // producer piped from another node has none: each layer half the next, the browsers' default.
          spatialLayers: (producer.rtpParameters.encodings ?? []).map((e, i, all) => ({
            scaleResolutionDownBy: (e as { scaleResolutionDownBy?: number }).scaleResolutionDownBy ?? 2 ** (all.length - 1 - i),
          })),
        }),
      },
    };
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // Closing a transport closes its producers; consumers of them elsewhere get 'producerclose'.
    for (const { transport } of this.transports.values()) transport.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.logger.debug({ reason }, 'peer closed');
    this.room.removePeer(this);
  }

  /** MR closed this peer (its room's worker died): release and tell the gateway. */
  closeByServer(reason: string): void {
    if (this.closed) return;
    this.close(reason);
    this.onClosedByServer(reason);
  }

  private transport(id: string): TransportEntry {
    const entry = this.transports.get(id);
    if (!entry) throw new MediaError(ErrorCode.NOT_FOUND, `no transport ${id}`);
    return entry;
  }

  private producer(id: string): ms.Producer {
    const producer = this.producers.get(id);
    if (!producer) throw new MediaError(ErrorCode.NOT_FOUND, `no producer ${id}`);
    return producer;
  }

  private consumer(id: string): ms.Consumer {
    const consumer = this.consumers.get(id);
    if (!consumer) throw new MediaError(ErrorCode.NOT_FOUND, `no consumer ${id}`);
    return consumer;
  }
}
