// A Node client that sends real, decodable media, for the recording tests under load: our
// signaling over `ws` (tests/server/wsClient.ts) and werift for ICE, DTLS and SRTP, as
// bench/scalePeer.ts does, but its RTP carries a real VP8 picture and real Opus sound (encoded
// once by ffmpeg, then looped), so that what the server records can be decoded and measured.
//
// Like a browser it answers a keyframe request (PLI) with a keyframe: the next frame is sent from
// an all-keyframe encoding of the same clip; and a paused producer stops sending. `losePicture()`
// skips one picture, as a frame lost on the way would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTCPeerConnection, RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift';
import { TestSocket } from '../server/wsClient.js';
import { AUDIO_PT, VIDEO_PT, answerSdp, pcConfig } from '../support/weriftPeer.js';

type Json = Record<string, any>;
export type Kind = 'video' | 'audio';

const FPS = 30;
const CLIP_SECONDS = 4;
const PACKET_BYTES = 1100;
/** Opus frames of 20 ms, 960 samples at 48 kHz. */
const AUDIO_PTIME_MS = 20;

export interface TestMedia {
  /** VP8 frames; the first is the only keyframe. */
  video: Buffer[];
  /** The same pictures, every one a keyframe. */
  keyframes: Buffer[];
  /** Opus packets of 20 ms. */
  audio: Buffer[];
}

let media: TestMedia | undefined;

