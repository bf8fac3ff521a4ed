// The cluster (issue 15) against one node: real PostgreSQL and redis-server, nodes as server
// processes on loopback (tests/support/cluster.ts), Chromium pages with the library's default
// options (what an application gets). Three figures:
//
// 1. First remote frame: page A's produceTrack(camera) (the microphone is produced at the same
//    moment) → page B, already listening (the server acknowledged `listen`), decodes A's first
//    video frame. `cross`: B on the other node (NODE_MAX_PEERS=1 steers placement there), so the
//    clock includes the room's first PipeTransport pair and the pipe producer. `same`: B's token
//    pointed at A's node (a token is valid at every node), so the same two processes, engines and
//    cluster mode, only without the pipe. A fresh room per run; the variants alternate, the order
//    flips each round, and the first round (warm-up) is not counted. Beside it, when B's consumer
//    arrived (signaling and piping done) and how many keyframe requests (PLI) B's browser sent
//    before its first frame: what the rest of the wait was.
// 2. Failover: A on one node, B on the other, B decoding A. A's node is killed (-9) or drained
//    (SIGTERM) → B decodes A's video again (first frame of a new consumer after the gap). A finds
//    the other node by itself (the welcome lists it). A fresh node replaces the lost one.
// 3. Peers held by two nodes together against one, each node with NUM_WORKERS=1 (one mediasoup
//    worker, one core at most). Peers are Node clients (bench/scalePeer.ts: werift, synthetic
//    VP8+Opus RTP) in rooms of 1 producer + 9 receivers. `one`: every peer on a single node.
//    `two`: every room spans both nodes (its producer on one node, alternating per room; its
//    receivers alternately on each), so 4 of each room's 9 receivers get their media through a
//    pipe: the worst case for the cluster (placement itself keeps a room on one node while it fits).
//    Figures at each load: server CPU (every node process and its workers, 100 = one core; the
//    median of 1-second samples minus the median at idle), also per 100 peers and per 1,000 RTP
//    packets/s delivered (the fairer unit when the senders fall behind); what the producers really
//    sent; and media flow = packets each receiver decrypted / packets its producer sent, over the
//    window; a load "flows" when every receiver got >= 95%. On this machine the clients (in this
//    process, werift in JS) run out of CPU long before a mediasoup worker does, so the peers at
//    which media stops flowing are not reached: both set-ups flow at every load measured, and the
//    comparison is what the same load costs.
//
// `npm run bench cluster`. BENCH_RUNS (default 7) rounds of figure 1, BENCH_FAILOVERS (default 3)
// runs of each failover, BENCH_CLUSTER_ROOMS (default "4,8") the loads of figure 3, in rooms.
// BENCH_CLUSTER_PARTS (default "frame,failover,peers") runs only the figures named (a partial run
// replaces the whole `cluster` entry of bench/results.json: compare, do not commit it).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../tests/support/browser.js';
import { clusterRows, nodeAt, startClusterNode, untilCluster, urlAt, type ClusterEngines } from '../tests/support/cluster.js';
import { createFaultClient, listenAndWatch, produceCameraAndMic, until, waitForClientState, waitForFrames } from '../tests/support/faults.js';
import { startPostgres } from '../tests/support/postgres.js';
import { startRedis } from '../tests/support/redis.js';
import type { ServerProcess } from '../tests/support/server.js';
import { ScalePeer } from './scalePeer.js';
import { watchListenAck } from './pageClients.js';
import { figure, type Figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);
const FAILOVERS = Number(process.env['BENCH_FAILOVERS'] ?? 3);
const LOADS_IN_ROOMS = (process.env['BENCH_CLUSTER_ROOMS'] ?? '4,8').split(',').map(Number);
const ROOM_RECEIVERS = 9;
const WINDOW_MS = 5_000;
const IDLE_MS = 3_000;
const SETTLE_MS = 2_000;
const FLOWS = 0.95;
const PARTS = new Set((process.env['BENCH_CLUSTER_PARTS'] ?? 'frame,failover,peers').split(','));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const log = (line: string) => console.error(line);

/** Nodes started by this bench, by id; the ones alive are in `live`. */
class Nodes {
  readonly live: ServerProcess[] = [];
  readonly #ids = new Map<ServerProcess, string>();
  #started = 0;

