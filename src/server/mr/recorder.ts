// One recording of one producer: a PlainTransport consumer sends the producer's RTP to an ffmpeg
// process that writes it, without re-encoding, into the codec's natural container.
//
// Order matters so the file starts decodable and nothing is lost: ffmpeg is started first and we
// wait until it has bound its UDP ports (read from /proc/net/udp, not guessed with a delay), then
// the consumer (created paused) is resumed and a keyframe requested.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { types as ms } from 'mediasoup';
import { ErrorCode } from '../../protocol/codes.js';
import { MediaError } from './errors.js';

export type RecordingState = 'recording' | 'finished' | 'failed';

export interface RecordingResult {
  state: 'finished' | 'failed';
  endedAt: Date;
  bytes: number;
  /** Why a recording failed, for logs and the API (no paths of secrets, no stacks). */
  reason?: string;
}

export interface StartRecordingOptions {
  router: ms.Router;
  producer: ms.Producer;
  /** Unique id of this recording (also the file's base name, so two never collide). */
  id: string;
  dir: string;
  logger: Logger;
  ffmpegPath?: string;
}

/** Container and SDP lines per codec: no transcoding, the codec's natural container. */
const formats: Record<string, { ext: string; muxer: string; rtpmap: string; fmtp?: (p: Record<string, unknown>) => string }> = {
  'video/vp8': { ext: 'webm', muxer: 'webm', rtpmap: 'VP8/90000' },
  'video/vp9': { ext: 'webm', muxer: 'webm', rtpmap: 'VP9/90000' },
  'video/h264': {
    ext: 'mkv',
    muxer: 'matroska',
    rtpmap: 'H264/90000',
    fmtp: (p) => `packetization-mode=${p['packetization-mode'] ?? 1};profile-level-id=${p['profile-level-id'] ?? '42e01f'}`,
  },
  'audio/opus': { ext: 'ogg', muxer: 'ogg', rtpmap: 'opus/48000/2', fmtp: () => 'minptime=10;useinbandfec=1' },
};

const READY_TIMEOUT_MS = 5_000;
/** Starts tried when ffmpeg cannot bind its ports. */
const START_ATTEMPTS = 3;
const STOP_GRACE_MS = 5_000;
/** How long stop() waits for the first keyframe of a recording that has none yet. */
const FIRST_MEDIA_WAIT_MS = 3_000;

export class Recording {
  readonly id: string;
  readonly path: string;
  readonly kind: ms.MediaKind;
  readonly startedAt = new Date();
  private result: Promise<RecordingResult>;
  private stopping = false;
  private exited = false;
  private settle!: (r: RecordingResult) => void;
  private hasMedia = false;
  private mediaArrived!: () => void;
  private readonly firstMedia = new Promise<void>((resolve) => (this.mediaArrived = resolve));

  private constructor(
    id: string,
    path: string,
    kind: ms.MediaKind,
    private readonly ffmpeg: ChildProcess,
    private readonly transport: ms.PlainTransport,
    private readonly sdpPath: string,
    private readonly logger: Logger,
    private readonly stderrTail: () => string,
    private readonly rtcpPort: number,
    private readonly ssrc: number,
    private readonly consumer: ms.Consumer,
  ) {
    this.id = id;
    this.path = path;
    this.kind = kind;
    this.result = new Promise((resolve) => (this.settle = resolve));
  }

  static async start(opts: StartRecordingOptions): Promise<Recording> {
    // The port pair is free when picked but bound by ffmpeg only a moment later: when another
    // process took a port meanwhile, ffmpeg exits at once. Start again on new ports.
    for (let attempt = 1; ; attempt++) {
      try {
        return await Recording.startOnce(opts);
      } catch (err) {
        if (!(err instanceof FfmpegExitedEarly) || attempt >= START_ATTEMPTS) throw err;
        opts.logger.warn({ recordingId: opts.id, attempt, err: err.message }, 'recorder could not start, trying new ports');
      }
    }
  }

