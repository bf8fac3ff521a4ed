// The signaling gateway: one WebSocket per client at /v1/ws?token=…. The token is checked when the
// socket opens (first connect and every reconnect); a valid one gets a peer in its room and a
// `welcome`, then validated requests are relayed to MR one at a time, in order. A token that cannot
// be checked now (database down) closes the socket with TRY_AGAIN_LATER, never UNAUTHORIZED;
// sockets already open never touch the database again.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, ErrorCode } from '../../protocol/codes.js';
import {
  MAX_ERROR_MESSAGE,
  MAX_MESSAGE_BYTES,
  MIN_PROTOCOL_VERSION,
  NOTIFICATION_SINCE,
  PROTOCOL_PARAM,
  PROTOCOL_VERSION,
  WELCOME_TRANSPORTS_SINCE,
  encodeError,
  encodeNotification,
  encodeResponse,
  type ErrorBody,
  type NotificationData,
  type ParsedRequest,
} from '../../protocol/messages.js';
import { parseRequest } from '../../protocol/requests.js';
import type { MediaRouterApi, Notify, PeerHandle } from '../mr/api.js';
import { consumerOfferFrames } from './consumerOffers.js';
import { RateLimit } from './rateLimit.js';
import type { Session, SessionLookup, SessionStore } from './sessions.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { Cluster } from '../cluster/cluster.js';
import { otherNodeUrls } from './nodeChoice.js';

export const SOCKET_PATH = '/v1/ws';
/** Sockets that miss a pong for this long are terminated (their peer closes). */
export const HEARTBEAT_MS = 10_000;
/** Sockets still open this long after the close frame at shutdown are cut. */
const CLOSE_GRACE_MS = 2_000;
/**
 * Unread bytes a socket may hold before it is cut: notifications are small, so a backlog this
 * large means the client stopped reading (its memory would otherwise grow here without bound).
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;
/** Requests answered when the recorder is done, not when MR has acted. */
const LONG_REQUESTS: ReadonlySet<string> = new Set(['startRecord', 'stopRecord']);

export interface GatewayDeps {
  sessions: SessionStore;
  media: MediaRouterApi;
  logger: Logger;
  /** Ping interval; a socket silent for a whole interval is cut. Default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /**
   * The other nodes: this node's load is published there, a `welcome` lists them for the client's
   * reconnects, and a session that opens a socket on another node replaces its socket here.
   */
  cluster: Cluster;
}

/** Broadcast when a session's socket is admitted: another node holding an older socket of it replaces it. */
const SESSION_OPENED = 'session.opened';

/** One accepted socket and the peer it drives. */
class Connection {
  alive = true;
  private closed = false;
  private left = false;
  /** Requests run one after another, so MR sees them in the order the client sent them. */
  private queue: Promise<void> = Promise.resolve();
  private readonly rate = new RateLimit();
  readonly peer: Promise<PeerHandle | undefined>;
  private readonly logger: Logger;

