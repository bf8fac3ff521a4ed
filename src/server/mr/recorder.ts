// One recording of one producer: a PlainTransport consumer sends the producer's RTP to an ffmpeg
// process that writes it, without re-encoding, into the codec's natural container.
//
// Every step waits for a signal from the thing itself, never for a guessed delay, so a busy machine
// makes a recording slower, not failed:
// - ready: ffmpeg's own sockets are bound to both UDP ports (the kernel's socket table);
// - has media: ffmpeg's `-progress` output says a frame is in the file; until then keyframes are
//   asked for again, with backoff (a file can only begin with one);
// - stopped: the consumer is paused and ffmpeg has read every packet sent (its socket's receive
//   queue is empty), then an RTCP BYE ends its input and it writes the container's index;
// - finished: ffprobe decodes the file.
// The timeouts left are safety nets for a stuck ffmpeg; each is named and its expiry is a reason.
//
// The file is flushed as it is written (every packet, clusters of half a second, Ogg pages of a
// tenth), so one cut short by kill -9 decodes up to the cut; and ffmpeg dies with the server
// (PR_SET_PDEATHSIG), so a crash leaves no process behind.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
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
  /** Why a recording failed, for logs and the API (no paths or secrets, no stacks). */
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
  ffprobePath?: string;
}