  constructor(private readonly engines: ClusterEngines) {}

  async start(prefix: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const id = `${prefix}${++this.#started}`;
    const node = await startClusterNode(this.engines, id, { LOG_LEVEL: 'warn', ...env });
    this.live.push(node);
    this.#ids.set(node, id);
    return node;
  }

  id(node: ServerProcess): string {
    return this.#ids.get(node)!;
  }

  at(url: string): ServerProcess {
    return nodeAt(this.live, url);
  }

  other(node: ServerProcess): ServerProcess {
    return this.live.find((n) => n !== node)!;
  }

  forget(node: ServerProcess): void {
    this.live.splice(this.live.indexOf(node), 1);
  }

  /** Waits until `via` sees exactly the live nodes, each holding `peers` (undefined: any). */
  settled(via: ServerProcess, peers?: number): Promise<void> {
    return untilCluster(via, Object.fromEntries(this.live.map((n) => [this.id(n), peers])), 20_000);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.live.splice(0).map((n) => n.stop('SIGTERM')));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.live.splice(0).map((n) => n.kill9()));
  }
}

async function closePage(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as any).client?.close()).catch(() => undefined);
  await page.context().close();
}

// ---- 1. first remote frame across nodes against the same node --------------------------------

/**
 * Opens a page (module from `moduleFrom`), opens the camera and microphone before any clock, and
 * connects the client with the library's defaults; `window.listenAcked` resolves on the server's
 * answer to `listen`.
 */
async function framePage(browser: Browser, moduleFrom: ServerProcess, url: string, token: string): Promise<Page> {
  const { page } = await openClientPage(browser, moduleFrom.httpUrl);
  await watchListenAck(page);
  await page.evaluate(
    async ([url, token]) => {
      const w = globalThis as any;
      // B's peer connections, for its keyframe requests (PLIs) at the first frame.
      const NativePc = w.RTCPeerConnection;
      w.pcs = [];
      w.RTCPeerConnection = class extends NativePc {
        constructor(...args: any[]) {
          super(...args);
          w.pcs.push(this);
        }
      };
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 30 }, audio: true });
      w.camera = stream.getVideoTracks()[0];
      w.mic = stream.getAudioTracks()[0];
      w.client = w.MediaInfra.createMediaClient(url, token);
      await new Promise<void>((resolve) => {
        if (w.client.state === 'connected') resolve();
        w.client.on('state', (s: string) => s === 'connected' && resolve());
      });
    },
    [url, token] as const,
  );
  return page;
}

/** B listens and notes when it decodes its first remote video frame (epoch ms); resolves once the server acknowledged `listen`. */
async function listenForFirstFrame(b: Page): Promise<void> {
  await b.evaluate(async () => {
    const w = globalThis as any;
    w.firstFrame = new Promise<number>((resolve) => {
      w.client.listenTrack(async (cm: any) => {
        if (cm.kind !== 'video') return;
        w.consumerAt = performance.timeOrigin + performance.now();
        const reader = new w.MediaStreamTrackProcessor({ track: cm.track }).readable.getReader();
        const { value } = await reader.read();
        const at = performance.timeOrigin + performance.now();
        value?.close();
        reader.releaseLock();
        let plis = 0;
        for (const pc of w.pcs) (await pc.getStats()).forEach((r: any) => r.type === 'inbound-rtp' && r.kind === 'video' && (plis += r.pliCount ?? 0));
        w.plis = plis;
        resolve(at);
      });
    });
    await w.listenAcked;
  });
}

interface FirstFrame {
  /** A's produceTrack → B decodes the first frame (ms). */
  frame: number;
  /** A's produceTrack → B's listenTrack callback: the consumer arrived, signaling and piping done (ms). */
  consumer: number;
  /** Keyframe requests (PLI) B's browser had sent by its first frame: > 0 means it got frames it could not decode first. */
  plis: number;
}

/** A produces camera and microphone → B's first decoded frame of it. */
async function firstFrameMs(a: Page, b: Page): Promise<FirstFrame> {
  const t0 = await a.evaluate(() => {
    const w = globalThis as any;
    const t0 = performance.timeOrigin + performance.now();
    void w.client.produceTrack(w.camera);
    void w.client.produceTrack(w.mic);
    return t0;
  });
  const [at, consumerAt, plis] = await b.evaluate(async () => [await (globalThis as any).firstFrame, (globalThis as any).consumerAt, (globalThis as any).plis] as [number, number, number]);
  return { frame: at - t0, consumer: consumerAt - t0, plis };
}

