// What a recording of each codec is written as: no transcoding, the codec's natural container, and
// the SDP that tells ffmpeg what arrives on its port.
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import { ErrorCode } from '../../protocol/codes.js';
import { MediaError } from './errors.js';

export interface RecordingFormat {
  ext: string;
  muxer: string;
  /** Flushed as written (clusters of half a second, Ogg pages of a tenth): a file cut by kill -9 decodes up to the cut. */
  flush: string[];
  rtpmap: string;
  fmtp?: (p: Record<string, unknown>) => string;
}

const matroskaFlush = ['-cluster_time_limit', '500'];
const formats: Record<string, RecordingFormat> = {
  'video/vp8': { ext: 'webm', muxer: 'webm', flush: matroskaFlush, rtpmap: 'VP8/90000' },
  'video/vp9': { ext: 'webm', muxer: 'webm', flush: matroskaFlush, rtpmap: 'VP9/90000' },
  'video/h264': {
    ext: 'mkv',
    muxer: 'matroska',
    flush: matroskaFlush,
    rtpmap: 'H264/90000',
    fmtp: (p) => `packetization-mode=${p['packetization-mode'] ?? 1};profile-level-id=${p['profile-level-id'] ?? '42e01f'}`,
  },
  'audio/opus': { ext: 'ogg', muxer: 'ogg', flush: ['-page_duration', '100000'], rtpmap: 'opus/48000/2', fmtp: () => 'minptime=10;useinbandfec=1' },
};

/** The producer's codec and how it is recorded (UNSUPPORTED_CODEC if it cannot be). */
export function formatOf(producer: ms.Producer): { mime: string; format: RecordingFormat } {
  const mime = producer.rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? '';
  const format = formats[mime];
  if (!format) throw new MediaError(ErrorCode.UNSUPPORTED_CODEC, `cannot record codec ${mime}`);
  return { mime, format };
}

/** The file a recording of `producer` is written to (UNSUPPORTED_CODEC if it cannot be recorded). */
export function recordingPath(dir: string, id: string, producer: ms.Producer): string {
  return join(dir, `${id}.${formatOf(producer).format.ext}`);
}

/** ffmpeg's input: one RTP stream on `rtpPort` (RTCP on `rtcpPort`), as the recording consumer sends it. */
export function recordingSdp(id: string, kind: ms.MediaKind, format: RecordingFormat, consumed: ms.RtpCodecParameters, rtpPort: number, rtcpPort: number): string {
  const pt = consumed.payloadType;
  const fmtp = format.fmtp ? `a=fmtp:${pt} ${format.fmtp(consumed.parameters ?? {})}\n` : '';
  return (
    `v=0\no=- 0 0 IN IP4 127.0.0.1\ns=media-infra ${id}\nc=IN IP4 127.0.0.1\nt=0 0\n` +
    `m=${kind} ${rtpPort} RTP/AVP ${pt}\na=rtcp:${rtcpPort}\na=rtpmap:${pt} ${format.rtpmap}\n${fmtp}a=recvonly\n`
  );
}
