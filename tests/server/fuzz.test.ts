// Fuzzing driven by the protocol schema (tests/support/fuzz.ts), against the real server process
// (real mediasoup worker, real SQLite). One client sends every bad variant of every request while,
// in the same room, a werift peer keeps receiving the RTP another werift peer sends, and a second
// room goes about its business. Afterwards: the server is alive, every request got a typed answer
// in time, what must be refused was, the listener still receives, a new listener can still
// `listen`, and the other room saw nothing.
//
// Requests the schema refuses cannot change anything, so they all go to the one fuzzing client.
// Those the schema lets through may (join is once per socket, a connected transport cannot connect
// again, a producer counts against a cap), so each goes to a scratch client of the same user set-up,
// kept while it refuses and replaced once it accepts something.
//
// When the server dies, the input that killed it is recorded, a new server is started and the run
// goes on, so one run names every input that breaks it. Seed: FUZZ_SEED (default 12);
// FUZZ_VERBOSE=1 lists every variant the server accepted.
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { ScalePeer } from '../../bench/scalePeer.js';
import { ErrorCode } from '../../src/protocol/codes.js';
import { MAX_MESSAGE_BYTES, type RequestMethod } from '../../src/protocol/messages.js';
import { requests } from '../../src/protocol/requests.js';
import { BURST, RATE_PER_SECOND } from '../../src/server/ma/rateLimit.js';
import {
  applyVariant,
  encodeJson,
  foreignIdVariants,
  frameBytes,
  keptAsSent,
  prng,
  sampleRequest,
  schemaVerdict,
  shuffle,
  variantsFor,
  type Variant,
} from '../support/fuzz.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { TestSocket } from './wsClient.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 12);
/** Longest a request may go unanswered (startRecord and stopRecord wait for ffmpeg; everything else is fast). */
const REQUEST_BOUND_MS = 10_000;
/** Longest the listener may take to hear of a new producer. */
const TOLD_BOUND_MS = 5_000;
/** Servers started again after a crash before the run gives up. */
const MAX_RESTARTS = 4;
/** Scratch clients kept open with the bad producer they were allowed to create, for the late listener. */
const KEEP_BAD_PRODUCERS = 6;

type Json = Record<string, any>;
type Outcome = { kind: 'ok'; data: unknown } | { kind: 'error'; code: string; message: string } | { kind: 'hang' } | { kind: 'closed'; code: number };

const findings: string[] = [];
const found = (line: string) => {
  if (!findings.includes(line)) findings.push(line);
};

/** A frame from the server that a client refuses (once per method and reason, whoever got it). */
function invalidFrame(message: string, text: string): void {
  const method = /"method":"(\w+)"/.exec(text.slice(0, 200))?.[1] ?? '?';
  found(`the server sent a ${method} frame the client refuses: ${message}`);
}

/** One signaling client, paced under the server's per-socket rate limit (a RATE_LIMITED refusal would hide the verdict on the input). */
class Client {
  ids: Record<string, string> = {};
  private tokens = BURST / 2;
  private last = performance.now();
  closedCode: number | undefined;

  constructor(
    readonly socket: TestSocket,
    readonly label: string,
  ) {
    void socket.closed.then(({ code }) => (this.closedCode = code));
    socket.onInvalidFrame = invalidFrame;
  }

  private async pace(): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(BURST / 2, this.tokens + ((now - this.last) / 1000) * RATE_PER_SECOND * 0.8);
    this.last = now;
    if (this.tokens < 1) {
      await new Promise((resolve) => setTimeout(resolve, ((1 - this.tokens) / (RATE_PER_SECOND * 0.8)) * 1000));
      return this.pace();
    }
    this.tokens -= 1;
  }

  async send(method: string, dataText: string, timeoutMs = REQUEST_BOUND_MS): Promise<Outcome> {
    if (this.closedCode !== undefined) return { kind: 'closed', code: this.closedCode };
    await this.pace();
    const answer = this.socket.requestText(method, dataText, timeoutMs).then(
      (res): Outcome => (res.ok ? { kind: 'ok', data: res.data } : { kind: 'error', code: res.error.code, message: res.error.message }),
      (): Outcome => ({ kind: 'hang' }),
    );
    const closed = this.socket.closed.then(({ code }): Outcome => ({ kind: 'closed', code }));
    return Promise.race([answer, closed]);
  }

  async ok(method: string, data: unknown = {}): Promise<Json> {
    const out = await this.send(method, encodeJson(data));
    if (out.kind !== 'ok') throw new Error(`${this.label}: ${method} failed: ${JSON.stringify(out)}`);
    return out.data as Json;
  }

  close(): void {
    this.socket.ws.terminate();
  }
}

