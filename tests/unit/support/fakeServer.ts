// A fake MA gateway in memory: FakeSockets (WebSocketLike) that answer the signaling protocol the
// way the real server does, with mediasoup-client's fake parameters so that a Device with
// FakeHandler can load, create transports, produce and consume in Node.
import { Device } from 'mediasoup-client';
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';
import { ErrorCode } from '../../../src/protocol/codes.js';
import { NOTIFICATION_SINCE, PROTOCOL_VERSION, encodeError, encodeNotification, encodeResponse, type NotificationData, type NotificationMethod, type RequestMethod } from '../../../src/protocol/messages.js';
import type { WebSocketLike } from '../../../src/client/MediaSignalingService.js';

/** A track of another user, offered on `listen`; `scores` as a version-5 offer carries them. */
export interface RemoteTrack {
  kind: 'audio' | 'video';
  userId: string;
  scores?: { score: number; producerScore: number };
}

export type Handler = (data: any, socket: FakeSocket) => unknown | { error: { code: ErrorCode; message: string } } | typeof NO_ANSWER;
export const NO_ANSWER = Symbol('no answer');

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closedByClient: { code?: number; reason?: string } | undefined;

  constructor(
    readonly url: string,
    private readonly server: FakeServer,
  ) {
    queueMicrotask(() => server.accept(this));
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    queueMicrotask(() => this.server.receive(this, text));
  }

  close(code?: number, reason?: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedByClient = { code, reason };
  }

  /** The server side. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(text: string): void {
    if (this.readyState === 1) this.onmessage?.({ data: text });
  }
  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly requests: Array<{ method: RequestMethod; data: any }> = [];
  /** How the next sockets are met. */
  mode: { accept: true } | { refuse: number } | { unreachable: true } = { accept: true };
  routerRtpCapabilities = fakeParameters.generateRouterRtpCapabilities();
  /** The protocol version this server announces in `welcome`. */
  protocolVersion = PROTOCOL_VERSION;
  /** Protocol 3: `welcome` offers a send and a recv transport, the server their DTLS client (false: an older server, asked `createTransport`). */
  offerTransports = true;
  /** Cluster mode: the other nodes' URLs the `welcome` on `socket` lists (none: a single node). */
  welcomeNodes: ((socket: FakeSocket) => string[]) | undefined;
  readonly handlers: Partial<Record<RequestMethod, Handler>> = {};
  /** Remote tracks announced on `listen`. */
  readonly remoteTracks: RemoteTrack[] = [];
  /**
   * Scripted mode (tests/model): requests of these methods wait in `pending` until the test
   * answers them (`answer` / `refuse`); by default every request is answered at once.
   */
  readonly held = new Set<RequestMethod>();
  readonly pending: Array<{ id: number; method: RequestMethod; data: any; socket: FakeSocket }> = [];
  /** Scripted mode: new sockets stay connecting until `open()`, and get no welcome until `welcome()`. */
  autoOpen = true;
  autoWelcome = true;
  /** The server closes the socket once it answered `leave` (as the real one does). */
  closeOnLeave = true;
  #producerSeq = 0;
  #consumerSeq = 0;

  readonly factory = (url: string): WebSocketLike => {
    const socket = new FakeSocket(url, this);
    this.sockets.push(socket);
    return socket;
  };

  get current(): FakeSocket | undefined {
    return this.sockets.at(-1);
  }

  methods(): RequestMethod[] {
    return this.requests.map((r) => r.method);
  }

  accept(socket: FakeSocket): void {
    if ('unreachable' in this.mode) return socket.serverClose(1006);
    if (this.autoOpen) this.open(socket);
  }

  /** Opens a socket (at once unless `autoOpen` is false), refusing or welcoming it per `mode`. */
  open(socket = this.current): void {
    if (!socket || socket.readyState !== 0) throw new Error('no connecting socket to open');
    socket.open();
    if ('refuse' in this.mode) return socket.serverClose(this.mode.refuse, 'refused');
    if (this.autoWelcome) this.welcome(socket);
  }

  welcome(socket = this.current, routerRtpCapabilities: unknown = this.routerRtpCapabilities): void {
    const nodes = socket && this.welcomeNodes?.(socket);
    const welcome = {
      protocolVersion: this.protocolVersion,
      roomId: 'room-1',
      userId: 'user-1',
      routerRtpCapabilities: routerRtpCapabilities as never,
      ...(this.offerTransports && { transports: { send: offeredTransport(), recv: offeredTransport() } }),
    };
    this.notify('welcome', nodes ? { ...welcome, nodes } : welcome, socket);
  }

  notify<M extends NotificationMethod>(method: M, data: NotificationData<M>, socket = this.current): void {
    socket?.deliver(encodeNotification(method, data));
  }

  /** Announces one remote track to the client (as the server does when a track comes while it listens). */
  newConsumer(kind: 'audio' | 'video', userId = 'user-2', socket = this.current): string {
    return this.offer([{ kind, userId }], socket)[0]!;
  }

  /** Offers consumers of `tracks` as the server does: in one `newConsumers` (protocol 4), or one `newConsumer` each; returns their ids. */
  offer(tracks: readonly RemoteTrack[], socket = this.current): string[] {
    const consumers = tracks.map(({ kind, userId, scores }) => {
      const params = fakeParameters.generateConsumerRemoteParameters({ id: `c${++this.#consumerSeq}`, codecMimeType: kind === 'audio' ? 'audio/opus' : 'video/VP8' });
      return { id: params.id, producerId: params.producerId, kind, rtpParameters: params.rtpParameters as never, userId, producerPaused: false, appData: {}, ...scores };
    });
    if (this.protocolVersion >= NOTIFICATION_SINCE.newConsumers!) {
      if (consumers.length > 0) this.notify('newConsumers', { consumers }, socket);
    } else for (const consumer of consumers) this.notify('newConsumer', consumer, socket);
    return consumers.map((c) => c.id);
  }

  receive(socket: FakeSocket, text: string): void {
    const { id, method, data } = JSON.parse(text) as { id: number; method: RequestMethod; data: any };
    this.requests.push({ method, data });
    if (this.held.has(method)) this.pending.push({ id, method, data, socket });
    else this.#respond(socket, id, method, (this.handlers[method] ?? this.defaultHandler(method))(data, socket));
  }

  /** Answers the oldest held request of `method`: with `answer`, or as its handler would. */
  answer(method: RequestMethod, answer?: unknown, where?: (data: any) => boolean): void {
    const request = this.#take(method, where);
    this.#respond(request.socket, request.id, method, answer ?? (this.handlers[method] ?? this.defaultHandler(method))(request.data, request.socket));
  }

  /** Answers the oldest held request of `method` with an error. */
  refuse(method: RequestMethod, code: ErrorCode = ErrorCode.SERVER_ERROR, message = 'refused by the test', where?: (data: any) => boolean): void {
    const request = this.#take(method, where);
    this.#respond(request.socket, request.id, method, { error: { code, message } });
  }

  /** The oldest held request of `method` on a socket still open (those on closed sockets can no longer be answered). */
  #take(method: RequestMethod, where: (data: any) => boolean = () => true) {
    const index = this.pending.findIndex((r) => r.method === method && r.socket.readyState === 1 && where(r.data));
    if (index < 0) throw new Error(`no held '${method}' request to answer (held: ${this.pending.map((r) => r.method).join(', ') || 'none'})`);
    return this.pending.splice(index, 1)[0]!;
  }

  #respond(socket: FakeSocket, id: number, method: RequestMethod, answer: unknown): void {
    if (answer === NO_ANSWER) return;
    if (answer && typeof answer === 'object' && 'error' in answer) socket.deliver(encodeError(id, (answer as { error: { code: ErrorCode; message: string } }).error));
    else socket.deliver(encodeResponse(id, answer));
    if (method === 'listen') this.offer(this.remoteTracks, socket);
    if (method === 'leave' && this.closeOnLeave) queueMicrotask(() => socket.serverClose(1000, 'bye'));
  }

  defaultHandler(method: RequestMethod): Handler {
    switch (method) {
      case 'join':
        return () => ({ peerId: 'peer-1' });
      case 'createTransport':
        return () => fakeParameters.generateTransportRemoteParameters();
      case 'produce':
        return () => ({ producerId: `p${++this.#producerSeq}` });
      case 'ping':
        return () => ({ now: Date.now() });
      case 'resumeConsumers':
        return () => ({ missing: [] });
      case 'restartIce':
        return () => ({ iceParameters: fakeParameters.generateTransportRemoteParameters().iceParameters });
      case 'startRecord':
      case 'stopRecord':
        return () => ({ error: { code: ErrorCode.SERVER_ERROR, message: 'recording is not implemented yet' } });
      default:
        return () => ({});
    }
  }
}

