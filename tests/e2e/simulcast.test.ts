// Media that adapts, in real Chromium against a real server: A sends its fake camera at 1280x720
// with the defaults (simulcast, three spatial layers); B chooses its layer with
// setPreferredLayers, or lets adaptTo choose from the element it shows the video in; A switches
// its source with replaceTrack without B's consumer noticing anything but the new size, across a
// server crash too. Waits are for events and decoded frames, never for time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { restartServer } from '../support/faults.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { consumerOf, createClient, listen, waitForState } from './pageHelpers.js';
import { consumerPacketsSent, keepPeerConnections, makeCanvasTrack, outboundVideo, waitForSize, watchSizes } from './simulcastPage.js';

let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A sends its camera at 1280x720 with `options`; B listens. Returns both pages and the ids. */
async function call(room: string, options: Record<string, unknown> = {}): Promise<{ a: Page; b: Page; producerId: string; consumerId: string }> {
  const [{ page: a }, { page: b }] = await Promise.all([openClientPage(browser, server.httpUrl), openClientPage(browser, server.httpUrl)]);
  await Promise.all([keepPeerConnections(a), keepPeerConnections(b)]);
  const [ta, tb] = await Promise.all([server.connect(room, 'alice'), server.connect(room, 'bob')]);
  await createClient(a, ta.url, ta.token);
  await createClient(b, tb.url, tb.token);
  await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
  const producerId = await a.evaluate(async (options) => {
    const w = globalThis as any;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    w.camera = stream.getVideoTracks()[0];
    w.pm = await w.client.produceTrack(w.camera, options);
    w.produced = [];
    w.pm.on('produced', (id: string) => w.produced.push(id));
    return w.pm.id as string;
  }, options);
  await listen(b);
  const consumerId = await consumerOf(b, producerId);
  await b.evaluate((id) => {
    const w = globalThis as any;
    const cm = w.consumers.find((c: any) => c.id === id);
    w.layerLog ??= {};
    const log: Array<number | null> = (w.layerLog[id] = []);
    cm.on('layerschange', (layers: any) => log.push(layers ? layers.spatialLayer : null));
  }, consumerId);
  await watchSizes(b, consumerId);
  return { a, b, producerId, consumerId };
}

/**
 * Resolves once consumer `id` reported receiving `layer` (its `layerschange` events), with `layers`
 * saying the same at that moment. Both are read in one evaluation: the layer may change again right
 * after (the bandwidth estimate moves), and a second read could see the next one (a quiet run saw 1).
 */
async function waitForLayer(b: Page, id: string, layer: number): Promise<void> {
  const handle = await b.waitForFunction(
    ([id, layer]) => {
      const w = globalThis as any;
      if (w.layerLog[id].at(-1) !== layer) return false;
      return { layers: w.consumers.find((c: any) => c.id === id).layers?.spatialLayer ?? null };
    },
    [id, layer] as const,
    { timeout: 60_000 },
  );
  expect(await handle.jsonValue()).toEqual({ layers: layer });
}

const consumerCall = (b: Page, id: string, body: string) =>
  b.evaluate(
    ([id, body]) => {
      const cm = (globalThis as any).consumers.find((c: any) => c.id === id);
      return (new Function('cm', `return (async () => { ${body} })()`) as (cm: unknown) => Promise<unknown>)(cm).then(
        (value) => ({ ok: true, value }),
        (e: any) => ({ ok: false, code: e?.code, message: e?.message }),
      );
    },
    [id, body] as const,
  );

