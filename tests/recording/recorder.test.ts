// The recorder against a real mediasoup worker and real ffmpeg: an ffmpeg test source produces RTP
// into the router (as a browser would), the recorder writes it to a file, ffprobe checks the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadMediasoup } from '../../src/server/mr/mediasoupLoader.js';
import { Recording } from '../../src/server/mr/recorder.js';
import { probe } from '../support/ffprobe.js';
import type { types as ms } from 'mediasoup';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'media-infra-rec-'));

/**
 * An RTP source like a browser's: ffmpeg encodes a test pattern or a tone and sends it to the router.
 * It ignores keyframe requests (a browser honours them), so its keyframes come often instead.
 */
/** What a source reports having sent: frames (audio: 20 ms frames) and the time they span (s). */
interface Sent {
  frames: number;
  seconds: number;
}

async function testSource(router: ms.Router, kind: 'video' | 'audio'): Promise<{ producer: ms.Producer; proc: ChildProcess; sent: () => Sent }> {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const [pt, ssrc, mimeType, clockRate] = kind === 'video' ? [101, 2222, 'video/VP8', 90000] : [100, 1111, 'audio/opus', 48000];
  const producer = await transport.produce({
    kind,
    rtpParameters: { codecs: [{ mimeType, payloadType: pt, clockRate, ...(kind === 'audio' && { channels: 2 }) }], encodings: [{ ssrc }] },
  });
  const input = kind === 'video'
    ? ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '10', '-an']
    : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:a', 'libopus', '-ac', '2', '-ar', '48000', '-vn'];
  // Video timestamps from the wall clock, as a browser's capture clock: an encoder slowed down by a
  // busy machine sends fewer frames, not a shorter stretch of time.
  const clock = kind === 'video' ? ['-use_wallclock_as_timestamps', '1'] : [];
  // Its own progress reports say how many frames it has sent (audio: 20 ms frames of its output time).
  const proc = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-progress', 'pipe:1', '-stats_period', '0.1', '-re', ...clock, ...input, ...(kind === 'video' ? ['-fps_mode', 'passthrough'] : []), '-f', 'rtp', '-payload_type', String(pt), '-ssrc', String(ssrc),
    `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple!.localPort}&pkt_size=1200`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const sent: Sent = { frames: 0, seconds: 0 };
  proc.stdout!.setEncoding('utf8').on('data', (text: string) => {
    for (const [, key, value] of text.matchAll(/^(frame|out_time_us)=(\d+)$/gm)) {
      if (key === 'frame') sent.frames = Number(value);
      else {
        sent.seconds = Number(value) / 1e6;
        if (kind === 'audio') sent.frames = Math.floor(Number(value) / 20_000);
      }
    }
  });
  // Wait for media to actually reach the router before recording starts.
  await expect.poll(async () => (await producer.getStats()).some((s) => s.packetCount > 0), { timeout: 10_000, interval: 50 }).toBe(true);
  return { producer, proc, sent: () => ({ ...sent }) };
}

describe('Recording', () => {
  let worker: ms.Worker;
  let router: ms.Router;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    const mediasoup = await loadMediasoup();
    worker = await mediasoup.createWorker({ logLevel: 'error' });
    router = await worker.createRouter({
      mediaCodecs: [
        { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
        { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
      ],
    });
  });
  afterAll(() => {
    procs.forEach((p) => p.kill('SIGKILL'));
    worker?.close();
  });

  it.each(['video', 'audio'] as const)('records 5 s of %s to a playable file of 5 s', async (kind) => {
    const { producer, proc, sent } = await testSource(router, kind);
    procs.push(proc);
    const rec = await Recording.start({ router, producer, id: `five-${kind}`, dir, logger });
    const started = Date.now();
    const sentBefore = sent();
    await new Promise((r) => setTimeout(r, 5_000 - (Date.now() - started))); // the length being recorded, not a race
    const sentAfter = sent();
    const sentBetween = { frames: sentAfter.frames - sentBefore.frames, seconds: sentAfter.seconds - sentBefore.seconds };
    const result = await rec.stop();
    expect(result.state, result.reason).toBe('finished');
    expect(result.bytes).toBeGreaterThan(1000);
    const p = probe(rec.path);
    expect(p.codec).toBe(kind === 'video' ? 'vp8' : 'opus');
    // Everything the source sent between the calls is in the file, frames and the time they span
    // (as the source reports them, every 0.1 s: on a busy machine it sends less than 5 s at 30 fps).
    expect(p.duration).toBeGreaterThan(sentBetween.seconds * 0.9);
    expect(p.duration).toBeLessThan(sentBetween.seconds * 1.1 + 0.2);
    expect(p.frames).toBeGreaterThanOrEqual(Math.floor(sentBetween.frames * 0.9));
    expect(sentBetween.seconds).toBeGreaterThan(2); // the source did send
    proc.kill('SIGKILL');
    producer.close();
  });

  it.each(['video', 'audio'] as const)('a %s recording stopped after half a second is still finalized and playable', async (kind) => {
    const { producer, proc } = await testSource(router, kind);
    procs.push(proc);
    const rec = await Recording.start({ router, producer, id: `short-${kind}`, dir, logger });
    await new Promise((r) => setTimeout(r, 500)); // the length being recorded, not a race
    const result = await rec.stop();
    expect(result, result.reason).toMatchObject({ state: 'finished' });
    expect(probe(rec.path).frames).toBeGreaterThan(0);
    proc.kill('SIGKILL');
    producer.close();
  });

  it('starts again on new ports when ffmpeg cannot bind its first ones', async () => {
    // An ffmpeg that fails once the way a taken port makes it fail, then is the real one.
    const marker = join(dir, 'failed-once');
    const flaky = join(dir, 'flaky-ffmpeg.sh');
    writeFileSync(flaky, `#!/bin/sh\nif [ ! -e '${marker}' ]; then touch '${marker}'; echo 'bind failed: Address already in use' >&2; exit 1; fi\nexec ffmpeg "$@"\n`);
    chmodSync(flaky, 0o755);
    const { producer, proc } = await testSource(router, 'audio');
    procs.push(proc);
    const rec = await Recording.start({ router, producer, id: 'retried', dir, logger, ffmpegPath: flaky });
    expect(existsSync(marker)).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // the length being recorded, not a race
    expect(await rec.stop()).toMatchObject({ state: 'finished' });
    expect(probe(rec.path).frames).toBeGreaterThan(0);
    proc.kill('SIGKILL');
    producer.close();
  });

  it('ends finalized when its producer closes', async () => {
    const { producer, proc } = await testSource(router, 'video');
    procs.push(proc);
    const rec = await Recording.start({ router, producer, id: 'producer-closes', dir, logger });
    await new Promise((r) => setTimeout(r, 2_000)); // two seconds of media to finalize
    producer.close();
    const result = await rec.ended;
    expect(result.state, result.reason).toBe('finished');
    expect(probe(rec.path).frames).toBeGreaterThan(0);
    proc.kill('SIGKILL');
  });

  it('is marked failed when its ffmpeg dies', async () => {
    const { producer, proc } = await testSource(router, 'audio');
    procs.push(proc);
    const rec = await Recording.start({ router, producer, id: 'ffmpeg-dies', dir, logger });
    process.kill(rec.pid!, 'SIGKILL');
    const result = await rec.ended;
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(/ffmpeg died/);
    // Stopping a failed recording does not pretend it finished.
    expect((await rec.stop()).state).toBe('failed');
    proc.kill('SIGKILL');
    producer.close();
  });
});
