// Bad input against the real server while two Chromium pages share a room: page A sends its camera,
// page B decodes it throughout. A raw socket in the same room (and one in another room) throws
// every kind of bad input at the gateway; each gets a typed error or a clear close, the server
// stays up, and B never stops decoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CloseCode, ErrorCode } from '../../src/protocol/codes.js';
import { MAX_MESSAGE_BYTES } from '../../src/protocol/messages.js';
import { BURST } from '../../src/server/ma/rateLimit.js';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { TestSocket } from '../server/wsClient.js';
import { createClient, listen, produceCameraAndMic, waitForConsumers, waitForState } from './pageHelpers.js';

/** Counts B's decoded video frames continuously in `window.decoded`. */
async function countFramesForever(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    const cm = w.consumers.find((c: any) => c.kind === 'video');
    w.decoded = 0;
    void w.testFrames.read(cm.track, () => {
      w.decoded++;
    });
  });
}

/** Resolves once B decoded `n` more frames than it had. */
async function decodesMore(page: Page, n: number): Promise<void> {
  const from = await page.evaluate(() => (globalThis as any).decoded as number);
  await page.waitForFunction(([from, n]) => (globalThis as any).decoded >= from + n, [from, n] as const, { timeout: 15_000 });
}

async function joined(server: ServerProcess, roomId: string, userId: string): Promise<TestSocket> {
  const t = await server.connect(roomId, userId);
  const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
  await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
  return socket;
}

describe('bad input while a room is live', () => {
  let server: ServerProcess;
  let browser: Browser;
  let b: Page;
  let producerIds: string[];
  let consumerIds: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
    const a = (await openClientPage(browser, server.httpUrl)).page;
    b = (await openClientPage(browser, server.httpUrl)).page;
    const [ta, tb] = await Promise.all([server.connect('live', 'alice'), server.connect('live', 'bob')]);
    await createClient(a, ta.url, ta.token);
    await createClient(b, tb.url, tb.token);
    await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
    producerIds = (await produceCameraAndMic(a)).map((p) => p.id);
    await listen(b);
    consumerIds = (await waitForConsumers(b, 2)).map((c) => c.id);
    await countFramesForever(b);
    await decodesMore(b, 10);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('malformed frames, wrong types, unknown methods and binary frames get typed errors', async () => {
    const s = await joined(server, 'live', 'mallory');
    const errorOf = async (raw: string | Buffer, id?: number) => {
      const before = s.frames.length;
      s.sendRaw(raw);
      const f = await s.waitFor((f) => f.type === 'response' && !f.ok && (id === undefined || f.id === id) && s.frames.indexOf(f) >= before);
      return f.type === 'response' && !f.ok ? f.error.code : undefined;
    };
    expect(await errorOf('{"type":"request","id":')).toBe(ErrorCode.BAD_REQUEST);
    expect(await errorOf('[]')).toBe(ErrorCode.BAD_REQUEST);
    expect(await errorOf('null')).toBe(ErrorCode.BAD_REQUEST);
    expect(await errorOf(JSON.stringify({ type: 'request', id: 'seven', method: 'ping', data: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await errorOf(JSON.stringify({ type: 'request', id: 501, method: 'produce', data: { transportId: 5, kind: 'smell' } }), 501)).toBe(ErrorCode.BAD_REQUEST);
    expect(await errorOf(JSON.stringify({ type: 'request', id: 502, method: '__proto__', data: {} }), 502)).toBe(ErrorCode.UNKNOWN_METHOD);
    expect(await errorOf(JSON.stringify({ type: 'request', id: 503, method: 'constructor', data: {} }), 503)).toBe(ErrorCode.UNKNOWN_METHOD);
    expect(await errorOf(Buffer.from([0xff, 0x00, 0x13]))).toBe(ErrorCode.BAD_REQUEST);
    expect(await s.request('ping')).toMatchObject({ ok: true });
    await s.close();
    await decodesMore(b, 10);
  });

  it("other users' and other rooms' ids are NOT_FOUND and change nothing", async () => {
    const sameRoom = await joined(server, 'live', 'eve');
    const otherRoom = await joined(server, 'elsewhere', 'trudy');
    for (const s of [sameRoom, otherRoom]) {
      for (const producerId of producerIds) {
        for (const method of ['pauseProducer', 'closeProducer', 'startRecord', 'stopRecord']) {
          expect(await s.request(method, { producerId })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
        }
      }
      for (const consumerId of consumerIds) {
        for (const method of ['pauseConsumer', 'resumeConsumer']) {
          expect(await s.request(method, { consumerId })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
        }
      }
    }
    // Out of order: consuming before a recv transport exists, producing on no transport.
    expect(await otherRoom.request('listen')).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    expect(await otherRoom.request('connectTransport', { transportId: 'x', dtlsParameters: { fingerprints: [] } })).toMatchObject({ ok: false });
    await Promise.all([sameRoom.close(), otherRoom.close()]);
    // A's producers are untouched: B still decodes, and nobody recorded them.
    await decodesMore(b, 10);
    expect(await server.recordings('live')).toEqual([]);
  });

  it('an oversized message closes that socket with 1009', async () => {
    const s = await joined(server, 'live', 'big');
    s.sendRaw('x'.repeat(MAX_MESSAGE_BYTES + 1));
    expect((await s.waitClosed()).code).toBe(1009);
    await decodesMore(b, 10);
  });

  it('a flood is refused with RATE_LIMITED, then closed with 4008 if it goes on', async () => {
    const s = await joined(server, 'live', 'flood');
    for (let i = 0; i < BURST * 4; i++) s.sendRaw(JSON.stringify({ type: 'request', id: 10_000 + i, method: 'ping', data: {} }));
    const limited = await s.waitFor((f) => f.type === 'response' && !f.ok && f.error.code === ErrorCode.RATE_LIMITED, 'RATE_LIMITED');
    expect(limited).toMatchObject({ type: 'response', ok: false, error: { code: ErrorCode.RATE_LIMITED } });
    expect((limited as { id: number }).id).toBeGreaterThanOrEqual(10_000);
    // Keep flooding: the socket is closed for it.
    for (let i = 0; i < 1_000 && s.ws.readyState === s.ws.OPEN; i++) s.sendRaw('{"type":"request","id":1,"method":"ping","data":{}}');
    expect(await s.waitClosed()).toEqual({ code: CloseCode.POLICY_VIOLATION, reason: 'rate limit' });
    await decodesMore(b, 10);
  });

  it('the server is up and B is still connected and decoding after all of it', async () => {
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    expect(await b.evaluate(() => (globalThis as any).client.state)).toBe('connected');
    expect(await b.evaluate(() => (globalThis as any).consumers.map((c: any) => c.closed ?? false))).toEqual([false, false]);
    await decodesMore(b, 30);
    // No stack trace or token went into the logs.
    expect(server.logs()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });
});
