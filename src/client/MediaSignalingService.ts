// The signaling socket to MA: one WebSocket at a time, requests with increasing ids and timeouts,
// responses and notifications validated by the shared protocol. The token is kept here, in a
// private field, and never handed to the machines.
import { ErrorCode } from '../protocol/codes.js';
import {
  encodeRequest,
  parseResponseData,
  parseServerMessage,
  PROTOCOL_PARAM,
  PROTOCOL_VERSION,
  type NotificationMethod,
  type RequestData,
  type RequestMethod,
  type ResponseData,
  type ServerMessage,
} from '../protocol/messages.js';
import { createLoggers, type LogSink } from './logger.js';
import { MediaInfraError } from './MediaInfraError.js';

/** The part of the browser's WebSocket this service uses (a fake one in tests). */
export interface WebSocketLike {
  /** As the browser's: 0 connecting, 1 open, 2 closing, 3 closed. Requests are sent only while 1. */
  readonly readyState: number;
  /** Sends one JSON text message. */
  send(data: string): void;
  /** Closes the socket (the client clears its `on*` handlers first and awaits nothing more from it). */
  close(code?: number, reason?: string): void;
  /** Set by the client: called once the socket is open. */
  onopen: ((event: unknown) => void) | null;
  /** Set by the client: called with every message received (`data` a JSON string). */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Set by the client: called once when the socket closes by itself or by the server, with the close code and reason. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Set by the client and ignored: an error is followed by `onclose`, which decides what happens. */
  onerror: ((event: unknown) => void) | null;
}
/**
 * Opens a socket to `url` (the server's URL with the protocol version and the token as query
 * parameters: keep it out of logs). The `webSocketFactory` option; default `new WebSocket(url)`. One
 * that throws counts as a socket that could not open (the client retries like any lost connection).
 */
export type WebSocketFactory = (url: string) => WebSocketLike;

export type Notification = Extract<ServerMessage, { type: 'notification' }>;

export interface SignalingHandlers {
  opened(): void;
  notified(notification: Notification): void;
  closed(code: number, reason: string): void;
}

/** One open (or opening) socket; `close()` closes it without calling `handlers.closed`. */
export interface SignalingConnection {
  close(code?: number, reason?: string): void;
}

export interface MediaSignalingServiceOptions {
  requestTimeout: number;
  webSocketFactory?: WebSocketFactory;
  /** The `signaling` logger (default: the console's warnings). Gets methods, ids, codes and times, never data. */
  logger?: LogSink;
}

interface Pending {
  method: RequestMethod;
  resolve(data: unknown): void;
  reject(error: MediaInfraError): void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

export class MediaSignalingService {
  /** The URL the client was given: where `preopen` goes, and `open` when given no other. */
  readonly #url: string;
  /** The token as it goes into a socket URL (kept out of logs and errors). */
  readonly #encodedToken: string;
  readonly #options: MediaSignalingServiceOptions;
  readonly #log: LogSink;
  #socket: WebSocketLike | undefined;
  /** Takes over the socket `preopen` began, until the first `open()`. */
  #early: { url: string; take: (handlers: SignalingHandlers) => SignalingConnection } | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /** Listeners of every notification, whichever socket it came on (call health reads its own there). */
  readonly #taps = new Set<(notification: Notification) => void>();
  /** Sockets opened so far (diagnostics and tests). */
  attempts = 0;

  constructor(url: string, token: string, options: MediaSignalingServiceOptions) {
    this.#url = url;
    this.#encodedToken = encodeURIComponent(token);
    this.#options = options;
    this.#log = options.logger ?? createLoggers()('signaling');
  }