  private static async startOnce(opts: StartRecordingOptions): Promise<Recording> {
    const { router, producer, id, dir, logger } = opts;
    const log = logger.child({ recordingId: id, producerId: producer.id });
    const codec = router.rtpCapabilities.codecs?.find(
      (c) => c.kind === producer.kind && formats[c.mimeType.toLowerCase()] && c.mimeType.toLowerCase() === producerMime(producer),
    );
    const mime = producerMime(producer);
    const format = formats[mime];
    if (!format || !codec) throw new MediaError(ErrorCode.UNSUPPORTED_CODEC, `cannot record codec ${mime}`);

    const [rtpPort, rtcpPort] = await freeUdpPortPair();
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
    const path = join(dir, `${id}.${format.ext}`);
    const sdpPath = join(dir, `${id}.sdp`);
    let ffmpeg: ChildProcess | undefined;
    try {
      await transport.connect({ ip: '127.0.0.1', port: rtpPort, rtcpPort });
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: { codecs: [codec], headerExtensions: [] },
        paused: true,
      });
      const consumed = consumer.rtpParameters.codecs[0];
      if (!consumed) throw new Error('recording consumer has no codec');
      const pt = consumed.payloadType;
      const fmtp = format.fmtp ? `a=fmtp:${pt} ${format.fmtp(consumed.parameters ?? {})}\n` : '';
      await writeFile(
        sdpPath,
        `v=0\no=- 0 0 IN IP4 127.0.0.1\ns=media-infra ${id}\nc=IN IP4 127.0.0.1\nt=0 0\n` +
          `m=${producer.kind} ${rtpPort} RTP/AVP ${pt}\na=rtcp:${rtcpPort}\na=rtpmap:${pt} ${format.rtpmap}\n${fmtp}a=recvonly\n`,
      );

      ffmpeg = spawn(
        opts.ffmpegPath ?? 'ffmpeg',
        ['-nostdin', '-hide_banner', '-loglevel', 'warning', '-protocol_whitelist', 'file,udp,rtp', '-fflags', '+genpts',
          '-i', sdpPath, '-map', '0', '-c', 'copy', '-f', format.muxer, '-y', path],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      ffmpeg.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0;
      const recording = new Recording(id, path, producer.kind, ffmpeg, transport, sdpPath, log, () => stderr, rtcpPort, ssrc, consumer);
      recording.watchFirstMedia();
      ffmpeg.on('exit', (code, signal) => void recording.onExit(code, signal));
      ffmpeg.on('error', (err) => void recording.onExit(null, null, err.message));
      // Whatever closes the producer (or its transport) ends the recording, finalized.
      consumer.on('producerclose', () => void recording.stop());
      consumer.on('transportclose', () => void recording.stop());

      await waitForUdpPorts([rtpPort, rtcpPort], READY_TIMEOUT_MS, () => ffmpeg?.exitCode !== null, () => stderr);
      await consumer.resume();
      if (consumer.kind === 'video') await consumer.requestKeyFrame();
      log.info({ path, codec: mime }, 'recording started');
      return recording;
    } catch (err) {
      ffmpeg?.kill('SIGKILL');
      transport.close();
      await rm(sdpPath, { force: true });
      throw err;
    }
  }

  /** Resolves once the recording has ended, for whatever reason. */
  get ended(): Promise<RecordingResult> {
    return this.result;
  }

  /** ffmpeg's process id (diagnostics, fault-injection tests). */
  get pid(): number | undefined {
    return this.ffmpeg.pid;
  }

  get active(): boolean {
    return !this.stopping && !this.exited;
  }

  /**
   * Finalizes the file. ffmpeg blocks inside its RTP read while no packets come (a paused producer),
   * where neither 'q' nor one SIGINT reaches it, and two SIGINTs abort the trailer too. An RTCP BYE
   * is the clean end: its SDP demuxer answers end-of-file, then ffmpeg writes the container's index.
   */
  async stop(): Promise<RecordingResult> {
    if (!this.stopping && !this.exited) {
      this.stopping = true;
      // A file can only begin with a keyframe: a recording stopped before its first one arrived
      // (a very short one) asks again and waits for it, briefly, rather than end empty.
      if (!this.hasMedia && !this.consumer.closed && !this.consumer.producerPaused) {
        await this.consumer.requestKeyFrame().catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.firstMedia, new Promise((resolve) => (timer = setTimeout(resolve, FIRST_MEDIA_WAIT_MS)))]);
        clearTimeout(timer);
      }
      if (this.exited) return this.result;
      sendRtcpBye(this.rtcpPort, this.ssrc);
      const escalate = setTimeout(() => this.ffmpeg.kill('SIGINT'), STOP_GRACE_MS);
      const kill = setTimeout(() => this.ffmpeg.kill('SIGKILL'), STOP_GRACE_MS * 2);
      void this.result.finally(() => (clearTimeout(escalate), clearTimeout(kill)));
    }
    return this.result;
  }

  /** Video: the first keyframe forwarded to ffmpeg; audio: the first packet. */
  private watchFirstMedia(): void {
    const type = this.kind === 'video' ? 'keyframe' : 'rtp';
    this.consumer.on('trace', (trace) => {
      if (trace.type !== type || this.hasMedia) return;
      this.hasMedia = true;
      this.mediaArrived();
      void this.consumer.enableTraceEvent([]).catch(() => undefined);
    });
    void this.consumer.enableTraceEvent([type]).catch(() => undefined);
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null, error?: string): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    // Read before closing the transport: its close would look like a requested stop.
    const expected = this.stopping;
    this.stopping = true;
    this.transport.close();
    await rm(this.sdpPath, { force: true });
    const bytes = await stat(this.path).then((s) => s.size, () => 0);
    // ffmpeg exits 0 at end of input (BYE) and 255 after SIGINT: both finalize the file.
    const clean = expected && (code === 0 || code === 255) && bytes > 0;
    const reason = clean
      ? undefined
      : error ?? (!expected ? `ffmpeg died (${code ?? signal})` : bytes === 0 ? 'no media arrived before it stopped' : `ffmpeg exited ${code ?? signal} while finalizing`);
    if (reason) this.logger.error({ code, signal, bytes, ffmpeg: this.stderrTail().trim().split('\n').slice(-3) }, `recording failed: ${reason}`);
    else this.logger.info({ bytes }, 'recording finished');
    this.settle({ state: clean ? 'finished' : 'failed', endedAt: new Date(), bytes, ...(reason && { reason }) });
  }
}