describe('simulcast: receivers choose their layer (Chromium, real server)', () => {
  it('A sends three layers by default; B gets at most 320 wide at layer 0 and at least 1280 at layer 2; an unknown layer is BAD_REQUEST', async () => {
    const { a, b, consumerId } = await call('simulcast-layers');
    // The sender's browser sends three encodings (each is encoded once the bandwidth estimate allows it).
    await expect.poll(async () => (await outboundVideo(a)).map((o) => o.rid), { timeout: 20_000 }).toEqual(['r0', 'r1', 'r2']);
    expect(await b.evaluate((id) => (globalThis as any).consumers.find((c: any) => c.id === id).spatialLayers, consumerId)).toBe(3);

    // Unasked, the server forwards the top layer once the bandwidth carries it: only the request brings it down.
    await waitForLayer(b, consumerId, 2);
    expect(await consumerCall(b, consumerId, 'await cm.setPreferredLayers({ spatialLayer: 0 })')).toEqual({ ok: true });
    await waitForLayer(b, consumerId, 0);
    const small = await waitForSize(b, consumerId, 'width > 0 && width <= 320');
    expect(small.width).toBeLessThanOrEqual(320);

    expect(await consumerCall(b, consumerId, 'await cm.setPreferredLayers({ spatialLayer: 2 })')).toEqual({ ok: true });
    await waitForLayer(b, consumerId, 2);
    const large = await waitForSize(b, consumerId, 'width >= 1280', 60_000);
    expect(large).toMatchObject({ width: 1280, height: 720 });
    console.log(`simulcast: layer 0 → ${small.width}x${small.height}, layer 2 → 1280x720 after ${Math.round(large.ms)} ms; sender: ${JSON.stringify(await outboundVideo(a))}`);

    // Refused by the server (the sender has three layers) and by the client (not a layer at all).
    expect(await consumerCall(b, consumerId, 'await cm.setPreferredLayers({ spatialLayer: 3 })')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await consumerCall(b, consumerId, 'await cm.setPreferredLayers({ spatialLayer: -1 })')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await consumerCall(b, consumerId, 'await cm.setPreferredLayers({ spatialLayer: 1, temporalLayer: 3 })')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('adaptTo: a 160x90 element gets the smallest layer; scrolled out of view the server pauses it (no RTP), back in view frames resume', async () => {
    const { b, consumerId } = await call('simulcast-adapt');
    // B first receives a larger layer (the element is what makes it drop).
    expect(await consumerCall(b, consumerId, 'await cm.setPreferredLayers({ spatialLayer: 1 })')).toEqual({ ok: true });
    await waitForLayer(b, consumerId, 1);
    await b.evaluate((id) => {
      const w = globalThis as any;
      const cm = w.consumers.find((c: any) => c.id === id);
      const video = document.createElement('video');
      Object.assign(video, { muted: true, autoplay: true, playsInline: true, srcObject: new MediaStream([cm.track]) });
      video.style.cssText = 'display:block;width:160px;height:90px';
      const spacer = document.createElement('div');
      spacer.style.height = '5000px';
      document.body.append(video, spacer);
      cm.adaptTo(video);
    }, consumerId);
    await waitForLayer(b, consumerId, 0);
    expect((await waitForSize(b, consumerId, 'width > 0 && width <= 320')).width).toBeLessThanOrEqual(320);

    // Out of view: the consumer is paused on the server, and RTP stops.
    await b.evaluate(() => window.scrollTo(0, 4000));
    await b.waitForFunction((id) => (globalThis as any).consumers.find((c: any) => c.id === id).paused, consumerId, { timeout: 10_000 });
    expect(await b.evaluate(() => window.scrollY)).toBeGreaterThan(1000);
    // Frames already on their way still arrive: wait for a quiet second, then count a second one.
    await b.waitForFunction((id) => performance.now() - (globalThis as any).sizes[id].at > 1000, consumerId, { timeout: 10_000, polling: 100 });
    const before = await consumerPacketsSent(b, consumerId);
    const frames = await b.evaluate((id) => (globalThis as any).sizes[id].frames, consumerId);
    await b.waitForFunction((t) => performance.now() > t + 1000, await b.evaluate(() => performance.now()), { polling: 100 });
    expect(await consumerPacketsSent(b, consumerId)).toBe(before);
    expect(await b.evaluate((id) => (globalThis as any).sizes[id].frames, consumerId)).toBe(frames);

    // Back in view: resumed, frames again.
    await b.evaluate(() => window.scrollTo(0, 0));
    await waitForSize(b, consumerId, 'true', 15_000);
    expect(await b.evaluate((id) => (globalThis as any).consumers.find((c: any) => c.id === id).paused, consumerId)).toBe(false);
    expect(await consumerPacketsSent(b, consumerId)).toBeGreaterThan(before);
  });
});

describe('replaceTrack (Chromium, real server)', () => {
  it('B’s same ConsumeManager decodes the new source without closing; after a server crash B receives the replaced source, not the camera', async () => {
    const { a, b, producerId, consumerId } = await call('replace-track');
    await waitForSize(b, consumerId, 'width * 9 === height * 16');

    await makeCanvasTrack(a, 640, 480);
    expect(await a.evaluate(() => (globalThis as any).pm.replaceTrack((globalThis as any).canvasTrack).then(() => 'ok', (e: any) => e.code))).toBe('ok');
    expect(await a.evaluate(() => [(globalThis as any).pm.id, (globalThis as any).pm.track === (globalThis as any).canvasTrack])).toEqual([producerId, true]);
    // The canvas is 4:3, the camera 16:9: whatever layer arrives, its shape says which source it is.
    await waitForSize(b, consumerId, 'width * 3 === height * 4');
    const events = await b.evaluate((id) => (globalThis as any).consumerEvents[id], consumerId);
    expect(events.filter((e: string) => e.startsWith('closed'))).toEqual([]);
    expect(await b.evaluate(() => (globalThis as any).consumers.length)).toBe(1);

    // A track of the other kind is refused, and nothing changes.
    const audio = await a.evaluate(async () => {
      const w = globalThis as any;
      const mic = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
      return w.pm.replaceTrack(mic).then(() => 'ok', (e: any) => e.code);
    });
    expect(audio).toBe('BAD_REQUEST');

    // The server dies; after the reconnect A produces the canvas again, and B decodes it.
    server = await restartServer(server);
    await a.waitForFunction(() => (globalThis as any).produced.length >= 1, null, { timeout: 60_000 });
    const newProducerId = await a.evaluate(() => (globalThis as any).pm.id);
    expect(newProducerId).not.toBe(producerId);
    const newConsumerId = await consumerOf(b, newProducerId, 60_000);
    await watchSizes(b, newConsumerId);
    await waitForSize(b, newConsumerId, 'width * 3 === height * 4');
    // Produced with its simulcast settings (the default), chosen for the canvas now: 480 lines are two
    // layers. Read from the sender's parameters: which layers actually carry frames is the browser's
    // call (a loaded machine's CPU adaptation leaves the upper one idle).
    await expect.poll(async () => (await outboundVideo(a)).map((o) => o.rid), { timeout: 20_000 }).toEqual(['r0', 'r1']);
    const encodings = await a.evaluate(() =>
      ((globalThis as any).pcs as RTCPeerConnection[])
        .filter((pc) => pc.connectionState !== 'closed')
        .flatMap((pc) => pc.getSenders())
        .filter((s) => s.track?.kind === 'video')
        .flatMap((s) => s.getParameters().encodings.map((e) => [e.rid, e.scaleResolutionDownBy])),
    );
    expect(encodings).toEqual([
      ['r0', 2],
      ['r1', 1],
    ]);

    // The replaced track's end closes the producer, as the first track's did.
    await a.evaluate(() => (globalThis as any).canvasTrack.stop());
    await a.waitForFunction(() => (globalThis as any).pm.state === 'closed', null, { timeout: 10_000 });
    await b.waitForFunction((id) => (globalThis as any).consumerEvents[id].some((e: string) => e.startsWith('closed')), newConsumerId, { timeout: 10_000 });
  });
});
