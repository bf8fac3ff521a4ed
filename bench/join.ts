// Join time and time to first remote video frame: our client against a raw mediasoup-client
// client (bench/rawClient.ts) doing the same steps on the same server, alternating, in Chromium.
//
// Like for like: the raw client is bundled with our client bundles' esbuild options and V8 compile
// hint (scripts/buildConfig.mjs), both bundles are served by one loopback HTTP server with the same
// headers, and both are loaded in the page by `import()`. Two join figures: with the module loaded
// before the clock starts (what a page pays when someone presses "join"), and from the start of the
// module's loading (fetch and compile included) to the same end.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { clientBuildOptions, compileHint } from '../scripts/buildConfig.mjs';
import { launchBrowser } from '../tests/support/browser.js';
import { startServerProcess, type ServerProcess } from '../tests/support/server.js';
import { figure, type Figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);

type Which = 'ours' | 'raw';

/** The raw client as an ES module, built exactly as build.mjs builds ours. */
async function rawClientModule(): Promise<string> {
  const out = await build({
    ...clientBuildOptions,
    entryPoints: ['bench/rawClient.ts'],
    banner: compileHint,
    format: 'esm',
    outfile: 'dist/bench/raw-client.js',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
}

/** Serves both modules the same way (a cross-origin module needs CORS; nothing is cached). */
async function moduleServer(modules: Record<Which, string>): Promise<{ urls: Record<Which, string>; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const which = req.url === '/ours.js' ? 'ours' : req.url === '/raw.js' ? 'raw' : undefined;
    if (!which) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
    res.end(modules[which]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    urls: { ours: `${base}/ours.js`, raw: `${base}/raw.js` },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A fresh page (a context of its own) on the server's origin, with neither client loaded. The
 * camera is opened here, before any clock starts: it is the same for both clients. The socket is
 * watched for the answer to `listen`, so B's clock starts only once the server will send.
 * `window.load(which, url)` imports a client module as the page's `MediaInfra` / `RawClient`.
 */
async function freshPage(browser: Browser, server: ServerProcess): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.httpUrl}/healthz`);
  // A string, not a function: a bundler may rewrite `import()` inside functions it transforms.
  await page.evaluate(`globalThis.load = async (which, url) => { globalThis[which === 'ours' ? 'MediaInfra' : 'RawClient'] = await import(url); }`);
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
    w.camera = stream.getVideoTracks()[0];
  });
  return page;
}

/** Imports a client module in the page (ms). */
async function loadModule(p: Page, which: Which, moduleUrl: string): Promise<number> {
  return p.evaluate(
    async ([which, moduleUrl]) => {
      const t0 = performance.now();
      await (globalThis as any).load(which, moduleUrl);
      return performance.now() - t0;
    },
    [which, moduleUrl] as const,
  );
}

/**
 * createMediaClient / socket open → the server acknowledged the first produced track (ms). With
 * `moduleUrl`, the clock starts before the module is imported instead.
 */
async function joinTime(p: Page, which: Which, url: string, token: string, moduleUrl?: string): Promise<number> {
  return p.evaluate(
    async ([which, url, token, moduleUrl]) => {
      const w = globalThis as any;
      const t0 = performance.now();
      if (moduleUrl) await w.load(which, moduleUrl);
      if (which === 'ours') {
        w.client = w.MediaInfra.createMediaClient(url, token);
        await w.client.produceTrack(w.camera);
      } else {
        w.raw = await w.RawClient.RawConnection.connect(url, token);
        await w.raw.produce(w.camera);
      }
      return performance.now() - t0;
    },
    [which, url, token, moduleUrl] as const,
  );
}

/** Sets up B to note when it decodes its first remote video frame (epoch ms). */
async function listenForFirstFrame(p: Page, which: Which, url: string, token: string): Promise<void> {
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

async function connectOnly(p: Page, which: Which, url: string, token: string): Promise<void> {
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
async function firstFrameTime(a: Page, b: Page, which: Which): Promise<number> {
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
  /** Module loaded before the clock: createMediaClient / socket open → first track acknowledged. */
  joinMs: { ours: Figure; raw: Figure; ratio: number; target: number };
  /** In a fresh page, from the start of importing the module (fetch, compile) → first track acknowledged. */
  loadAndJoinMs: { ours: Figure; raw: Figure; ratio: number };
  firstFrameMs: { ours: Figure; raw: Figure; ratio: number; target: number };
  /** Importing each module in a fresh page (the pages of the first join figure). */
  moduleLoadMs: { ours: Figure; raw: Figure };
}

const versus = (ours: number[], raw: number[]) => {
  const [o, r] = [figure(ours), figure(raw)];
  return { ours: o, raw: r, ratio: Math.round((o.median / r.median) * 100) / 100 };
};

export async function run(): Promise<JoinResult> {
  const ours = readFileSync('dist/client/media-infra-client.js', 'utf8');
  const [server, browser, raw] = await Promise.all([startServerProcess({ env: { LOG_LEVEL: 'warn' } }), launchBrowser(), rawClientModule()]);
  const modules = await moduleServer({ ours, raw });
  const samples = () => ({ ours: [] as number[], raw: [] as number[] });
  const [join, loadAndJoin, frame, load] = [samples(), samples(), samples(), samples()];
  try {
    for (let i = 0; i < RUNS + 1; i++) {
      for (const which of i % 2 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const)) {
        const room = `bench-${which}-${i}`;
        const moduleUrl = modules.urls[which];
        const [ta, tc] = await Promise.all([server.connect(room, 'a'), server.connect(`${room}-l`, 'a')]);
        const a = await freshPage(browser, server);
        const l = await loadModule(a, which, moduleUrl);
        const j = await joinTime(a, which, ta.url, ta.token);
        await close(a);

        const c = await freshPage(browser, server);
        const lj = await joinTime(c, which, tc.url, tc.token, moduleUrl);
        await close(c);

        const [a2, b] = [await freshPage(browser, server), await freshPage(browser, server)];
        await Promise.all([loadModule(a2, which, moduleUrl), loadModule(b, which, moduleUrl)]);
        const room2 = await Promise.all([server.connect(`${room}-f`, 'a'), server.connect(`${room}-f`, 'b')]);
        await connectOnly(a2, which, room2[0].url, room2[0].token);
        await listenForFirstFrame(b, which, room2[1].url, room2[1].token);
        const f = await firstFrameTime(a2, b, which);
        await Promise.all([close(a2), close(b)]);
        // The first round warms the browser and the server up: not counted.
        if (i > 0) {
          join[which].push(j);
          loadAndJoin[which].push(lj);
          frame[which].push(f);
          load[which].push(l);
        }
      }
    }
  } finally {
    await browser.close();
    await server.stop();
    await modules.close();
  }
  return {
    joinMs: { ...versus(join.ours, join.raw), target: 1.15 },
    loadAndJoinMs: versus(loadAndJoin.ours, loadAndJoin.raw),
    firstFrameMs: { ...versus(frame.ours, frame.raw), target: 1.2 },
    moduleLoadMs: { ours: figure(load.ours), raw: figure(load.raw) },
  };
}
