// Simulcast in Chromium against the built server: what the sender pays for it (bytes sent with and
// without simulcast, fake camera at 1280x720), and how fast a receiver gets the size it asks for
// (setPreferredLayers → first decoded frame of the new size, median, both ways). The single
// encoding's run also says what limited the sender's encoder (WebRTC's own qualityLimitation
// figures), which is why it reaches the receiver smaller than the camera.
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../tests/support/browser.js';
import { startServerProcess, type ServerProcess } from '../tests/support/server.js';
import { consumerOf, createClient, listen, waitForState } from '../tests/e2e/pageHelpers.js';
import { keepPeerConnections, outboundVideo, watchSizes, type OutboundVideo } from '../tests/e2e/simulcastPage.js';
import { figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);
/** Bytes are counted over this window, after the same warm-up for both modes (ms). */
const WARMUP_MS = 15_000;
const WINDOW_MS = 10_000;

interface Call {
  a: Page;
  b: Page;
  consumerId: string;
  close(): Promise<void>;
}

async function call(browser: Browser, server: ServerProcess, room: string, options: Record<string, unknown>): Promise<Call> {
  const [{ page: a }, { page: b }] = await Promise.all([openClientPage(browser, server.httpUrl), openClientPage(browser, server.httpUrl)]);
  await Promise.all([keepPeerConnections(a), keepPeerConnections(b)]);
  const [ta, tb] = await Promise.all([server.connect(room, 'alice'), server.connect(room, 'bob')]);
  await createClient(a, ta.url, ta.token);
  await createClient(b, tb.url, tb.token);
  await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
  const producerId = await a.evaluate(async (options) => {
    const w = globalThis as any;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    w.pm = await w.client.produceTrack(stream.getVideoTracks()[0], options);
    return w.pm.id as string;
  }, options);
  await listen(b);
  const consumerId = await consumerOf(b, producerId);
  await watchSizes(b, consumerId);
  return {
    a,
    b,
    consumerId,
    close: async () => {
      await Promise.all([a.evaluate(() => (globalThis as any).client.close()), b.evaluate(() => (globalThis as any).client.close())]);
      await Promise.all([a.context().close(), b.context().close()]);
    },
  };
}

const pause = (page: Page, ms: number) => page.evaluate((ms) => new Promise((resolve) => setTimeout(resolve, ms)), ms);
const bytes = (out: OutboundVideo[]) => out.reduce((sum, o) => sum + o.bytesSent, 0);

/** What A sends over the window (kbit/s, per encoding too) and what B decodes at its end. */
async function sending(c: Call): Promise<{ kbps: number; encodings: Array<Partial<OutboundVideo> & { kbps: number }>; decoded: string }> {
  await pause(c.a, WARMUP_MS);
  const before = await outboundVideo(c.a);
  await pause(c.a, WINDOW_MS);
  const after = await outboundVideo(c.a);
  const decoded = await c.b.evaluate((id) => {
    const s = (globalThis as any).sizes[id];
    return `${s.width}x${s.height}`;
  }, c.consumerId);
  const kbps = (n: number) => Math.round((n * 8) / WINDOW_MS);
  return {
    kbps: kbps(bytes(after) - bytes(before)),
    encodings: after.map((o, i) => ({
      rid: o.rid,
      frame: `${o.frameWidth}x${o.frameHeight}`,
      kbps: kbps(o.bytesSent - (before[i]?.bytesSent ?? 0)),
      qualityLimitationReason: o.qualityLimitationReason,
      qualityLimitationDurations: o.qualityLimitationDurations,
      qualityLimitationResolutionChanges: o.qualityLimitationResolutionChanges,
      availableOutgoingBitrate: o.availableOutgoingBitrate,
    })),
    decoded,
  };
}

/** setPreferredLayers(layer) → the first frame B decodes at that layer's size (ms, measured in B's page). */
async function switchTo(c: Call, layer: number, test: string): Promise<number> {
  return c.b.evaluate(
    ([id, layer, test]) =>
      new Promise<number>((resolve, reject) => {
        const w = globalThis as any;
        const watch = w.sizes[id];
        const holds = new Function('width', 'height', `return ${test}`) as (w: number, h: number) => boolean;
        const t0 = performance.now();
        const timer = setTimeout(() => reject(new Error(`no frame with ${test} within 60 s (last ${watch.width}x${watch.height})`)), 60_000);
        function check() {
          if (!holds(watch.width, watch.height)) return;
          clearTimeout(timer);
          watch.listeners.delete(check);
          resolve(performance.now() - t0);
        }
        w.consumers.find((c: any) => c.id === id).setPreferredLayers({ spatialLayer: layer }).then(() => watch.listeners.add(check), reject);
      }),
    [c.consumerId, layer, test] as const,
  );
}

export async function run(): Promise<Record<string, unknown>> {
  const [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  try {
    const single = await call(browser, server, 'bench-single', { simulcast: false });
    const singleSent = await sending(single);
    await single.close();

    const layered = await call(browser, server, 'bench-simulcast', {});
    const layeredSent = await sending(layered);
    const down: number[] = [];
    const up: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      down.push(await switchTo(layered, 0, 'width > 0 && width <= 320'));
      up.push(await switchTo(layered, 2, 'width >= 1280'));
    }
    await layered.close();
    return {
      bytesSent: {
        simulcast: layeredSent,
        single: singleSent,
        simulcastOverSingle: Math.round((layeredSent.kbps / singleSent.kbps) * 100) / 100,
      },
      setPreferredLayersToFirstFrameMs: { toLayer0: figure(down), toLayer2: figure(up) },
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