  constructor(
    readonly ws: WebSocket,
    readonly session: Session,
    previousGone: Promise<void>,
    media: MediaRouterApi,
    otherNodes: (roomId: string) => Promise<string[]>,
    protocolVersion: number,
    logger: Logger,
    private readonly onEnded: (conn: Connection) => void,
  ) {
    this.logger = logger.child({ sessionId: session.tokenHash.slice(0, 12), roomId: session.roomId, userId: session.userId });
    // Notifications newer than the client's protocol version are not sent: it would not know them.
    // Until the welcome is out (the node list and transports are still awaited) the room's
    // broadcasts (audio levels, speaker) wait: the welcome is always a client's first message.
    let beforeWelcome: Array<() => void> | undefined = [];
    const notify: Notify = (method, data) => {
      if (method === 'newConsumers') return void this.sendOffers(data as NotificationData<'newConsumers'>, protocolVersion);
      if ((NOTIFICATION_SINCE[method] ?? 1) > protocolVersion) return;
      const send = () => this.sendEncoded(() => encodeNotification(method, data), method);
      if (beforeWelcome) beforeWelcome.push(send);
      else send();
    };
    // The replaced connection's peer is closed before this one exists: never two peers per session.
    this.peer = previousGone
      .then(() =>
        media.openPeer({
          roomId: session.roomId,
          userId: session.userId,
          notify,
          onClosedByServer: (reason) => this.end(CloseCode.SERVICE_RESTART, reason),
        }),
      )
      // The nodes a client tries when it loses this one; a registry that cannot be read lists none.
      // A version-3 client gets its transports with the welcome: no createTransport round trips.
      .then(async (peer) => {
        try {
          const [nodes, transports] = await Promise.all([
            otherNodes(session.roomId).catch(() => []),
            protocolVersion >= WELCOME_TRANSPORTS_SINCE ? peer.openTransports() : undefined,
          ]);
          return { peer, nodes, transports };
        } catch (err) {
          // Not handed on (the peer promise resolves undefined): released here.
          peer.close('cannot open its transports');
          throw err;
        }
      })
      .then(
        ({ peer, nodes, transports }) => {
          if (this.closed) {
            peer.close('socket closed');
            return undefined;
          }
          this.logger.info({ peerId: peer.id }, 'client connected');
          this.send(
            encodeNotification('welcome', {
              protocolVersion: PROTOCOL_VERSION,
              roomId: session.roomId,
              userId: session.userId,
              routerRtpCapabilities: peer.routerRtpCapabilities,
              ...(nodes.length > 0 && { nodes }),
              ...(transports && { transports }),
            }),
          );
          const held = beforeWelcome ?? [];
          beforeWelcome = undefined;
          for (const send of held) send();
          // A late joiner (or a reconnect) hears who speaks now, not only from the next change on.
          if (peer.speaker) notify('activeSpeaker', { speaker: peer.speaker });
          return peer;
        },
        (err: unknown) => {
          this.logger.error({ err: (err as Error).message }, 'cannot open a peer');
          this.end(CloseCode.SERVER_ERROR, 'server error');
          return undefined;
        },
      );
    ws.on('message', (raw, isBinary) => this.receive(raw, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', (code, reason) => {
      this.logger.info({ code, reason: reason.toString('utf8').slice(0, 123) }, 'client disconnected');
      void this.release('socket closed');
    });
  }