type Where = 'cross' | 'same';

async function oneFirstFrame(browser: Browser, nodes: Nodes, where: Where, room: string, via: ServerProcess): Promise<FirstFrame> {
  const ta = await via.connect(room, 'alice');
  const aNode = nodes.at(ta.url);
  const a = await framePage(browser, nodes.live[0]!, ta.url, ta.token);
  try {
    // Placement reads the load the nodes publish: B is placed once A's node counts A (both variants wait the same).
    await until(async () => (await clusterRows(aNode)).find((r) => r.id === nodes.id(aNode))?.peers === 1, 10_000, 'A counted');
    const tb = await aNode.connect(room, 'bob');
    if (where === 'cross' && nodes.at(tb.url) === aNode) throw new Error('placement put B on A’s node (NODE_MAX_PEERS=1 should steer it away)');
    const bUrl = where === 'same' ? urlAt(tb.url, aNode) : tb.url;
    const b = await framePage(browser, nodes.live[0]!, bUrl, tb.token);
    try {
      await listenForFirstFrame(b);
      return await firstFrameMs(a, b);
    } finally {
      await closePage(b);
    }
  } finally {
    await closePage(a);
  }
}

async function measureFirstFrame(browser: Browser, nodes: Nodes): Promise<Record<Where, FirstFrame[]>> {
  const samples: Record<Where, FirstFrame[]> = { cross: [], same: [] };
  for (let i = 0; i < RUNS + 1; i++) {
    for (const where of i % 2 ? (['same', 'cross'] as const) : (['cross', 'same'] as const)) {
      // The deciding node alternates, so A lands on each node in turn.
      const via = nodes.live[i % 2]!;
      const run = await oneFirstFrame(browser, nodes, where, `bench-frame-${where}-${i}`, via);
      log(`[cluster] first frame ${where}: ${Math.round(run.frame)} ms (consumer at ${Math.round(run.consumer)} ms, ${run.plis} PLIs)${i === 0 ? ' (warm-up, not counted)' : ''}`);
      if (i > 0) samples[where].push(run);
      await nodes.settled(via, 0);
    }
  }
  return samples;
}

// ---- 2. failover ------------------------------------------------------------------------------

type Loss = 'kill' | 'drain';

async function party(browser: Browser, nodes: Nodes, via: ServerProcess, room: string, user: string): Promise<{ page: Page; node: ServerProcess }> {
  const t = await via.connect(room, user);
  const { page } = await openClientPage(browser, via.httpUrl);
  await createFaultClient(page, t.url, t.token, { options: {} });
  await waitForClientState(page, 'connected');
  return { page, node: nodes.at(t.url) };
}

/**
 * A and B on different nodes; A's node lost → B decodes A's video again (ms). The node that replaces
 * the lost one starts while the pages are set up and is up before the loss: A's welcome lists B's
 * node first (it holds the room), so A still moves there.
 */
async function oneFailover(browser: Browser, nodes: Nodes, loss: Loss, room: string): Promise<number> {
  const via = nodes.live[0]!;
  const replacement = nodes.start('f', { NODE_MAX_PEERS: '1' });
  replacement.catch(() => undefined);
  const a = await party(browser, nodes, via, room, 'alice');
  let b: { page: Page; node: ServerProcess } | undefined;
  try {
    await produceCameraAndMic(a.page);
    await until(async () => (await clusterRows(a.node)).find((r) => r.id === nodes.id(a.node))?.peers === 1, 10_000, 'A counted');
    b = await party(browser, nodes, a.node, room, 'bob');
    if (b.node === a.node) throw new Error('placement put B on A’s node');
    await listenAndWatch(b.page);
    await waitForFrames(b.page, 0, 10);
    const oldConsumers: string[] = await b.page.evaluate(() => (globalThis as any).consumers.map((c: any) => c.id));

    await replacement;
    const t0 = Date.now();
    nodes.forget(a.node);
    if (loss === 'kill') await a.node.kill9();
    else {
      const code = await a.node.stop('SIGTERM');
      if (code !== 0) throw new Error(`the drained node exited ${code}`);
    }
    const recoveredAt = await waitForFrames(b.page, t0, 10, oldConsumers);
    const lastUrl: string = await a.page.evaluate(() => (globalThis as any).socketUrls.at(-1));
    if (Number(new URL(lastUrl).port) !== b.node.port) throw new Error(`A reconnected to ${lastUrl}, not to B's node`);
    return recoveredAt - t0;
  } finally {
    for (const p of [a, b]) if (p) await closePage(p.page);
    await replacement;
    // The lost node is gone from the live view (at once when drained, after 6 s of silence when killed).
    await nodes.settled(nodes.live[0]!, 0);
  }
}