/** VP8 with RTX as mediasoup-client sends it from Chrome (MID and SSRCs unique per transport). */
function videoParameters(ssrc: number): Json {
  return {
    mid: String(ssrc),
    codecs: [
      {
        mimeType: 'video/VP8',
        payloadType: 96,
        clockRate: 90000,
        parameters: {},
        rtcpFeedback: [{ type: 'goog-remb', parameter: '' }, { type: 'transport-cc', parameter: '' }, { type: 'ccm', parameter: 'fir' }, { type: 'nack', parameter: '' }, { type: 'nack', parameter: 'pli' }],
      },
      { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
    ],
    headerExtensions: [
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} },
      { uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 2, encrypt: false, parameters: {} },
    ],
    encodings: [{ ssrc, rtx: { ssrc: ssrc + 1 }, maxBitrate: 500_000, scalabilityMode: 'L1T3' }],
    rtcp: { cname: 'fuzz-cname', reducedSize: true },
  };
}

let nextSsrc = 10_000_000;
const freshSsrc = () => (nextSsrc += 2);

/** A valid request of each method for a client with these ids (the place every variant changes one thing of). */
function baseFor(method: RequestMethod, ids: Record<string, string>, caps: Json): Json {
  switch (method) {
    case 'join':
      return { rtpCapabilities: caps };
    case 'connectTransport':
      return { transportId: ids['transportId'], dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':') }] } };
    case 'produce':
      return { transportId: ids['transportId'], kind: 'video', rtpParameters: videoParameters(freshSsrc()), paused: false, appData: { source: 'camera' } };
    case 'resumeConsumers':
      return { consumerIds: [ids['consumerId']] };
    default:
      return sampleRequest(method, ids) as Json;
  }
}

interface World {
  n: number;
  server: ServerProcess;
  roomA: string;
  sender: ScalePeer;
  listener: ScalePeer;
  fuzzer: Client;
  caps: Json;
  foreign: { label: string; id: string }[];
  roomB: { producer: Client; listener: Client; producerId: string; consumerId: string };
  /** Scratch clients holding a producer that should have been refused. */
  kept: Client[];
  scratch: Client | undefined;
  scratchJoined: boolean;
  others: Client[];
  exited: Promise<void>;
}

let world: World | undefined;
let worlds = 0;
let clientCount = 0;

async function client(w: Pick<World, 'server'>, roomId: string, userId: string): Promise<{ client: Client; caps: Json }> {
  const t = await w.server.connect(roomId, userId);
  const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
  return { client: new Client(socket, userId), caps: welcome.data.routerRtpCapabilities as Json };
}

async function joined(w: Pick<World, 'server'>, roomId: string, userId: string): Promise<Client> {
  const { client: c, caps } = await client(w, roomId, userId);
  await c.ok('join', { rtpCapabilities: caps });
  return c;
}

function consumerOf(c: Client, producerId: string): Promise<string> {
  return c.socket.notification('newConsumer', (d) => d.producerId === producerId).then((f) => f.data.id);
}

async function startWorld(): Promise<World> {
  const server = await startServerProcess({ env: { LOG_LEVEL: 'info' } });
  try {
    return await populate(server);
  } catch (err) {
    await server.kill9();
    const log = server.logs().split('\n').filter((line) => /"level":(50|60)/.test(line));
    throw new Error(`fuzz set-up failed: ${(err as Error).message}\nserver errors:\n${log.join('\n').slice(0, 3000)}`);
  }
}

