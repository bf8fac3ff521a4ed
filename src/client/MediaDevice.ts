// The mediasoup-client Device of one client and everything it created: one send and one recv
// transport per connection, the producers and the consumers. The machines refer to all of them by
// id or direction only; this class holds the objects.
import { Device } from 'mediasoup-client';
import type { Consumer, DtlsParameters, Producer, Transport } from 'mediasoup-client/types';
import type { MediaKind, RouterCapabilities, TransportDirection as Direction } from '../../machines/shared.js';
import type { TransportConnectionState } from '../../machines/transportMachine.js';
import { ErrorCode } from '../protocol/codes.js';
import { MAX_OFFERED_CONSUMERS, RESUME_BATCH_SINCE, type NotificationData, type RequestData, type RequestMethod, type ResponseData, type TransportInfo } from '../protocol/messages.js';
import { MediaInfraError } from './MediaInfraError.js';
import { probeNativeCapabilities } from './nativeCapabilities.js';
import { foldProbator, prepareToReceive } from './probatorHandler.js';
import { fromMediasoupClient, toMediasoupClient } from './protocolAdapter.js';
import { sendEncodings, type SendSettings } from './simulcast.js';

/** Sends one signaling request (MediaSignalingService.request). */
export type Requester = <M extends RequestMethod>(method: M, data: RequestData<M>) => Promise<ResponseData<M>>;

export interface TransportWatcher {
  /** The transport needs its DTLS parameters sent (`connect`); then call `connectTransport`. */
  connectRequested(): void;
  stateChanged(state: TransportConnectionState): void;
}

/** What every transport's RTCPeerConnection is given (`createMediaClient`'s `iceServers`, `iceTransportPolicy`). */
export interface IceOptions {
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
}

interface PendingConnect {
  dtlsParameters: DtlsParameters;
  callback: () => void;
  errback: (error: Error) => void;
}

export class MediaDevice {
  readonly #request: Requester;
  readonly #createDevice: () => Device;
  readonly #ice: IceOptions;
  #device: Device | undefined;
  /** The Device `probeCapabilities` made, for the next load. */
  #prepared: Device | undefined;
  #capabilitiesJson: string | undefined;
  readonly #transports = new Map<Direction, Transport>();
  readonly #pendingConnect = new Map<Direction, PendingConnect>();
  /** The transport of each direction being created (or created) for this connection. */
  readonly #creating = new Map<Direction, Promise<Transport>>();
  /** Transports a protocol-3 welcome offered: their `connect` is answered without waiting (see connectTransport). */
  readonly #connectAtOnce = new Set<Direction>();
  readonly #producers = new Map<string, Producer>();
  /**
   * The server's answer to each `produce`, by the appData object the 'produce' event hands back.
   * mediasoup-client runs one produce at a time and waits for the 'produce' event's id before the
   * next, so the event is answered at once with a local id and the server's id is awaited apart:
   * a connection's tracks are produced in one round trip, not one each.
   */
  readonly #produced = new WeakMap<object, Promise<string>>();
  /** The appData objects of productions asked paused (the transport's `produce` event hands back the same object). */
  readonly #producedPaused = new WeakSet<object>();
  readonly #consumers = new Map<string, Consumer>();
  /** The resumes asked in this tick, sent together in one `resumeConsumers` (a server of version 4 or newer). */
  #resumes: Array<{ consumerId: string; resolve: () => void; reject: (error: unknown) => void }> | undefined;
  /** The server's protocol version, from its welcome: which requests it takes. */
  serverVersion = 1;

  constructor(request: Requester, createDevice: () => Device = () => new Device(), ice: IceOptions = {}) {
    this.#request = request;
    this.#createDevice = createDevice;
    this.#ice = ice;
  }

  get loaded(): boolean {
    return this.#device?.loaded ?? false;
  }

