// What ffprobe says of a recorded file: it decodes (every frame is read, not just the header) and
// how long it lasts.
import { execFileSync } from 'node:child_process';

export interface Probe {
  duration: number;
  /** Frames decoded from the first stream. */
  frames: number;
  codec: string;
}

export function probe(path: string): Probe {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'format=duration:stream=codec_name,nb_read_frames', '-of', 'json', path]).toString();
  const j = JSON.parse(out) as { format: { duration: string }; streams: Array<{ nb_read_frames: string; codec_name: string }> };
  const stream = j.streams[0];
  if (!stream) throw new Error(`${path} has no stream`);
  return { duration: Number(j.format.duration), frames: Number(stream.nb_read_frames), codec: stream.codec_name };
}
