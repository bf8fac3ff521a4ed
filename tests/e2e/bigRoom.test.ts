// A late joiner in a room of more tracks than a socket may send requests at once (the gateway's
// burst, BURST): it receives every one. Before protocol 4 it asked `resumeConsumer` once per
// track, all at once, and the requests past the burst were refused (RATE_LIMITED): those tracks
// were lost. Now an offer's consumers resume in one `resumeConsumers`. The senders are raw
// signaling clients (producers without media: only the signaling is under test); the listener is
// the real client in Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { BURST } from '../../src/server/ma/rateLimit.js';
import { launchBrowser } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { rtpParameters, TestSocket } from '../server/wsClient.js';
import { clientPage } from './lifecycleHelpers.js';
import { listen, waitForConsumers } from './pageHelpers.js';

/** Producers per sender (a client may have 32). */
const PER_SENDER = 30;
const SENDERS = Math.ceil((BURST + 20) / PER_SENDER);

describe('a room of more tracks than one burst of requests', () => {
  let server: ServerProcess;
  let browser: Browser;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
    await browser?.close();
    await server?.stop();
  });

  it(`a late joiner receives all ${SENDERS * PER_SENDER} tracks, each offer resumed in one request, none refused`, async () => {
    const room = 'big-room';
    for (let i = 0; i < SENDERS; i++) {
      const t = await server.connect(room, `sender-${i}`);
      const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
      sockets.push(socket);
      await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
      const transport = await socket.ok<{ id: string }>('createTransport', { direction: 'send' });
      for (let n = 0; n < PER_SENDER; n++) {
        const params = { ...rtpParameters('audio'), mid: String(n), encodings: [{ ssrc: 1_000_000 * (i + 1) + n }] };
        await socket.ok('produce', { transportId: transport.id, kind: 'audio', rtpParameters: params });
      }
    }
    const page = await clientPage(browser, server, room, 'late');
    await page.evaluate(() => {
      const w = globalThis as any;
      w.errors = [];
      w.client.on('error', (e: any) => w.errors.push(`${e.code}: ${e.message}`));
    });
    await listen(page);
    const total = SENDERS * PER_SENDER;
    const consumers = await waitForConsumers(page, total).catch(async (error: Error) => {
      const got = await page.evaluate(() => ({ consumers: (globalThis as any).consumers.length, errors: (globalThis as any).errors.slice(0, 3) }));
      throw new Error(`${error.message}: ${got.consumers} of ${total} consumers; errors: ${got.errors.join(' | ')}`);
    });
    expect(consumers).toHaveLength(total);
    const seen = await page.evaluate(() => {
      const w = globalThis as any;
      const wire: Array<{ dir: string; frame: any }> = w.wire;
      return {
        states: [...new Set(w.consumers.map((c: any) => c.state))],
        errors: w.errors as string[],
        offers: wire.filter((e) => e.dir === 'in' && e.frame.method === 'newConsumers').map((e) => e.frame.data.consumers.length),
        resumeRequests: wire.filter((e) => e.dir === 'out' && e.frame.method === 'resumeConsumers').map((e) => e.frame.data.consumerIds.length),
        singleResumes: wire.filter((e) => e.dir === 'out' && e.frame.method === 'resumeConsumer').length,
        refused: wire.filter((e) => e.dir === 'in' && e.frame.type === 'response' && !e.frame.ok).map((e) => e.frame.error.code),
      };
    });
    expect(seen.states).toEqual(['live']);
    expect(seen.errors).toEqual([]);
    expect(seen.refused).toEqual([]);
    // Each offer (the frame bound splits this one) consumed together, resumed together.
    expect(seen.offers.reduce((a, b) => a + b, 0)).toBe(total);
    expect(seen.resumeRequests).toEqual(seen.offers);
    expect(seen.singleResumes).toBe(0);
    await page.context().close();
  });
});
