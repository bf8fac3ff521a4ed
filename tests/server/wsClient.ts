// A minimal signaling client for server tests: raw frames in, parsed frames out, and waits that
// resolve on a matching frame (never on a delay).
import WebSocket from 'ws';
import { encodeRequest, parseServerMessage, type NotificationData, type NotificationMethod, type RequestData, type RequestMethod, type ServerMessage } from '../../src/protocol/messages.js';

export type Frame = ServerMessage;
type Waiter = { match: (f: Frame) => boolean; resolve: (f: Frame) => void };

export class TestSocket {
  readonly frames: Frame[] = [];
  /** Each frame's size on the wire (bytes), in the order of `frames`. */
  readonly frameBytes: number[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private nextId = 1;
  /** When set, a frame the client would refuse is handed here instead of thrown (fuzzing counts them). */
  onInvalidFrame: ((message: string, text: string) => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const parsed = parseServerMessage(String(raw));
      if (!parsed.ok && this.onInvalidFrame) return this.onInvalidFrame(parsed.message, String(raw));
      if (!parsed.ok) throw new Error(`server sent an invalid frame: ${parsed.message}: ${String(raw).slice(0, 200)}`);
      const frame = parsed.message;
      this.frames.push(frame);
      this.frameBytes.push(Buffer.byteLength(String(raw)));
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, token: string): Promise<TestSocket> {
    const ws = new WebSocket(`${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`);
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
    });
  }

  /** Opens and waits for `welcome`. */
  static async welcomed(url: string, token: string): Promise<{ socket: TestSocket; welcome: { data: NotificationData<'welcome'> } }> {
    const socket = await TestSocket.open(url, token);
    const welcome = await socket.notification('welcome');
    return { socket, welcome };
  }

  /** The first frame (already received or future) that matches. */
  waitFor(match: (f: Frame) => boolean, what = 'frame', timeoutMs = 10_000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 1000)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  notification<M extends NotificationMethod>(
    method: M,
    match: (data: NotificationData<M>) => boolean = () => true,
  ): Promise<{ type: 'notification'; method: M; data: NotificationData<M> }> {
    return this.waitFor(
      (f) => f.type === 'notification' && f.method === method && match(f.data as NotificationData<M>),
      `notification ${method}`,
    ) as Promise<{ type: 'notification'; method: M; data: NotificationData<M> }>;
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Sends a request (data unchecked, so tests can send bad data) and waits for its response. */
  async request(method: string, data: unknown = {}): Promise<Extract<Frame, { type: 'response' }>> {
    const id = this.nextId++;
    this.ws.send(encodeRequest(id, method as RequestMethod, data as RequestData<RequestMethod>));
    return (await this.waitFor((f) => f.type === 'response' && f.id === id, `response to ${method}`)) as Extract<Frame, { type: 'response' }>;
  }

  /**
   * Sends a request whose data is JSON text as is (what JSON.stringify cannot write: `1e999`, `-0`,
   * nestings too deep to build) and waits, at most `timeoutMs`, for its response.
   */
  async requestText(method: string, dataJson: string, timeoutMs = 10_000): Promise<Extract<Frame, { type: 'response' }>> {
    const id = this.nextId++;
    this.ws.send(`{"type":"request","id":${id},"method":${JSON.stringify(method)},"data":${dataJson}}`);
    return (await this.waitFor((f) => f.type === 'response' && f.id === id, `response to ${method}`, timeoutMs)) as Extract<Frame, { type: 'response' }>;
  }

  /** A request that must succeed: its data. */
  async ok<T = Record<string, unknown>>(method: string, data: unknown = {}): Promise<T> {
    const res = await this.request(method, data);
    if (!res.ok) throw new Error(`${method} failed: ${res.error.code} ${res.error.message}`);
    return res.data as T;
  }

  /** The close code and reason, failing fast (not at the test timeout) if the socket stays open. */
  waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.waitClosed();
  }
}

/** Minimal, valid RTP parameters as a browser would send for a VP8 or Opus track. */
export function rtpParameters(kind: 'audio' | 'video', mimeType = kind === 'video' ? 'video/VP8' : 'audio/opus'): Record<string, unknown> {
  const clockRate = kind === 'video' ? 90000 : 48000;
  return {
    mid: kind === 'video' ? '0' : '1',
    codecs: [{ mimeType, payloadType: kind === 'video' ? 96 : 111, clockRate, ...(kind === 'audio' && { channels: 2 }), parameters: {}, rtcpFeedback: [] }],
    headerExtensions: [],
    encodings: [{ ssrc: kind === 'video' ? 11111111 : 22222222 }],
    rtcp: { cname: 'test', reducedSize: true },
  };
}
