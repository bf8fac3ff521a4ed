// The pages of the client benchmarks (bench/join.ts, bench/latency.ts): our client against a raw
// mediasoup-client client (bench/rawClient.ts) doing the same steps on the same server, in Chromium.
//
// Like for like: the raw client is bundled with our client bundles' esbuild options and V8 compile
// hint (scripts/buildConfig.mjs), both bundles are served by one loopback HTTP server with the same
// headers, and both are loaded in the page by `import()`.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { clientBuildOptions, compileHint } from '../scripts/buildConfig.mjs';
import type { ServerProcess } from '../tests/support/server.js';

export type Which = 'ours' | 'raw';

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

/** Both client modules, served: ours as build.mjs built it (dist/), the raw one built here. */
export async function clientModules(): Promise<{ urls: Record<Which, string>; close(): Promise<void> }> {
  return moduleServer({ ours: readFileSync('dist/client/media-infra-client.js', 'utf8'), raw: await rawClientModule() });
}

/**
 * A fresh page (a context of its own) on the server's origin, with neither client loaded. The
 * camera is opened here, before any clock starts: it is the same for both clients. The socket is
 * watched for the answer to `listen`, so B's clock starts only once the server will send.
 * `window.load(which, url)` imports a client module as the page's `MediaInfra` / `RawClient`.
 */
export async function freshPage(browser: Browser, server: ServerProcess): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.httpUrl}/healthz`);
  // A string, not a function: a bundler may rewrite `import()` inside functions it transforms.
  await page.evaluate(`globalThis.load = async (which, url) => { globalThis[which === 'ours' ? 'MediaInfra' : 'RawClient'] = await import(url); }`);
  await watchListenAck(page);
  await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    (globalThis as any).camera = stream.getVideoTracks()[0];
  });
  return page;
}

/** Wraps the page's WebSocket so that `window.listenAcked` resolves on the server's answer to `listen`. */
export async function watchListenAck(page: Page): Promise<void> {
  await page.evaluate(() => {
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
  });
}

/** Imports a client module in the page (ms). */
export async function loadModule(p: Page, which: Which, moduleUrl: string): Promise<number> {
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
export async function joinTime(p: Page, which: Which, url: string, token: string, moduleUrl?: string): Promise<number> {
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

export async function closePage(p: Page): Promise<void> {
  await p.evaluate(async () => {
    const w = globalThis as any;
    await w.client?.close();
    w.raw?.close();
  });
  await p.context().close();
}
