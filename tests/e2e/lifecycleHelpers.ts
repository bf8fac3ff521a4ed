// Shared set-up of the producer/consumer lifecycle tests (lifecycle, isolation, producerPaths):
// a producing page A and a listening page B in one room, and the in-page instruments they read.
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { openClientPage } from '../support/browser.js';
import type { ServerProcess } from '../support/server.js';
import { consumerOf, createClient, listen, waitForFrames, waitForState } from './pageHelpers.js';

/** One frame on the socket, as `trace` reports it. */
export interface WireEntry {
  dir: 'in' | 'out';
  type: string;
  id?: number;
  method?: string;
  ok?: boolean;
  code?: string;
}

/** What a traced call did: how it settled, and every socket frame between the call and then. */
export interface Traced<T = unknown> {
  ok: boolean;
  value?: T;
  name?: string;
  code?: string;
  message?: string;
  wire: WireEntry[];
}

/**
 * Keeps every RTCPeerConnection the client creates (`window.pcs`), so the receiving page can read
 * the packets that really arrived for a track (`inbound-rtp` stats): instrumentation of the page,
 * not of the client. Must run before `createClient`.
 */
async function instrument(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    w.pcs = [];
    const Native = w.RTCPeerConnection;
    w.RTCPeerConnection = class extends Native {
      constructor(...args: unknown[]) {
        super(...(args as []));
        w.pcs.push(this);
      }
    };
    /** Runs `call()` and says how it settled and which socket frames went both ways meanwhile. */
    w.trace = async (call: () => Promise<unknown>) => {
      const from = w.wire.length;
      let outcome: Record<string, unknown>;
      try {
        outcome = { ok: true, value: await call() };
      } catch (e: any) {
        outcome = { ok: false, name: e?.name, code: e?.code, message: e?.message };
      }
      const wire = w.wire.slice(from).map(({ dir, frame }: any) => ({
        dir,
        type: frame.type,
        id: frame.id,
        method: frame.method,
        ok: frame.ok,
        code: frame.error?.code,
      }));
      return { ...outcome, wire };
    };
  });
}

export async function clientPage(browser: Browser, server: ServerProcess, roomId: string, userId: string): Promise<Page> {
  const { page, consoleLines } = await openClientPage(browser, server.httpUrl);
  (page as Page & { consoleLines?: string[] }).consoleLines = consoleLines;
  await instrument(page);
  const t = await server.connect(roomId, userId);
  await createClient(page, t.url, t.token);
  await waitForState(page, 'connected');
  return page;
}

/** Page A (`userA`) and page B (`userB`, listening) connected in `roomId`. */
export async function pair(browser: Browser, server: ServerProcess, roomId: string, userA = 'alice', userB = 'bob'): Promise<{ a: Page; b: Page }> {
  const [a, b] = await Promise.all([clientPage(browser, server, roomId, userA), clientPage(browser, server, roomId, userB)]);
  await listen(b);
  return { a, b };
}

/**
 * The request/response pair of `method` in a traced call: the request went out and the server's
 * answer came back before the call settled.
 */
export function answered(traced: Traced, method: string): WireEntry | undefined {
  const request = traced.wire.find((e) => e.dir === 'out' && e.type === 'request' && e.method === method);
  if (!request) return undefined;
  return traced.wire.find((e) => e.dir === 'in' && e.type === 'response' && e.id === request.id);
}

/** How many requests of `method` a traced call sent. */
export function sent(traced: Traced, method: string): number {
  return traced.wire.filter((e) => e.dir === 'out' && e.type === 'request' && e.method === method).length;
}

/** RTP packets received so far for a consumer's track (its inbound-rtp stats in B's page). */
export async function packetsReceived(page: Page, consumerId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const w = globalThis as any;
    const cm = w.consumers.find((c: any) => c.id === id);
    let packets = 0;
    for (const pc of w.pcs) {
      const stats: Map<string, any> = await pc.getStats();
      for (const s of stats.values()) if (s.type === 'inbound-rtp' && s.trackIdentifier === cm.track.id) packets += s.packetsReceived ?? 0;
    }
    return packets;
  }, consumerId);
}

/**
 * Counts a watched track's frames (see `watchFrames`) and its RTP packets over a window of
 * `windowMs`. Used only to show that nothing arrives: the window is the claim itself ("no frame for
 * this long"), and it starts only after the pause was confirmed and the frames already on their way
 * were drained, so it hides no race.
 */
export async function framesAndPacketsOver(page: Page, consumerId: string, windowMs: number): Promise<{ frames: number; packets: number }> {
  const packetsBefore = await packetsReceived(page, consumerId);
  const frames = await page.evaluate(
    ([id, windowMs]) =>
      new Promise<number>((resolve) => {
        const counter = (globalThis as any).frameCounters[id];
        const start = counter.count;
        setTimeout(() => resolve(counter.count - start), windowMs);
      }),
    [consumerId, windowMs] as const,
  );
  return { frames, packets: (await packetsReceived(page, consumerId)) - packetsBefore };
}

/** The consumer in B of each of A's producers, in A's order. */
export async function consumersOfProducers(a: Page, b: Page): Promise<string[]> {
  const ids: string[] = await a.evaluate(() => (globalThis as any).producers.map((p: any) => p.id));
  return Promise.all(ids.map((id) => consumerOf(b, id)));
}

/** Key frames A's encoder has produced so far for the track of its producer `producerId`. */
export async function keyFramesSent(page: Page, producerId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const w = globalThis as any;
    const p = w.producers.find((x: any) => x.id === id);
    let frames = 0;
    for (const pc of w.pcs) {
      const stats: Map<string, any> = await pc.getStats();
      const sources = new Set([...stats.values()].filter((s) => s.type === 'media-source' && s.trackIdentifier === p.track.id).map((s) => s.id));
      for (const s of stats.values()) if (s.type === 'outbound-rtp' && sources.has(s.mediaSourceId)) frames += s.keyFramesEncoded ?? 0;
    }
    return frames;
  }, producerId);
}

/**
 * Resolves once a recording of A's video producer has media to write: the recorder asks for a key
 * frame when it starts (and the router when a paused producer resumes), so A's encoder sends one
 * more key frame than `keyFramesBefore` (counted before the call), and B then decodes frames after
 * it, forwarded by the same router that feeds the recorder. Without a key frame ffmpeg cannot even
 * write the file's header, and stopping then ends the recording 'failed'.
 */
export async function recordingHasMedia(a: Page, b: Page, producerId: string, consumerId: string, keyFramesBefore: number): Promise<void> {
  await expect.poll(() => keyFramesSent(a, producerId), { timeout: 10_000, interval: 50 }).toBeGreaterThan(keyFramesBefore);
  await waitForFrames(b, consumerId, 5);
}