async function measureFailover(browser: Browser, nodes: Nodes): Promise<Record<Loss, number[]>> {
  const samples: Record<Loss, number[]> = { kill: [], drain: [] };
  for (let i = 0; i < FAILOVERS; i++) {
    for (const loss of ['kill', 'drain'] as const) {
      const ms = await oneFailover(browser, nodes, loss, `bench-failover-${loss}-${i}`);
      log(`[cluster] failover ${loss}: ${ms} ms`);
      samples[loss].push(ms);
    }
  }
  return samples;
}

// ---- 3. peers held by two nodes together against one ------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function workerPidsOf(node: ServerProcess): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(node.process.pid), 'mediasoup-work'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface CpuSamples {
  /** Every node process and its workers together, per 1-second sample (100 = one core). */
  total: number[];
  /** The mediasoup workers alone, per node, over the whole window. */
  workersPercent: number[];
}

async function sampleCpu(nodes: readonly ServerProcess[], ms: number): Promise<CpuSamples> {
  const workers = nodes.map(workerPidsOf);
  const all = [...nodes.map((n) => n.process.pid!), ...workers.flat()];
  const ticks = (pids: number[]) => pids.reduce((s, p) => s + cpuTicks(p), 0);
  const workersBefore = workers.map(ticks);
  const t0 = performance.now();
  const total: number[] = [];
  let last = ticks(all);
  let lastAt = t0;
  while (performance.now() - t0 < ms - 50) {
    await sleep(1_000);
    const now = ticks(all);
    const at = performance.now();
    total.push(((now - last) / CLK_TCK / ((at - lastAt) / 1000)) * 100);
    [last, lastAt] = [now, at];
  }
  const seconds = (performance.now() - t0) / 1000;
  return { total, workersPercent: workers.map((pids, i) => ((ticks(pids) - workersBefore[i]!) / CLK_TCK / seconds) * 100) };
}

interface Room {
  producer: ScalePeer;
  receivers: ScalePeer[];
}

/** A room of one producer (on `producerNode`) and receivers placed by `receiverNode(i)`. */
async function openRoom(roomId: string, producerNode: ServerProcess, receiverNode: (i: number) => ServerProcess): Promise<Room> {
  const t = await producerNode.connect(roomId, 'p');
  const producer = await ScalePeer.open(urlAt(t.url, producerNode), t.token);
  await producer.produce();
  const receivers = await Promise.all(
    Array.from({ length: ROOM_RECEIVERS }, async (_, i) => {
      const node = receiverNode(i);
      const r = await node.connect(roomId, `r${i}`);
      const peer = await ScalePeer.open(urlAt(r.url, node), r.token);
      await peer.consume(2);
      return peer;
    }),
  );
  return { producer, receivers };
}

interface Load {
  peers: number;
  /** Server CPU (every node process and worker, 100 = one core) minus idle: 1-second samples. */
  serverCpuPercent: Figure;
  /** The median above per 100 peers, and per 1,000 RTP packets/s delivered to receivers. */
  cpuPer100Peers: number;
  cpuPer1000DeliveredPps: number;
  /** Each mediasoup worker's CPU over the window (% of one core), per node. */
  workerCpuPercent: number[];
  /** What each producer sent (median, packets/s; nominal: 30 fps video with a 5-packet keyframe every 2 s + 50 audio packets, about 82) and receivers got in all. */
  producerPps: number;
  deliveredPps: number;
  /** Packets each receiver decrypted / packets its producer sent over the window: the least, and the median. */
  flow: { min: number; median: number };
  flows: boolean;
  /** This process (the werift clients), % of one core over the window. */
  clientsCpuPercent: number;
}