/** Container, SDP lines and flushing flags per codec: no transcoding, the codec's natural container. */
const matroskaFlush = ['-cluster_time_limit', '500'];
const formats: Record<string, { ext: string; muxer: string; flush: string[]; rtpmap: string; fmtp?: (p: Record<string, unknown>) => string }> = {
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

/** Safety nets for a stuck ffmpeg (ms). The real waits are for the signals above. */
export const RECORDER_TIMEOUTS = {
  /** ffmpeg started → both ports bound (200 ms of CPU; seconds when many start on a busy machine). */
  ready: 30_000,
  /** startRecord answers after this even with no frame in the file yet from a producer that sends (the recording keeps waiting). */
  startMedia: 15_000,
  /** stop() of a recording whose producer is live but that has no frame yet waits this long for one. */
  stopMedia: 5_000,
  /** stop(): ffmpeg reading the packets already sent. */
  drain: 5_000,
  /** stop(): the BYE → ffmpeg exiting; then SIGINT, and SIGKILL after as long again. */
  finalize: 10_000,
  /** ffprobe decoding the start of the finished file. */
  probe: 20_000,
};
/** Keyframe requests until the first frame is written: after 250 ms, then doubling, at most every 2 s. */
const KEYFRAME_RETRY_FIRST_MS = 250;
const KEYFRAME_RETRY_MAX_MS = 2_000;
/** A producer that received no packet for this long sends nothing: startRecord and stop() do not wait for its media (ms). */
const IDLE_MS = 1_000;
/** Video with no new frame written for this long while its producer sends gets a keyframe request (ms). */
const STALL_MS = 1_000;
/** Starts tried when a port was taken between picking it and ffmpeg binding it. */
const START_ATTEMPTS = 3;
/** ffmpeg's progress report period (s): how soon its first written frame is known. */
const PROGRESS_PERIOD_S = '0.1';
/** Frames ffprobe decodes to call a file playable (the whole file is demuxed by ffmpeg already). */
const PROBE_FRAMES = 30;
/** util-linux's setpriv sets PR_SET_PDEATHSIG before it execs ffmpeg (Linux; absent, ffmpeg runs as is). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Why a recording could not start or did not finish; its message is the reason in the row and the logs. */
export class RecorderError extends Error {
  override name = 'RecorderError';
}
/** ffmpeg exited before binding its ports because one was taken: worth another pair. */
class PortTaken extends RecorderError {}

/** The file a recording of `producer` is written to (UNSUPPORTED_CODEC if it cannot be recorded). */
export function recordingPath(dir: string, id: string, producer: ms.Producer): string {
  return join(dir, `${id}.${formatOf(producer).format.ext}`);
}

function formatOf(producer: ms.Producer) {
  const mime = producer.rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? '';
  const format = formats[mime];
  if (!format) throw new MediaError(ErrorCode.UNSUPPORTED_CODEC, `cannot record codec ${mime}`);
  return { mime, format };
}

export class Recording {
  readonly startedAt = new Date();
  private readonly result: Promise<RecordingResult>;
  private settle!: (r: RecordingResult) => void;
  private stopping = false;
  private exited = false;
  private hasMedia = false;
  private mediaArrived!: () => void;
  private readonly firstMedia = new Promise<void>((resolve) => (this.mediaArrived = resolve));
  /** The first keyframe (video) or packet (audio) sent to ffmpeg: where the file will begin. */
  private readonly firstForwarded: Promise<void>;
  private keyFrameTimer: NodeJS.Timeout | undefined;
  private stderr = '';

  private constructor(
    readonly id: string,
    readonly path: string,
    readonly kind: ms.MediaKind,
    private readonly ffmpeg: ChildProcess,
    private readonly transport: ms.PlainTransport,
    private readonly consumer: ms.Consumer,
    private readonly producer: ms.Producer,
    private readonly ports: { rtp: number; rtcp: number; ssrc: number; sdpPath: string; rtcpSink: Socket },
    private readonly logger: Logger,
    private readonly ffprobePath: string,
  ) {
    this.result = new Promise((resolve) => (this.settle = resolve));
    this.firstForwarded = this.watchForwarded();
    this.watchProgress();
    // Whatever closes the producer (or its transport) ends the recording, finalized.
    consumer.on('producerclose', () => void this.stop());
    consumer.on('transportclose', () => void this.stop());
  }

  /**
   * Starts recording; resolves once ffmpeg is writing: its first frame is in the file, or the
   * producer is paused (the recording starts with its first media), or after `startMedia`.
   * Rejects only for a reason a user can act on (UNSUPPORTED_CODEC, PRODUCER_CLOSED, or a
   * RecorderError: ffmpeg missing, crashing or stuck), and then leaves no process, port or file.
   */
  static async start(opts: StartRecordingOptions): Promise<Recording> {
    formatOf(opts.producer);
    for (let attempt = 1; ; attempt++) {
      try {
        return await Recording.startOnce(opts);
      } catch (err) {
        if (!(err instanceof PortTaken) || attempt >= START_ATTEMPTS) throw err;
        opts.logger.warn({ recordingId: opts.id, attempt, err: err.message }, 'recorder could not bind its ports, trying new ones');
      }
    }
  }

  private static async startOnce(opts: StartRecordingOptions): Promise<Recording> {
    const { router, producer, id, dir, logger } = opts;
    const log = logger.child({ recordingId: id, producerId: producer.id });
    const { mime, format } = formatOf(producer);
    const codec = router.rtpCapabilities.codecs?.find((c) => c.kind === producer.kind && c.mimeType.toLowerCase() === mime);
    if (!codec) throw new MediaError(ErrorCode.UNSUPPORTED_CODEC, `the router has no ${mime}`);
    if (producer.closed) throw new MediaError(ErrorCode.PRODUCER_CLOSED, 'the producer is closed');

    const [rtpPort, rtcpPort] = await freeUdpPortPair();
    // mediasoup's RTCP goes to a socket of ours, not to ffmpeg: its sender reports would make ffmpeg
    // time the file by the sender's wall clock (wrong for a sender whose reports drift, e.g. while
    // paused); without them the file's timing is the RTP timestamps'. The same socket sends the BYE.
    const rtcpSink = await bindUdp(0);
    if (!rtcpSink) throw new RecorderError('no UDP port for the recorder');
    rtcpSink.on('message', () => undefined);
    // A loopback port from the kernel's ephemeral range: RTC_MIN_PORT..RTC_MAX_PORT is for clients
    // (and may be a handful of ports, all taken by recordings at once otherwise).
    const transport = await router
      .createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: ephemeralPorts() }, rtcpMux: false, comedia: false })
      .catch((err: unknown) => {
        rtcpSink.close();
        throw err;
      });
    const path = recordingPath(dir, id, producer);
    const sdpPath = join(dir, `${id}.sdp`);
    let recording: Recording | undefined;
    try {
      await transport.connect({ ip: '127.0.0.1', port: rtpPort, rtcpPort: rtcpSink.address().port });
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: { codecs: [codec], headerExtensions: [] }, paused: true });
      const consumed = consumer.rtpParameters.codecs[0];
      if (!consumed) throw new RecorderError('the recording consumer has no codec');
      const pt = consumed.payloadType;
      const fmtp = format.fmtp ? `a=fmtp:${pt} ${format.fmtp(consumed.parameters ?? {})}\n` : '';
      await writeFile(
        sdpPath,
        `v=0\no=- 0 0 IN IP4 127.0.0.1\ns=media-infra ${id}\nc=IN IP4 127.0.0.1\nt=0 0\n` +
          `m=${producer.kind} ${rtpPort} RTP/AVP ${pt}\na=rtcp:${rtcpPort}\na=rtpmap:${pt} ${format.rtpmap}\n${fmtp}a=recvonly\n`,
      );
      const ffmpeg = spawnWithParent(opts.ffmpegPath ?? 'ffmpeg', [
        '-nostdin', '-hide_banner', '-loglevel', 'warning', '-progress', 'pipe:1', '-stats_period', PROGRESS_PERIOD_S,
        '-protocol_whitelist', 'file,udp,rtp', '-fflags', '+genpts',
        // Stream info from the first keyframe alone: no frame-rate probing to delay the file's start.
        '-fpsprobesize', '0', '-buffer_size', String(1 << 20),
        '-i', sdpPath, '-map', '0', '-c', 'copy', '-flush_packets', '1', ...format.flush, '-f', format.muxer, '-y', path,
      ]);
      const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0;
      recording = new Recording(id, path, producer.kind, ffmpeg, transport, consumer, producer, { rtp: rtpPort, rtcp: rtcpPort, ssrc, sdpPath, rtcpSink }, log, opts.ffprobePath ?? 'ffprobe');
      await recording.whenReady();
      await consumer.resume();
      recording.requestKeyFramesUntilMedia();
      // Answered when the file's first frame is on its way, so that the time between startRecord and
      // stopRecord is what the file holds; stop() still waits for ffmpeg to have written it.
      await recording.mediaOrPaused(RECORDER_TIMEOUTS.startMedia, recording.firstForwarded);
      if (!recording.active) {
        // It ended while starting (its producer closed, ffmpeg died): that is the start's answer.
        const ended = await recording.ended;
        if (producer.closed) throw new MediaError(ErrorCode.PRODUCER_CLOSED, 'the producer closed while the recording started');
        throw new RecorderError(ended.reason ?? 'the recording ended while it started');
      }
      log.info({ path, codec: mime, hasMedia: recording.hasMedia }, 'recording started');
      return recording;
    } catch (err) {
      if (recording) await recording.discard();
      else rtcpSink.close();
      transport.close();
      await rm(sdpPath, { force: true });
      if (!(err instanceof MediaError) && producer.closed) throw new MediaError(ErrorCode.PRODUCER_CLOSED, 'the producer closed while the recording started');
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
   * Finalizes the file; resolves when it is complete and checked. ffmpeg blocks inside its RTP read
   * while no packets come (a paused producer), where neither 'q' nor one SIGINT reaches it: an RTCP
   * BYE is the clean end (its SDP demuxer answers end-of-file, then ffmpeg writes the index).
   */
  async stop(): Promise<RecordingResult> {
    if (this.stopping || this.exited) return this.result;
    this.stopping = true;
    // A file can only begin with a keyframe: one stopped before its first frame while the producer
    // sends (a very short recording) waits for it rather than end empty.
    if (!this.hasMedia && !this.consumer.closed && !this.consumer.producerPaused) await this.mediaOrPaused(RECORDER_TIMEOUTS.stopMedia, this.firstMedia);
    clearTimeout(this.keyFrameTimer);
    if (this.exited) return this.result;
    // The BYE overtakes RTP still queued for ffmpeg (it reads RTCP first): stop sending, let it read
    // everything, then end its input.
    await this.consumer.pause().catch(() => undefined);
    const drained = await untilSockets(this.ffmpeg, [this.ports.rtp], (s) => s.rxQueue === 0, RECORDER_TIMEOUTS.drain).catch((err: Error) => err);
    if (drained instanceof Error) this.logger.warn({ err: drained.message }, 'ffmpeg did not read everything before the stop');
    if (this.exited) return this.result;
    sendRtcpBye(this.ports.rtcpSink, this.ports.rtcp, this.ports.ssrc);
    const escalate = setTimeout(() => this.ffmpeg.kill('SIGINT'), RECORDER_TIMEOUTS.finalize);
    const kill = setTimeout(() => this.ffmpeg.kill('SIGKILL'), RECORDER_TIMEOUTS.finalize * 2);
    void this.result.finally(() => (clearTimeout(escalate), clearTimeout(kill)));
    return this.result;
  }

  /** Both ports bound by ffmpeg's own sockets; or why not. */
  private async whenReady(): Promise<void> {
    const ready = await untilSockets(this.ffmpeg, [this.ports.rtp, this.ports.rtcp], () => true, RECORDER_TIMEOUTS.ready).then(
      () => true,
      () => false,
    );
    if (ready) return;
    if (this.ffmpeg.pid !== undefined && this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null) {
      throw new RecorderError(`ffmpeg did not bind its ports within ${RECORDER_TIMEOUTS.ready} ms`);
    }
    const { reason } = await this.result;
    if (/address already in use/i.test(this.stderr)) throw new PortTaken(reason);
    throw new RecorderError(reason ?? 'ffmpeg exited before it was ready');
  }

  /**
   * Resolves on `media`, when the producer is paused or receives nothing (a sender that sends
   * nothing has nothing to wait for), when the recording ended, or after `ms`.
   */
  private async mediaOrPaused(ms: number, media: Promise<void>): Promise<void> {
    if (this.hasMedia || this.consumer.producerPaused || this.exited) return;
    let timer: NodeJS.Timeout | undefined;
    let onPause: (() => void) | undefined;
    const idle = { over: false };
    await Promise.race([
      media,
      this.result,
      new Promise<void>((resolve) => this.consumer.once('producerpause', (onPause = resolve))),
      this.producerIdle(idle),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    idle.over = true;
    clearTimeout(timer);
    if (onPause) this.consumer.off('producerpause', onPause);
  }

  /** Resolves once the producer has received no packet for IDLE_MS (its stats, from the worker). */
  private async producerIdle(watch: { over: boolean }): Promise<void> {
    let last = -1;
    while (!watch.over) {
      const stats = await this.producer.getStats().catch(() => []);
      const packets = stats.reduce((n, s) => n + s.packetCount, 0);
      if (packets === last) return;
      last = packets;
      await new Promise((r) => setTimeout(r, IDLE_MS));
    }
    return new Promise(() => undefined); // the wait ended otherwise
  }

  /** Resolves at the first keyframe (video) or packet (audio) the worker forwards to ffmpeg. */
  private watchForwarded(): Promise<void> {
    const type = this.kind === 'video' ? 'keyframe' : 'rtp';
    return new Promise((resolve) => {
      const onTrace = (trace: ms.ConsumerTraceEventData) => {
        if (trace.type !== type) return;
        this.consumer.off('trace', onTrace);
        void this.consumer.enableTraceEvent([]).catch(() => undefined);
        resolve();
      };
      this.consumer.on('trace', onTrace);
      void this.consumer.enableTraceEvent([type]).catch(() => undefined);
    });
  }

  /** Video: ask for a keyframe until ffmpeg has written a frame (again at once when the producer resumes). */
  private requestKeyFramesUntilMedia(): void {
    if (this.kind !== 'video') return;
    let delay = KEYFRAME_RETRY_FIRST_MS;
    const tick = (): void => {
      clearTimeout(this.keyFrameTimer);
      if (this.hasMedia || this.exited || this.consumer.closed) return;
      if (!this.consumer.producerPaused) void this.consumer.requestKeyFrame().catch(() => undefined);
      this.keyFrameTimer = setTimeout(tick, delay);
      delay = Math.min(delay * 2, KEYFRAME_RETRY_MAX_MS);
    };
    this.consumer.on('producerresume', () => {
      delay = KEYFRAME_RETRY_FIRST_MS;
      tick();
    });
    tick();
  }

  /**
   * ffmpeg's reports: a `frame=` or `out_time_us=` above 0 means a frame went into the file. Video
   * whose frame count stops growing while its producer sends has lost a packet: ffmpeg drops frames
   * until the next keyframe, and a browser sends one only when asked.
   */
  private watchProgress(): void {
    let pending = '';
    let frame = 0;
    let outTime = 0;
    let lastFrame = 0;
    let lastAdvance = performance.now();
    let lastAsked = 0;
    this.ffmpeg.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [key, value] = line.split('=', 2);
        if (key === 'frame') frame = Number(value) || 0;
        else if (key === 'out_time_us') outTime = Number(value) || 0;
        else if (key === 'progress' && !this.hasMedia && (frame > 0 || outTime > 0)) {
          this.hasMedia = true;
          clearTimeout(this.keyFrameTimer);
          this.logger.debug({ sinceStart: Date.now() - this.startedAt.getTime() }, 'first frame written');
          this.mediaArrived();
        } else if (key === 'progress' && this.hasMedia && this.kind === 'video') {
          const now = performance.now();
          if (frame > lastFrame || this.consumer.producerPaused || !this.active) lastAdvance = now;
          else if (now - lastAdvance > STALL_MS && now - lastAsked > STALL_MS) {
            lastAsked = now;
            this.logger.debug({ frame }, 'no new frame written: asking for a keyframe');
            void this.consumer.requestKeyFrame().catch(() => undefined);
          }
          lastFrame = frame;
        }
      }
    });
    this.ffmpeg.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-2000)));
    this.ffmpeg.on('exit', (code, signal) => void this.onExit(code, signal));
    this.ffmpeg.on('error', (err) => void this.onExit(null, null, `ffmpeg could not run: ${err.message}`));
  }

  /** A start that failed: ffmpeg gone and nothing it wrote kept. */
  private async discard(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.keyFrameTimer);
    if (!this.exited) this.ffmpeg.kill('SIGKILL');
    await this.result;
    await rm(this.path, { force: true });
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null, error?: string): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    clearTimeout(this.keyFrameTimer);
    // Read before closing the transport: its close would look like a requested stop.
    const requested = this.stopping;
    this.stopping = true;
    this.transport.close();
    this.ports.rtcpSink.close();
    await rm(this.ports.sdpPath, { force: true });
    const reason = error ?? (await this.failure(code, signal, requested));
    const bytes = await stat(this.path).then((s) => s.size, () => 0);
    // An empty file is no recording: nothing is left of it but the row.
    if (reason && bytes === 0) await rm(this.path, { force: true });
    if (reason) this.logger.error({ code, signal, bytes, ffmpeg: this.stderrTail() }, `recording failed: ${reason}`);
    else this.logger.info({ bytes }, 'recording finished');
    this.settle({ state: reason ? 'failed' : 'finished', endedAt: new Date(), bytes, ...(reason && { reason }) });
  }

  /** Why the ended recording is not a playable file, or undefined if it is. */
  private async failure(code: number | null, signal: NodeJS.Signals | null, requested: boolean): Promise<string | undefined> {
    const last = this.stderrTail().at(-1);
    if (code === 127 && /failed to execute|not found/i.test(this.stderr)) return `ffmpeg not found: ${last ?? ''}`;
    if (!requested) return `ffmpeg died (${code ?? signal})${last ? `: ${last}` : ''}`;
    const noMedia = 'no media arrived before it stopped';
    // ffmpeg exits 0 at end of input (BYE) and 255 after SIGINT: both finalize the file.
    if (code !== 0 && code !== 255) return this.hasMedia ? `ffmpeg exited ${code ?? signal} while finalizing${last ? `: ${last}` : ''}` : noMedia;
    const probed = await probeFrames(this.ffprobePath, this.path);
    if (typeof probed === 'number' && probed > 0) return undefined;
    return this.hasMedia && typeof probed === 'string' ? probed : noMedia;
  }

  private stderrTail(): string[] {
    return this.stderr.trim().split('\n').filter(Boolean).slice(-3);
  }
}

