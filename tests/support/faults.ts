// Fault injection for the reconnect tests and the recovery benchmark: real faults against the real
// server process and real Chromium pages.
//
//   drop      TcpProxy.drop(): every signaling connection through the proxy is destroyed (the page
//             sees close code 1006, as when Wi-Fi goes away or a NAT forgets the flow).
//   stall     TcpProxy.stall(): the connections stay open but nothing is forwarded any more, either
//             way, and their end is never passed on (a dead path without a FIN). Only heartbeats
//             can tell. New connections through the proxy work normally. TcpProxy.heal() later
//             delivers what was held (as TCP would once the path works again).
//   restart   restartServer(): kill -9 of the server process, then the same server again on the
//             same port, database and recordings directory.
//   worker    killWorker(): kill -9 of a mediasoup-worker child of the server process.
//   ice       UdpRelay.block(): the page's WebRTC (ICE, DTLS, RTP) goes through a UDP relay (the
//             page rewrites the server's ICE candidates to the relay's port), and the relay drops
//             every datagram of the ICE session it carried so far, both ways, for good: only
//             connectivity checks with new ICE credentials pass, and then the flows they succeeded
//             on. So media comes back only through an ICE restart the page really applied.
//   loss      UdpRelay.lose(fraction): the relay drops that fraction of the page's RTP and RTCP
//             datagrams (random, seeded: the same run drops the same ones), nothing else: ICE and DTLS
//             pass, so the connection stays up with a lossy uplink. lose(0) ends it.
//
// Limits of the ICE fault: only UDP host candidates are relayed (TCP candidates are removed so
// that ICE cannot escape the block over TCP); the relay is on loopback, so it models a path that
// stops carrying packets, not loss, delay or reordering; signaling is untouched, so it isolates
// ICE trouble from a lost socket; and a new transport (after a reconnect) has new credentials too,
// so only the socket count tells an ICE restart from a reconnect.
import { execFileSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { openClientPage } from './browser.js';
import { startServerProcess, type ServerProcess, type StartServerOptions } from './server.js';

/** Polls `predicate` (a condition, not a delay) until it holds; throws after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Signaling: a TCP proxy in front of the server.

interface Pipe {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
  /** What arrived while stalled, in order, with where it goes; delivered by heal(). */
  held: Array<[to: Socket, chunk: Buffer]>;
  /** A side closed while stalled: its end is passed on by heal(). */
  endedWhileStalled: boolean;
}

export class TcpProxy {
  readonly #pipes = new Set<Pipe>();
  readonly #server: Server;
  /** Connections accepted so far. */
  accepted = 0;
  #delay: { text: string; ms: number } | undefined;

  private constructor(server: Server, readonly port: number, readonly targetPort: number) {
    this.#server = server;
  }

  static async start(targetPort: number, host = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.#accept(client, host));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve()));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port, targetPort);
    return proxy;
  }