async function measureLoad(nodes: readonly ServerProcess[], rooms: Room[], idleMedian: number): Promise<Load> {
  const receivers = rooms.flatMap((r) => r.receivers.map((peer) => ({ peer, producer: r.producer, before: peer.rtpReceived })));
  const sentBefore = new Map(rooms.map((r) => [r.producer, r.producer.rtpSent]));
  const clientsBefore = process.cpuUsage();
  const t0 = performance.now();
  const cpu = await sampleCpu(nodes, WINDOW_MS);
  const seconds = (performance.now() - t0) / 1000;
  const clients = process.cpuUsage(clientsBefore);
  const sent = (producer: ScalePeer) => producer.rtpSent - sentBefore.get(producer)!;
  const ratios = receivers.map(({ peer, producer, before }) => (peer.rtpReceived - before) / Math.max(1, sent(producer))).sort((a, b) => a - b);
  const producerPps = rooms.map((r) => sent(r.producer) / seconds).sort((a, b) => a - b);
  const deliveredPps = receivers.reduce((n, { peer, before }) => n + peer.rtpReceived - before, 0) / seconds;
  const peers = rooms.length * (1 + ROOM_RECEIVERS);
  const serverCpuPercent = figure(cpu.total.map((c) => c - idleMedian));
  return {
    peers,
    serverCpuPercent,
    cpuPer100Peers: round((serverCpuPercent.median / peers) * 100),
    cpuPer1000DeliveredPps: round((serverCpuPercent.median / deliveredPps) * 1000),
    workerCpuPercent: cpu.workersPercent.map((c) => round(c, 1)),
    producerPps: round(producerPps[Math.floor(producerPps.length / 2)] ?? 0, 1),
    deliveredPps: Math.round(deliveredPps),
    flow: { min: round(ratios[0] ?? 0, 3), median: round(ratios[Math.floor(ratios.length / 2)] ?? 0, 3) },
    flows: (ratios[0] ?? 0) >= FLOWS,
    clientsCpuPercent: round(((clients.user + clients.system) / 1e6 / seconds) * 100, 1),
  };
}

async function measureCapacity(nodes: readonly ServerProcess[], label: string): Promise<{ nodes: number; idleCpuPercent: Figure; loads: Load[] }> {
  await sleep(SETTLE_MS);
  const idle = figure((await sampleCpu(nodes, IDLE_MS)).total);
  const rooms: Room[] = [];
  const loads: Load[] = [];
  try {
    for (const target of LOADS_IN_ROOMS) {
      while (rooms.length < target) {
        const i = rooms.length;
        // Spanning: the producer on node i mod n, receivers alternately on every node.
        rooms.push(await openRoom(`bench-${label}-${i}`, nodes[i % nodes.length]!, (r) => nodes[(i + r) % nodes.length]!));
      }
      await sleep(SETTLE_MS);
      const load = await measureLoad(nodes, rooms, idle.median);
      log(`[cluster] ${label}: ${load.peers} peers, server CPU ${load.serverCpuPercent.median}%, flow min ${load.flow.min}, producers ${load.producerPps} pps, workers ${load.workerCpuPercent.join('/')}%, clients ${load.clientsCpuPercent}%`);
      loads.push(load);
    }
  } finally {
    await Promise.all(rooms.flatMap((r) => [r.producer, ...r.receivers]).map((p) => p.close()));
  }
  return { nodes: nodes.length, idleCpuPercent: idle, loads };
}

// ---- the benchmark ----------------------------------------------------------------------------

