// Signaling latency (issue 19): the join, a late joiner's first frame, a full class and a reconnect
// with the page's socket through tests/support/latencyProxy.ts, which holds every chunk 0 or
// 100 ms each way (0 / 200 ms round trip; media stays on loopback). Ours against the raw
// mediasoup-client baseline (bench/pageClients.ts), interleaved, medians of BENCH_RUNS runs (the
// first round warms up and is not counted). Per path, the sequential round trips twice: the slope
// over the added round-trip time, (t200 - t0) / 200 ms, and the proxy's logical count at 200 ms.
// The count holds while the page's own work between two requests is short beside a round trip: not
// for the full class, where the page's per-track work (hundreds of ms on a loaded machine) puts
// later requests a round trip deeper; there the slope is the figure.
//
// - join: createMediaClient / socket open → the first produced track acknowledged (camera opened before).
// - lateJoiner: a client joins a room where one sender publishes one small canvas video, and
//   listens → its first decoded frame of it.
// - fullClass: the same late joiner in a room where one sender publishes 12 such videos and 12 tone
//   audios → the first frame of every video; `versusSingle` divides it by lateJoiner's ours.
//   `chromeNegotiationMs`: Chrome's own SDP work on that offer and on one video's, in an idle page:
//   the part of the class's extra time no client code or round trip can remove.
// - reconnect: ours only, the library's defaults, both pages through proxies; A's socket dropped →
//   B decodes A's video again (bench/recovery.ts's `drop` on loopback, with latency).
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../tests/support/browser.js';
import { createFaultClient, listenAndWatch, produceCameraAndMic, waitForClientState, waitForFrames } from '../tests/support/faults.js';
import { LatencyProxy, type RoundTrips } from '../tests/support/latencyProxy.js';
import { startServerProcess, type ServerProcess } from '../tests/support/server.js';
import { clientModules, closePage, freshPage, joinTime, loadModule, type Which } from './pageClients.js';
import { figure, type Figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
/** Hold each way (ms): 0 and 200 ms round trip. */
const ONE_WAY = [0, 100] as const;
const ADDED_RTT_MS = 2 * ONE_WAY[1];
const CLASS = { videos: 12, audios: 12 };

type OneWay = (typeof ONE_WAY)[number];
type Path = 'join' | 'lateJoiner' | 'fullClass';
const ALL_PATHS: readonly Path[] = ['join', 'lateJoiner', 'fullClass'];
/** BENCH_LATENCY_PATHS=lateJoiner,fullClass: only those paths, ours only, no reconnect (a quick look at one figure). */
const ONLY = process.env['BENCH_LATENCY_PATHS']?.split(',').filter((p): p is Path => (ALL_PATHS as readonly string[]).includes(p));
const PATHS: readonly Path[] = ONLY ?? ALL_PATHS;
const WHICH: readonly Which[] = ONLY ? ['ours'] : ['ours', 'raw'];

interface Sample {
  ms: number;
  /** The proxy's count for the path (only meaningful with a hold). */
  roundTrips: number;
}

// ---------------------------------------------------------------------------------------------
// Pages

/**
 * A sender (ours, straight to the server) publishing `videos` small canvas videos (160×120, 15 fps,
 * a changing picture) and `audios` tones. The page stays open for the whole bench.
 */
async function sender(browser: Browser, server: ServerProcess, room: string, media: { videos: number; audios: number }): Promise<Page> {
  const t = await server.connect(room, 'teacher');
  const { page } = await openClientPage(browser, server.httpUrl);
  await page.evaluate(
    async ([url, token, videos, audios]) => {
      const w = globalThis as any;
      const tracks: MediaStreamTrack[] = [];
      const canvases: HTMLCanvasElement[] = [];
      for (let i = 0; i < videos; i++) {
        const c = Object.assign(document.createElement('canvas'), { width: 160, height: 120 });
        document.body.append(c);
        canvases.push(c);
        tracks.push(c.captureStream(15).getVideoTracks()[0]!);
      }
      let n = 0;
      const paint = () => {
        n++;
        canvases.forEach((c, i) => {
          const g = c.getContext('2d')!;
          g.fillStyle = `hsl(${(n * 9 + i * 30) % 360} 70% 50%)`;
          g.fillRect(0, 0, c.width, c.height);
          g.fillStyle = '#000';
          g.fillText(`${i}: ${n}`, 10, 60);
        });
      };
      paint();
      w.painter = setInterval(paint, 66);
      const audio = new AudioContext();
      await audio.resume();
      for (let i = 0; i < audios; i++) {
        const tone = audio.createOscillator();
        tone.frequency.value = 220 + 20 * i;
        const out = audio.createMediaStreamDestination();
        tone.connect(out);
        tone.start();
        tracks.push(out.stream.getAudioTracks()[0]!);
      }
      w.client = w.MediaInfra.createMediaClient(url, token);
      w.producers = await Promise.all(tracks.map((track) => w.client.produceTrack(track)));
    },
    [t.url, t.token, media.videos, media.audios] as const,
  );
  return page;
}

/** A late join not done by then fails with what each video consumer was doing (a run takes 0.2-8 s). */
const LATE_JOIN_BOUND_MS = 60_000;

/** Joins and listens at once → the first decoded frame of each of `videos` remote videos: ms, and when (Date.now()). */
async function lateJoin(p: Page, which: Which, url: string, token: string, videos: number): Promise<{ ms: number; at: number }> {
  return p.evaluate(
    async ([which, url, token, videos, bound]) => {
      const w = globalThis as any;
      const t0 = performance.now();
      const seen: Array<{ track: MediaStreamTrack; manager?: any; decoded: boolean }> = [];
      let decoded = 0;
      const all = new Promise<void>((resolve, reject) => {
        w.onTrack = async (track: MediaStreamTrack, kind: string, manager?: any) => {
          if (kind !== 'video') return;
          const entry = { track, manager, decoded: false };
          seen.push(entry);
          const reader = new w.MediaStreamTrackProcessor({ track }).readable.getReader();
          const { value } = await reader.read();
          value?.close();
          reader.releaseLock();
          entry.decoded = true;
          if (++decoded === videos) resolve();
        };
        setTimeout(() => {
          const consumers = seen.map((e) => ({ decoded: e.decoded, track: e.track.readyState, muted: e.track.muted, state: e.manager?.state, paused: e.manager?.paused }));
          reject(new Error(`${decoded} of ${videos} videos decoded after ${bound} ms; client ${w.client?.state ?? '-'}; ${JSON.stringify(consumers)}`));
        }, bound);
      });
      if (which === 'ours') {
        w.client = w.MediaInfra.createMediaClient(url, token);
        w.client.listenTrack((cm: any) => w.onTrack(cm.track, cm.kind, cm));
      } else {
        w.raw = await w.RawClient.RawConnection.connect(url, token);
        void w.raw.listen(w.onTrack);
      }
      await all;
      return { ms: performance.now() - t0, at: Date.now() };
    },
    [which, url, token, videos, LATE_JOIN_BOUND_MS] as const,
  );
}

/** What a sender's browser says it sends, for a failure message: its bandwidth estimate and each video's packets. */
async function senderStats(p: Page): Promise<string> {
  return p.evaluate(async () => {
    const s = await (globalThis as any).client.getStats();
    const videos = s.producers.filter((v: any) => v.kind === 'video').map((v: any) => `${v.packetsSent} packets, ${v.bitrateBps} bps`);
    return `outgoing estimate ${s.availableOutgoingBitrateBps} bps; videos: ${videos.join('; ')}`;
  });
}

// ---------------------------------------------------------------------------------------------
// One measurement each

interface Setup {
  server: ServerProcess;
  browser: Browser;
  moduleUrls: Record<Which, string>;
  rooms: { single: string; class: string };
}

let users = 0;

async function through<T>(s: Setup, oneWay: OneWay, measure: (proxy: LatencyProxy) => Promise<T>): Promise<T> {
  const proxy = await LatencyProxy.start(s.server.port, { toServerMs: oneWay, toClientMs: oneWay });
  try {
    return await measure(proxy);
  } finally {
    await proxy.close();
  }
}

function measurePath(s: Setup, path: Path, which: Which, oneWay: OneWay): Promise<Sample> {
  return through(s, oneWay, async (proxy) => {
    const room = path === 'join' ? `latency-join-${++users}` : path === 'lateJoiner' ? s.rooms.single : s.rooms.class;
    const t = await s.server.connect(room, `user-${++users}`);
    const page = await freshPage(s.browser, s.server);
    try {
      await loadModule(page, which, s.moduleUrls[which]);
      const url = proxy.rewrite(t.url);
      if (path === 'join') {
        const ms = await joinTime(page, which, url, t.token);
        // Read right after: a deeper answer needs two holds more.
        return { ms, roundTrips: count(proxy.roundTripsAt(Date.now()), path) };
      }
      const { ms, at } = await lateJoin(page, which, url, t.token, path === 'lateJoiner' ? 1 : CLASS.videos);
      return { ms, roundTrips: count(proxy.roundTripsAt(at), path) };
    } finally {
      await closePage(page);
    }
  });
}

/** The join ends with an answer; a first frame with what the server did on the last request. */
const count = (trips: RoundTrips, path: Path): number => (path === 'join' ? trips.byAnswer : trips.byServerAction);

/** A's socket dropped → B decodes A's video again; and from A's new socket's opening. */
async function reconnectOnce(s: Setup, oneWay: OneWay): Promise<{ faultToDecoding: number; reconnectToDecoding: number }> {
  const room = `latency-reconnect-${++users}`;
  const [ta, tb] = await Promise.all([s.server.connect(room, 'alice'), s.server.connect(room, 'bob')]);
  const proxies = await Promise.all([0, 1].map(() => LatencyProxy.start(s.server.port, { toServerMs: oneWay, toClientMs: oneWay })));
  const pages: Page[] = [];
  try {
    for (const [i, t] of [ta, tb].entries()) {
      const { page } = await openClientPage(s.browser, s.server.httpUrl);
      pages.push(page);
      await createFaultClient(page, proxies[i]!.rewrite(t.url), t.token, { options: {} });
    }
    const [a, b] = pages as [Page, Page];
    await Promise.all(pages.map((p) => waitForClientState(p, 'connected')));
    await produceCameraAndMic(a);
    await listenAndWatch(b);
    await waitForFrames(b, 0, 10);
    const before: string[] = await b.evaluate(() => (globalThis as any).consumers.map((c: any) => c.id));
    const t0 = Date.now();
    if (proxies[0]!.drop() === 0) throw new Error('nothing to drop');
    const recoveredAt = await waitForFrames(b, t0, 30, before);
    const lastSocketAt = Math.max(...(await Promise.all(pages.map((p) => p.evaluate(() => (globalThis as any).lastSocketAt as number)))));
    return { faultToDecoding: recoveredAt - t0, reconnectToDecoding: recoveredAt - lastSocketAt };
  } finally {
    for (const p of pages) {
      await p.evaluate(() => (globalThis as any).client.close()).catch(() => undefined);
      await p.context().close();
    }
    for (const p of proxies) await p.close();
  }
}

/** Negotiations replayed per offer in the idle page (the first warms it up and is not counted). */
const NEGOTIATIONS = 8;

/**
 * Chrome's own share of the full class: the offer our late joiner's recv transport got for the
 * class (its 24 tracks and mediasoup's probator), and the same offer cut to the probator and one
 * video (what the late joiner of one video negotiates), each negotiated again and again in an
 * idle page of its own: setRemoteDescription + createAnswer + setLocalDescription, no client code.
 */
async function chromeNegotiation(s: Setup): Promise<{ class: Figure; single: Figure }> {
  const t = await s.server.connect(s.rooms.class, `user-${++users}`);
  const page = await freshPage(s.browser, s.server);
  let offer: string;
  try {
    await loadModule(page, 'ours', s.moduleUrls.ours);
    offer = await page.evaluate(
      async ([url, token, videos]) => {
        const w = globalThis as any;
        const offers: string[] = [];
        const setRemote = RTCPeerConnection.prototype.setRemoteDescription as (this: RTCPeerConnection, d: RTCSessionDescriptionInit) => Promise<void>;
        RTCPeerConnection.prototype.setRemoteDescription = function (this: RTCPeerConnection, d: RTCSessionDescriptionInit) {
          if (d.type === 'offer' && d.sdp) offers.push(d.sdp);
          return setRemote.call(this, d);
        };
        let live = 0;
        await new Promise<void>((resolve) => {
          w.client = w.MediaInfra.createMediaClient(url, token);
          w.client.listenTrack((cm: any) => cm.kind === 'video' && ++live === videos && resolve());
        });
        await w.client.close();
        return offers.reduce((a, b) => (b.split('\nm=').length > a.split('\nm=').length ? b : a));
      },
      [t.url, t.token, CLASS.videos] as const,
    );
  } finally {
    await closePage(page);
  }
  const [session, ...sections] = offer.split(/^(?=m=)/m) as [string, ...string[]];
  const mid = (section: string) => section.match(/^a=mid:(\S+)/m)![1]!;
  const kept = [sections.find((m) => mid(m) === 'probator')!, sections.find((m) => m.startsWith('m=video') && mid(m) !== 'probator')!];
  const single = session.replace(/^a=group:BUNDLE .*$/m, `a=group:BUNDLE ${kept.map(mid).join(' ')}`) + kept.join('');
  const replay = async (sdp: string): Promise<Figure> => {
    const idle = await freshPage(s.browser, s.server);
    try {
      const ms = await idle.evaluate(
        async ([sdp, n]) => {
          const out: number[] = [];
          for (let i = 0; i < n; i++) {
            const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
            const t0 = performance.now();
            await pc.setRemoteDescription({ type: 'offer', sdp });
            await pc.setLocalDescription(await pc.createAnswer());
            out.push(performance.now() - t0);
            pc.close();
          }
          return out;
        },
        [sdp, NEGOTIATIONS] as const,
      );
      return figure(ms.slice(1));
    } finally {
      await closePage(idle);
    }
  };
  return { class: await replay(offer), single: await replay(single) };
}

// ---------------------------------------------------------------------------------------------
// Figures

const round2 = (n: number) => Math.round(n * 100) / 100;
const rttKey = (oneWay: OneWay) => `rtt${2 * oneWay}` as const;

export interface Versus {
  ours: Figure;
  raw: Figure;
  /** ours / raw (medians). */
  ratio: number;
}

export interface PathFigures {
  rtt0: Versus;
  rtt200: Versus;
  /** Sequential round trips: the slope over the added round trip, and the proxy's count at 200 ms (median). */
  roundTrips: Record<Which, { slope: number; logical: number }>;
}

export interface LatencyResult {
  holdMsEachWay: readonly number[];
  join: PathFigures;
  lateJoiner: PathFigures;
  fullClass: PathFigures & {
    versusSingle: { rtt0: number; rtt200: number };
    /** Chrome's own negotiation of the class's offer and of one video's, in an idle page (ms). */
    chromeNegotiationMs: { class: Figure; single: Figure };
  };
  reconnect: { rtt0: { faultToDecodingMs: Figure; reconnectToDecodingMs: Figure }; rtt200: { faultToDecodingMs: Figure; reconnectToDecodingMs: Figure } };
}

export async function run(): Promise<LatencyResult> {
  const [server, browser, modules] = await Promise.all([startServerProcess({ env: { LOG_LEVEL: 'warn' } }), launchBrowser(), clientModules()]);
  const samples = new Map<string, Sample[]>();
  const add = (key: string, sample: Sample) => samples.set(key, [...(samples.get(key) ?? []), sample]);
  const reconnects = new Map<OneWay, Array<{ faultToDecoding: number; reconnectToDecoding: number }>>(ONE_WAY.map((o) => [o, []]));
  const senders: Page[] = [];
  let chromeNegotiationMs: LatencyResult['fullClass']['chromeNegotiationMs'] | undefined;
  try {
    const stamp = Date.now();
    const rooms = { single: `latency-single-${stamp}`, class: `latency-class-${stamp}` };
    senders.push(await sender(browser, server, rooms.single, { videos: 1, audios: 0 }), await sender(browser, server, rooms.class, CLASS));
    const setup: Setup = { server, browser, moduleUrls: modules.urls, rooms };
    for (let i = 0; i < RUNS + 1; i++) {
      for (const oneWay of i % 2 ? [...ONE_WAY].reverse() : ONE_WAY) {
        for (const path of PATHS) {
          for (const which of i % 2 ? [...WHICH].reverse() : WHICH) {
            const sample = await measurePath(setup, path, which, oneWay).catch(async (error: Error) => {
              const sender = senders[path === 'fullClass' ? 1 : 0]!;
              throw new Error(`${path} ${which} at ${2 * oneWay} ms RTT: ${error.message}\nthe sender: ${await senderStats(sender).catch((e: Error) => e.message)}`);
            });
            const trips = oneWay > 0 ? `, ${sample.roundTrips} round trips` : '';
            console.error(`[latency] run ${i} ${2 * oneWay} ms RTT ${path} ${which}: ${Math.round(sample.ms)} ms${trips}`);
            // The first round warms the browser and the server up: not counted.
            if (i > 0) add(`${path} ${which} ${oneWay}`, sample);
          }
        }
        if (ONLY) continue;
        const r = await reconnectOnce(setup, oneWay);
        console.error(`[latency] run ${i} ${2 * oneWay} ms RTT reconnect: ${r.faultToDecoding} ms (${r.reconnectToDecoding} ms after the new socket)`);
        if (i > 0) reconnects.get(oneWay)!.push(r);
      }
    }
    if (PATHS.includes('fullClass')) {
      chromeNegotiationMs = await chromeNegotiation(setup);
      console.error(`[latency] Chrome's own negotiation, idle page: class ${chromeNegotiationMs.class.median} ms, one video ${chromeNegotiationMs.single.median} ms`);
    }
  } finally {
    for (const p of senders) await closePage(p).catch(() => undefined);
    await browser.close();
    await server.stop();
    await modules.close();
  }

  if (ONLY) {
    const median = (key: string) => figure(samples.get(key)!.map((s) => s.ms)).median;
    const medians = Object.fromEntries(PATHS.flatMap((p) => ONE_WAY.map((o) => [`${p} rtt${2 * o}`, Math.round(median(`${p} ours ${o}`))])));
    console.error(`[latency] medians (ours): ${JSON.stringify(medians)}`);
    return medians as unknown as LatencyResult;
  }
  const ms = (path: Path, which: Which, oneWay: OneWay) => figure(samples.get(`${path} ${which} ${oneWay}`)!.map((s) => s.ms));
  const versus = (path: Path, oneWay: OneWay): Versus => {
    const [ours, raw] = [ms(path, 'ours', oneWay), ms(path, 'raw', oneWay)];
    return { ours, raw, ratio: round2(ours.median / raw.median) };
  };
  const pathFigures = (path: Path): PathFigures => ({
    rtt0: versus(path, 0),
    rtt200: versus(path, 100),
    roundTrips: Object.fromEntries(
      (['ours', 'raw'] as const).map((which) => [
        which,
        {
          slope: round2((ms(path, which, 100).median - ms(path, which, 0).median) / ADDED_RTT_MS),
          logical: figure(samples.get(`${path} ${which} 100`)!.map((s) => s.roundTrips)).median,
        },
      ]),
    ) as PathFigures['roundTrips'],
  });
  const fullClass = pathFigures('fullClass');
  const lateJoiner = pathFigures('lateJoiner');
  const reconnect = Object.fromEntries(
    ONE_WAY.map((o) => [
      rttKey(o),
      { faultToDecodingMs: figure(reconnects.get(o)!.map((r) => r.faultToDecoding)), reconnectToDecodingMs: figure(reconnects.get(o)!.map((r) => r.reconnectToDecoding)) },
    ]),
  ) as LatencyResult['reconnect'];
  return {
    holdMsEachWay: ONE_WAY,
    join: pathFigures('join'),
    lateJoiner,
    fullClass: {
      ...fullClass,
      versusSingle: {
        rtt0: round2(fullClass.rtt0.ours.median / lateJoiner.rtt0.ours.median),
        rtt200: round2(fullClass.rtt200.ours.median / lateJoiner.rtt200.ours.median),
      },
      chromeNegotiationMs: chromeNegotiationMs!,
    },
    reconnect,
  };
}
