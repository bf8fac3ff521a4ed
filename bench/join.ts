// Join time and time to first remote video frame: our client against a raw mediasoup-client
// client (bench/rawClient.ts) doing the same steps on the same server, alternating, in Chromium.
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../tests/support/browser.js';
import { startServerProcess, type ServerProcess } from '../tests/support/server.js';
import { figure, type Figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);

async function rawClientSource(): Promise<string> {
  const out = await build({
    entryPoints: ['bench/rawClient.ts'],
    bundle: true,
    format: 'iife',
    globalName: 'RawClient',
    platform: 'browser',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** A fresh page with both clients loaded; `moduleLoadMs` is how long importing ours took in it. */
async function page(browser: Browser, server: ServerProcess, raw: string): Promise<{ page: Page; moduleLoadMs: number }> {
  const { page, moduleLoadMs } = await openClientPage(browser, server.httpUrl);
  await page.addScriptTag({ content: raw });
  // The camera is opened before the clock starts: it is the same for both clients. The socket is
  // watched for the answer to `listen`, so B's clock starts only once the server will send.
  await page.evaluate(async () => {
    const w = globalThis as any;
    w.listenAcked = new Promise<void>((resolve) => (w.ackListen = resolve));
    const Native = w.WebSocket;
    w.WebSocket = class extends Native {
      constructor(...args: unknown[]) {
        super(...(args as [string]));
        let listenId: number | undefined;
        const send = this.send.bind(this);
        this.send = (d: string) => {
          const m = JSON.parse(d);
          if (m.method === 'listen') listenId = m.id;
          send(d);
        };
        this.addEventListener('message', (e: MessageEvent) => {
          const m = JSON.parse(e.data as string);
          if (m.type === 'response' && m.id === listenId) w.ackListen();
        });
      }
    };
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    (globalThis as any).camera = stream.getVideoTracks()[0];
  });
  return { page, moduleLoadMs };
}

/** createMediaClient / socket open → the server acknowledged the first produced track (ms). */
async function joinTime(p: Page, which: 'ours' | 'raw', url: string, token: string): Promise<number> {
  return p.evaluate(
    async ([which, url, token]) => {
      const w = globalThis as any;
      const t0 = performance.now();
      if (which === 'ours') {
        w.client = w.MediaInfra.createMediaClient(url, token);
        await w.client.produceTrack(w.camera);
      } else {
        w.raw = await w.RawClient.RawConnection.connect(url, token);
        await w.raw.produce(w.camera);
      }
      return performance.now() - t0;
    },
    [which, url, token] as const,
  );
}

/** Sets up B to note when it decodes its first remote video frame (epoch ms). */
async function listenForFirstFrame(p: Page, which: 'ours' | 'raw', url: string, token: string): Promise<void> {
  await p.evaluate(
    async ([which, url, token]) => {
      const w = globalThis as any;
      w.firstFrame = new Promise<number>((resolve) => {
        const read = async (track: MediaStreamTrack) => {
          const reader = new w.MediaStreamTrackProcessor({ track }).readable.getReader();
          const { value } = await reader.read();
          const at = performance.timeOrigin + performance.now();
          value?.close();
          reader.releaseLock();
          resolve(at);
        };
        w.onTrack = (track: MediaStreamTrack, kind: string) => kind === 'video' && void read(track);
      });
      if (which === 'ours') {
        w.client = w.MediaInfra.createMediaClient(url, token);
        await new Promise<void>((resolve) => {
          if (w.client.state === 'connected') resolve();
          w.client.on('state', (s: string) => s === 'connected' && resolve());
        });
        w.client.listenTrack((cm: any) => w.onTrack(cm.track, cm.kind));
      } else {
        w.raw = await w.RawClient.RawConnection.connect(url, token);
        void w.raw.listen(w.onTrack);
      }
      await w.listenAcked;
    },
    [which, url, token] as const,
  );
}

async function connectOnly(p: Page, which: 'ours' | 'raw', url: string, token: string): Promise<void> {
  await p.evaluate(
    async ([which, url, token]) => {
      const w = globalThis as any;
      if (which === 'ours') {
        w.client = w.MediaInfra.createMediaClient(url, token);
        await new Promise<void>((resolve) => {
          if (w.client.state === 'connected') resolve();
          w.client.on('state', (s: string) => s === 'connected' && resolve());
        });
      } else {
        w.raw = await w.RawClient.RawConnection.connect(url, token);
        await w.raw.prepareSend();
      }
    },
    [which, url, token] as const,
  );
}

/** A starts producing → B decodes the first frame of it (ms). */
async function firstFrameTime(a: Page, b: Page, which: 'ours' | 'raw'): Promise<number> {
  const t0 = await a.evaluate(async (which) => {
    const w = globalThis as any;
    const t0 = performance.timeOrigin + performance.now();
    if (which === 'ours') void w.client.produceTrack(w.camera);
    else void w.raw.produce(w.camera);
    return t0;
  }, which);
  const at = await b.evaluate(() => (globalThis as any).firstFrame as Promise<number>);
  return at - t0;
}

async function close(p: Page): Promise<void> {
  await p.evaluate(async () => {
    const w = globalThis as any;
    await w.client?.close();
    w.raw?.close();
  });
  await p.context().close();
}

export interface JoinResult {
  joinMs: { ours: Figure; raw: Figure; ratio: number; target: number };
  firstFrameMs: { ours: Figure; raw: Figure; ratio: number; target: number };
  /** Importing our client module in a fresh page (no baseline: the raw client is a page script). */
  moduleLoadMs: { ours: Figure };
}

export async function run(): Promise<JoinResult> {
  const [server, browser, raw] = await Promise.all([startServerProcess({ env: { LOG_LEVEL: 'warn' } }), launchBrowser(), rawClientSource()]);
  const join = { ours: [] as number[], raw: [] as number[] };
  const frame = { ours: [] as number[], raw: [] as number[] };
  const load: number[] = [];
  try {
    for (let i = 0; i < RUNS + 1; i++) {
      for (const which of i % 2 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const)) {
        const room = `bench-${which}-${i}`;
        const [ta, tb] = await Promise.all([server.connect(room, 'a'), server.connect(room, 'b')]);
        const { page: a, moduleLoadMs } = await page(browser, server, raw);
        const j = await joinTime(a, which, ta.url, ta.token);
        await close(a);

        const { page: a2 } = await page(browser, server, raw);
        const { page: b } = await page(browser, server, raw);
        const room2 = await Promise.all([server.connect(`${room}-f`, 'a'), server.connect(`${room}-f`, 'b')]);
        await connectOnly(a2, which, room2[0].url, room2[0].token);
        await listenForFirstFrame(b, which, room2[1].url, room2[1].token);
        const f = await firstFrameTime(a2, b, which);
        await Promise.all([close(a2), close(b)]);
        // The first round warms the browser and the server up: not counted.
        if (i > 0) {
          join[which].push(j);
          frame[which].push(f);
          // Every page imports our module; the pages of our joins give its load time (one a round).
          if (which === 'ours') load.push(moduleLoadMs);
        }
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const joinOurs = figure(join.ours);
  const joinRaw = figure(join.raw);
  const frameOurs = figure(frame.ours);
  const frameRaw = figure(frame.raw);
  return {
    joinMs: { ours: joinOurs, raw: joinRaw, ratio: Math.round((joinOurs.median / joinRaw.median) * 100) / 100, target: 1.15 },
    firstFrameMs: { ours: frameOurs, raw: frameRaw, ratio: Math.round((frameOurs.median / frameRaw.median) * 100) / 100, target: 1.2 },
    moduleLoadMs: { ours: figure(load) },
  };
}