export async function run(): Promise<Record<string, unknown>> {
  const [pg, redis, browser] = await Promise.all([startPostgres(), startRedis(), launchBrowser()]);
  const engines = { pg, redis };
  const nodes = new Nodes(engines);
  try {
    const seconds: Record<string, number> = {};
    let mark = performance.now();
    const lap = (part: string) => {
      seconds[part] = Math.round((performance.now() - mark) / 1000);
      mark = performance.now();
    };
    const result: Record<string, unknown> = {};
    if (PARTS.has('frame') || PARTS.has('failover')) {
      await Promise.all([nodes.start('n', { NODE_MAX_PEERS: '1' }), nodes.start('n', { NODE_MAX_PEERS: '1' })]);
      await nodes.settled(nodes.live[0]!, 0);
    }
    if (PARTS.has('frame')) {
      const frames = await measureFirstFrame(browser, nodes);
      const of = (where: Where, key: keyof FirstFrame) => figure(frames[where].map((f) => f[key]));
      const [cross, same] = [of('cross', 'frame'), of('same', 'frame')];
      Object.assign(result, {
        firstFrameMs: { cross, same, ratio: round(cross.median / same.median), target: 1.2 },
        consumerArrivesMs: { cross: of('cross', 'consumer'), same: of('same', 'consumer') },
        plisBeforeFirstFrame: { cross: of('cross', 'plis'), same: of('same', 'plis') },
      });
      lap('firstFrame');
    }
    if (PARTS.has('failover')) {
      const failover = await measureFailover(browser, nodes);
      result['failoverMs'] = { kill9: figure(failover.kill), sigtermDrain: figure(failover.drain) };
      lap('failover');
    }
    await nodes.stopAll();

    if (PARTS.has('peers')) {
      const one = [await nodes.start('one')];
      await nodes.settled(one[0]!, 0);
      const oneNode = await measureCapacity(one, 'one');
      await nodes.stopAll();
      lap('oneNode');
      const two = await Promise.all([nodes.start('two'), nodes.start('two')]);
      await nodes.settled(two[0]!, 0);
      const twoNodes = await measureCapacity(two, 'two');
      await nodes.stopAll();
      lap('twoNodes');
      result['peers'] = {
        definition: `rooms of 1 producer + ${ROOM_RECEIVERS} receivers (werift, synthetic VP8+Opus), NUM_WORKERS=1 per node; 'two': every room spans both nodes; flows = every receiver got >= ${FLOWS * 100}% of its producer's packets; CPU = all node processes and workers minus idle (100 = one core); the peers at which media stops flowing are not reached: the clients run out of CPU first`,
        one: oneNode,
        two: twoNodes,
      };
    }
    result['seconds'] = seconds;
    printTable(result);
    return result;
  } finally {
    await browser.close();
    await nodes.killAll();
    await redis.close();
    await pg.close();
  }
}

function printTable(r: any): void {
  const f = (x: Figure) => `${x.median} (${x.min}–${x.max}, ${x.runs} runs)`;
  const rows: [string, string][] = [];
  if (r.firstFrameMs) {
    rows.push(
      ['first remote frame, B on the other node', `${f(r.firstFrameMs.cross)} ms`],
      ['first remote frame, B on A’s node', `${f(r.firstFrameMs.same)} ms`],
      ['  ratio cross / same', `${r.firstFrameMs.ratio}  [target <= ${r.firstFrameMs.target}]`],
      ['  B’s consumer arrived at, cross / same', `${f(r.consumerArrivesMs.cross)} / ${f(r.consumerArrivesMs.same)} ms`],
      ['  B’s PLIs before its first frame, cross / same', `${f(r.plisBeforeFirstFrame.cross)} / ${f(r.plisBeforeFirstFrame.same)}`],
    );
  }
  if (r.failoverMs) {
    rows.push(['failover, kill -9 → B decodes A again', `${f(r.failoverMs.kill9)} ms`], ['failover, SIGTERM drain → B decodes A again', `${f(r.failoverMs.sigtermDrain)} ms`]);
  }
  for (const which of ['one', 'two'] as const) {
    for (const l of (r.peers?.[which].loads ?? []) as Load[]) {
      rows.push([
        `${which === 'one' ? 'one node' : 'two nodes, rooms spanning'}: ${l.peers} peers`,
        `server CPU ${f(l.serverCpuPercent)} % = ${l.cpuPer100Peers} % per 100 peers, ${l.cpuPer1000DeliveredPps} % per 1000 pps delivered; workers ${l.workerCpuPercent.join(' / ')} %; flow min ${l.flow.min}${l.flows ? ' (flows)' : ' (BELOW 95%)'}; producers ${l.producerPps} pps; clients ${l.clientsCpuPercent} %`,
      ]);
    }
  }
  rows.push(['seconds per part', Object.entries(r.seconds).map(([k, v]) => `${k} ${v}`).join(', ')]);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  for (const [a, b] of rows) console.log(`${a.padEnd(w0)}  ${b}`);
  if (r.peers) console.log(`(peers: ${r.peers.definition})`);
}