  /** This browser's receive capabilities, as `join` sends them. */
  get rtpCapabilities(): RequestData<'join'>['rtpCapabilities'] {
    if (!this.#device?.loaded) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'the device is not loaded');
    return fromMediasoupClient.rtpCapabilities(this.#device.rtpCapabilities);
  }

  /**
   * Makes the Device and has the browser probe its own capabilities now, while the socket opens
   * (nativeCapabilities.ts). A Device that cannot be made here is made again by `load`, which
   * reports why.
   */
  probeCapabilities(): void {
    try {
      this.#prepared ??= probeNativeCapabilities(this.#createDevice());
    } catch {
      // An unsupported browser: `load` throws it where it is reported.
    }
  }

  /** Loads the Device; a Device already loaded with equal capabilities is kept. */
  async load(routerRtpCapabilities: RouterCapabilities): Promise<void> {
    const json = JSON.stringify(routerRtpCapabilities);
    if (this.#device?.loaded && json === this.#capabilitiesJson) return;
    const device = this.#prepared ?? this.#createDevice();
    this.#prepared = undefined;
    try {
      await device.load({ routerRtpCapabilities: toMediasoupClient.routerCapabilities(routerRtpCapabilities) });
    } catch (error) {
      throw new MediaInfraError(ErrorCode.UNSUPPORTED_CODEC, `cannot load the device: ${(error as Error).message}`, { cause: error });
    }
    this.#device = device;
    this.#capabilitiesJson = json;
  }

  canProduce(kind: MediaKind): boolean {
    return this.#device?.loaded ? this.#device.canProduce(kind) : false;
  }

  /**
   * Creates the local transport of the server transport the welcome `offered` (at once, before
   * this returns: a consumer or producer of the same tick finds it), or of one it requests from an
   * older server; returns its id.
   */
  createTransport(direction: Direction, offered?: TransportInfo): Promise<string> {
    const creating = this.#createTransport(direction, offered);
    this.#creating.set(direction, creating);
    return creating.then((transport) => transport.id);
  }

  /** The transport of `direction`, once the one being created is there (a notification may come before a requested one). */
  async #transport(direction: Direction): Promise<Transport | undefined> {
    return this.#transports.get(direction) ?? (await this.#creating.get(direction)?.catch(() => undefined));
  }

  async #createTransport(direction: Direction, offered: TransportInfo | undefined): Promise<Transport> {
    const device = this.#device;
    if (!device?.loaded) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'the device is not loaded');
    const info = offered ?? (await this.#request('createTransport', { direction }));
    const transportOptions = { ...toMediasoupClient.transportOptions(info), ...this.#ice };
    const transport = direction === 'send' ? device.createSendTransport(transportOptions) : device.createRecvTransport(transportOptions);
    this.#transports.get(direction)?.close();
    this.#transports.set(direction, transport);
    if (direction === 'recv') foldProbator(transport.handler);
    if (offered) this.#connectAtOnce.add(direction);
    else this.#connectAtOnce.delete(direction);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#pendingConnect.set(direction, { dtlsParameters, callback, errback });
      this.#watchers.get(direction)?.connectRequested();
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback) => {
        // A track produced paused is paused on the server from its first moment: nothing reaches a consumer.
        const paused = this.#producedPaused.has(appData);
        const answer = this.#request('produce', { transportId: transport.id, kind, rtpParameters: fromMediasoupClient.rtpParameters(rtpParameters), appData, ...(paused && { paused }) });
        const producerId = answer.then((a) => a.producerId);
        // Awaited by produce(), which closes the local producer on a refusal; never unobserved here.
        producerId.catch(() => undefined);
        this.#produced.set(appData, producerId);
        // The local Producer's id, never sent: the server's is awaited apart. (Not crypto.randomUUID:
        // a page served over plain http has none.)
        callback({ id: String(Math.random()) });
      });
    }
    transport.on('connectionstatechange', (state) => this.#watchers.get(direction)?.stateChanged(fromMediasoupClient.connectionState(state)));
    return transport;
  }

