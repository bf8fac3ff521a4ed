// Foundation end to end: a real server process (mediasoup worker, SQLite), real Chromium pages,
// the public client API only. Page A sends camera + mic; page B receives and decodes both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { startServerProcess } from '../support/server.js';
import { createClient, listen, produceCameraAndMic, readFrames, waitForConsumers, waitForState } from './pageHelpers.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;

describe('media flows between two Chromium pages', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('B receives and decodes A camera and microphone', async () => {
    const a = await openClientPage(browser, server.httpUrl);
    const b = await openClientPage(browser, server.httpUrl);
    const ta = await server.connect('room-1', 'alice');
    const tb = await server.connect('room-1', 'bob');

    await createClient(a.page, ta.url, ta.token);
    await createClient(b.page, tb.url, tb.token);
    await Promise.all([waitForState(a.page, 'connected'), waitForState(b.page, 'connected')]);

    const produced = await produceCameraAndMic(a.page);
    expect(produced.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    // Neither listens yet, but protocol 3 gives each peer its send and recv transports with the
    // welcome (the server's side is cheap: one WebRtcServer port per worker), so a later listen
    // costs no round trip for a transport.
    const stats = async () =>
      (await (await fetch(`${server.httpUrl}/v1/api/stats`, { headers: { authorization: `Bearer ${server.apiKey}` } })).json()) as {
        transports: number;
        consumers: number;
      };
    const transports = async () => (await stats()).transports;
    expect(await transports()).toBe(4);

    await listen(b.page);
    const consumers = await waitForConsumers(b.page, 2);
    // Listening made none on the server: B's recv transport came with its welcome.
    expect(await transports()).toBe(4);
    expect(consumers.map((c) => c.kind).sort()).toEqual(['audio', 'video']);
    for (const c of consumers) {
      expect(c.userId).toBe('alice');
      expect(c.trackKind).toBe(c.kind);
    }

    const video = await readFrames(b.page, 'video', 30);
    expect(video.count).toBe(30);
    expect(video.width).toBeGreaterThan(0);
    expect(video.height).toBeGreaterThan(0);
    const audio = await readFrames(b.page, 'audio', 50);
    expect(audio.count).toBe(50);
    expect(audio.sampleRate).toBeGreaterThan(0);

    // A producer does not receive itself. A listens too: the server answers `listen` only after
    // offering every track there is for A (same socket, in order), and it offered none.
    await listen(a.page);
    await a.page.waitForFunction(() => {
      const wire: Array<{ dir: string; frame: any }> = (globalThis as any).wire;
      const request = wire.find((e) => e.dir === 'out' && e.frame.method === 'listen');
      return request && wire.some((e) => e.dir === 'in' && e.frame.type === 'response' && e.frame.id === request.frame.id && e.frame.ok);
    });
    expect(await a.page.evaluate(() => (globalThis as any).wire.filter((e: any) => e.dir === 'in' && e.frame.method === 'newConsumer').length)).toBe(0);
    expect(await a.page.evaluate(() => (globalThis as any).consumers.length)).toBe(0);
    expect(await stats()).toMatchObject({ transports: 4, consumers: 2 });

    await a.page.evaluate(() => (globalThis as any).client.close());
    await b.page.evaluate(() => (globalThis as any).client.close());
    expect(await a.page.evaluate(() => [(globalThis as any).client.state, (globalThis as any).client.closeReason])).toEqual(['closed', 'client']);
    expect(await a.page.evaluate(() => (globalThis as any).states)).toEqual(['connecting', 'connected', 'closed']);
  });

  it('a forged token ends closed/unauthorized after exactly one connection attempt', async () => {
    const { page } = await openClientPage(browser, server.httpUrl);
    const real = await server.connect('room-1', 'mallory');
    const forged = real.token.slice(0, -4) + (real.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await createClient(page, real.url, forged);
    await page.waitForFunction(() => (globalThis as any).client.state === 'closed', null, { timeout: 20_000 });
    const seen = await page.evaluate(() => {
      const w = globalThis as any;
      return { reason: w.client.closeReason, states: w.states, sockets: w.sockets };
    });
    expect(seen).toEqual({ reason: 'unauthorized', states: ['connecting', 'closed'], sockets: 1 });
    // A closed client refuses work with a typed error instead of hanging.
    const code = await page.evaluate(async () => {
      const w = globalThis as any;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      return w.client.produceTrack(stream.getAudioTracks()[0]).then(() => 'resolved', (e: any) => [e.name, e.code]);
    });
    expect(code).toEqual(['MediaInfraError', 'CLIENT_CLOSED']);
  });
});

describe('an expired token', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess({ env: { SESSION_TTL_SECONDS: '1' } }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('ends closed/expired without retrying', async () => {
    const { page } = await openClientPage(browser, server.httpUrl);
    const t = await server.connect('room-x', 'late');
    // Wait until the session has expired by the server's own clock statement, not a guessed delay.
    const expiresAt = Date.parse(t.expiresAt);
    await expect.poll(() => Date.now() > expiresAt + 50, { timeout: 5_000, interval: 100 }).toBe(true);
    await createClient(page, t.url, t.token);
    await page.waitForFunction(() => (globalThis as any).client.state === 'closed', null, { timeout: 20_000 });
    const seen = await page.evaluate(() => {
      const w = globalThis as any;
      return { reason: w.client.closeReason, states: w.states, sockets: w.sockets };
    });
    expect(seen).toEqual({ reason: 'expired', states: ['connecting', 'closed'], sockets: 1 });
  });
});
