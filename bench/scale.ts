// Server scale: how many clients and consumers one server (NUM_WORKERS=2) holds with media flowing,
// what they cost in CPU and memory, whether 1,000 connect/disconnect cycles leak, and what the
// rooms' speaker observers (SPEAKER_DETECTION) cost for the same 200 clients.
//
// Clients are Node peers (bench/scalePeer.ts: our signaling over ws, werift for ICE/DTLS/SRTP)
// sending synthetic VP8+Opus RTP (see there for what is synthetic). They run in this process,
// on the same machine as the server: their own CPU use competes with the server's and is reported.
// BENCH_SCALE=small (or medium) runs a reduced size for development.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import Database from 'better-sqlite3';
import { startServerProcess, type ServerProcess } from '../tests/support/server.js';
import { TestSocket, rtpParameters } from '../tests/server/wsClient.js';
import type { ServerStats } from '../src/server/ma/stats.js';
import { ScalePeer } from './scalePeer.js';
import { figure, type Figure } from './stats.js';

const SCALE = process.env['BENCH_SCALE'] ?? 'full';
const SIZE =
  SCALE === 'small'
    ? { rooms: 2, roomSize: 5, windowS: 5, heavy: { producers: 2, receivers: 4 }, warmup: 10, churn: 50, observerWindowS: 5 }
    : SCALE === 'medium'
      ? { rooms: 6, roomSize: 10, windowS: 5, heavy: { producers: 4, receivers: 16 }, warmup: 20, churn: 200, observerWindowS: 10 }
      : { rooms: 20, roomSize: 10, windowS: 10, heavy: { producers: 8, receivers: 32 }, warmup: 100, churn: 1000, observerWindowS: 20 };
/**
 * The speaker observers' cost: phase 1's clients once per run, each run on its own server, observers
 * off and on in the order off, on, on, off, so that load on the machine drifting during the run
 * (other work on it) weighs on both alike.
 */
const OBSERVER_RUNS = [false, true, true, false];
// BENCH_CHURN=n: a longer churn, to tell a leak (grows on) from an allocator's high-water mark (levels off).
if (process.env['BENCH_CHURN']) SIZE.churn = Number(process.env['BENCH_CHURN']);
/** Rooms (phase 1) or clients (churn) set up at once. */
const RAMP_ROOMS_AT_ONCE = 4;
const CHURN_AT_ONCE = 10;
const SETTLE_MS = 3_000;

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const MiB = 2 ** 20;

// ---- the server process and its mediasoup workers, from /proc --------------------------------

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function socketFds(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n += 1;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

interface Usage {
  node: { cpuPercent: number; rssMiB: number };
  workers: { pid: number; cpuPercent: number; rssMiB: number }[];
  /** cpuPercent is the mean over the window; cpuPerSecond the 1-second samples (median, min, max). */
  total: { cpuPercent: number; rssMiB: number; cpuPerSecond: Figure };
  /** This bench process (the clients), for context. */
  clientsCpuPercent: number;
}

/** CPU% (100 = one core) of the server and each worker over `ms`, and their RSS at the end. */
async function measure(server: ServerProcess, ms: number): Promise<Usage> {
  const node = server.process.pid!;
  const pids = [node, ...childPids(node)];
  const before = pids.map(cpuTicks);
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  const samples: number[] = [];
  let last = before.reduce((a, b) => a + b, 0);
  let lastAt = t0;
  while (performance.now() - t0 < ms - 50) {
    await sleep(Math.min(1_000, ms - (performance.now() - t0)));
    const now = pids.map(cpuTicks).reduce((a, b) => a + b, 0);
    const at = performance.now();
    samples.push(((now - last) / CLK_TCK / ((at - lastAt) / 1000)) * 100);
    last = now;
    lastAt = at;
  }
  const seconds = (performance.now() - t0) / 1000;
  const clientCpu = process.cpuUsage(clientBefore);
  const per = pids.map((pid, i) => ({ pid, cpuPercent: round(((cpuTicks(pid) - before[i]!) / CLK_TCK / seconds) * 100), rssMiB: round(rssBytes(pid) / MiB) }));
  const [first, ...workers] = per;
  return {
    node: { cpuPercent: first!.cpuPercent, rssMiB: first!.rssMiB },
    workers,
    total: { cpuPercent: round(per.reduce((s, p) => s + p.cpuPercent, 0)), rssMiB: round(per.reduce((s, p) => s + p.rssMiB, 0)), cpuPerSecond: figure(samples.length ? samples : [0]) },
    clientsCpuPercent: round(((clientCpu.user + clientCpu.system) / 1e6 / seconds) * 100),
  };
}

async function stats(server: ServerProcess, gc = false): Promise<ServerStats> {
  // gc=1: the server runs with --expose-gc here, so its heap figure is after a full collection.
  const res = await fetch(`${server.httpUrl}/v1/api/stats${gc ? '?gc=1' : ''}`, { headers: { authorization: `Bearer ${server.apiKey}` } });
  if (!res.ok) throw new Error(`stats: ${res.status} ${await res.text()}`);
  return (await res.json()) as ServerStats;
}

/** Polls the stats until `done` (the server releases asynchronously), bounded. */
async function statsWhen(server: ServerProcess, done: (s: ServerStats) => boolean, timeoutMs = 15_000, gc = false): Promise<ServerStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats(server, gc);
    if (done(s) || Date.now() > deadline) return s;
    await sleep(200);
  }
}

