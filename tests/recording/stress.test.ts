// Recording under load: both cores kept busy by a CPU burner, 10 clients (werift, real VP8 and
// Opus: see mediaPeer.ts) each record their two tracks 3 times, all at once, some starting on a
// paused producer. Real server process, real mediasoup worker, real ffmpeg.
//
// Every recording that had media must end `finished`, decode, and last the time between its
// calls (within 10%); the one that never had media ends `failed` with SERVER_ERROR; and nothing is
// left: no ffmpeg, no UDP socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest, type RequestMethod } from '../../src/protocol/messages.js';
import { probe } from '../support/ffprobe.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { burnCpu, type CpuBurner } from './cpuBurner.js';
import { MediaPeer, testMedia, type Kind } from './mediaPeer.js';
import { childrenOf, udpSocketsOf } from './processes.js';

const CLIENTS = 10;
const CYCLES = 3;
/**
 * The length of each recording: its content, not a wait for something. What a file holds beyond
 * the time between the calls is the server's lag on a busy machine (ffmpeg's first report and the
 * answer; the stop's pause reaching the worker): a few hundred ms, so recordings of some seconds.
 */
const RECORD_MS = 8_000;
/** How long a recording started on a paused producer waits for its resume. */
const PAUSED_MS = 1_000;
/** The burner's own bound: longer than the recordings, and it stops by itself. */
const BURN_MS = 60_000;
const KINDS: Kind[] = ['video', 'audio'];
const ROOM = 'stress';

type Plan = 'live' | 'paused, then resumed' | 'paused throughout';

/** Cycle 1 of every third client starts paused and resumes; the last client's last cycle never resumes. */
function planOf(client: number, cycle: number): Plan {
  if (client === CLIENTS - 1 && cycle === CYCLES - 1) return 'paused throughout';
  return client % 3 === 0 && cycle === 1 ? 'paused, then resumed' : 'live';
}

interface Outcome {
  client: number;
  cycle: number;
  kind: Kind;
  plan: Plan;
  /** From the moment media could flow (startRecord answered, or the resume answered) to the stopRecord call, as the client saw it. */
  clientMs: number;
  /** Request ids of the calls, to time them as the server saw them (its request log). */
  from: number;
  to: number;
  startMs: number;
  stop: { ok: true; id: string; path: string } | { ok: false; code: string; message: string };
}

let nextId = 1_000_000;

/** A request with a bound above the server's own (RECORDER_TIMEOUTS), and its id. */
async function call(peer: MediaPeer, method: string, data: unknown): Promise<({ ok: true; data: any } | { ok: false; code: string; message: string }) & { id: number }> {
  const id = nextId++;
  peer.socket.sendRaw(encodeRequest(id, method as RequestMethod, data as never));
  const res = (await peer.socket.waitFor((f) => f.type === 'response' && f.id === id, `response to ${method}`, 60_000)) as any;
  return res.ok ? { id, ok: true, data: res.data } : { id, ok: false, code: res.error.code, message: res.error.message };
}

/**
 * One client's cycles. Its two tracks are started and stopped one after the other: the server
 * answers a client's requests in order, so calls sent together would be timed from the wrong moment.
 */
async function runClient(peer: MediaPeer, client: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const plan = planOf(client, cycle);
    if (plan !== 'live') for (const k of KINDS) await peer.pause(k);
    const mediaFrom = new Map<Kind, { at: number; id: number }>();
    const startMs = new Map<Kind, number>();
    for (const kind of KINDS) {
      const asked = performance.now();
      const res = await call(peer, 'startRecord', { producerId: peer.producerId(kind) });
      if (!res.ok) throw new Error(`client ${client} cycle ${cycle} ${kind}: startRecord ${res.code}: ${res.message}`);
      mediaFrom.set(kind, { at: performance.now(), id: res.id });
      startMs.set(kind, performance.now() - asked);
    }
    if (plan === 'paused, then resumed') {
      await new Promise((r) => setTimeout(r, PAUSED_MS)); // a paused stretch before any media: content, not a race
      for (const k of KINDS) {
        const res = await call(peer, 'resumeProducer', { producerId: peer.producerId(k) });
        peer.setSending(k, true);
        mediaFrom.set(k, { at: performance.now(), id: res.id });
      }
    }
    for (const kind of KINDS) {
      await new Promise((r) => setTimeout(r, RECORD_MS - (performance.now() - mediaFrom.get(kind)!.at))); // the recording's length
      const stoppedAt = performance.now();
      const res = await call(peer, 'stopRecord', { producerId: peer.producerId(kind) });
      outcomes.push({
        client,
        cycle,
        kind,
        plan,
        clientMs: stoppedAt - mediaFrom.get(kind)!.at,
        from: mediaFrom.get(kind)!.id,
        to: res.id,
        startMs: startMs.get(kind)!,
        stop: res.ok ? { ok: true, id: res.data.id, path: res.data.path } : { ok: false, code: res.code, message: res.message },
      });
    }
    if (plan !== 'live') for (const k of KINDS) await peer.resume(k);
  }
  return outcomes;
}

