// What a finished recording must be: a file that decodes, and whose frames cover the time media
// was sent to it. ffmpeg writes what it receives without decoding it, so this is the only check
// that the file holds what was recorded.
import { execFile } from 'node:child_process';

/** Frames decoded at the start of the file to call it playable (decoding a whole hour would cost minutes of CPU). */
const PROBE_FRAMES = 30;
/**
 * A stretch longer than this between two frames is a hole in the file, not covered time (s). Not
 * less: a sender starved of CPU sends a frame every few seconds, and those seconds were sent, so
 * they count on both sides; a file whose frames stopped has one hole to its end.
 */
const MAX_FRAME_GAP_S = 5;
/**
 * A file must cover at least this share of the time media was sent to it. Not all of it: that time
 * is counted in whole seconds of the worker's counters and begins before the first frame is
 * written, so a good short recording can measure some hundreds of ms short; a file that lost its
 * frames (the fault this catches: one keyframe, then nothing, for 9 s) covers next to none of it.
 */
export const MIN_COVERAGE = 0.5;

export interface FileMedia {
  /** Frames decoded from the start of the file (at most PROBE_FRAMES). */
  decoded: number;
  /** Frames in the file (packets: with -c copy one per frame). */
  frames: number;
  /** Time the frames cover (ms): the gaps between consecutive frames, holes longer than MAX_FRAME_GAP_S left out. */
  coveredMs: number;
}

/** How much of the file decodes, its frames and the time they cover; or why it does not decode. */
export async function probeRecording(ffprobe: string, path: string, timeoutMs: number): Promise<FileMedia | string> {
  const [decoded, packets] = await Promise.all([
    run(ffprobe, ['-v', 'error', '-count_frames', '-read_intervals', `%+#${PROBE_FRAMES}`, '-show_entries', 'stream=nb_read_frames', '-of', 'json', path], timeoutMs),
    // Demuxed only (no decoding): the timestamp of every frame in the file.
    run(ffprobe, ['-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path], timeoutMs),
  ]);
  if (typeof decoded !== 'object') return decoded;
  if (typeof packets !== 'object') return packets;
  const streams = (JSON.parse(decoded.stdout) as { streams?: Array<{ nb_read_frames?: string }> }).streams ?? [];
  const times = packets.stdout.split('\n').map(Number.parseFloat).filter(Number.isFinite).sort((a, b) => a - b);
  return { decoded: Number(streams[0]?.nb_read_frames ?? 0), frames: times.length, coveredMs: coveredMs(times) };
}

/** The time frames at `times` (s, sorted) cover, holes left out (ms). */
export function coveredMs(times: number[]): number {
  let covered = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap <= MAX_FRAME_GAP_S) covered += gap;
  }
  return covered * 1000;
}

/** Why a file of `media` does not hold `flowingMs` of media sent to it, or undefined if it does. */
export function coverageShortfall(media: FileMedia, flow: { flowingMs: number; packets: number }): string | undefined {
  if (media.coveredMs >= MIN_COVERAGE * flow.flowingMs) return undefined;
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return `the file covers ${s(media.coveredMs)} s of the ${s(flow.flowingMs)} s of media sent to it (${media.frames} frames written from ${flow.packets} RTP packets)`;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ stdout: string } | string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) resolve(`the file does not decode: ${(stderr.trim().split('\n').pop() || err.message).slice(0, 200)}`);
      else resolve({ stdout });
    });
  });
}