/** Frames ffprobe decodes at the start of `path`, or why it could not. */
function probeFrames(ffprobe: string, path: string): Promise<number | string> {
  const args = ['-v', 'error', '-count_frames', '-read_intervals', `%+#${PROBE_FRAMES}`, '-show_entries', 'stream=nb_read_frames', '-of', 'json', path];
  return new Promise((resolve) => {
    execFile(ffprobe, args, { timeout: RECORDER_TIMEOUTS.probe }, (err, stdout, stderr) => {
      if (err) return resolve(`the file does not decode: ${(stderr.trim().split('\n').pop() || err.message).slice(0, 200)}`);
      const streams = (JSON.parse(stdout) as { streams?: Array<{ nb_read_frames?: string }> }).streams ?? [];
      resolve(Number(streams[0]?.nb_read_frames ?? 0));
    });
  });
}

/** Starts `command` so that it is killed when this process dies, however it dies. */
function spawnWithParent(command: string, args: string[]): ChildProcess {
  const options = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
  return SETPRIV ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args], options) : spawn(command, args, options);
}

/**
 * A compound RTCP packet, empty receiver report + BYE (RFC 3550 6.4.2, 6.6), for `ssrc`. The RR is
 * there because ffmpeg drops RTP/RTCP datagrams shorter than 12 bytes.
 */