/** The rooms of a run: sender and listener (werift), the fuzzing client, a peer that left, another room. */
async function populate(server: ServerProcess): Promise<World> {
  const n = ++worlds;
  const exited = new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
  const roomA = `fuzz-a-${n}`;
  const w = { server };

  // The second client: a werift peer that receives the RTP a werift sender sends, all along.
  const s = await server.connect(roomA, 'sender');
  const sender = await ScalePeer.open(s.url, s.token);
  await sender.produce();
  const l = await server.connect(roomA, 'listener');
  const listener = await ScalePeer.open(l.url, l.token);
  listener.socket.onInvalidFrame = invalidFrame;
  await listener.consume(2);
  const senderProducers = listener.socket.frames.flatMap((f) => (f.type === 'notification' && f.method === 'newConsumer' ? [f.data] : []));
  const senderTransport = sender.socket.frames.find((f) => f.type === 'response' && f.ok && 'iceParameters' in (f.data as Json)) as { data: Json };

  // The fuzzing client: joined with the router's capabilities, both transports, listening, a producer.
  const { client: fuzzer, caps } = await client(w, roomA, 'fuzzer');
  await fuzzer.ok('join', { rtpCapabilities: caps });
  const send = await fuzzer.ok('createTransport', { direction: 'send' });
  await fuzzer.ok('createTransport', { direction: 'recv' });
  await fuzzer.ok('listen');
  const own = await fuzzer.ok('produce', baseFor('produce', { transportId: send['id'] }, caps));
  const closedOwn = await fuzzer.ok('produce', baseFor('produce', { transportId: send['id'] }, caps));
  await fuzzer.ok('closeProducer', { producerId: closedOwn['producerId'] });
  const fuzzerConsumer = await consumerOf(fuzzer, senderProducers[0]!.producerId);
  fuzzer.ids = { transportId: send['id'], producerId: own['producerId'], consumerId: fuzzerConsumer };

  // A peer that comes and goes: ids of closed objects of another peer.
  const ghost = await joined(w, roomA, 'ghost');
  const ghostSend = await ghost.ok('createTransport', { direction: 'send' });
  const ghostProducer = await ghost.ok('produce', baseFor('produce', { transportId: ghostSend['id'] }, caps));
  const ghostConsumer = await consumerOf(fuzzer, ghostProducer['producerId']);
  await ghost.ok('leave');
  await fuzzer.socket.notification('consumerClosed', (d) => d.consumerId === ghostConsumer);

  // Another room, with a producer and a listener of its own.
  const roomB = `fuzz-b-${n}`;
  const bProducer = await joined(w, roomB, 'b-sender');
  const bSend = await bProducer.ok('createTransport', { direction: 'send' });
  const bProduced = await bProducer.ok('produce', baseFor('produce', { transportId: bSend['id'] }, caps));
  const bListener = await joined(w, roomB, 'b-listener');
  await bListener.ok('createTransport', { direction: 'recv' });
  await bListener.ok('listen');
  const bConsumer = await consumerOf(bListener, bProduced['producerId']);

  const foreign = [
    { label: "another peer's producer", id: senderProducers[0]!.producerId },
    { label: "another peer's transport", id: senderTransport.data['id'] as string },
    { label: "another peer's consumer", id: senderProducers[0]!.id },
    { label: "another room's producer", id: bProduced['producerId'] as string },
    { label: "another room's transport", id: bSend['id'] as string },
    { label: "another room's consumer", id: bConsumer },
    { label: "a closed producer of another peer", id: ghostProducer['producerId'] as string },
    { label: "a closed transport of another peer", id: ghostSend['id'] as string },
    { label: 'a closed consumer', id: ghostConsumer },
    { label: 'an own closed producer', id: closedOwn['producerId'] as string },
    { label: 'an unknown id', id: randomUUID() },
  ];
  return {
    n,
    server,
    roomA,
    sender,
    listener,
    fuzzer,
    caps,
    foreign,
    roomB: { producer: bProducer, listener: bListener, producerId: bProduced['producerId'], consumerId: bConsumer },
    kept: [],
    scratch: undefined,
    scratchJoined: false,
    others: [ghost],
    exited,
  };
}

