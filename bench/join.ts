// Join time and time to first remote video frame: our client against a raw mediasoup-client
// client (bench/rawClient.ts) doing the same steps on the same server, alternating, in Chromium.
//
// Like for like (bench/pageClients.ts): the same build options, serving and `import()`. Two join
// figures: with the module loaded before the clock starts (what a page pays when someone presses
// "join"), and from the start of the module's loading (fetch and compile included) to the same end.
import type { Page } from 'playwright-core';
import { launchBrowser } from '../tests/support/browser.js';
import { startServerProcess } from '../tests/support/server.js';
import { clientModules, closePage, freshPage, joinTime, loadModule, type Which } from './pageClients.js';
import { figure, type Figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);

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
  const [server, browser, modules] = await Promise.all([startServerProcess({ env: { LOG_LEVEL: 'warn' } }), launchBrowser(), clientModules()]);
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
        await closePage(a);

        const c = await freshPage(browser, server);
        const lj = await joinTime(c, which, tc.url, tc.token, moduleUrl);
        await closePage(c);

        const [a2, b] = [await freshPage(browser, server), await freshPage(browser, server)];
        await Promise.all([loadModule(a2, which, moduleUrl), loadModule(b, which, moduleUrl)]);
        const room2 = await Promise.all([server.connect(`${room}-f`, 'a'), server.connect(`${room}-f`, 'b')]);
        await connectOnly(a2, which, room2[0].url, room2[0].token);
        await listenForFirstFrame(b, which, room2[1].url, room2[1].token);
        const f = await firstFrameTime(a2, b, which);
        await Promise.all([closePage(a2), closePage(b)]);
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