  /**
   * Starts opening the first socket now, before the machines are built, so that its handshake
   * overlaps their set-up. The next `open()` takes this socket over, with whatever it reported
   * meanwhile.
   */
  preopen(): void {
    if (this.#socket || this.#early) return;
    let target: SignalingHandlers | undefined;
    const queued: Array<(handlers: SignalingHandlers) => void> = [];
    const deliver = (event: (handlers: SignalingHandlers) => void) => {
      if (target && !queued.length) event(target);
      else queued.push(event);
    };
    const connection = this.#connect(this.#url, {
      opened: () => deliver((h) => h.opened()),
      notified: (notification) => deliver((h) => h.notified(notification)),
      closed: (code, reason) => deliver((h) => h.closed(code, reason)),
    });
    this.#early = {
      url: this.#url,
      take: (handlers) => {
        target = handlers;
        // Not from inside open(): its caller is still setting up.
        queueMicrotask(() => {
          while (queued.length) queued.shift()!(handlers);
        });
        return connection;
      },
    };
  }

  /**
   * Opens a new socket to `url` (default: the URL the client was given), closing the previous
   * one, if any; or takes over the one `preopen` began when it goes to the same URL.
   */
  open(handlers: SignalingHandlers, url = this.#url): SignalingConnection {
    const early = this.#early;
    this.#early = undefined;
    if (early?.url === url) return early.take(handlers);
    this.#detach(1000, 'replaced');
    return this.#connect(url, handlers);
  }

  #connect(url: string, handlers: SignalingHandlers): SignalingConnection {
    const factory = this.#options.webSocketFactory ?? ((socketUrl: string) => new WebSocket(socketUrl) as unknown as WebSocketLike);
    // The protocol version first: the token stays the URL's last part, which redaction relies on.
    const socketUrl = `${url}${url.includes('?') ? '&' : '?'}${PROTOCOL_PARAM}=${PROTOCOL_VERSION}&token=${this.#encodedToken}`;
    this.attempts++;
    let socket: WebSocketLike;
    try {
      socket = factory(socketUrl);
    } catch (error) {
      // A URL the browser refuses: report it like a socket that could not open.
      // The browser's message may quote the URL: the token must not travel on in it.
      const message = (error instanceof Error ? error.message : String(error)).split(this.#encodedToken).join('[redacted]');
      queueMicrotask(() => handlers.closed(1006, message));
      return { close() {} };
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#log.debug?.(`socket ${this.attempts} open`);
      handlers.opened();
    };
    socket.onmessage = (event) => {
      const notification = this.#receive(event.data);
      if (!notification) return;
      this.#log.debug?.(`notification ${notification.method}`);
      for (const tap of this.#taps) tap(notification);
      handlers.notified(notification);
    };
    socket.onerror = () => {
      // A 'close' event always follows; nothing to do here.
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#log.debug?.(`socket closed by the server: ${event.code} ${event.reason}`);
      this.#rejectAll(new MediaInfraError(ErrorCode.CONNECTION_CLOSED, `the socket closed (${event.code})`));
      handlers.closed(event.code, event.reason);
    };
    return {
      close: (code = 1000, reason = 'client') => {
        if (this.#socket === socket) this.#detach(code, reason);
      },
    };
  }

  /** Calls `listener` with every notification from now on; returns the function that stops it. */
  tap(listener: (notification: Notification) => void): () => void {
    this.#taps.add(listener);
    return () => this.#taps.delete(listener);
  }

  /**
   * Sends a request and resolves with its validated response data. Rejects with a
   * MediaInfraError: the server's code, `TIMEOUT`, or `CONNECTION_CLOSED`.
   */
  request<M extends RequestMethod>(method: M, data: RequestData<M>, options?: { timeout?: number }): Promise<ResponseData<M>> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(new MediaInfraError(ErrorCode.CONNECTION_CLOSED, `cannot send '${method}': not connected`));
    }
    const id = this.#nextId++;
    const timeout = options?.timeout ?? this.#options.requestTimeout;
    const response = new Promise<ResponseData<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new MediaInfraError(ErrorCode.TIMEOUT, `'${method}' got no answer in ${timeout} ms`));
      }, timeout);
      this.#pending.set(id, { method, resolve: resolve as (data: unknown) => void, reject, timer });
      try {
        socket.send(encodeRequest(id, method, data));
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(MediaInfraError.from(error, ErrorCode.CONNECTION_CLOSED));
      }
    });
    const started = Date.now();
    const settled = (outcome: string) => this.#log.debug?.(`${method} #${id} ${outcome} in ${Date.now() - started} ms`);
    response.then(
      () => settled('ok'),
      (error: MediaInfraError) => settled(`failed: ${error.code}`),
    );
    return response;
  }

  /** Handles one frame: settles a request, or returns a notification; anything malformed is logged and dropped. */
  #receive(raw: unknown): Notification | undefined {
    if (typeof raw !== 'string') {
      this.#log.warn?.('ignored a non-text signaling frame');
      return undefined;
    }
    const parsed = parseServerMessage(raw);
    if (!parsed.ok) {
      this.#log.warn?.(`ignored a malformed signaling message: ${parsed.message}`);
      return undefined;
    }
    const message = parsed.message;
    if (message.type === 'notification') return message;
    const pending = this.#pending.get(message.id);
    if (!pending) {
      this.#log.warn?.(`ignored a response to unknown request ${message.id}`);
      return undefined;
    }
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (!message.ok) {
      pending.reject(new MediaInfraError(message.error.code, message.error.message));
      return undefined;
    }
    const data = parseResponseData(pending.method, message.data);
    if (data.ok) pending.resolve(data.data);
    else pending.reject(new MediaInfraError(data.code, data.message));
    return undefined;
  }

  #detach(code: number, reason: string): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#socket = undefined;
    this.#log.debug?.(`socket closed by the client: ${code} ${reason}`);
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
      // already closed
    }
    this.#rejectAll(new MediaInfraError(ErrorCode.CONNECTION_CLOSED, 'the socket was closed'));
  }

  #rejectAll(error: MediaInfraError): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(error);
    }
  }
}

export type { NotificationMethod };