function sendRtcpBye(socket: Socket, port: number, ssrc: number): void {
  const packet = Buffer.alloc(16);
  packet.writeUInt8(0x80, 0); // version 2, no report blocks
  packet.writeUInt8(201, 1); // RR
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet.writeUInt8(0x81, 8); // version 2, one source
  packet.writeUInt8(203, 9); // BYE
  packet.writeUInt16BE(1, 10);
  packet.writeUInt32BE(ssrc >>> 0, 12);
  socket.send(packet, port, '127.0.0.1');
}

let ephemeral: { min: number; max: number } | undefined;
/** The kernel's ephemeral port range (where bind(0) picks), read once. */
function ephemeralPorts(): { min: number; max: number } {
  if (!ephemeral) {
    const [min, max] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    ephemeral = min && max ? { min, max } : { min: 32768, max: 60999 };
  }
  return ephemeral;
}

/** A loopback UDP socket on `port` (0: any), or undefined if it is taken. */
function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => (s.close(), resolve(undefined)));
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** A free pair of UDP ports p, p+1 (ffmpeg's RTP demuxer always takes RTCP on RTP + 1). */
async function freeUdpPortPair(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await bindUdp(0);
    if (!first) continue;
    const port = first.address().port;
    const second = port < 65535 ? await bindUdp(port + 1) : undefined;
    await Promise.all([first, second].map((s) => s && new Promise<void>((r) => s.close(() => r()))));
    if (second) return [port, port + 1];
  }
  throw new RecorderError('no free UDP port pair for the recorder');
}

