// The rule that makes a recording `finished`: its file decodes and its frames cover at least half
// of the time media was sent to it. Real files made by ffmpeg, read by the real ffprobe.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coveredMs, coverageShortfall, MIN_COVERAGE, probeRecording } from '../../src/server/mr/recordingProbe.js';

const dir = mkdtempSync(join(tmpdir(), 'media-infra-probe-'));

/** A VP8 WebM of `frames` frames at 30 fps, as the recorder's ffmpeg writes one (no transcoding there; here a test pattern). */
function webm(name: string, frames: number): string {
  const path = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30', '-frames:v', String(frames), '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-f', 'webm', '-y', path]);
  return path;
}

describe('recording probe', () => {
  it('counts the time between frames, leaving out holes of more than 5 s', () => {
    const thirtyFps = Array.from({ length: 151 }, (_, i) => i / 30);
    expect(coveredMs(thirtyFps)).toBeCloseTo(5_000, 0);
    // A paused stretch of 6 s in the middle is not covered time; a frame every 4 s (a starved sender) is.
    expect(coveredMs([...thirtyFps, ...thirtyFps.map((t) => t + 11)])).toBeCloseTo(10_000, 0);
    expect(coveredMs([0, 4, 8, 12])).toBe(12_000);
    expect(coveredMs([4.2])).toBe(0);
    expect(coveredMs([])).toBe(0);
  });

  it('a file of 5 s of frames covers 5 s of media sent: finished', async () => {
    const file = await probeRecording('ffprobe', webm('five.webm', 150), 20_000);
    expect(file).toMatchObject({ decoded: 30, frames: 150 });
    if (typeof file === 'string') return;
    expect(file.coveredMs).toBeGreaterThan(4_900);
    expect(coverageShortfall(file, { flowingMs: 5_000, packets: 600 })).toBeUndefined();
    // Half is the bound: the same file against twice its length (with a little to spare) is short.
    expect(coverageShortfall(file, { flowingMs: file.coveredMs / MIN_COVERAGE - 1, packets: 600 })).toBeUndefined();
    expect(coverageShortfall(file, { flowingMs: file.coveredMs / MIN_COVERAGE + 1, packets: 600 })).toMatch(/^the file covers 5\.0 s of the 9\.9 s of media sent to it \(150 frames written from 600 RTP packets\)$/);
  });

  it('a file that kept only its first keyframe of 9 s sent is short, and says so', async () => {
    const file = await probeRecording('ffprobe', webm('one.webm', 1), 20_000);
    expect(file).toMatchObject({ decoded: 1, frames: 1, coveredMs: 0 });
    if (typeof file === 'string') return;
    expect(coverageShortfall(file, { flowingMs: 9_000, packets: 1_200 })).toBe('the file covers 0.0 s of the 9.0 s of media sent to it (1 frames written from 1200 RTP packets)');
  });

  it('a file that does not decode says why', async () => {
    const path = join(dir, 'garbage.webm');
    writeFileSync(path, Buffer.alloc(4096, 7));
    expect(await probeRecording('ffprobe', path, 20_000)).toMatch(/^the file does not decode: /);
  });
});