  /**
   * Readies the recv transport for the offer `listen` brings: negotiates mediasoup's RTP probator
   * on it now, which connects it while the server makes the offer (probatorHandler.ts). Never
   * rejects: a transport not readied is readied by its first receive.
   */
  async prepareToReceive(): Promise<void> {
    const transport = await this.#transport('recv');
    if (transport && !transport.closed && this.#device?.loaded) prepareToReceive(transport.handler, this.#device.rtpCapabilities);
  }

  readonly #watchers = new Map<Direction, TransportWatcher>();

  /** Follows a transport's events until the returned function is called. */
  watchTransport(direction: Direction, watcher: TransportWatcher): () => void {
    this.#watchers.set(direction, watcher);
    if (this.#pendingConnect.has(direction)) watcher.connectRequested();
    return () => {
      if (this.#watchers.get(direction) === watcher) this.#watchers.delete(direction);
    };
  }

  /**
   * Sends the DTLS parameters the transport gave in its `connect` event. A transport the welcome
   * offered goes on at once: its produce or consume follows on the same ordered socket, and a
   * refusal still rejects here (the transport actor fails). The server is the DTLS client of the
   * send transport (see the server's `openTransports`), so nothing is lost there; on the recv
   * transport a ClientHello that arrives before `connectTransport` is resent by the browser. With
   * an older server it waits for the answer first, as before protocol 3.
   */
  async connectTransport(direction: Direction): Promise<void> {
    const pending = this.#pendingConnect.get(direction);
    const transport = this.#transports.get(direction);
    if (!pending || !transport) throw new MediaInfraError(ErrorCode.INVALID_STATE, `no ${direction} transport to connect`);
    this.#pendingConnect.delete(direction);
    const answered = this.#request('connectTransport', { transportId: transport.id, dtlsParameters: fromMediasoupClient.dtlsParameters(pending.dtlsParameters) });
    if (this.#connectAtOnce.has(direction)) {
      pending.callback();
      await answered;
      return;
    }
    try {
      await answered;
      pending.callback();
    } catch (error) {
      pending.errback(error as Error);
      throw error;
    }
  }

  /** Asks the server for new ICE parameters and restarts ICE on the local transport with them. */
  async restartIce(direction: Direction): Promise<void> {
    const transport = this.#transports.get(direction);
    if (!transport || transport.closed) throw new MediaInfraError(ErrorCode.INVALID_STATE, `no ${direction} transport to restart`);
    const { iceParameters } = await this.#request('restartIce', { transportId: transport.id });
    if (this.#transports.get(direction) !== transport) throw new MediaInfraError(ErrorCode.INVALID_STATE, `the ${direction} transport was replaced`);
    await transport.restartIce({ iceParameters: toMediasoupClient.iceParameters(iceParameters) });
  }

  closeTransport(direction: Direction): void {
    this.#transports.get(direction)?.close();
    this.#transports.delete(direction);
    this.#creating.delete(direction);
    this.#pendingConnect.delete(direction);
    this.#connectAtOnce.delete(direction);
  }

  /** Produces the track on the send transport (paused if asked, on the server too). */
  async produce(options: { track: MediaStreamTrack; kind: MediaKind; appData: Record<string, unknown>; paused: boolean; send?: SendSettings }): Promise<string> {
    if (!this.canProduce(options.kind)) {
      throw new MediaInfraError(ErrorCode.UNSUPPORTED_CODEC, `this browser cannot send ${options.kind} to this router`);
    }
    const transport = this.#transports.get('send');
    if (!transport) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'no send transport');
    if (options.track.readyState === 'ended') throw new MediaInfraError(ErrorCode.INVALID_STATE, 'the track has ended');
    let producer: Producer;
    const appData = { ...options.appData };
    if (options.paused) this.#producedPaused.add(appData);
    try {
      const encodings = sendEncodings(options.track, options.send);
      producer = await transport.produce({
        track: options.track,
        // The track belongs to the page (and is produced again after a reconnect): never stopped, never disabled.
        stopTracks: false,
        disableTrackOnPause: false,
        // A paused producer's transceiver is inactive: not one RTP packet (a disabled track would still send black frames or silence).
        zeroRtpOnPause: true,
        // Produced paused: the sender drops its track before anything is negotiated, so not one packet leaves before the pause below.
        ...(options.paused && { onRtpSender: (sender: RTCRtpSender) => void sender.replaceTrack(null).catch(() => undefined) }),
        appData,
        ...(encodings && { encodings }),
      });
    } catch (error) {
      throw MediaInfraError.from(error, ErrorCode.SERVER_ERROR);
    }
    // Its transceiver goes inactive; the sender gets its track back when it is resumed (startSending).
    if (options.paused) producer.pause();
    // mediasoup-client emits 'produce' (which sent the request) before its produce() resolves.
    const answer = this.#produced.get(appData)!;
    let producerId: string;
    try {
      producerId = await answer;
    } catch (error) {
      // Refused by the server (or the connection went): the local producer goes too.
      producer.close();
      throw MediaInfraError.from(error, ErrorCode.SERVER_ERROR);
    }
    this.#producers.set(producerId, producer);
    return producerId;
  }

  /** Stops the local producer's packets at once (its transceiver goes inactive); the server is told apart. */
  stopSending(producerId: string | undefined): void {
    const producer = producerId === undefined ? undefined : this.#producers.get(producerId);
    if (producer && !producer.closed && !producer.paused) producer.pause();
  }

  /** The local producer sends again (once the server's producer is live). */
  startSending(producerId: string | undefined): void {
    const producer = producerId === undefined ? undefined : this.#producers.get(producerId);
    if (!producer || producer.closed || !producer.paused) return;
    // Produced paused, its sender has had no track (see produce): it gets it back before the transceiver sends again.
    const sender = producer.rtpSender;
    if (sender && producer.track && sender.track !== producer.track) void sender.replaceTrack(producer.track).catch(() => undefined);
    producer.resume();
  }

  /** Asks the server to pause its producer (the local one stopped sending already: `stopSending`). */
  async pauseProducer(producerId: string): Promise<void> {
    await this.#request('pauseProducer', { producerId });
  }

  /** Asks the server to resume its producer (the local one sends again after: `startSending`). */
  async resumeProducer(producerId: string): Promise<void> {
    await this.#request('resumeProducer', { producerId });
  }

  /** Sends `track` instead on the local producer: the server's producer, and every consumer of it, stay. */
  async replaceTrack(producerId: string, track: MediaStreamTrack): Promise<void> {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'the track is not produced');
    try {
      await producer.replaceTrack({ track });
    } catch (error) {
      throw MediaInfraError.from(error, ErrorCode.INVALID_STATE);
    }
  }

  /** Closes the local producer and, when there is one, asks the server to close its own. */
  async closeProducer(producerId: string | undefined): Promise<void> {
    if (producerId === undefined) return;
    this.releaseProducer(producerId);
    await this.#request('closeProducer', { producerId });
  }

  releaseProducer(producerId: string | undefined): void {
    if (producerId === undefined) return;
    this.#producers.get(producerId)?.close();
    this.#producers.delete(producerId);
  }

  /** Consumes a remote track on the recv transport (`startConsumer` then asks the server to send it). */
  async consume(data: Pick<NotificationData<'newConsumer'>, 'id' | 'producerId' | 'kind' | 'rtpParameters'>): Promise<void> {
    const transport = await this.#transport('recv');
    if (!transport) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'no recv transport');
    let consumer: Consumer;
    try {
      consumer = await transport.consume({
        id: data.id,
        producerId: data.producerId,
        kind: data.kind,
        rtpParameters: toMediasoupClient.consumerParameters(data.rtpParameters),
      });
    } catch (error) {
      throw MediaInfraError.from(error, ErrorCode.UNSUPPORTED_CODEC);
    }
    this.#consumers.set(consumer.id, consumer);
  }

  /**
   * Asks the server to start sending a consumer just consumed. The consumers of one offer are
   * consumed together and start in the same tick: from version 4 they go in one request (one
   * frame, and one of the socket's rate-limit tokens, for a whole class).
   */
  startConsumer(consumerId: string): Promise<void> {
    if (this.serverVersion < RESUME_BATCH_SINCE) return this.#request('resumeConsumer', { consumerId }).then(() => undefined);
    return new Promise((resolve, reject) => {
      if (!this.#resumes) {
        this.#resumes = [];
        queueMicrotask(() => this.#sendResumes());
      }
      this.#resumes.push({ consumerId, resolve, reject });
    });
  }

  #sendResumes(): void {
    const batch = this.#resumes ?? [];
    this.#resumes = undefined;
    for (let i = 0; i < batch.length; i += MAX_OFFERED_CONSUMERS) {
      const part = batch.slice(i, i + MAX_OFFERED_CONSUMERS);
      this.#request('resumeConsumers', { consumerIds: part.map((r) => r.consumerId) }).then(
        () => part.forEach((r) => r.resolve()),
        (error: unknown) => {
          if (!(error instanceof MediaInfraError && error.code === ErrorCode.NOT_FOUND)) return part.forEach((r) => r.reject(error));
          // One closed meanwhile (its consumerClosed is on the way) and the server resumed none:
          // each is asked alone, so that the others still start.
          for (const r of part) this.#request('resumeConsumer', { consumerId: r.consumerId }).then(() => r.resolve(), r.reject);
        },
      );
    }
  }