  /** `url` (as POST /v1/api/connect returns it) with the proxy's port instead of the server's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.port = String(this.port);
    return u.toString();
  }

  /** Connections currently forwarded (not stalled, not closed). */
  get live(): number {
    return [...this.#pipes].filter((p) => !p.stalled).length;
  }

  /** Destroys every connection, both sides: the page sees 1006. Returns how many. */
  drop(): number {
    const pipes = [...this.#pipes].filter((p) => !p.stalled);
    for (const p of pipes) this.#end(p);
    return pipes.length;
  }

  /** Destroys every connection, stalled ones too (what they held is lost): a partition ended by cutting it. Returns how many. */
  cut(): number {
    const pipes = [...this.#pipes];
    for (const p of pipes) this.#end(p);
    return pipes.length;
  }

  /** Stops forwarding on every current connection, keeping both sides open. Returns how many. */
  stall(): number {
    const pipes = [...this.#pipes].filter((p) => !p.stalled);
    for (const p of pipes) p.stalled = true;
    return pipes.length;
  }

  /** The stalled connections work again: what was held is delivered, then forwarding goes on. Returns how many. */
  heal(): number {
    const pipes = [...this.#pipes].filter((p) => p.stalled);
    for (const p of pipes) this.#heal(p);
    return pipes.length;
  }

  /**
   * From now on, a connection whose client sends `text` (e.g. a Redis client's `subscribe`) is stalled
   * from that chunk on for `ms`, then heals: that connection comes up later than the others.
   */
  delayWhen(text: string, ms: number): void {
    this.#delay = { text, ms };
  }

  #heal(p: Pipe): void {
    p.stalled = false;
    for (const [to, chunk] of p.held.splice(0)) if (!to.destroyed) to.write(chunk);
    if (p.endedWhileStalled) {
      p.client.end();
      p.upstream.end();
    }
  }

  async close(): Promise<void> {
    for (const p of this.#pipes) this.#end(p);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, host: string): void {
    this.accepted++;
    const upstream = connect(this.targetPort, host);
    const pipe: Pipe = { client, upstream, stalled: false, held: [], endedWhileStalled: false };
    this.#pipes.add(pipe);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        const delay = this.#delay;
        if (from === client && delay && !pipe.stalled && chunk.includes(delay.text)) {
          pipe.stalled = true;
          setTimeout(() => this.#pipes.has(pipe) && this.#heal(pipe), delay.ms);
        }
        if (pipe.stalled) pipe.held.push([to, chunk]);
        else if (!to.destroyed) to.write(chunk);
      });
      // A stalled path passes nothing on, not even its end.
      from.on('close', () => {
        if (pipe.stalled) pipe.endedWhileStalled = true;
        else this.#end(pipe);
      });
      from.on('error', () => undefined);
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  #end(pipe: Pipe): void {
    pipe.client.destroy();
    pipe.upstream.destroy();
    this.#pipes.delete(pipe);
  }
}

// ---------------------------------------------------------------------------------------------
// Media: a UDP relay in front of the worker's WebRTC port.

const STUN_MAGIC = 0x2112a442;
const STUN_BINDING_REQUEST = 0x0001;
const STUN_BINDING_SUCCESS = 0x0101;
const STUN_USERNAME = 0x0006;

/** A STUN message's type and transaction id; undefined for anything else (DTLS, RTP, RTCP). */
function stunHeader(msg: Buffer): { type: number; transaction: string } | undefined {
  if (msg.length < 20 || (msg[0]! & 0xc0) !== 0 || msg.readUInt32BE(4) !== STUN_MAGIC) return undefined;
  return { type: msg.readUInt16BE(0), transaction: msg.subarray(8, 20).toString('hex') };
}

/**
 * The server's ICE username fragment in a Binding request from the page (USERNAME is
 * "server-ufrag:page-ufrag"): it says which ICE parameters of the server the page is using.
 */
function serverUfragOf(msg: Buffer): string | undefined {
  const end = Math.min(msg.length, 20 + msg.readUInt16BE(2));
  for (let at = 20; at + 4 <= end; ) {
    const type = msg.readUInt16BE(at);
    const length = msg.readUInt16BE(at + 2);
    if (type === STUN_USERNAME) return msg.subarray(at + 4, at + 4 + length).toString('utf8').split(':')[0];
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return undefined;
}

export class UdpRelay {
  readonly #socket: UdpSocket;
  /** One upstream socket per page-side address, so the server sees one remote per ICE candidate. */
  readonly #flows = new Map<string, UdpSocket>();
  /** The server ufrags the page's checks used before block(): the ICE session the block is for. */
  readonly #seenUfrags = new Set<string>();
  #staleUfrags: ReadonlySet<string> | undefined;
  /** Checks with new credentials let through while blocked, and the flows one of them succeeded on. */
  readonly #freshTransactions = new Set<string>();
  readonly #openFlows = new Set<string>();
  /** Datagrams forwarded / dropped, both ways. */
  forwarded = 0;
  dropped = 0;
  /** Binding requests with new ICE credentials let through while blocked, and their server ufrags. */
  freshChecks = 0;
  readonly freshUfrags = new Set<string>();
  /** lose(): the fraction of the page's RTP/RTCP dropped, and the seeded generator that picks them. */
  #loss = 0;
  #seed = 1;
  /** Datagrams lose() dropped. */
  lost = 0;

  private constructor(socket: UdpSocket, readonly port: number, readonly targetPort: number, private readonly host: string) {
    this.#socket = socket;
    socket.on('message', (msg, from) => this.#fromPage(msg, from));
  }

  static async start(targetPort: number, host = '127.0.0.1'): Promise<UdpRelay> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(0, host, () => resolve()));
    return new UdpRelay(socket, socket.address().port, targetPort, host);
  }

  /** The server ufrags the block holds back (the ICE session before it). */
  get staleUfrags(): string[] {
    return [...(this.#staleUfrags ?? [])];
  }

  /**
   * From now on, drops every datagram of the ICE session seen so far, both ways: checks with its
   * credentials, and everything else on a flow until a check with new credentials succeeded there.
   */
  block(): void {
    if (this.#seenUfrags.size === 0) throw new Error('no ICE check went through the relay yet');
    this.#staleUfrags = new Set(this.#seenUfrags);
  }

  /** Drops `fraction` (0-1) of the page's RTP and RTCP datagrams from now on; 0 ends the loss. */
  lose(fraction: number): void {
    this.#loss = fraction;
  }

  /** Whether lose() takes this datagram from the page: RTP/RTCP only (first byte 128-191, RFC 7983). */
  #lost(msg: Buffer): boolean {
    if (this.#loss <= 0 || msg.length === 0 || msg[0]! < 128 || msg[0]! > 191) return false;
    // A Park-Miller generator: reproducible from run to run.
    this.#seed = (this.#seed * 48271) % 2147483647;
    return this.#seed / 2147483647 < this.#loss;
  }

  #closed = false;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#flows.values()) s.close();
    this.#flows.clear();
    this.#socket.close();
  }

  /** Whether a datagram from the page may go on (and notes the credentials it proves). */
  #passFromPage(msg: Buffer, key: string): boolean {
    const stun = stunHeader(msg);
    const ufrag = stun?.type === STUN_BINDING_REQUEST ? serverUfragOf(msg) : undefined;
    const stale = this.#staleUfrags;
    if (!stale) {
      if (ufrag !== undefined) this.#seenUfrags.add(ufrag);
      return true;
    }
    if (ufrag === undefined) return this.#openFlows.has(key);
    if (stale.has(ufrag)) return false;
    this.freshChecks++;
    this.freshUfrags.add(ufrag);
    this.#freshTransactions.add(stun!.transaction);
    return true;
  }

  /** Whether a datagram from the server to the page at `key` may go on. */
  #passToPage(msg: Buffer, key: string): boolean {
    if (!this.#staleUfrags || this.#openFlows.has(key)) return true;
    const stun = stunHeader(msg);
    if (stun?.type !== STUN_BINDING_SUCCESS || !this.#freshTransactions.has(stun.transaction)) return false;
    this.#openFlows.add(key);
    return true;
  }

  #fromPage(msg: Buffer, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    if (!this.#passFromPage(msg, key)) return void this.dropped++;
    if (this.#lost(msg)) return void this.lost++;
    let flow = this.#flows.get(key);
    if (!flow) {
      flow = createSocket('udp4');
      flow.bind(0, this.host);
      flow.on('message', (back) => {
        if (!this.#passToPage(back, key)) return void this.dropped++;
        this.forwarded++;
        this.#socket.send(back, from.port, from.address);
      });
      flow.on('error', () => undefined);
      this.#flows.set(key, flow);
    }
    this.forwarded++;
    flow.send(msg, this.targetPort, this.host);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes: the server and its mediasoup workers.

/** Pids of the mediasoup-worker children of the server process. */
export function workerPids(server: ServerProcess): number[] {
  const pid = server.process.pid;
  if (pid === undefined) return [];
  try {
    return execFileSync('pgrep', ['-P', String(pid), 'mediasoup-work'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** kill -9 of one mediasoup worker; resolves with its pid once the server has a new one. */
export async function killWorker(server: ServerProcess): Promise<{ killed: number; respawned: number }> {
  const [killed] = workerPids(server);
  if (killed === undefined) throw new Error('the server has no mediasoup worker');
  process.kill(killed, 'SIGKILL');
  let respawned = 0;
  await until(
    () => {
      respawned = workerPids(server).find((p) => p !== killed) ?? 0;
      return respawned !== 0;
    },
    15_000,
    'a respawned mediasoup worker',
  );
  return { killed, respawned };
}

/**
 * kill -9 of the server process (no clean-up at all), then the same server again on the same
 * port, database and recordings directory. Its workers die with it (their channel closes); the new
 * one starts once they are gone, since they held the WebRTC port.
 */
export async function restartServer(server: ServerProcess, options: StartServerOptions = {}): Promise<ServerProcess> {
  const workers = workerPids(server);
  await server.kill9();
  await until(() => workers.every((pid) => !alive(pid)), 15_000, 'the old mediasoup workers to exit');
  return startServerProcess({
    ...options,
    port: server.port,
    databasePath: server.databasePath,
    env: { ...options.env, RECORDINGS_DIR: server.recordingsDir },
  });
}

// ---------------------------------------------------------------------------------------------
// Pages: a client whose socket and ICE candidates go where the test says.

export interface FaultClientOptions {
  /** Rewrite the server's ICE candidates to this UDP relay port (TCP candidates are removed). */
  iceRelayPort?: number;
  /** createMediaClient options (plain data only). */
  options?: Record<string, unknown>;
}

/**
 * Creates `window.client` in the page with a WebSocket that records what crosses it:
 * `window.sent` (request methods, in order), `window.closeCodes` (close codes the page saw),
 * `window.sockets` (sockets opened) and `window.socketUrls` (where each went), `window.states`
 * (every client state).
 */
export async function createFaultClient(page: Page, url: string, token: string, opts: FaultClientOptions = {}): Promise<void> {
  await page.evaluate(
    ([url, token, relayPort, options]) => {
      const w = globalThis as any;
      const Native = w.WebSocket;
      w.sockets = 0;
      w.socketUrls = [];
      w.sent = [];
      w.closeCodes = [];
      w.restartIceAnswers = 0;
      const restartIds = new Set<number>();
      const webSocketFactory = (socketUrl: string) => {
        const ws = new Native(socketUrl);
        w.sockets++;
        w.socketUrls.push(socketUrl);
        w.lastSocketAt = Date.now();
        const wrapper: any = {
          get readyState() {
            return ws.readyState;
          },
          send(text: string) {
            const m = JSON.parse(text);
            w.sent.push(m.method);
            if (m.method === 'restartIce') restartIds.add(m.id);
            ws.send(text);
          },
          close(code?: number, reason?: string) {
            ws.close(code, reason);
          },
          onopen: null,
          onmessage: null,
          onclose: null,
          onerror: null,
        };
        ws.onopen = (e: unknown) => wrapper.onopen?.(e);
        ws.onerror = (e: unknown) => wrapper.onerror?.(e);
        ws.onclose = (e: CloseEvent) => {
          w.closeCodes.push(e.code);
          wrapper.onclose?.(e);
        };
        ws.onmessage = (e: MessageEvent) => {
          let data = e.data;
          const m = JSON.parse(data);
          if (m.type === 'response' && restartIds.has(m.id) && m.ok) w.restartIceAnswers++;
          if (relayPort && m.type === 'response' && m.ok && Array.isArray(m.data?.iceCandidates)) {
            const udp = m.data.iceCandidates.filter((c: any) => c.protocol === 'udp');
            m.data.iceCandidates = udp.map((c: any) => ({ ...c, port: relayPort }));
            data = JSON.stringify(m);
          }
          if (relayPort && m.type === 'notification' && m.method === 'welcome' && m.data?.transports) {
            for (const t of Object.values(m.data.transports) as any[]) t.iceCandidates = t.iceCandidates.filter((c: any) => c.protocol === 'udp').map((c: any) => ({ ...c, port: relayPort }));
            data = JSON.stringify(m);
          }
          wrapper.onmessage?.({ data });
        };
        return wrapper;
      };
      w.states = [];
      w.client = w.MediaInfra.createMediaClient(url, token, { ...options, webSocketFactory });
      w.states.push(w.client.state);
      w.client.on('state', (s: string) => w.states.push(s));
    },
    [url, token, opts.iceRelayPort ?? 0, opts.options ?? {}] as const,
  );
}

/** Produces the fake camera and microphone as `window.producers` (ProduceManagers). */
export async function produceCameraAndMic(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const w = globalThis as any;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 30 }, audio: true });
    w.producers = [];
    for (const track of stream.getTracks()) w.producers.push(await w.client.produceTrack(track));
    return w.producers.map((p: any) => p.id);
  });
}

/**
 * listenTrack: every ConsumeManager is kept in `window.consumers`; every decoded video frame is
 * logged in `window.frameLog` as [consumerId, Date.now()] (a reader runs on each video track for
 * its whole life, so frames are counted as they are decoded).
 */
export async function listenAndWatch(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    w.consumers = [];
    w.frameLog = [];
    w.client.listenTrack((cm: any) => {
      w.consumers.push(cm);
      if (cm.kind !== 'video') return;
      void w.testFrames.read(cm.track, () => {
        w.frameLog.push([cm.id, Date.now()]);
      });
    });
  });
}

/** Waits until the page decoded `frames` video frames after `since` (ms epoch) on consumers not in `exclude`; returns the first one's time. */
export async function waitForFrames(page: Page, since: number, frames: number, exclude: string[] = [], timeoutMs = 60_000): Promise<number> {
  await page.waitForFunction(
    ([since, frames, exclude]) =>
      (globalThis as any).frameLog.filter(([id, t]: [string, number]) => t > since && !exclude.includes(id)).length >= frames,
    [since, frames, exclude] as const,
    { timeout: timeoutMs, polling: 50 },
  );
  return page.evaluate(
    ([since, exclude]) => {
      const log: Array<[string, number]> = (globalThis as any).frameLog.filter(([id, t]: [string, number]) => t > since && !exclude.includes(id));
      // The media gap the fault caused ends with the first frame after the longest pause.
      let end = log[0]![1];
      let gap = 0;
      let prev = since;
      for (const [, t] of log) {
        if (t - prev > gap) {
          gap = t - prev;
          end = t;
        }
        prev = t;
      }
      return end;
    },
    [since, exclude] as const,
  );
}

/** Resolves when `window.client.state` is `state`; fails at once if it ends closed instead. */
export async function waitForClientState(page: Page, state: string, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(
    (state) => {
      const c = (globalThis as any).client;
      if (c.state === 'closed' && state !== 'closed') throw new Error(`client closed (${c.closeReason}) while waiting for ${state}`);
      return c.state === state;
    },
    state,
    { timeout: timeoutMs, polling: 25 },
  );
}

// ---------------------------------------------------------------------------------------------
// One fault, end to end: page A sends camera + mic, page B listens; the fault; the recovery.
// Shared by tests/e2e/reconnect.test.ts (asserts the report) and bench/recovery.ts (times it).

export type FaultName = 'drop' | 'stall' | 'restart' | 'worker' | 'ice';

/** Client options that make faults show quickly (the library defaults are in src/client/defaults.ts). */
export const FAST_CLIENT_OPTIONS = {
  pingInterval: 1_000,
  pingTimeout: 1_500,
  reconnect: { initialDelay: 250, maxDelay: 2_000, maxAttempts: 15 },
  iceDisconnectedTimeout: 1_000,
  iceRestartTimeout: 5_000,
  maxIceRestarts: 2,
};

export interface RecoveryReport {
  fault: FaultName;
  room: string;
  /** What `hooks.afterRecovery` returned. */
  extra: unknown;
  /** Fault injected → B decoding A's video again (first frame after the media gap). */
  recoveryMs: number;
  /**
   * The last reconnect attempt's socket opening (A's or B's, whichever came later) → B decoding
   * again: the recovery itself, without fault detection and backoff. Undefined when no socket was
   * reopened (ICE restart).
   */
  afterReconnectMs: number | undefined;
  a: { states: string[]; sockets: number; sent: string[]; closeCodes: number[]; restartIceAnswers: number };
  b: { states: string[]; sockets: number; closeCodes: number[] };
  /**
   * The managers after recovery are the ones from before: each producer the server holds now (seen
   * by a fresh observer) belongs to exactly one of the ProduceManagers produceTrack returned before
   * the fault, by its `id`, and, when the fault replaced it, by that manager's own `produced` event
   * after the fault.
   */
  sameObjects: boolean;
  /** A's ProduceManagers from before the fault; `announced`: the ids their `produced` events gave after it. */
  producers: Array<{ kind: string; state: string; paused: boolean; id: string; idBefore: string; announced: string[] }>;
  /** B's ConsumeManagers from before the fault. */
  oldConsumers: Array<{ id: string; state: string; pause: string; resume: string; closedEvent: string }>;
  /** B's ConsumeManagers that are not closed. */
  liveConsumers: Array<{ id: string; kind: string; producerId: string; userId: string }>;
  /** What a fresh observer socket is offered in the room: every producer the server holds. */
  serverProducers: Array<{ producerId: string; kind: string; userId: string }>;
  audioFrames: number;
  /** The ICE fault: what the relay held back and what it let through (server ICE ufrags). */
  ice?: { dropped: number; staleUfrags: string[]; freshChecks: number; freshUfrags: string[] };
}

interface Party {
  page: Page;
  proxy: TcpProxy;
}

export class FaultHarness {
  #server: ServerProcess;
  readonly #relays: UdpRelay[] = [];
  #runs = 0;

  constructor(
    server: ServerProcess,
    private readonly browser: import('playwright-core').Browser,
    private readonly clientOptions: Record<string, unknown> = FAST_CLIENT_OPTIONS,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.#server = server;
  }

  get server(): ServerProcess {
    return this.#server;
  }

  async #party(tokenUrl: string, token: string, relay?: UdpRelay): Promise<Party> {
    const { page } = await openClientPage(this.browser, this.#server.httpUrl);
    const proxy = await TcpProxy.start(this.#server.port);
    await createFaultClient(page, proxy.rewrite(tokenUrl), token, {
      ...(relay && { iceRelayPort: relay.port }),
      options: this.clientOptions,
    });
    return { page, proxy };
  }

  /** Runs one fault in a room of its own and reports what recovery looked like. */
  async run(
    fault: FaultName,
    hooks: { beforeFault?: (a: Page, b: Page, room: string) => Promise<void>; afterRecovery?: (a: Page, b: Page) => Promise<unknown> } = {},
  ): Promise<RecoveryReport> {
    const room = `faults-${fault}-${process.pid}-${++this.#runs}`;
    const relay = fault === 'ice' ? await UdpRelay.start(this.#server.rtcPort) : undefined;
    if (relay) this.#relays.push(relay);
    const ta = await this.#server.connect(room, 'alice');
    const tb = await this.#server.connect(room, 'bob');
    const a = await this.#party(ta.url, ta.token, relay);
    const b = await this.#party(tb.url, tb.token);
    try {
      await Promise.all([waitForClientState(a.page, 'connected'), waitForClientState(b.page, 'connected')]);
      const idsBefore = await produceCameraAndMic(a.page);
      await a.page.evaluate(() => {
        const w = globalThis as any;
        w.producersBefore = [...w.producers];
        w.announced = w.producersBefore.map((p: any) => {
          const ids: string[] = [];
          p.on('produced', (id: string) => w.faultAt !== undefined && ids.push(id));
          return ids;
        });
      });
      await listenAndWatch(b.page);
      await waitForFrames(b.page, 0, 10);
      const oldConsumerIds: string[] = await b.page.evaluate(() => {
        const w = globalThis as any;
        w.consumersBefore = [...w.consumers];
        w.closedEvents = {};
        for (const cm of w.consumersBefore) cm.on('closed', (e: any) => (w.closedEvents[cm.id] = e?.code ?? 'none'));
        return w.consumers.map((c: any) => c.id);
      });
      await hooks.beforeFault?.(a.page, b.page, room);

      const t0 = Date.now();
      await a.page.evaluate(() => ((globalThis as any).faultAt = Date.now()));
      await this.#inject(fault, a, b, relay);
      const socketFault = fault !== 'ice';
      const recoveredAt = await waitForFrames(b.page, t0, 30, socketFault ? oldConsumerIds : []);
      const recoveryMs = recoveredAt - t0;
      const lastSocketAt = Math.max(...(await Promise.all([a, b].map((p) => p.page.evaluate(() => ((globalThis as any).lastSocketAt as number) ?? 0)))));
      const afterReconnectMs = lastSocketAt > t0 ? recoveredAt - lastSocketAt : undefined;
      this.log(`[recovery] ${fault}: ${recoveryMs} ms (fault → B decodes A's video again), ${afterReconnectMs ?? '-'} ms after the last reconnect began`);
      await Promise.all([waitForClientState(a.page, 'connected'), waitForClientState(b.page, 'connected')]);
      // Both A tracks produced again and consumed by B (the video one is proven by frames).
      await b.page.waitForFunction(() => (globalThis as any).consumers.filter((c: any) => !c.closed).length >= 2, null, { timeout: 30_000 });
      const observed = await this.#observe(a.page, b.page, idsBefore, room, socketFault);
      const extra = await hooks.afterRecovery?.(a.page, b.page);
      const ice = relay && { dropped: relay.dropped, staleUfrags: relay.staleUfrags, freshChecks: relay.freshChecks, freshUfrags: [...relay.freshUfrags] };
      return { fault, room, extra, recoveryMs, afterReconnectMs, ...observed, ...(ice && { ice }) };
    } finally {
      for (const p of [a, b]) {
        await p.page.evaluate(() => (globalThis as any).client.close()).catch(() => undefined);
        await p.page.context().close();
        await p.proxy.close();
      }
      relay?.close();
    }
  }

  async #inject(fault: FaultName, a: Party, b: Party, relay?: UdpRelay): Promise<void> {
    switch (fault) {
      case 'drop':
        // A's network goes away for a moment: the socket is cut (B stays, and sees A come back).
        if (a.proxy.drop() === 0) throw new Error('nothing to drop');
        return;
      case 'stall':
        // Both sockets silently stop carrying anything: only heartbeats can tell; the server still
        // holds the old sockets when the clients come back (their peers are replaced, 4003).
        if (a.proxy.stall() + b.proxy.stall() !== 2) throw new Error('expected two sockets to stall');
        // Once a client is back on a new socket, its old path heals: the server's 4003 on the
        // socket it gave up on reaches the page, which must not take it for its live one.
        await Promise.all(
          [a, b].map(async ({ page, proxy }) => {
            await page.waitForFunction(() => (globalThis as any).sockets >= 2 && (globalThis as any).client.state === 'connected', null, { timeout: 60_000, polling: 25 });
            if (proxy.heal() !== 1) throw new Error('expected one stalled socket to heal');
            await page.waitForFunction(() => (globalThis as any).closeCodes.includes(4003), null, { timeout: 30_000, polling: 25 });
            await waitForClientState(page, 'connected'); // fails at once if the 4003 closed the client
          }),
        );
        return;
      case 'restart':
        this.#server = await restartServer(this.#server);
        return;
      case 'worker':
        await killWorker(this.#server);
        return;
      case 'ice':
        // For good: media comes back only over new ICE credentials, i.e. through a restart A applied.
        relay!.block();
        return;
    }
  }

  async #observe(
    a: Page,
    b: Page,
    idsBefore: string[],
    room: string,
    replaced: boolean,
  ): Promise<Omit<RecoveryReport, 'fault' | 'room' | 'extra' | 'recoveryMs' | 'afterReconnectMs' | 'ice'>> {
    const serverProducers = await this.#serverProducers(room);
    const aSide = await a.evaluate(
      ([idsBefore, serverIds, replaced]) => {
        const w = globalThis as any;
        // The manager each server producer belongs to: the one whose id it is and, after a
        // replacing fault, which announced it after the fault.
        const owners = serverIds.map((id) => w.producersBefore.filter((p: any, i: number) => p.id === id && (!replaced || w.announced[i].includes(id))));
        return {
          info: { states: w.states, sockets: w.sockets, sent: w.sent, closeCodes: w.closeCodes, restartIceAnswers: w.restartIceAnswers },
          sameObjects:
            owners.every((o: unknown[]) => o.length === 1) &&
            new Set(owners.map((o: unknown[]) => o[0])).size === w.producersBefore.length &&
            owners.length === w.producersBefore.length,
          producers: w.producersBefore.map((p: any, i: number) => ({
            kind: p.kind,
            state: p.state,
            paused: p.paused,
            id: p.id,
            idBefore: idsBefore[i],
            announced: w.announced[i],
          })),
        };
      },
      [idsBefore, serverProducers.map((p) => p.producerId), replaced] as const,
    );
    const bSide = await b.evaluate(async () => {
      const w = globalThis as any;
      const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: any) => String(e?.code));
      const oldConsumers = [];
      for (const cm of w.consumersBefore) {
        oldConsumers.push({ id: cm.id, state: cm.state, pause: await code(cm.pause()), resume: await code(cm.resume()), closedEvent: w.closedEvents[cm.id] ?? 'none' });
      }
      const live = w.consumers.filter((c: any) => !c.closed);
      // Audio decodes too: read frames of the live audio consumer (played muted, or it yields none).
      let audioFrames = 0;
      const audio = live.find((c: any) => c.kind === 'audio');
      if (audio) {
        await w.testFrames.play(audio.track);
        await w.testFrames.read(audio.track, () => ++audioFrames < 20);
      }
      return {
        info: { states: w.states, sockets: w.sockets, closeCodes: w.closeCodes },
        oldConsumers,
        liveConsumers: live.map((c: any) => ({ id: c.id, kind: c.kind, producerId: c.producerId, userId: c.userId })),
        audioFrames,
      };
    });
    return {
      a: aSide.info,
      b: bSide.info,
      sameObjects: aSide.sameObjects,
      producers: aSide.producers,
      oldConsumers: bSide.oldConsumers,
      liveConsumers: bSide.liveConsumers,
      audioFrames: bSide.audioFrames,
      serverProducers,
    };
  }

  /** A fresh signaling client joins the room and listens: it is offered every producer the server holds. */
  async #serverProducers(room: string): Promise<RecoveryReport['serverProducers']> {
    const { TestSocket } = await import('../server/wsClient.js');
    const t = await this.#server.connect(room, 'observer');
    const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
    try {
      await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
      await socket.ok('createTransport', { direction: 'recv' });
      await socket.ok('listen');
      return socket.frames.flatMap((f) =>
        f.type === 'notification' && f.method === 'newConsumer' ? [{ producerId: f.data.producerId, kind: f.data.kind, userId: f.data.userId }] : [],
      );
    } finally {
      await socket.close();
    }
  }

  close(): void {
    for (const r of this.#relays) r.close();
  }
}
