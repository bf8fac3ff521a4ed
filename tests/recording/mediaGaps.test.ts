// Gaps in a recording's media that once ended it without a word: a lost picture (ffmpeg drops every
// frame after it until a keyframe, and wrote no progress meanwhile, so none was asked for: the file
// kept what came before, marked finished), and a producer paused for longer than ffmpeg's default
// 10 s wait for packets (ffmpeg gave up). Real server, werift peers sending real VP8 and Opus.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { defaults } from '../../src/client/defaults.js';
import { probe } from '../support/ffprobe.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { MediaPeer } from './mediaPeer.js';

/** Recorded before and after the gap: the file's content. */
const BEFORE_MS = 2_000;
const AFTER_MS = 5_000;
/** Longer than the SDP demuxer's default `listen_timeout` (10 s). */
const PAUSED_MS = 11_000;

// Concurrent: the lost picture is recorded while the other producer's pause goes by.
/** startRecord / stopRecord with the bound a real client gives them (the recorder takes seconds on a busy server). */
async function record(peer: MediaPeer, method: 'startRecord' | 'stopRecord', producerId: string): Promise<{ path: string }> {
  const res = await peer.socket.requestText(method, JSON.stringify({ producerId }), defaults.recordingTimeout);
  if (!res.ok) throw new Error(`${method} failed: ${res.error.code} ${res.error.message}`);
  return res.data as { path: string };
}

describe.concurrent('a recording across a gap in its media', () => {
  let server: ServerProcess;
  const peers: MediaPeer[] = [];
  beforeAll(async () => {
    server = await startServerProcess();
    for (const user of ['lossy', 'paused']) {
      const t = await server.connect('gaps', user);
      peers.push(await MediaPeer.produce(t.url, t.token));
    }
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await server?.stop();
  });

  it('goes on after a lost picture: a keyframe is asked for, the file holds the whole time', async ({ expect }) => {
    const peer = peers[0]!;
    const producerId = peer.producerId('video');
    await record(peer, 'startRecord', producerId);
    const from = performance.now();
    await new Promise((r) => setTimeout(r, BEFORE_MS)); // content before the loss
    peer.losePicture();
    await new Promise((r) => setTimeout(r, AFTER_MS)); // content after it
    const between = (performance.now() - from) / 1000;
    const { path } = await record(peer, 'stopRecord', producerId);
    expect(server.logs()).toMatch(/packets sent but no frame written: asking for a keyframe/);
    const p = probe(path);
    expect(p.duration, `${p.duration} s recorded of ${between.toFixed(1)} s`).toBeGreaterThan(between * 0.9);
  });

  it(`records a producer paused for ${PAUSED_MS / 1000} s before its first media`, async ({ expect }) => {
    const peer = peers[1]!;
    await peer.pause('video');
    const producerId = peer.producerId('video');
    await record(peer, 'startRecord', producerId);
    await new Promise((r) => setTimeout(r, PAUSED_MS)); // the pause being recorded through, not a race
    await peer.resume('video');
    const from = performance.now();
    await new Promise((r) => setTimeout(r, BEFORE_MS)); // content after the resume
    const between = (performance.now() - from) / 1000;
    const { path } = await record(peer, 'stopRecord', producerId);
    const p = probe(path);
    expect(p.frames).toBeGreaterThan(0);
    expect(p.duration).toBeGreaterThan(between * 0.8);
  });
});
