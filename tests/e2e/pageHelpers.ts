// Code that runs inside the browser pages of the end-to-end tests, through the public API only.
import type { Page } from 'playwright-core';

/** Creates a client in the page as `window.client` and records every state it passes through. */
export async function createClient(page: Page, url: string, token: string): Promise<void> {
  await page.evaluate(
    ([url, token]) => {
      const w = globalThis as any;
      w.sockets = 0;
      const Native = w.WebSocket;
      // Count connection attempts: a refused token must never be tried twice.
      w.WebSocket = class extends Native {
        constructor(...args: unknown[]) {
          super(...(args as [string]));
          w.sockets++;
        }
      };
      w.states = [];
      w.client = w.MediaInfra.createMediaClient(url, token);
      w.states.push(w.client.state);
      w.client.on('state', (s: string) => w.states.push(s));
    },
    [url, token] as const,
  );
}

/** Resolves when `window.client.state` is `state` (fails fast if it ends closed instead). */
export async function waitForState(page: Page, state: string, timeoutMs = 30_000): Promise<void> {
  await page.evaluate(
    ([state, timeoutMs]) =>
      new Promise<void>((resolve, reject) => {
        const c = (globalThis as any).client;
        const check = (s: string): boolean => {
          if (s === state) return resolve(), true;
          if (s === 'closed') return reject(new Error(`client closed (${c.closeReason}) while waiting for ${state}`)), true;
          return false;
        };
        if (check(c.state)) return;
        const timer = setTimeout(() => reject(new Error(`still ${c.state} after ${timeoutMs} ms waiting for ${state}`)), timeoutMs);
        const on = (s: string) => {
          if (check(s)) {
            clearTimeout(timer);
            c.off('state', on);
          }
        };
        c.on('state', on);
      }),
    [state, timeoutMs] as const,
  );
}

/** Produces the fake camera and microphone; the managers are kept as `window.producers`. */
export async function produceCameraAndMic(page: Page): Promise<Array<{ id: string; kind: string }>> {
  return page.evaluate(async () => {
    const w = globalThis as any;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
    w.producers = [];
    for (const track of stream.getTracks()) w.producers.push(await w.client.produceTrack(track));
    return w.producers.map((p: any) => ({ id: p.id, kind: p.kind }));
  });
}

/** Calls listenTrack; every ConsumeManager received is kept in `window.consumers`. */
export async function listen(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    w.consumers = [];
    w.client.listenTrack((cm: any) => w.consumers.push(cm));
  });
}

/** Waits until `count` consumers arrived; returns what each says of itself. */
export async function waitForConsumers(page: Page, count: number): Promise<Array<{ id: string; kind: string; userId: string; trackKind: string }>> {
  await page.waitForFunction((n) => ((globalThis as any).consumers?.length ?? 0) >= n, count, { timeout: 30_000 });
  return page.evaluate(() =>
    (globalThis as any).consumers.map((c: any) => ({ id: c.id, kind: c.kind, userId: c.userId, trackKind: c.track.kind })),
  );
}

/**
 * Reads `frames` decoded frames from the received track of the given kind and returns what they
 * were. A track object proves nothing: only frames read from it show media was decoded. Audio
 * yields frames only while something plays it, so it is played muted.
 */
export async function readFrames(page: Page, kind: 'audio' | 'video', frames: number): Promise<{ count: number; width: number; height: number; sampleRate: number }> {
  return page.evaluate(
    async ([kind, frames]) => {
      const w = globalThis as any;
      const cm = w.consumers.find((c: any) => c.kind === kind);
      if (!cm) throw new Error(`no ${kind} consumer`);
      if (kind === 'audio') {
        const el = document.createElement('audio');
        el.muted = true;
        el.srcObject = new MediaStream([cm.track]);
        document.body.append(el);
        await el.play();
      }
      const reader = new w.MediaStreamTrackProcessor({ track: cm.track }).readable.getReader();
      let count = 0, width = 0, height = 0, sampleRate = 0;
      while (count < frames) {
        const { value, done } = await reader.read();
        if (done) break;
        if (kind === 'video') ({ displayWidth: width, displayHeight: height } = value);
        else sampleRate = value.sampleRate;
        value.close();
        count++;
      }
      reader.releaseLock();
      return { count, width, height, sampleRate };
    },
    [kind, frames] as const,
  );
}