  /** Closes the socket (if still open) and releases the peer; resolves when the peer is closed. */
  end(code: number, reason: string): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    return this.release(reason);
  }

  private async release(reason: string): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.onEnded(this);
    }
    const peer = await this.peer;
    try {
      peer?.close(reason);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'releasing the peer failed');
    }
  }

  private send(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > MAX_UNREAD_BYTES) {
      this.logger.warn({ unreadBytes: this.ws.bufferedAmount }, 'cutting a socket that stopped reading');
      this.ws.terminate();
      return;
    }
    this.ws.send(text);
  }

  /** MR's consumers, sent as this client's version takes them (consumerOffers.ts); always after the welcome (they follow `listen`). */
  private sendOffers(offers: NotificationData<'newConsumers'>, protocolVersion: number): void {
    let frames: string[];
    try {
      frames = consumerOfferFrames(offers.consumers, protocolVersion);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'cannot encode consumers');
      return;
    }
    for (const frame of frames) this.send(frame);
  }

  /** A message that cannot be encoded is a server bug: logged, never thrown into MR's event handlers. */
  private sendEncoded(encode: () => string, what: string): void {
    let text: string;
    try {
      text = encode();
    } catch (err) {
      this.logger.error({ what, err: (err as Error).message }, 'cannot encode a message');
      return;
    }
    this.send(text);
  }

  /** An error answer; its message is cut to what the protocol allows (a client refuses longer ones). */
  private reply(id: number | undefined, error: ErrorBody): void {
    this.send(encodeError(id, { code: error.code, message: error.message.slice(0, MAX_ERROR_MESSAGE) }));
  }

  /** A frame from the client. Whatever it holds, this socket gets an answer and no other is touched. */
  private receive(raw: RawData, isBinary: boolean): void {
    try {
      this.receiveFrame(raw, isBinary);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'a frame could not be handled');
      this.reply(requestId(raw), { code: ErrorCode.SERVER_ERROR, message: 'the message could not be handled' });
    }
  }

  private receiveFrame(raw: RawData, isBinary: boolean): void {
    if (this.closed || this.left) return;
    const verdict = this.rate.take();
    if (verdict === 'close') {
      this.logger.warn('closing a flooding socket');
      void this.end(CloseCode.POLICY_VIOLATION, 'rate limit');
      return;
    }
    if (verdict === 'refuse') return this.reply(requestId(raw), { code: ErrorCode.RATE_LIMITED, message: 'too many requests: slow down' });
    if (isBinary) return this.reply(undefined, { code: ErrorCode.BAD_REQUEST, message: 'binary frames are not accepted' });
    const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]).toString('utf8');
    const parsed = parseRequest(text);
    if (!parsed.ok) {
      this.logger.debug({ code: parsed.code, id: parsed.id }, 'request refused');
      return this.reply(parsed.id, { code: parsed.code, message: parsed.message });
    }
    const request = parsed.request;
    // A heartbeat must not wait behind a slow request.
    if (request.method === 'ping') return this.send(encodeResponse(request.id, { now: Date.now() }));
    if (request.method === 'leave') this.left = true;
    // Recording requests start in order but do not hold the queue: finalizing and probing a file
    // takes seconds, and a client's pause or second recording must not wait behind it (Recordings
    // refuses a second start or stop of the same producer by itself).
    if (LONG_REQUESTS.has(request.method)) this.queue = this.queue.then(() => void this.handle(request));
    else this.queue = this.queue.then(() => this.handle(request));
  }

  private async handle(request: ParsedRequest): Promise<void> {
    const started = performance.now();
    const log = (result: string) =>
      this.logger.debug({ method: request.method, id: request.id, result, ms: Math.round(performance.now() - started) }, 'request');
    try {
      const peer = await this.peer;
      if (!peer) return;
      if (request.method === 'leave') {
        peer.close('left');
        this.send(encodeResponse(request.id, {}));
        log('ok');
        await this.end(CloseCode.NORMAL, 'left');
        return;
      }
      if (request.method === 'ping') return; // answered in receive()
      const answer = await peer.request(request);
      if (answer.ok) {
        this.sendEncoded(() => encodeResponse(request.id, answer.data), request.method);
        log('ok');
      } else {
        log(answer.error.code);
        this.reply(request.id, answer.error);
      }
    } catch (err) {
      this.logger.error({ method: request.method, err }, 'request failed');
      this.reply(request.id, { code: ErrorCode.SERVER_ERROR, message: `${request.method} failed on the server` });
    }
  }
}