function producerMime(producer: ms.Producer): string {
  return producer.rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? '';
}

/**
 * A compound RTCP packet, empty receiver report + BYE (RFC 3550 6.4.2, 6.6), for `ssrc`. The RR is
 * there because ffmpeg drops RTP/RTCP datagrams shorter than 12 bytes.
 */
function sendRtcpBye(port: number, ssrc: number): void {
  const packet = Buffer.alloc(16);
  packet.writeUInt8(0x80, 0); // version 2, no report blocks
  packet.writeUInt8(201, 1); // RR
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet.writeUInt8(0x81, 8); // version 2, one source
  packet.writeUInt8(203, 9); // BYE
  packet.writeUInt16BE(1, 10);
  packet.writeUInt32BE(ssrc >>> 0, 12);
  const socket = createSocket('udp4');
  socket.send(packet, port, '127.0.0.1', () => socket.close());
}

/** A free pair of UDP ports p, p+1 (ffmpeg's RTP demuxer always takes RTCP on RTP + 1). */
async function freeUdpPortPair(): Promise<[number, number]> {
  const bind = (port: number) =>
    new Promise<ReturnType<typeof createSocket> | undefined>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => (s.close(), resolve(undefined)));
      s.bind(port, '127.0.0.1', () => resolve(s));
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await bind(0);
    if (!first) continue;
    const port = first.address().port;
    const second = port < 65535 ? await bind(port + 1) : undefined;
    await Promise.all([first, second].map((s) => s && new Promise<void>((r) => s.close(() => r()))));
    if (second) return [port, port + 1];
  }
  throw new Error('no free UDP port pair for the recorder');
}

/** Waits until every port is bound by some UDP socket (ffmpeg's), reading the kernel's table. */
/** ffmpeg exited before it had bound its ports (typically: one was taken meanwhile). */
class FfmpegExitedEarly extends Error {}

async function waitForUdpPorts(ports: number[], timeoutMs: number, gaveUp: () => boolean, stderr: () => string): Promise<void> {
  const wanted = ports.map((p) => `:${p.toString(16).toUpperCase().padStart(4, '0')} `);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await readFile('/proc/net/udp', 'utf8');
    if (wanted.every((w) => table.includes(w))) return;
    if (gaveUp()) throw new FfmpegExitedEarly(`ffmpeg exited before it was ready: ${stderr().trim().split('\n').pop() ?? ''}`);
    if (Date.now() > deadline) throw new Error('ffmpeg did not open its ports in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