/** The server's last log lines of a producer's recordings (flow samples, how they ended): what a failure message shows. */
function recordingLog(logs: string, producerId: string): string {
  return logs
    .split('\n')
    .filter((l) => l.includes(producerId) && /recording (flow|finished|failed)/.test(l))
    .slice(-8)
    .join('\n');
}

/** When the server received and answered each request, by request id (its debug request log). */
function requestTimes(logs: string): Map<number, { received: number; answered: number }> {
  const times = new Map<number, { received: number; answered: number }>();
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"msg":"request"')) continue;
    const l = JSON.parse(line) as { id: number; time: string; ms: number };
    const answered = Date.parse(l.time);
    times.set(l.id, { received: answered - l.ms, answered });
  }
  return times;
}

describe('recording under load', () => {
  let server: ServerProcess;
  let burner: CpuBurner | undefined;
  const peers: MediaPeer[] = [];

  beforeAll(async () => {
    testMedia(); // encoded before the load, once
    server = await startServerProcess();
    for (let i = 0; i < CLIENTS; i++) {
      const t = await server.connect(ROOM, `user-${i}`);
      peers.push(await MediaPeer.produce(t.url, t.token));
    }
  });
  afterAll(async () => {
    burner?.stop();
    await Promise.all(peers.map((p) => p.close()));
    await server?.stop();
  });

  it(`${CLIENTS} clients × 2 tracks × ${CYCLES} recordings at once, both cores burning: every one with media finished, decodable, of the right length`, async () => {
    const udpBefore = udpSocketsOf(server.process.pid!);
    burner = burnCpu(BURN_MS);
    const began = performance.now();
    const outcomes = (await Promise.all(peers.map((peer, client) => runClient(peer, client)))).flat();
    const elapsed = performance.now() - began;
    burner.stop();
    // Printed at once: a run that overruns its bound still says how long the recordings took.
    console.log(`stress: ${outcomes.length} recordings stopped ${(elapsed / 1000).toFixed(1)} s after the first start; checking the files`);

    const rows = await server.recordings(ROOM);
    const timing = requestTimes(server.logs());
    const withMedia = outcomes.filter((o) => o.plan !== 'paused throughout');
    const errors: number[] = [];
    const clientErrors: number[] = [];
    for (const o of withMedia) {
      const at = `client ${o.client} cycle ${o.cycle} ${o.kind} (${o.plan})`;
      const log = () => `${at}\n${recordingLog(server.logs(), peers[o.client]!.producerId(o.kind))}`;
      expect(o.stop, log()).toMatchObject({ ok: true });
      if (!o.stop.ok) continue;
      expect(rows.find((r) => r.id === (o.stop as { id: string }).id), log()).toMatchObject({ state: 'finished', kind: o.kind });
      const p = probe(o.stop.path);
      expect(p.codec, at).toBe(o.kind === 'video' ? 'vp8' : 'opus');
      expect(p.frames, at).toBeGreaterThan(0);
      // Between the calls as the server had them: the answer that let media flow, the stop's arrival.
      const betweenMs = timing.get(o.to)!.received - timing.get(o.from)!.answered;
      const error = (p.duration * 1000 - betweenMs) / betweenMs;
      errors.push(error);
      clientErrors.push((p.duration * 1000 - o.clientMs) / o.clientMs);
      expect(Math.abs(error), `${at}: ${p.duration.toFixed(3)} s recorded, ${(betweenMs / 1000).toFixed(3)} s between the calls`).toBeLessThan(0.1);
    }
    // Paused throughout: nothing to write; stopRecord says so (documented in the README).
    for (const o of outcomes.filter((x) => x.plan === 'paused throughout')) {
      expect(o.stop, `client ${o.client} ${o.kind}`).toMatchObject({ ok: false, code: 'SERVER_ERROR', message: expect.stringMatching(/no media/) });
    }
    expect(rows.filter((r) => r.state === 'failed')).toHaveLength(outcomes.length - withMedia.length);
    expect(rows.filter((r) => r.state === 'recording')).toEqual([]);

    // Nothing left: no ffmpeg, no UDP socket beyond those before.
    expect(childrenOf(server.process.pid!).filter((p) => p.comm === 'ffmpeg')).toEqual([]);
    expect(udpSocketsOf(server.process.pid!)).toBe(udpBefore);

    const pct = (xs: number[], f: (...v: number[]) => number) => `${(f(...xs.map(Math.abs)) * 100).toFixed(1)}%`;
    const mean = (...v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const starts = outcomes.map((o) => o.startMs).sort((a, b) => a - b);
    console.log(
      `stress: ${outcomes.length} recordings (${withMedia.length} with media) in ${(elapsed / 1000).toFixed(1)} s, two-core burner; ` +
        `${rows.filter((r) => r.state === 'finished').length} finished, ${rows.filter((r) => r.state === 'failed').length} failed (those without media); ` +
        `duration vs server-side time between the calls: mean ${pct(errors, mean)} max ${pct(errors, Math.max)}; ` +
        `vs the client's clock: mean ${pct(clientErrors, mean)} max ${pct(clientErrors, Math.max)}; ` +
        `startRecord median ${starts[starts.length >> 1]!.toFixed(0)} ms, max ${starts.at(-1)!.toFixed(0)} ms`,
    );
  }, 180_000);
});