/** The clip, encoded once per process: a moving test pattern and a tone. */
export function testMedia(): TestMedia {
  if (media) return media;
  const dir = mkdtempSync(join(tmpdir(), 'media-infra-clip-'));
  const vp8 = (name: string, gop: number) => {
    const out = join(dir, name);
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=${FPS}`, '-t', String(CLIP_SECONDS), '-c:v', 'libvpx', '-deadline', 'realtime',
      '-cpu-used', '8', '-b:v', '300k', '-g', String(gop), '-auto-alt-ref', '0', '-lag-in-frames', '0', '-f', 'ivf', '-y', out]);
    return ivfFrames(readFileSync(out));
  };
  const ogg = join(dir, 'tone.ogg');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(CLIP_SECONDS), '-c:a', 'libopus', '-ac', '2',
    '-frame_duration', String(AUDIO_PTIME_MS), '-f', 'ogg', '-y', ogg]);
  media = { video: vp8('clip.ivf', 10_000), keyframes: vp8('keys.ivf', 1), audio: oggPackets(readFileSync(ogg)).slice(2) };
  return media;
}

/** IVF: a 32-byte header, then per frame a 12-byte header (size LE32, pts LE64) and the frame. */
function ivfFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = data.readUInt16LE(6); at + 12 <= data.length; ) {
    const size = data.readUInt32LE(at);
    frames.push(data.subarray(at + 12, at + 12 + size));
    at += 12 + size;
  }
  return frames;
}

/** Ogg pages' segments joined into packets (a segment shorter than 255 ends a packet). */
function oggPackets(data: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let current: Buffer[] = [];
  for (let at = 0; at + 27 <= data.length; ) {
    const segments = data.readUInt8(at + 26);
    const lacing = data.subarray(at + 27, at + 27 + segments);
    let body = at + 27 + segments;
    for (const len of lacing) {
      current.push(data.subarray(body, body + len));
      body += len;
      if (len < 255) {
        packets.push(Buffer.concat(current));
        current = [];
      }
    }
    at = body;
  }
  return packets;
}

function connected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') (unSubscribe(), resolve());
      else if (state === 'failed' || state === 'closed') (unSubscribe(), reject(new Error(`WebRTC ${state}`)));
    });
  });
}

/** A track being sent: its producer id, and whether it sends (not paused). */
interface Sending {
  producerId: string;
  paused: boolean;
  timer: NodeJS.Timeout;
  /** Pictures to skip (video): their number goes by, nothing is sent. */
  lose: number;
}

export class MediaPeer {
  private pc: RTCPeerConnection | undefined;
  readonly tracks = new Map<Kind, Sending>();

  private constructor(readonly socket: TestSocket) {}

  /** Signaling open and joined, then a send transport with a VP8 and an Opus producer, sending. */
  static async produce(url: string, token: string): Promise<MediaPeer> {
    // Encoded first (synchronously, once): never while a request waits for its answer.
    testMedia();
    const { socket, welcome } = await TestSocket.welcomed(url, token);
    const codecs = (welcome.data.routerRtpCapabilities as Json)['codecs'] as Json[];
    await socket.ok('join', { rtpCapabilities: { codecs: codecs.filter((c) => ['audio/opus', 'video/vp8'].includes(String(c['mimeType']).toLowerCase())), headerExtensions: [] } });
    const peer = new MediaPeer(socket);
    await peer.connect();
    return peer;
  }

  private async connect(): Promise<void> {
    const t = await this.socket.ok<Json>('createTransport', { direction: 'send' });
    const pc = (this.pc = new RTCPeerConnection(pcConfig()));
    const [video, audio] = [pc.addTransceiver('video', { direction: 'sendonly' }), pc.addTransceiver('audio', { direction: 'sendonly' })];
    await pc.setLocalDescription(await pc.createOffer());
    const fingerprint = /a=fingerprint:(\S+) (\S+)/.exec(pc.localDescription!.sdp);
    if (!fingerprint) throw new Error('no fingerprint in the offer');
    await this.socket.ok('connectTransport', { transportId: t['id'], dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fingerprint[1], value: fingerprint[2] }] } });
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, [{ mid: video.mid ?? '0', kind: 'video' }, { mid: audio.mid ?? '1', kind: 'audio' }], 'recvonly') });
    await connected(pc);
    for (const [kind, tr] of [['video', video], ['audio', audio]] as const) {
      const codec = kind === 'video'
        ? { mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }
        : { mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] };
      const { producerId } = await this.socket.ok<{ producerId: string }>('produce', {
        transportId: t['id'],
        kind,
        rtpParameters: { mid: tr.mid, codecs: [codec], headerExtensions: [], encodings: [{ ssrc: tr.sender.ssrc }], rtcp: { cname: `rec-${tr.sender.ssrc}`, reducedSize: true } },
      });
      this.tracks.set(kind, { producerId, paused: false, lose: 0, timer: kind === 'video' ? this.sendVideo(tr) : this.sendAudio(tr) });
    }
  }

  producerId(kind: Kind): string {
    return this.tracks.get(kind)!.producerId;
  }

  /** Pauses the producer on the server, and stops sending (as a browser's pause() does). */
  async pause(kind: Kind): Promise<void> {
    this.setSending(kind, false);
    await this.socket.ok('pauseProducer', { producerId: this.producerId(kind) });
  }

  async resume(kind: Kind): Promise<void> {
    await this.socket.ok('resumeProducer', { producerId: this.producerId(kind) });
    this.setSending(kind, true);
  }

  /** Sending on or off, for a caller that pauses and resumes the producer with requests of its own. */
  setSending(kind: Kind, on: boolean): void {
    this.tracks.get(kind)!.paused = !on;
  }

  /**
   * The next video picture is not sent, but counted: the receiver sees a gap in the VP8 picture ids
   * (not in the RTP sequence numbers, so nobody retransmits it), and can decode nothing after it until
   * a keyframe, which this peer sends only when asked.
   */
  losePicture(): void {
    this.tracks.get('video')!.lose += 1;
  }

  private sendVideo(tr: RTCRtpTransceiver): NodeJS.Timeout {
    const { video, keyframes } = testMedia();
    let n = 0;
    let seq = 0;
    let keyframeAsked = false;
    tr.sender.onPictureLossIndication.subscribe(() => (keyframeAsked = true));
    // Timestamps from the clock, as a camera's: a paused stretch is a gap, not squeezed out.
    const t0 = performance.now();
    return setInterval(() => {
      const track = this.tracks.get('video');
      if (track?.paused) return;
      if (track && track.lose > 0) {
        track.lose -= 1;
        n += 1;
        return;
      }
      // The clip's first frame is its only keyframe: looped, the others follow on from the last one,
      // so that keyframes come only when asked, as a browser's do.
      const i = n < video.length ? n : 1 + ((n - 1) % (video.length - 1));
      const frame = keyframeAsked ? keyframes[i]! : video[i]!;
      keyframeAsked = false;
      const timestamp = Math.round(((performance.now() - t0) * 90000) / 1000) >>> 0;
      for (let at = 0, part = 0; at < frame.length; at += PACKET_BYTES, part++) {
        // VP8 payload descriptor (RFC 7741): X, S on the first packet, PID 0; I with a 15-bit picture id.
        const descriptor = Buffer.from([0x80 | (part === 0 ? 0x10 : 0), 0x80, 0x80 | ((n >> 8) & 0x7f), n & 0xff]);
        const chunk = frame.subarray(at, at + PACKET_BYTES);
        const header = new RtpHeader({ payloadType: VIDEO_PT, sequenceNumber: seq, timestamp, marker: at + PACKET_BYTES >= frame.length });
        void tr.sender.sendRtp(new RtpPacket(header, Buffer.concat([descriptor, chunk])));
        seq = (seq + 1) & 0xffff;
      }
      n += 1;
    }, 1000 / FPS);
  }

  private sendAudio(tr: RTCRtpTransceiver): NodeJS.Timeout {
    const { audio } = testMedia();
    let due = 0;
    let seq = 0;
    const t0 = performance.now();
    // A late timer (a busy machine) sends what is due at once, so the sound keeps to the clock.
    return setInterval(() => {
      const now = Math.floor((performance.now() - t0) / AUDIO_PTIME_MS);
      if (this.tracks.get('audio')?.paused) due = now;
      for (; due < now; due++, seq++) {
        const header = new RtpHeader({ payloadType: AUDIO_PT, sequenceNumber: seq & 0xffff, timestamp: (due * 960) >>> 0 });
        void tr.sender.sendRtp(new RtpPacket(header, audio[due % audio.length]!));
      }
    }, AUDIO_PTIME_MS);
  }

  /** Stops sending; `leave`, then the PeerConnection. */
  async close(): Promise<void> {
    for (const t of this.tracks.values()) clearInterval(t.timer);
    await this.socket.ok('leave').catch(() => undefined);
    this.socket.ws.terminate();
    await this.pc?.close().catch(() => undefined);
  }
}
