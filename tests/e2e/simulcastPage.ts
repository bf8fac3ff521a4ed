// Page-side helpers of the simulcast tests and bench (run in real Chromium through page.evaluate):
// what the sender's encoder reports, and the size of every frame the receiver decodes.
import type { Page } from 'playwright-core';

/** Keeps every RTCPeerConnection the page makes (`window.pcs`), to read the browser's own stats. */
export async function keepPeerConnections(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    if (w.pcs) return;
    w.pcs = [];
    const Native = w.RTCPeerConnection;
    w.RTCPeerConnection = class extends Native {
      constructor(...args: unknown[]) {
        super(...(args as []));
        w.pcs.push(this);
      }
    };
  });
}

export interface OutboundVideo {
  rid: string | undefined;
  frameWidth: number | undefined;
  frameHeight: number | undefined;
  bytesSent: number;
  framesPerSecond: number | undefined;
  qualityLimitationReason: string | undefined;
  qualityLimitationDurations: Record<string, number> | undefined;
  qualityLimitationResolutionChanges: number | undefined;
  encoderImplementation: string | undefined;
  availableOutgoingBitrate: number | undefined;
}

/** The sender's video encodings as its browser reports them (outbound-rtp), with the send bandwidth estimate. */
export async function outboundVideo(page: Page): Promise<OutboundVideo[]> {
  return page.evaluate(async () => {
    const out: any[] = [];
    for (const pc of (globalThis as any).pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      let available: number | undefined;
      stats.forEach((r: any) => {
        if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate) available = r.availableOutgoingBitrate;
      });
      stats.forEach((r: any) => {
        if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
        out.push({
          rid: r.rid,
          frameWidth: r.frameWidth,
          frameHeight: r.frameHeight,
          bytesSent: r.bytesSent,
          framesPerSecond: r.framesPerSecond,
          qualityLimitationReason: r.qualityLimitationReason,
          qualityLimitationDurations: r.qualityLimitationDurations,
          qualityLimitationResolutionChanges: r.qualityLimitationResolutionChanges,
          encoderImplementation: r.encoderImplementation,
          availableOutgoingBitrate: available,
        });
      });
    }
    return out.sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
  });
}

/**
 * The RTP packets the server has sent on consumer `id` (mediasoup's count, through the consumer's
 * `getStats()`). The browser's own count cannot tell: Chrome drops a paused stream's inbound-rtp
 * from its stats, and mediasoup's bandwidth probes arrive on the probator stream meanwhile.
 */
export async function consumerPacketsSent(page: Page, id: string): Promise<number> {
  return page.evaluate(async (id) => {
    const cm = (globalThis as any).consumers.find((c: any) => c.id === id);
    const stats = await cm.getStats();
    if (!stats.server) throw new Error(`no server stats for consumer ${id}`);
    return stats.server.packets as number;
  }, id);
}

/**
 * Reads every decoded frame of consumer `id`'s track for as long as it lives (`window.sizes[id]`:
 * the last frame's size, the frame count, and listeners called on every frame).
 */
export async function watchSizes(page: Page, id: string): Promise<void> {
  await page.evaluate((id) => {
    const w = globalThis as any;
    w.sizes ??= {};
    const cm = w.consumers.find((c: any) => c.id === id);
    if (!cm) throw new Error(`no consumer ${id}`);
    const watch = { width: 0, height: 0, frames: 0, at: 0, listeners: new Set<() => void>() };
    w.sizes[id] = watch;
    void w.testFrames.read(cm.track, (frame: any) => {
      watch.width = frame.displayWidth;
      watch.height = frame.displayHeight;
      watch.frames++;
      watch.at = performance.now();
      for (const l of [...watch.listeners]) l();
    });
  }, id);
}

/**
 * Resolves with the first decoded frame's size (of a watched consumer) for which `test` holds,
 * and how long it took; rejects after `timeoutMs` with the last size seen.
 */
export async function waitForSize(
  page: Page,
  id: string,
  test: string,
  timeoutMs = 30_000,
): Promise<{ width: number; height: number; ms: number }> {
  return page.evaluate(
    ([id, test, timeoutMs]) =>
      new Promise((resolve, reject) => {
        const watch = (globalThis as any).sizes[id];
        const holds = new Function('width', 'height', `return ${test}`) as (w: number, h: number) => boolean;
        const started = performance.now();
        const done = () => {
          clearTimeout(timer);
          watch.listeners.delete(check);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no frame with ${test} within ${timeoutMs} ms (last ${watch.width}x${watch.height}, ${watch.frames} frames)`));
        }, timeoutMs);
        function check() {
          if (!holds(watch.width, watch.height)) return;
          done();
          resolve({ width: watch.width, height: watch.height, ms: performance.now() - started });
        }
        watch.listeners.add(check);
      }),
    [id, test, timeoutMs] as const,
  );
}

/** A canvas track painted 30 times a second, of the given size (`window.canvasTrack`). */
export async function makeCanvasTrack(page: Page, width: number, height: number): Promise<void> {
  await page.evaluate(
    ([width, height]) => {
      const w = globalThis as any;
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d')!;
      let n = 0;
      w.canvasPainter = setInterval(() => {
        ctx.fillStyle = `hsl(${(n * 7) % 360} 60% 50%)`;
        ctx.fillRect(0, 0, width, height);
        ctx.fillStyle = '#fff';
        ctx.fillText(`canvas ${n++}`, 20, 40);
      }, 33);
      w.canvasTrack = canvas.captureStream(30).getVideoTracks()[0];
    },
    [width, height] as const,
  );
}
