// A TCP proxy on loopback in front of the server's HTTP/WebSocket port that holds every chunk a
// fixed time each way: a signaling path that far from the server, for the round-trip test
// (tests/e2e/roundTrips.test.ts) and the latency bench (bench/latency.ts). Media (UDP) does not go
// through it and stays on loopback. Order is kept per connection and direction (every chunk of a
// direction is held the same time), a connection's end (FIN or reset) is passed on after what was
// sent before it, and what one direction holds is bounded (its source is paused past the bound).
//
// It also counts sequential round trips logically, not by timing. Every chunk gets a depth:
//   client → server: 1 + the largest depth of the server chunks delivered to the client when the
//                    proxy received it (1 when none was);
//   server → client: the largest depth of the client chunks delivered to the server when the proxy
//                    received it.
// A chunk can only have been caused by what was delivered before it, so a depth is the length of
// the longest chain of round trips that may lead to it (the WebSocket upgrade and its 101 are 1).
// With a hold that dwarfs the page's and the server's own work, `roundTripsAt(t)` says what the
// page's event at t needed:
// - one ended by an answer (a produce acknowledged): the deepest server chunk delivered by t, N;
// - one ended by what the server did on a request (media it sends once it got `resumeConsumer`):
//   the deepest client chunk delivered to the server by t, N, is N - 0.5 round trips (its answer is
//   not waited for). A deeper request needs a round trip more, so this holds as long as the media
//   comes within twice the hold of that request.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Direction = 'toServer' | 'toClient';

export interface ChunkRecord {
  direction: Direction;
  depth: number;
  bytes: number;
  /** Date.now() when the proxy got the chunk and when it wrote it on (undefined: still held or discarded). */
  receivedAt: number;
  deliveredAt: number | undefined;
  /** The messages this chunk completed: `upgrade`, `101`, `join#3` (request), `join#3:ok`, `newConsumer` (notification). */
  messages: string[];
}

export interface ConnectionRecord {
  id: number;
  openedAt: number;
  chunks: ChunkRecord[];
}

export interface RoundTrips {
  /** Deepest client chunk delivered to the server by then. */
  toServer: number;
  /** Deepest server chunk delivered to the client by then. */
  toClient: number;
  /** A path ended by an answer the page got: toClient round trips. */
  byAnswer: number;
  /** A path ended by what the server did on the page's last request (media): toServer - 0.5. */
  byServerAction: number;
  /** The messages of the chunks delivered by then, as `+ms depth direction message` (ms after the connection opened), for failure output. */
  trace: string[];
}

export interface LatencyProxyOptions {
  /** Hold of each client → server chunk (ms). */
  toServerMs: number;
  /** Hold of each server → client chunk (ms). */
  toClientMs: number;
  /** Bytes one direction of a connection may hold before its source is paused (default 4 MiB). */
  maxHeldBytes?: number;
  host?: string;
}

interface Held {
  due: number;
  record?: ChunkRecord;
  chunk?: Buffer;
  /** The source's end: passed on in order, as an end (FIN) or a reset. */
  end?: 'end' | 'reset';
}

/** One direction of one connection. */
class Leg {
  readonly queue: Held[] = [];
  heldBytes = 0;
  timer: NodeJS.Timeout | undefined;
  /** Deepest chunk of this direction written on. */
  deliveredDepth = 0;
  readonly frames = new FrameReader();

  constructor(
    readonly direction: Direction,
    readonly from: Socket,
    readonly to: Socket,
    readonly holdMs: number,
  ) {}
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  toServer: Leg;
  toClient: Leg;
  /** Request ids → methods (responses are labelled with the method they answer). */
  methods: Map<number, string>;
}

export class LatencyProxy {
  readonly #server: Server;
  readonly #pipes = new Set<Pipe>();
  readonly #options: Required<LatencyProxyOptions>;
  /** Every connection accepted, in order, with its chunks. */
  readonly connections: ConnectionRecord[] = [];

  private constructor(server: Server, readonly port: number, readonly targetPort: number, options: Required<LatencyProxyOptions>) {
    this.#server = server;
    this.#options = options;
  }