async function inBatches<T>(items: T[], atOnce: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(atOnce, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

// ---- media rooms ------------------------------------------------------------------------------

interface Room {
  producers: ScalePeer[];
  receivers: ScalePeer[];
}
/** Set-up failures (timeouts under load): counted and reported, not fatal to the run. */
const failures: string[] = [];
const noteFailure = (what: string) => (err: unknown) => void failures.push(`${what}: ${(err as Error).message.slice(0, 160)}`);

/** A room of `producers` (video+audio each) and `receivers` consuming all of them. */
async function openRoom(server: ServerProcess, roomId: string, producers: number, receivers: number): Promise<Room> {
  const room: Room = { producers: [], receivers: [] };
  await Promise.all(
    Array.from({ length: producers }, async (_, i) => {
      const { url, token } = await server.connect(roomId, `p${i}`);
      const peer = await ScalePeer.open(url, token);
      room.producers.push(peer);
      await peer.produce();
    }).map((p) => p.catch(noteFailure(`${roomId} producer`))),
  );
  await Promise.all(
    Array.from({ length: receivers }, async (_, i) => {
      const { url, token } = await server.connect(roomId, `r${i}`);
      const peer = await ScalePeer.open(url, token);
      room.receivers.push(peer);
      await peer.consume(2 * producers);
    }).map((p) => p.catch(noteFailure(`${roomId} receiver`))),
  );
  return room;
}

interface Flow {
  /** RTP packets each receiver decrypted per second over the window: min and median. */
  receiverPps: { min: number; median: number };
  /** The least any single consumed stream (SSRC) got per second. */
  minStreamPps: number;
  receiversWithMedia: number;
  receivers: number;
  producerPps: number;
}

/** Measures the server over the window while counting what every receiver gets. */
async function flowWindow(server: ServerProcess, rooms: Room[], windowS: number): Promise<{ usage: Usage; flow: Flow }> {
  const receivers = rooms.flatMap((r) => r.receivers);
  const producers = rooms.flatMap((r) => r.producers);
  const before = receivers.map((p) => ({ total: p.rtpReceived, bySsrc: new Map(p.received) }));
  const sentBefore = producers.reduce((s, p) => s + p.rtpSent, 0);
  const t0 = performance.now();
  const usage = await measure(server, windowS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const pps = receivers.map((p, i) => (p.rtpReceived - before[i]!.total) / seconds).sort((a, b) => a - b);
  let minStream = Infinity;
  receivers.forEach((p, i) => {
    for (const [ssrc, n] of p.received) minStream = Math.min(minStream, (n - (before[i]!.bySsrc.get(ssrc) ?? 0)) / seconds);
    // A consumer that never got a packet has no entry at all.
    if (p.received.size < p.consumers) minStream = 0;
  });
  return {
    usage,
    flow: {
      receiverPps: { min: round(pps[0] ?? 0), median: round(pps[Math.floor(pps.length / 2)] ?? 0) },
      minStreamPps: round(minStream === Infinity ? 0 : minStream),
      receiversWithMedia: pps.filter((x) => x > 0).length,
      receivers: receivers.length,
      producerPps: round((producers.reduce((s, p) => s + p.rtpSent, 0) - sentBefore) / seconds / Math.max(1, producers.length)),
    },
  };
}

async function closeRooms(rooms: Room[]): Promise<void> {
  await inBatches(
    rooms.flatMap((r) => [...r.receivers, ...r.producers]),
    20,
    (p) => p.close(),
  );
}

/** Phase 1's clients: SIZE.rooms rooms of 1 producer (video+audio) and roomSize-1 receivers. */
async function openClientRooms(server: ServerProcess): Promise<Room[]> {
  const rooms: Room[] = [];
  await inBatches(
    Array.from({ length: SIZE.rooms }, (_, i) => i),
    RAMP_ROOMS_AT_ONCE,
    async (i) => void rooms.push(await openRoom(server, `scale-${i}`, 1, SIZE.roomSize - 1)),
  );
  return rooms;
}

interface ObserverRun {
  speakerDetection: boolean;
  clients: number;
  roomsWithMedia: number;
  /** Server (node + workers) CPU%, 1-second samples over the window. */
  cpuPerSecond: Figure;
  nodeCpuPercent: number;
  workersCpuPercent: number;
  clientsCpuPercent: number;
  /** What the clients were told by the observers over the whole run (none when off). */
  told: { activeSpeaker: number; audioLevels: number };
  /** The media over the window: a starved bench (clients short of CPU) sends less than nominal (80 pps a producer) and measures less. */
  flow: Flow;
  /** Packets the server took in and sent out per second over the window (producers' plus receivers'). */
  mediaPps: number;
}

/** One observer run: a server with SPEAKER_DETECTION on or off, phase 1's clients, one window. */
async function observerRun(speakerDetection: boolean): Promise<ObserverRun> {
  const server = await startServerProcess({ env: { LOG_LEVEL: 'warn', NUM_WORKERS: '2', SPEAKER_DETECTION: speakerDetection ? '1' : '0' } });
  try {
    const rooms = await openClientRooms(server);
    await sleep(SETTLE_MS);
    const clients = (await stats(server)).peers;
    const { usage, flow } = await flowWindow(server, rooms, SIZE.observerWindowS);
    const run: ObserverRun = {
      speakerDetection,
      clients,
      roomsWithMedia: rooms.filter((r) => r.receivers.some((p) => p.rtpReceived > 0)).length,
      cpuPerSecond: usage.total.cpuPerSecond,
      nodeCpuPercent: usage.node.cpuPercent,
      workersCpuPercent: round(usage.workers.reduce((n, w) => n + w.cpuPercent, 0)),
      clientsCpuPercent: usage.clientsCpuPercent,
      told: { activeSpeaker: told(rooms, 'activeSpeaker'), audioLevels: told(rooms, 'audioLevels') },
      flow,
      mediaPps: Math.round(flow.producerPps * rooms.reduce((n, r) => n + r.producers.length, 0) + flow.receiverPps.median * flow.receivers),
    };
    await closeRooms(rooms);
    return run;
  } finally {
    await server.stop();
  }
}

const told = (rooms: Room[], method: string) =>
  rooms.flatMap((r) => [...r.producers, ...r.receivers]).reduce((n, p) => n + p.socket.frames.filter((f) => f.type === 'notification' && f.method === method).length, 0);

/** The observers' cost: server CPU with them on over off, from each run's median of 1-second samples. */
export async function observerCost(): Promise<Record<string, unknown>> {
  const runs: ObserverRun[] = [];
  for (const on of OBSERVER_RUNS) runs.push(await observerRun(on));
  const median = (on: boolean, of: (r: ObserverRun) => number) => figure(runs.filter((r) => r.speakerDetection === on).map(of)).median;
  const [on, off] = [median(true, (r) => r.cpuPerSecond.median), median(false, (r) => r.cpuPerSecond.median)];
  // the same per 1,000 packets a second: fairer when a loaded machine starved some runs' media
  const perKpps = (r: ObserverRun) => (r.mediaPps > 0 ? (r.cpuPerSecond.median / r.mediaPps) * 1000 : 0);
  const [onPerKpps, offPerKpps] = [median(true, perKpps), median(false, perKpps)];
  return {
    target: 'measured (issue 18): server CPU with the speaker observers on vs off, 200 clients',
    clients: Math.min(...runs.map((r) => r.clients)),
    audioProducersPerRoom: 1,
    windowSeconds: SIZE.observerWindowS,
    serverCpuPercent: { on, off },
    ratio: off > 0 ? round(on / off, 3) : null,
    serverCpuPercentPer1000Pps: { on: onPerKpps, off: offPerKpps },
    ratioPerPacket: offPerKpps > 0 ? round(onPerKpps / offPerKpps, 3) : null,
    runs,
  };
}

const perConsumer = (usage: Usage, idle: Usage, consumers: number) => ({
  cpuPercent: round((usage.total.cpuPercent - idle.total.cpuPercent) / consumers, 3),
  rssKiB: round(((usage.total.rssMiB - idle.total.rssMiB) * 1024) / consumers, 1),
});

// ---- the benchmark ----------------------------------------------------------------------------

export async function run(): Promise<Record<string, unknown>> {
  const server = await startServerProcess({ env: { LOG_LEVEL: 'warn', NUM_WORKERS: '2', NODE_OPTIONS: '--expose-gc' } });
  try {
    await sleep(1_000);
    const idle = await measure(server, 2_000);

    // 1. Connected clients: rooms of 1 producer (video+audio) and roomSize-1 receivers.
    const t0 = performance.now();
    const rooms = await openClientRooms(server);
    const rampS = round((performance.now() - t0) / 1000);
    await sleep(SETTLE_MS);
    const s1 = await stats(server);
    const w1 = await flowWindow(server, rooms, SIZE.windowS);
    const clients = {
      target: { clients: 200, mediaInEveryRoom: true },
      clients: s1.peers,
      rooms: s1.rooms,
      consumers: s1.consumers,
      producers: s1.producers,
      transports: s1.transports,
      rampSeconds: rampS,
      flow: w1.flow,
      roomsWithMedia: rooms.filter((r) => r.receivers.some((p) => p.rtpReceived > 0)).length,
      server: w1.usage,
      idle: idle.total,
      perConsumer: perConsumer(w1.usage, idle, s1.consumers),
      perClient: { cpuPercent: round((w1.usage.total.cpuPercent - idle.total.cpuPercent) / s1.peers, 3), rssKiB: round(((w1.usage.total.rssMiB - idle.total.rssMiB) * 1024) / s1.peers, 1) },
    };
    await closeRooms(rooms);
    await statsWhen(server, (s) => s.rooms === 0);

    // 2. Consumers per worker core: one room per worker, each with many producers x receivers.
    await sleep(SETTLE_MS);
    const idle2 = await measure(server, 2_000);
    const { producers: P, receivers: C } = SIZE.heavy;
    const heavy: Room[] = [];
    const t2 = performance.now();
    // Sequentially, so that the two rooms land on the two workers (least loaded first).
    for (let i = 0; i < 2; i++) heavy.push(await openRoom(server, `heavy-${i}`, P, C));
    const ramp2S = round((performance.now() - t2) / 1000);
    await sleep(SETTLE_MS);
    const s2 = await stats(server);
    const w2 = await flowWindow(server, heavy, SIZE.windowS);
    const consumersPerWorker = s2.workers.map((w) => ({ pid: w.pid, routers: w.routers, consumers: w.routers * 2 * P * C }));
    const perWorker = w2.usage.workers.map((w) => {
      const held = consumersPerWorker.find((c) => c.pid === w.pid)?.consumers ?? 0;
      return { ...w, consumers: held, cpuPercentPerConsumer: held ? round(w.cpuPercent / held, 3) : null };
    });
    const consumers = {
      target: { consumersPerWorkerCore: 500 },
      workers: s2.workers.length,
      consumers: s2.consumers,
      consumersPerWorker: Math.round(s2.consumers / Math.max(1, s2.workers.length)),
      clients: s2.peers,
      producers: s2.producers,
      rampSeconds: ramp2S,
      flow: w2.flow,
      server: { ...w2.usage, workers: perWorker },
      idle: idle2.total,
      perConsumer: perConsumer(w2.usage, idle2, s2.consumers),
    };
    await closeRooms(heavy);
    await statsWhen(server, (s) => s.rooms === 0);

    // 3. Churn: connect, join, send transport, produce (fake RTP parameters), disconnect: half
    // with `leave`, half by dropping the socket. A warm-up first, so allocator growth that is
    // not a leak is out of the way.
    const cycle = async (i: number): Promise<void> => {
      const { url, token } = await server.connect(`churn-${i % 20}`, `u${i}`);
      const { socket } = await TestSocket.welcomed(url, token);
      await socket.ok('join', { rtpCapabilities: { codecs: [], headerExtensions: [] } });
      const t = await socket.ok<{ id: string }>('createTransport', { direction: 'send' });
      await socket.ok('produce', { transportId: t.id, kind: 'video', rtpParameters: rtpParameters('video') });
      if (i % 2) await socket.close();
      else {
        await socket.ok('leave');
        await socket.waitClosed();
      }
    };
    const safeCycle = (i: number) => cycle(i).catch(noteFailure(`churn cycle ${i}`));
    await inBatches(Array.from({ length: SIZE.warmup }, (_, i) => i), CHURN_AT_ONCE, (_, i) => safeCycle(i));
    const baseStats = await statsWhen(server, (s) => s.rooms === 0);
    await sleep(SETTLE_MS);
    const node = server.process.pid!;
    const before = { usage: await measure(server, 1_000), sockets: socketFds(node), stats: await stats(server, true) };
    // In quarters, with the memory after each: a leak grows with every quarter, an allocator's
    // high-water mark does not.
    const t3 = performance.now();
    const series: { cycles: number; nodeRssMiB: number; workersRssMiB: number; nodeHeapUsedMiB: number }[] = [];
    const quarter = Math.ceil(SIZE.churn / 4);
    for (let done = 0; done < SIZE.churn; done += quarter) {
      const n = Math.min(quarter, SIZE.churn - done);
      await inBatches(Array.from({ length: n }, (_, i) => i), CHURN_AT_ONCE, (_, i) => safeCycle(SIZE.warmup + done + i));
      const s = await statsWhen(server, (x) => x.rooms === 0 && x.peers === 0, 15_000, true);
      const workersRss = childPids(node).reduce((sum, pid) => sum + rssBytes(pid), 0);
      series.push({ cycles: done + n, nodeRssMiB: round(rssBytes(node) / MiB), workersRssMiB: round(workersRss / MiB), nodeHeapUsedMiB: round(s.process.heapUsedBytes / MiB) });
    }
    const churnS = round((performance.now() - t3) / 1000);
    const afterStats = await statsWhen(server, (s) => s.rooms === 0 && s.peers === 0, 15_000, true);
    await sleep(SETTLE_MS);
    const after = { usage: await measure(server, 1_000), sockets: socketFds(node), stats: await stats(server) };
    const db = new Database(server.databasePath, { readonly: true, fileMustExist: true });
    const sessionRows = (db.prepare('SELECT count(*) AS n FROM session').get() as { n: number }).n;
    db.close();
    const handlers = (s: ServerStats) => s.workers.reduce((n, w) => n + w.channelRequestHandlers, 0);
    const churn = {
      target: { cycles: 1000, leak: 'none' },
      cycles: SIZE.churn,
      warmupCycles: SIZE.warmup,
      seconds: churnS,
      cyclesPerSecond: round(SIZE.churn / churnS),
      rssMiB: { before: before.usage.total.rssMiB, after: after.usage.total.rssMiB, delta: round(after.usage.total.rssMiB - before.usage.total.rssMiB), node: { before: before.usage.node.rssMiB, after: after.usage.node.rssMiB }, workers: { before: round(before.usage.total.rssMiB - before.usage.node.rssMiB), after: round(after.usage.total.rssMiB - after.usage.node.rssMiB) } },
      series,
      nodeHeapMiB: { before: round(before.stats.process.heapUsedBytes / MiB), after: round(after.stats.process.heapUsedBytes / MiB) },
      leftover: { rooms: afterStats.rooms, peers: afterStats.peers, transports: afterStats.transports, producers: afterStats.producers, consumers: afterStats.consumers },
      workers: { routers: after.stats.workers.reduce((n, w) => n + w.routers, 0), webRtcTransports: after.stats.workers.reduce((n, w) => n + w.webRtcTransports, 0), requestHandlers: { warmedUp: handlers(baseStats), before: handlers(before.stats), after: handlers(after.stats) } },
      openSockets: { before: before.sockets, after: after.sockets },
      sessionRows: { total: sessionRows, note: 'one per POST /v1/api/connect; kept until the token expires (SESSION_TTL_SECONDS), by design' },
    };

    await server.stop();
    // 4. The speaker observers' cost, on servers of their own.
    const observers = await observerCost();
    printTable(clients, consumers, churn, observers);
    return { size: SCALE, clients, consumers, churn, observers, failures: { count: failures.length, first: failures.slice(0, 10) } };
  } finally {
    await server.stop();
  }
}

function printTable(c: any, k: any, ch: any, o: any): void {
  const rows: [string, string, string][] = [
    ['connected clients (media in every room)', `${c.clients} in ${c.rooms} rooms, media in ${c.roomsWithMedia}/${c.rooms}; receiver pps min ${c.flow.receiverPps.min}`, '>= 200'],
    ['  server CPU / RSS', `${c.server.total.cpuPercent}% (1 s median ${c.server.total.cpuPerSecond.median}%) / ${c.server.total.rssMiB} MiB (idle ${c.idle.cpuPercent}% / ${c.idle.rssMiB} MiB); clients' process ${c.server.clientsCpuPercent}%`, ''],
    ['  per consumer', `${c.perConsumer.cpuPercent}% CPU, ${c.perConsumer.rssKiB} KiB (${c.consumers} consumers)`, ''],
    ['consumers per worker core', `${k.consumersPerWorker} (${k.consumers} on ${k.workers} workers); receiver pps min ${k.flow.receiverPps.min}`, '>= 500'],
    ['  server CPU / RSS', `${k.server.total.cpuPercent}% (1 s median ${k.server.total.cpuPerSecond.median}%) / ${k.server.total.rssMiB} MiB; workers ${k.server.workers.map((w: any) => `${w.cpuPercent}%`).join(' ')}; clients' process ${k.server.clientsCpuPercent}%`, ''],
    ['  per consumer', `${k.perConsumer.cpuPercent}% CPU, ${k.perConsumer.rssKiB} KiB`, ''],
    ['churn', `${ch.cycles} cycles in ${ch.seconds} s; RSS ${ch.rssMiB.before} -> ${ch.rssMiB.after} MiB; leftover peers/transports/producers ${ch.leftover.peers}/${ch.leftover.transports}/${ch.leftover.producers}; routers ${ch.workers.routers}; sockets ${ch.openSockets.before} -> ${ch.openSockets.after}`, 'no leak'],
  ];
  rows.push([
    'speaker observers on / off',
    `server CPU ${o.ratio}x, per packet ${o.ratioPerPacket}x (median of 1 s samples: ${o.serverCpuPercent.on}% on, ${o.serverCpuPercent.off}% off; ${o.clients} clients, runs ${o.runs.map((r: any) => `${r.speakerDetection ? 'on' : 'off'} ${r.cpuPerSecond.median}% at ${r.mediaPps} pps`).join(', ')})`,
    'measured',
  ]);
  if (failures.length) rows.push(['set-up failures', `${failures.length}: ${failures[0]}`, '']);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  for (const [a, b, t] of rows) console.log(`${a.padEnd(w0)}  ${b}${t ? `  [target ${t}]` : ''}`);
}