  consumerTrack(consumerId: string): MediaStreamTrack | undefined {
    return this.#consumers.get(consumerId)?.track;
  }

  async pauseConsumer(consumerId: string): Promise<void> {
    await this.#request('pauseConsumer', { consumerId });
    this.#consumers.get(consumerId)?.pause();
  }

  async resumeConsumer(consumerId: string): Promise<void> {
    await this.#request('resumeConsumer', { consumerId });
    this.#consumers.get(consumerId)?.resume();
  }

  async setConsumerPreferredLayers(data: RequestData<'setConsumerPreferredLayers'>): Promise<void> {
    await this.#request('setConsumerPreferredLayers', data);
  }

  /** The size of the frames a consumer decodes now (its receiver's stats), if it decoded any. */
  async consumerFrameSize(consumerId: string): Promise<{ width: number; height: number } | undefined> {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer || consumer.closed) return undefined;
    for (const report of (await consumer.getStats()).values()) {
      if (report.type === 'inbound-rtp' && report.frameWidth && report.frameHeight) return { width: report.frameWidth, height: report.frameHeight };
    }
    return undefined;
  }

  /** A local producer's RTCStatsReport (call health); `undefined` when it is not produced now. */
  async producerReport(producerId: string): Promise<RTCStatsReport | undefined> {
    const producer = this.#producers.get(producerId);
    return producer && !producer.closed ? producer.getStats() : undefined;
  }

  /** A local consumer's RTCStatsReport (call health); `undefined` when it is gone. */
  async consumerReport(consumerId: string): Promise<RTCStatsReport | undefined> {
    const consumer = this.#consumers.get(consumerId);
    return consumer && !consumer.closed ? consumer.getStats() : undefined;
  }

  /** A transport's whole RTCStatsReport (its candidate pair: the round-trip time); `undefined` when there is none. */
  async transportReport(direction: Direction): Promise<RTCStatsReport | undefined> {
    const transport = this.#transports.get(direction);
    return transport && !transport.closed ? transport.getStats() : undefined;
  }

  releaseConsumer(consumerId: string): void {
    this.#consumers.get(consumerId)?.close();
    this.#consumers.delete(consumerId);
  }
}