async function stopWorld(w: World, crashed: boolean): Promise<void> {
  for (const c of [w.fuzzer, w.roomB.producer, w.roomB.listener, ...w.kept, ...(w.scratch ? [w.scratch] : []), ...w.others]) c.close();
  await Promise.all([w.sender.close(true), w.listener.close(true)]);
  if (crashed) await w.server.kill9();
  else expect(await w.server.stop()).toBe(0);
}

afterAll(async () => {
  if (world) await stopWorld(world, world.server.process.exitCode !== null);
});

/** A scratch client like the fuzzer: joined (or not, for `join` variants), both transports, a producer, listening. */
async function scratch(w: World, wantJoined: boolean): Promise<Client> {
  if (w.scratch && w.scratchJoined === wantJoined) return w.scratch;
  w.scratch?.close();
  const label = `scratch-${++clientCount}`;
  const { client: c } = await client(w, w.roomA, label);
  w.scratch = c;
  w.scratchJoined = wantJoined;
  if (!wantJoined) return c;
  await c.ok('join', { rtpCapabilities: w.caps });
  const send = await c.ok('createTransport', { direction: 'send' });
  await c.ok('createTransport', { direction: 'recv' });
  // Paused: a recording of it answers at once (one of a live producer that sends nothing waits for media).
  const produced = await c.ok('produce', { ...baseFor('produce', { transportId: send['id'] }, w.caps), paused: true });
  const listened = await c.send('listen', '{}');
  if (listened.kind !== 'ok') found(`a new peer's listen failed (${JSON.stringify(listened)}) in a room where earlier variants were accepted`);
  const consumer = c.socket.frames.find((f) => f.type === 'notification' && f.method === 'newConsumer');
  c.ids = { transportId: send['id'], producerId: produced['producerId'], consumerId: consumer ? (consumer as { data: Json }).data['id'] : 'none' };
  return c;
}

/** The listener hears of a new producer (newConsumer or trackNotConsumed), or the server dies. */
async function listenerTold(w: World, producerId: string): Promise<'told' | 'dead' | 'silent'> {
  const told = w.listener.socket
    .waitFor((f) => f.type === 'notification' && (f.method === 'newConsumer' || f.method === 'trackNotConsumed') && (f.data as Json)['producerId'] === producerId, 'told', TOLD_BOUND_MS)
    .then(() => 'told' as const, () => 'silent' as const);
  return Promise.race([told, w.exited.then(() => 'dead' as const)]);
}

const alive = (w: World) => w.server.process.exitCode === null && w.server.process.signalCode === null;

function describeVariant(v: Variant): string {
  return `${v.method} ${v.at}: ${v.what}`;
}

/** The server's error lines since `from` (its log is JSON lines; pino level 50+ is error/fatal). */
function errorLines(w: World, from = 0): string[] {
  return w.server
    .logs()
    .slice(from)
    .split('\n')
    .filter((line) => /"level":(50|60)|RangeError|Uncaught|unhandled/i.test(line))
    .map((line) => line.slice(0, 240));
}

