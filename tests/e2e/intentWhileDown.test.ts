// "Intent is never refused for being disconnected", in Chromium against a real server process:
// A sends its fake camera and mic, B listens; the server is killed (-9); while A is reconnecting it
// pauses its camera. The call is not refused: `paused` is true at once, the call resolves once A is
// connected again (to the restarted server) and its camera produced paused, B's new consumer of it
// has `producerPaused` and decodes nothing, and A's RTCPeerConnections send no video packet from the
// call until the page resumes (read from their getStats). After resume(), video flows again (which
// shows the packet count can move).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { createFaultClient, FAST_CLIENT_OPTIONS, listenAndWatch, produceCameraAndMic, restartServer, waitForClientState, waitForFrames } from '../support/faults.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Keeps every RTCPeerConnection the page makes in `window.pcs` (installed before the client makes any). */
async function keepPeerConnections(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    const Native = w.RTCPeerConnection;
    w.pcs = [];
    w.RTCPeerConnection = class extends Native {
      constructor(...args: unknown[]) {
        super(...args);
        w.pcs.push(this);
      }
    };
  });
}

/** The RTP packets of `kind` that the page's peer connections from index `from` on have sent (a closed one counts for nothing more: it sends nothing). */
function packetsSent(page: Page, kind: 'audio' | 'video', from = 0): Promise<number> {
  return page.evaluate(
    async ([kind, from]) => {
      let sum = 0;
      for (const pc of ((globalThis as any).pcs as RTCPeerConnection[]).slice(from)) {
        if (pc.signalingState === 'closed') continue;
        for (const report of (await pc.getStats()).values()) {
          if (report.type === 'outbound-rtp' && report.kind === kind) sum += report.packetsSent ?? 0;
        }
      }
      return sum;
    },
    [kind, from] as const,
  );
}

describe('a pause while the server is down (Chromium, real server killed and restarted)', () => {
  it('is kept, resolves after the reconnect, B’s new consumer is producerPaused, and A sends no video packet from the call on', async () => {
    const room = `intent-${process.pid}`;
    const [ta, tb] = [await server.connect(room, 'alice'), await server.connect(room, 'bob')];
    const a = (await openClientPage(browser, server.httpUrl)).page;
    const b = (await openClientPage(browser, server.httpUrl)).page;
    await keepPeerConnections(a);
    await createFaultClient(a, ta.url, ta.token, { options: FAST_CLIENT_OPTIONS });
    await createFaultClient(b, tb.url, tb.token, { options: FAST_CLIENT_OPTIONS });
    await Promise.all([waitForClientState(a, 'connected'), waitForClientState(b, 'connected')]);
    await produceCameraAndMic(a);
    await listenAndWatch(b);
    await waitForFrames(b, 0, 10);
    // The measure sees A's camera while it is sent.
    expect(await packetsSent(a, 'video')).toBeGreaterThan(0);

    await server.kill9();
    await waitForClientState(a, 'reconnecting');
    const call = await a.evaluate(() => {
      const w = globalThis as any;
      const video = w.producers.find((p: any) => p.kind === 'video');
      w.video = video;
      w.pausing = video.pause().then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? String(e),
      );
      // Every connection A had is closed by now, and nothing made after the call may send video.
      return { pcsAtCall: w.pcs.length, openAtCall: w.pcs.filter((pc: RTCPeerConnection) => pc.signalingState !== 'closed').length, paused: video.paused, state: video.state };
    });
    expect(call).toEqual({ pcsAtCall: call.pcsAtCall, openAtCall: 0, paused: true, state: 'waiting' });

    server = await restartServer(server);
    const outcome = await a.evaluate(() => (globalThis as any).pausing);
    expect(outcome).toBe('ok');
    expect(await a.evaluate(() => [(globalThis as any).client.state, (globalThis as any).video.state, (globalThis as any).video.paused])).toEqual(['connected', 'paused', true]);

    // B (reconnected too) is offered A's new camera producer, paused.
    await waitForClientState(b, 'connected');
    const consumer = await b.waitForFunction(
      () => {
        const c = (globalThis as any).consumers.find((cm: any) => cm.state !== 'closed' && cm.kind === 'video');
        return c ? { id: c.id, producerPaused: c.producerPaused } : undefined;
      },
      null,
      { timeout: 30_000, polling: 50 },
    );
    const seen = (await consumer.jsonValue()) as { id: string; producerPaused: boolean };
    expect(seen.producerPaused).toBe(true);

    // A's new connection carries its microphone (so it is up and sending) but not one video packet.
    await a.waitForFunction(
      async (from) => {
        let sum = 0;
        for (const pc of ((globalThis as any).pcs as RTCPeerConnection[]).slice(from)) {
          for (const r of (await pc.getStats()).values()) if (r.type === 'outbound-rtp' && r.kind === 'audio') sum += r.packetsSent ?? 0;
        }
        return sum > 100;
      },
      call.pcsAtCall,
      { timeout: 30_000, polling: 100 },
    );
    const videoWhilePaused = await packetsSent(a, 'video', call.pcsAtCall);
    const decodedWhilePaused = await b.evaluate((id) => (globalThis as any).frameLog.filter(([c]: [string]) => c === id).length, seen.id);
    console.log(`A: video packets sent from the pause() call on: ${videoWhilePaused}; B: frames decoded of the paused camera: ${decodedWhilePaused}`);
    expect(videoWhilePaused).toBe(0);
    expect(decodedWhilePaused).toBe(0);

    // Resumed: A sends its camera again and B decodes it on the same consumer.
    await a.evaluate(() => (globalThis as any).video.resume());
    await b.waitForFunction((id) => (globalThis as any).frameLog.filter(([c]: [string]) => c === id).length >= 5, seen.id, { timeout: 30_000, polling: 50 });
    expect(await packetsSent(a, 'video', call.pcsAtCall)).toBeGreaterThan(0);
  });
});