export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  /** The live connection of each session (by token hash). */
  private readonly live = new Map<string, Connection>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly deps: GatewayDeps) {
    this.wss.on('connection', (ws, req) => this.accept(ws, req));
    deps.cluster.onMessage(SESSION_OPENED, ({ tokenHash }, from) => {
      if (typeof tokenHash !== 'string') return;
      const conn = this.live.get(tokenHash);
      if (!conn) return;
      deps.logger.info({ sessionId: tokenHash.slice(0, 12), node: from }, 'session opened on another node: replacing its socket here');
      void conn.end(CloseCode.REPLACED, 'replaced');
    });
    this.heartbeat = setInterval(() => this.beat(), deps.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** For the HTTP server's 'upgrade' event: only /v1/ws becomes a socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname !== SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // The HTTP server's idle timeout (for slow readers of files) does not apply to sockets: the
    // heartbeat and MAX_UNREAD_BYTES watch those.
    if ('setTimeout' in socket && typeof socket.setTimeout === 'function') socket.setTimeout(0);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** Shutdown: close every socket with `code`, wait for them (bounded), then cut the rest. */
  async closeAll(code: number, reason: string): Promise<void> {
    clearInterval(this.heartbeat);
    const sockets = [...this.wss.clients];
    const closed = sockets.map((ws) => new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve()))));
    for (const ws of sockets) ws.close(code, reason);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const ws of this.wss.clients) ws.terminate();
    await Promise.all([...this.live.values()].map((conn) => conn.end(code, reason)));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const { sessions, logger } = this.deps;
    // Without a listener, a protocol error (e.g. a frame over maxPayload) would crash the process.
    ws.on('error', (err) => logger.debug({ err: err.message }, 'socket error'));
    // The URL is never logged: its query string holds the token.
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const version = Number(query.get(PROTOCOL_PARAM) ?? 1);
    if (!(version >= MIN_PROTOCOL_VERSION)) {
      logger.info({ version: query.get(PROTOCOL_PARAM)?.slice(0, 16) }, 'socket refused: unsupported protocol version');
      ws.close(CloseCode.UNSUPPORTED_PROTOCOL, `protocol ${MIN_PROTOCOL_VERSION}-${PROTOCOL_VERSION} needed: update the client`);
      return;
    }
    const token = query.get('token') ?? '';
    // Nothing is read from the socket until the token is checked: its frames wait in the kernel,
    // and the Connection's listeners see them all, in order.
    ws.pause();
    const lookup: Promise<SessionLookup> = token ? sessions.lookup(token) : Promise.resolve({ status: 'unknown' });
    lookup.then(
      (found) => {
        ws.resume();
        // Closed meanwhile (by the client, or by closeAll at shutdown): nothing to set up.
        if (ws.readyState === WebSocket.OPEN) this.admit(ws, found, version);
      },
      (err: unknown) => {
        ws.resume();
        if (err instanceof StoreUnavailableError) {
          logger.warn({ err: err.message }, 'socket refused for now: the token cannot be checked');
          ws.close(CloseCode.TRY_AGAIN_LATER, 'try again later');
        } else {
          logger.error({ err: (err as Error).message }, 'socket refused: the token check failed');
          ws.close(CloseCode.SERVER_ERROR, 'server error');
        }
      },
    );
  }

  /** A socket whose token was looked up: refused, or a Connection (replacing the session's older one). */
  private admit(ws: WebSocket, found: SessionLookup, protocolVersion: number): void {
    const { media, logger, cluster } = this.deps;
    if (found.status === 'unknown') {
      logger.info('socket refused: unknown token');
      ws.close(CloseCode.UNAUTHORIZED, 'unauthorized');
      return;
    }
    if (found.status === 'expired') {
      logger.info('socket refused: expired token');
      ws.close(CloseCode.EXPIRED, 'expired');
      return;
    }
    const { session } = found;
    const previous = this.live.get(session.tokenHash);
    const previousGone = previous ? previous.end(CloseCode.REPLACED, 'replaced') : Promise.resolve();
    const otherNodes = (roomId: string) => otherNodeUrls(cluster, roomId);
    const conn = new Connection(ws, session, previousGone, media, otherNodes, protocolVersion, logger, (ended) => {
      if (this.live.get(session.tokenHash) !== ended) return;
      this.live.delete(session.tokenHash);
      cluster.setPeers(this.live.size);
    });
    this.live.set(session.tokenHash, conn);
    cluster.setPeers(this.live.size);
    if (cluster.multiNode) cluster.broadcast({ type: SESSION_OPENED, tokenHash: session.tokenHash });
  }

  private beat(): void {
    for (const conn of this.live.values()) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }
}

/** The id of a refused frame, if it has one, without validating the rest (cheap, never throws). */
function requestId(raw: RawData): number | undefined {
  const match = /"id"\s*:\s*(\d{1,15})/.exec(String(raw).slice(0, 200));
  return match ? Number(match[1]) : undefined;
}