/** A server transport as a protocol-3 welcome offers it: the server is its DTLS client. */
function offeredTransport() {
  const params = fakeParameters.generateTransportRemoteParameters();
  return { ...params, dtlsParameters: { ...params.dtlsParameters, role: 'client' as const } } as never;
}

/** mediasoup-client's FakeHandler with its fake parameters: handlers that run in Node. */
export function fakeHandlerFactory(): HandlerFactory {
  return FakeHandler.createFactory({
    generateNativeRtpCapabilities: fakeParameters.generateNativeRtpCapabilities,
    generateNativeSctpCapabilities: fakeParameters.generateNativeSctpCapabilities,
    generateLocalDtlsParameters: fakeParameters.generateLocalDtlsParameters,
  });
}

/** A mediasoup-client Device that runs in Node. */
export function fakeDevice(): Device {
  return new Device({ handlerFactory: fakeHandlerFactory() });
}

/** Just enough of a MediaStreamTrack for mediasoup-client's FakeHandler. */
export function fakeTrack(kind: 'audio' | 'video'): MediaStreamTrack {
  let n = 0;
  const target = new EventTarget();
  return Object.assign(target, {
    id: `${kind}-track-${++n}-${Math.random().toString(36).slice(2)}`,
    kind,
    label: `fake ${kind}`,
    enabled: true,
    muted: false,
    readyState: 'live' as MediaStreamTrackState,
    stop() {
      (this as { readyState: string }).readyState = 'ended';
    },
    clone() {
      return fakeTrack(kind);
    },
    getSettings: () => ({}),
    getConstraints: () => ({}),
    getCapabilities: () => ({}),
    applyConstraints: async () => {},
    onended: null,
    onmute: null,
    onunmute: null,
    contentHint: '',
  }) as unknown as MediaStreamTrack;
}