  static async start(targetPort: number, options: LatencyProxyOptions): Promise<LatencyProxy> {
    const full = { maxHeldBytes: 4 * 2 ** 20, host: '127.0.0.1', ...options };
    let proxy: LatencyProxy | undefined;
    // Half-open: a side's FIN is passed on only after what the other way still holds.
    const server = createServer({ allowHalfOpen: true }, (client) => proxy!.#accept(client));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, full.host, () => resolve()));
    proxy = new LatencyProxy(server, (server.address() as { port: number }).port, targetPort, full);
    return proxy;
  }

  /** `url` (as POST /v1/api/connect returns it) with the proxy's port instead of the server's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.port = String(this.port);
    return u.toString();
  }

  /** What the connection (default: the last one opened by `at`) had delivered by `at` (Date.now()). */
  roundTripsAt(at: number, connection?: ConnectionRecord): RoundTrips {
    const conn = connection ?? this.connections.filter((c) => c.openedAt <= at).at(-1);
    if (!conn) throw new Error(`no connection through the proxy by ${at}`);
    const delivered = conn.chunks.filter((c) => c.deliveredAt !== undefined && c.deliveredAt <= at);
    const deepest = (d: Direction) => Math.max(0, ...delivered.filter((c) => c.direction === d).map((c) => c.depth));
    const [toServer, toClient] = [deepest('toServer'), deepest('toClient')];
    const trace = delivered.flatMap((c) => c.messages.map((m) => `+${c.deliveredAt! - conn.openedAt} ${c.depth} ${c.direction === 'toServer' ? '→' : '←'} ${m}`));
    trace.push(`+${at - conn.openedAt} (the page's event)`);
    return { toServer, toClient, byAnswer: toClient, byServerAction: toServer - 0.5, trace };
  }

  /** Destroys every connection at once, both sides, dropping what is held (the page sees 1006). Returns how many. */
  drop(): number {
    const n = this.#pipes.size;
    for (const p of [...this.#pipes]) this.#destroy(p);
    return n;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const upstream = connect({ port: this.targetPort, host: this.#options.host, allowHalfOpen: true });
    const record: ConnectionRecord = { id: this.connections.length + 1, openedAt: Date.now(), chunks: [] };
    this.connections.push(record);
    const pipe: Pipe = {
      client,
      upstream,
      toServer: new Leg('toServer', client, upstream, this.#options.toServerMs),
      toClient: new Leg('toClient', upstream, client, this.#options.toClientMs),
      methods: new Map(),
    };
    this.#pipes.add(pipe);
    for (const leg of [pipe.toServer, pipe.toClient]) {
      const other = leg === pipe.toServer ? pipe.toClient : pipe.toServer;
      leg.from.on('data', (chunk: Buffer) => {
        const depth = leg.direction === 'toServer' ? 1 + other.deliveredDepth : other.deliveredDepth;
        const messages = leg.frames.push(chunk).map((m) => label(m, leg.direction, pipe.methods));
        const chunkRecord: ChunkRecord = { direction: leg.direction, depth, bytes: chunk.length, receivedAt: Date.now(), deliveredAt: undefined, messages };
        record.chunks.push(chunkRecord);
        this.#hold(pipe, leg, { due: performance.now() + leg.holdMs, record: chunkRecord, chunk });
      });
      leg.from.on('end', () => this.#hold(pipe, leg, { due: performance.now() + leg.holdMs, end: 'end' }));
      // A reset (or a destroy without FIN) reaches the other side as one, after what came before it.
      leg.from.on('close', (hadError) => hadError && this.#hold(pipe, leg, { due: performance.now() + leg.holdMs, end: 'reset' }));
      leg.from.on('error', () => undefined);
      leg.to.on('drain', () => this.#flow(leg));
    }
    const closed = () => client.destroyed && upstream.destroyed && this.#forget(pipe);
    client.on('close', closed);
    upstream.on('close', closed);
  }

  #hold(pipe: Pipe, leg: Leg, held: Held): void {
    if (!this.#pipes.has(pipe)) return;
    leg.queue.push(held);
    leg.heldBytes += held.chunk?.length ?? 0;
    this.#flow(leg);
    this.#deliver(pipe, leg);
  }

  /** Writes on everything that is due, in order; waits for the next one. */
  #deliver(pipe: Pipe, leg: Leg): void {
    if (leg.timer) return;
    while (leg.queue.length > 0) {
      const head = leg.queue[0]!;
      // Node's timers may fire up to a millisecond early against performance.now().
      const wait = head.due - performance.now();
      if (wait > 1) {
        leg.timer = setTimeout(() => {
          leg.timer = undefined;
          this.#deliver(pipe, leg);
        }, wait);
        return;
      }
      leg.queue.shift();
      leg.heldBytes -= head.chunk?.length ?? 0;
      if (leg.to.destroyed) continue;
      if (head.end === 'reset') leg.to.resetAndDestroy();
      else if (head.end === 'end') leg.to.end();
      else {
        leg.to.write(head.chunk!);
        head.record!.deliveredAt = Date.now();
        leg.deliveredDepth = Math.max(leg.deliveredDepth, head.record!.depth);
      }
    }
    this.#flow(leg);
  }

  /** Bounded: the source waits while this direction holds too much or its destination is full. */
  #flow(leg: Leg): void {
    const full = leg.heldBytes > this.#options.maxHeldBytes || leg.to.writableNeedDrain;
    if (full && !leg.from.isPaused()) leg.from.pause();
    else if (!full && leg.from.isPaused()) leg.from.resume();
  }

  #destroy(pipe: Pipe): void {
    pipe.client.destroy();
    pipe.upstream.destroy();
    this.#forget(pipe);
  }

  #forget(pipe: Pipe): void {
    for (const leg of [pipe.toServer, pipe.toClient]) {
      clearTimeout(leg.timer);
      leg.queue.length = 0;
    }
    this.#pipes.delete(pipe);
  }
}

// ---------------------------------------------------------------------------------------------
// Labels: just enough HTTP and WebSocket framing to name the messages a chunk completed.

/** A complete message of one direction: the HTTP head of the upgrade, or a WebSocket text message. */
type Message = { http: string } | { text: string } | { other: string };

/** Messages larger than this are not decoded (signaling messages are a few KB). */
const MAX_MESSAGE = 2 ** 20;

class FrameReader {
  #buffer = Buffer.alloc(0);
  #http = true;
  #fragments: Buffer[] = [];
  #gaveUp = false;

  push(chunk: Buffer): Message[] {
    if (this.#gaveUp) return [];
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const out: Message[] = [];
    for (;;) {
      const m = this.#http ? this.#head() : this.#frame();
      if (m === undefined) break;
      if (m !== null) out.push(m);
    }
    if (this.#buffer.length > MAX_MESSAGE) {
      this.#gaveUp = true;
      this.#buffer = Buffer.alloc(0);
    }
    return out;
  }

  #head(): Message | undefined {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = this.#buffer.subarray(0, end).toString('latin1');
    this.#buffer = this.#buffer.subarray(end + 4);
    this.#http = false;
    return { http: head.split('\r\n')[0]! };
  }

  /** One frame (RFC 6455 5.2): a message when it completes one, null for a fragment, undefined when incomplete. */
  #frame(): Message | null | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let length = b[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + length) return undefined;
    const payload = Buffer.from(b.subarray(at, at + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
    this.#buffer = b.subarray(at + length);
    if (opcode >= 0x8) return { other: ({ 8: 'close', 9: 'ping', 10: 'pong' } as Record<number, string>)[opcode] ?? `control ${opcode}` };
    this.#fragments.push(payload);
    if (!fin) return null;
    const text = Buffer.concat(this.#fragments).toString('utf8');
    this.#fragments = [];
    return opcode === 0x1 || opcode === 0x0 ? { text } : { other: `binary ${text.length}` };
  }
}

function label(m: Message, direction: Direction, methods: Map<number, string>): string {
  if ('http' in m) return direction === 'toServer' ? 'upgrade' : m.http.split(' ')[1] ?? 'http';
  if ('other' in m) return m.other;
  let frame: { type?: string; id?: number; method?: string; ok?: boolean };
  try {
    frame = JSON.parse(m.text);
  } catch {
    return 'text';
  }
  if (frame.type === 'request' && frame.id !== undefined) {
    methods.set(frame.id, frame.method ?? '?');
    return `${frame.method}#${frame.id}`;
  }
  if (frame.type === 'response') return `${methods.get(frame.id!) ?? '?'}#${frame.id}:${frame.ok ? 'ok' : 'error'}`;
  return frame.method ?? frame.type ?? 'message';
}