it(`survives every bad variant of every request (seed ${SEED})`, async () => {
  const started = performance.now();
  const random = prng(SEED);
  world = await startWorld();
  let w = world;
  const methods = Object.keys(requests) as RequestMethod[];
  const variants: Variant[] = [];
  for (const method of methods) {
    const base = baseFor(method, w.fuzzer.ids, w.caps);
    variants.push(...variantsFor(method, base, { random }), ...foreignIdVariants(method, base, new Set(Object.values(w.fuzzer.ids)), w.foreign));
  }
  const order = shuffle(variants, random);
  const counts = new Map<string, number>();
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  let sent = 0;
  let restarts = 0;
  let lastSample = { at: performance.now(), rtp: w.listener.rtpReceived, variant: 0 };

  for (let i = 0; i < order.length; i++) {
    const variant = order[i]!;
    // Which client: the schema's verdict on it (with the fuzzer's ids; a scratch client's are alike).
    const build = (ids: Record<string, string>) => {
      const base = baseFor(variant.method, ids, w.caps);
      let budget = MAX_MESSAGE_BYTES - frameBytes(variant.method, encodeJson(base)) - 64;
      for (;;) {
        const text = encodeJson(applyVariant(base, variant, budget));
        const over = frameBytes(variant.method, text) - MAX_MESSAGE_BYTES;
        if (over <= 0) return text;
        budget -= over + 64;
      }
    };
    const what = describeVariant(variant);
    const logFrom = w.server.logs().length;
    try {
      const probeText = build(w.fuzzer.ids);
      const verdict = schemaVerdict(variant.method, probeText);
      const mustRefuse = variant.expect === 'refuse' || !verdict.success || (variant.expect === 'refuse-if-kept' && keptAsSent(variant, verdict.output));
      const onFuzzer = variant.foreignId || !verdict.success;
      const target = onFuzzer ? w.fuzzer : await scratch(w, variant.method !== 'join');
      const text = onFuzzer ? probeText : build(target.ids);

      const out = await target.send(variant.method, text);
      sent += 1;
      // A socket cut by a dying server closes a moment before the process is seen to exit.
      if (out.kind === 'closed') await Promise.race([w.exited, new Promise((resolve) => setTimeout(resolve, 500))]);
      count(out.kind === 'error' ? `rejected ${out.code}` : out.kind === 'ok' ? 'accepted' : out.kind === 'hang' ? 'unanswered' : 'socket closed');
      if (out.kind === 'hang') found(`no answer within ${REQUEST_BOUND_MS} ms: ${what}`);
      if (out.kind === 'error' && out.code === ErrorCode.SERVER_ERROR) found(`SERVER_ERROR, not a typed refusal: ${what}`);
      if (out.kind === 'ok' && mustRefuse) found(`accepted, must be refused: ${what}`);
      if (out.kind === 'ok' && process.env['FUZZ_VERBOSE']) console.log(`  accepted: ${what}`);
      if (out.kind === 'closed' && alive(w) && !(variant.method === 'leave' && target !== w.fuzzer)) found(`socket closed (${out.code}) by: ${what}`);

      if (out.kind === 'ok' && target !== w.fuzzer) {
        if (variant.method === 'produce') {
          const heard = await listenerTold(w, (out.data as Json)['producerId']);
          if (heard === 'silent') found(`the listener was never told of the producer made by: ${what}`);
        }
        if (variant.method === 'join') {
          // The capabilities it was allowed to join with are used for every consumer it gets.
          const recv = await target.send('createTransport', '{"direction":"recv"}');
          const listened = recv.kind === 'ok' ? await target.send('listen', '{}') : recv;
          if (listened.kind !== 'ok') found(`listen after a join with ${variant.at}: ${variant.what} -> ${JSON.stringify(listened)}`);
          if (alive(w)) {
            const probe = await w.fuzzer.send('produce', encodeJson(baseFor('produce', w.fuzzer.ids, w.caps)));
            if (probe.kind === 'ok') {
              await listenerTold(w, (probe.data as Json)['producerId']);
              await w.fuzzer.send('closeProducer', encodeJson({ producerId: (probe.data as Json)['producerId'] }));
            }
          }
        }
        // It accepted something: a new scratch client for the next one. One that holds a producer it
        // should not have been allowed stays, for the late listener below.
        if (variant.method === 'produce' && mustRefuse && w.kept.length < KEEP_BAD_PRODUCERS) w.kept.push(target);
        else target.close();
        w.scratch = undefined;
      }
    } catch (err) {
      // A set-up step of a scratch client failed: the room is broken (or the server died).
      found(`a scratch client could not be set up after: ${what}: ${(err as Error).message.slice(0, 200)}`);
      w.scratch?.close();
      w.scratch = undefined;
    }

    if (!alive(w) || w.fuzzer.closedCode !== undefined) {
      await Promise.race([w.exited, new Promise((r) => setTimeout(r, 500))]);
      const why = alive(w) ? `the fuzzer's socket closed (${w.fuzzer.closedCode})` : `the server exited (${w.server.process.exitCode ?? w.server.process.signalCode})`;
      found(`${why} after: ${what}${errorLines(w, logFrom).length ? ` — ${errorLines(w, logFrom)[0]}` : ''}`);
      count('server deaths');
      await stopWorld(w, true);
      if (++restarts > MAX_RESTARTS) {
        found(`gave up after ${MAX_RESTARTS} restarts: ${order.length - i - 1} variants not sent`);
        world = undefined;
        break;
      }
      world = w = await startWorld();
      lastSample = { at: performance.now(), rtp: w.listener.rtpReceived, variant: i };
      continue;
    }
    // The listener receives all along: at least every 2 s of the run.
    if (performance.now() - lastSample.at > 2_000) {
      if (w.listener.rtpReceived <= lastSample.rtp) found(`the listener received no RTP while variants ${lastSample.variant}-${i} ran`);
      lastSample = { at: performance.now(), rtp: w.listener.rtpReceived, variant: i };
    }
  }

  if (world) await afterRun(world);
  else found('the run ended without a live server');

  const byCode = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`);
  console.log(
    `fuzz: ${sent} requests over ${methods.length} methods, seed ${SEED}, ${byCode.join(', ')}; ${findings.length} findings; ${Math.round((performance.now() - started) / 1000)} s`,
  );
  for (const line of findings) console.log(`  finding: ${line}`);
  expect(findings).toEqual([]);
}, 240_000);

/** What must hold after the run; each failure is a finding, so one run reports all of them. */
async function afterRun(w: World): Promise<void> {
  const must = async (what: string, check: () => Promise<unknown>) => {
    try {
      await check();
    } catch (err) {
      found(`${what}: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
    }
  };
  // The server is alive and serving.
  await must('the server answers /healthz', async () => expect((await fetch(`${w.server.httpUrl}/healthz`)).status).toBe(200));
  await must("the fuzzer's socket still answers", async () => expect(await w.fuzzer.send('ping', '{}')).toMatchObject({ kind: 'ok' }));
  for (const line of errorLines(w)) if (/unhandled|uncaught|RangeError/i.test(line)) found(`server log: ${line}`);

  // The listener still receives, and its listen still answers.
  await must('the listener still receives RTP', async () => {
    const rtp = w.listener.rtpReceived;
    await expect.poll(() => w.listener.rtpReceived, { timeout: 5_000 }).toBeGreaterThan(rtp + 20);
  });
  await must("the listener's listen still answers", async () => expect(await w.listener.socket.request('listen')).toMatchObject({ ok: true }));
  // A peer that comes now can listen, with the accepted bad producers still in the room, and receives.
  await must('a late listener listens and receives', async () => {
    const live = new Set<string>();
    for (const f of w.listener.socket.frames) {
      if (f.type === 'notification' && f.method === 'newConsumer') live.add(f.data.id);
      if (f.type === 'notification' && f.method === 'consumerClosed') live.delete(f.data.consumerId);
    }
    const t = await w.server.connect(w.roomA, 'late-listener');
    const late = await ScalePeer.open(t.url, t.token);
    try {
      await late.consume(live.size, 10_000);
      await expect.poll(() => late.rtpReceived, { timeout: 5_000 }).toBeGreaterThan(20);
    } finally {
      await late.close(true);
    }
  });

  // The other room saw only its own producer, untouched.
  await must('the other room is untouched', async () => {
    const seen = w.roomB.listener.socket.frames.flatMap((f) => (f.type === 'notification' && f.method !== 'welcome' ? [f.method] : []));
    expect(seen).toEqual(['newConsumer']);
    await w.roomB.producer.ok('pauseProducer', { producerId: w.roomB.producerId });
    await w.roomB.listener.socket.notification('consumerProducerPaused', (d) => d.consumerId === w.roomB.consumerId);
  });
}
