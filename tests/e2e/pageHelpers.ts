// Code that runs inside the browser pages of the end-to-end tests, through the public API only.
import type { Page } from 'playwright-core';

/** Creates a client in the page as `window.client` and records every state it passes through. */
export async function createClient(page: Page, url: string, token: string): Promise<void> {
  await page.evaluate(
    ([url, token]) => {
      const w = globalThis as any;
      w.sockets = 0;
      const Native = w.WebSocket;
      const parse = (data: unknown) => {
        try {
          return JSON.parse(String(data));
        } catch {
          return { unparsed: String(data).slice(0, 100) };
        }
      };
      // Count connection attempts: a refused token must never be tried twice.
      w.WebSocket = class extends Native {
        constructor(...args: unknown[]) {
          super(...(args as [string]));
          w.sockets++;
          // Every frame both ways, in order, so a test can tell when the server answered a request.
          this.addEventListener('message', (e: MessageEvent) => w.wire.push({ dir: 'in', at: performance.now(), frame: parse(e.data) }));
        }
        send(data: string) {
          w.wire.push({ dir: 'out', at: performance.now(), frame: parse(data) });
          super.send(data);
        }
      };
      w.wire = [];
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
    // What each consumer reported, in order: its events and every state it passed through.
    w.consumerEvents = {};
    w.client.listenTrack((cm: any) => {
      const log: string[] = (w.consumerEvents[cm.id] = [`state:${cm.state}`]);
      for (const name of ['paused', 'resumed', 'producerpaused', 'producerresumed']) cm.on(name, () => log.push(name));
      cm.on('state', (s: string) => log.push(`state:${s}`));
      cm.on('closed', (e: any) => log.push(`closed:${e?.code}`));
      w.consumers.push(cm);
    });
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
      if (kind === 'audio') await w.testFrames.play(cm.track);
      let count = 0, width = 0, height = 0, sampleRate = 0;
      await w.testFrames.read(cm.track, (frame: any) => {
        if (kind === 'video') ({ displayWidth: width, displayHeight: height } = frame);
        else sampleRate = frame.sampleRate;
        return ++count < frames;
      });
      return { count, width, height, sampleRate };
    },
    [kind, frames] as const,
  );
}

/**
 * Counts the decoded frames of a received track for as long as it lives (`window.frames[id]`).
 * The reader runs all the time, so that frames are counted, not left queued in the processor.
 */
export async function watchFrames(page: Page, consumerId: string): Promise<void> {
  await page.evaluate(async (id) => {
    const w = globalThis as any;
    w.frameCounters ??= {};
    if (w.frameCounters[id]) return;
    const cm = w.consumers.find((c: any) => c.id === id);
    if (!cm) throw new Error(`no consumer ${id}`);
    if (cm.kind === 'audio') await w.testFrames.play(cm.track);
    const counter = { count: 0, last: 0, ended: false, listeners: new Set<() => void>() };
    w.frameCounters[id] = counter;
    void w.testFrames
      .read(cm.track, () => {
        counter.count++;
        counter.last = performance.now();
        for (const l of [...counter.listeners]) l();
      })
      .then(() => {
        counter.ended = true;
        for (const l of [...counter.listeners]) l();
      });
  }, consumerId);
}

/** Resolves once `frames` more frames of a watched track were decoded (rejects after the timeout). */
export async function waitForFrames(page: Page, consumerId: string, frames: number, timeoutMs = 10_000): Promise<number> {
  return page.evaluate(
    ([id, frames, timeoutMs]) =>
      new Promise<number>((resolve, reject) => {
        const counter = (globalThis as any).frameCounters[id];
        const start = counter.count;
        const timer = setTimeout(() => {
          counter.listeners.delete(check);
          const cm = (globalThis as any).consumers?.find((c: any) => c.id === id);
          const what = cm ? `${cm.kind}${cm.appData?.source ? ` (${cm.appData.source})` : ''}, ${cm.paused ? 'paused' : 'resumed'}${cm.producerPaused ? ', producer paused' : ''}` : 'no such consumer';
          reject(new Error(`only ${counter.count - start} of ${frames} frames of ${id} [${what}] within ${timeoutMs} ms`));
        }, timeoutMs);
        function check() {
          if (counter.count - start < frames) return;
          clearTimeout(timer);
          counter.listeners.delete(check);
          resolve(counter.count - start);
        }
        counter.listeners.add(check);
      }),
    [consumerId, frames, timeoutMs] as const,
  );
}

/**
 * Resolves once no frame of a watched track was decoded for `quietMs` in a row, and says how many
 * still came in before that (frames already on their way when the sender or the server stopped).
 * Rejects when frames keep coming for `withinMs`: the track did not stop.
 */
export async function waitForNoFrames(page: Page, consumerId: string, quietMs: number, withinMs = 5_000): Promise<{ stragglers: number }> {
  return page.evaluate(
    ([id, quietMs, withinMs]) =>
      new Promise<{ stragglers: number }>((resolve, reject) => {
        const counter = (globalThis as any).frameCounters[id];
        const start = counter.count;
        let quiet: ReturnType<typeof setTimeout>;
        const finish = (fn: () => void) => {
          clearTimeout(quiet);
          clearTimeout(deadline);
          counter.listeners.delete(onFrame);
          fn();
        };
        const arm = () => {
          clearTimeout(quiet);
          quiet = setTimeout(() => finish(() => resolve({ stragglers: counter.count - start })), quietMs);
        };
        const deadline = setTimeout(
          () => finish(() => reject(new Error(`frames of ${id} kept coming for ${withinMs} ms (${counter.count - start} frames)`))),
          withinMs,
        );
        function onFrame() {
          arm();
        }
        counter.listeners.add(onFrame);
        arm();
      }),
    [consumerId, quietMs, withinMs] as const,
  );
}

/** Resolves when the consumer's event log (see `listen`) has `entry`; rejects after the timeout. */
export async function waitForConsumerEvent(page: Page, consumerId: string, entry: string, timeoutMs = 10_000): Promise<string[]> {
  await page.waitForFunction(([id, entry]) => ((globalThis as any).consumerEvents?.[id] ?? []).includes(entry), [consumerId, entry] as const, {
    timeout: timeoutMs,
  });
  return page.evaluate((id) => (globalThis as any).consumerEvents[id], consumerId);
}

/** Waits for the consumer of `producerId` to arrive at `listen`'s callback; returns its id. */
export async function consumerOf(page: Page, producerId: string, timeoutMs = 15_000): Promise<string> {
  const handle = await page.waitForFunction((pid) => (globalThis as any).consumers?.find((c: any) => c.producerId === pid)?.id, producerId, {
    timeout: timeoutMs,
  });
  return (await handle.jsonValue()) as string;
}

/**
 * A second video track that is not the camera (headless Chromium has no getDisplayMedia): a canvas
 * painted 30 times a second, captured. Kept as `window.screenTrack`.
 */
export async function makeScreenTrack(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const ctx = canvas.getContext('2d')!;
    let n = 0;
    w.screenPainter = setInterval(() => {
      ctx.fillStyle = `hsl(${(n * 7) % 360} 60% 50%)`;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = '#fff';
      ctx.fillText(`screen ${n++}`, 20, 40);
    }, 33);
    w.screenTrack = canvas.captureStream(30).getVideoTracks()[0];
  });
}