interface UdpSocket {
  port: number;
  inode: string;
  /** Bytes waiting in its receive queue. */
  rxQueue: number;
}

/** How often the kernel's tables are read while something waits on them (ms). */
const SOCKET_POLL_MS = 25;
let lastTable: { at: number; sockets: Promise<UdpSocket[]> } | undefined;

/** The kernel's IPv4 UDP sockets, one read per poll period shared by every waiter (many recordings start and stop at once). */
function udpSockets(): Promise<UdpSocket[]> {
  if (!lastTable || performance.now() - lastTable.at >= SOCKET_POLL_MS) lastTable = { at: performance.now(), sockets: readUdpTable() };
  return lastTable.sockets;
}

/** /proc/net/udp: local address, queues, inode. */
async function readUdpTable(): Promise<UdpSocket[]> {
  const table = await readFile('/proc/net/udp', 'utf8');
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9)
    .map((f) => ({ port: parseInt(f[1]!.split(':')[1]!, 16), rxQueue: parseInt(f[4]!.split(':')[1]!, 16), inode: f[9]! }));
}

/** The socket inodes `pid` holds open. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const dir = `/proc/${pid}/fd`;
  const links = await Promise.all((await readdir(dir).catch(() => [])).map((fd) => readlink(join(dir, fd)).catch(() => '')));
  return new Set(links.flatMap((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1] ?? []));
}

/**
 * Waits until, on each port, a socket of `proc` satisfies `test`. Polls the kernel's tables:
 * there is no event for another process binding a port or reading its queue.
 */
async function untilSockets(proc: ChildProcess, ports: number[], test: (s: UdpSocket) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) throw new RecorderError('ffmpeg is not running');
    const [sockets, owned] = await Promise.all([udpSockets(), socketInodes(proc.pid)]);
    if (ports.every((port) => sockets.some((s) => s.port === port && owned.has(s.inode) && test(s)))) return;
    if (Date.now() > deadline) throw new RecorderError(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, SOCKET_POLL_MS));
  }
}
