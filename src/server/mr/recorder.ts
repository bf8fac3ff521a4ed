// One recording of one producer: a PlainTransport consumer sends the producer's RTP to an ffmpeg
// process (recorderProcess.ts) that writes it, without re-encoding, into the codec's natural
// container (recordingFormat.ts).
//
// Every step waits for a signal from the thing itself, never for a guessed delay, so a busy machine
// makes a recording slower, not failed:
// - ready: ffmpeg's own sockets are bound to both UDP ports (the kernel's socket table, recorderPorts.ts);
// - has media: ffmpeg's `-progress` output says a frame is in the file; until then keyframes are
//   asked for again, with backoff (keyframePacer.ts: a file can only begin with one);
// - stopped: the consumer is paused and ffmpeg has read every packet sent (its socket's receive
//   queue is empty), then an RTCP BYE ends its input and it writes the container's index;
// - finished: ffprobe decodes the file and its frames cover the time media was sent to it
//   (recordingProbe.ts, mediaFlow.ts).
// The timeouts left are safety nets for a stuck ffmpeg; each is named and its expiry is a reason.
//
// The file is flushed as it is written, so one cut short by kill -9 decodes up to the cut; and
// ffmpeg dies with the server (PR_SET_PDEATHSIG), so a crash leaves no process behind.
import type { Socket } from 'node:dgram';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { types as ms } from 'mediasoup';
import { ErrorCode } from '../../protocol/codes.js';
import { MediaError } from './errors.js';
import { KeyframePacer } from './keyframePacer.js';
import { FlowMeter, producerIdle, type FlowSample } from './mediaFlow.js';
import { PortTaken, RecorderError } from './recorderError.js';
import { bindUdp, ephemeralPorts, freeUdpPortPair, sendRtcpBye, socketOf, untilSockets } from './recorderPorts.js';
import { RecorderProcess, type Exit, type Progress } from './recorderProcess.js';
import { formatOf, recordingPath, recordingSdp } from './recordingFormat.js';
import { coverageShortfall, probeRecording } from './recordingProbe.js';

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
  /** ffprobe reading the finished file. */
  probe: 20_000,
};
/** Starts tried when a port was taken between picking it and ffmpeg binding it. */
const START_ATTEMPTS = 3;

interface Ports {
  rtp: number;
  rtcp: number;
  ssrc: number;
  sdpPath: string;
  /** Where mediasoup's RTCP goes, and the BYE comes from. */
  rtcpSink: Socket;
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
  private readonly ffmpeg: RecorderProcess;
  private readonly keyframes: KeyframePacer;
  private readonly flow: FlowMeter;
  private written: Progress = { frame: 0, outTimeUs: 0 };

  private constructor(
    readonly id: string,
    readonly path: string,
    readonly kind: ms.MediaKind,
    startFfmpeg: (onProgress: (p: Progress) => void) => RecorderProcess,
    private readonly transport: ms.PlainTransport,
    private readonly consumer: ms.Consumer,
    private readonly producer: ms.Producer,
    private readonly ports: Ports,
    private readonly logger: Logger,
    private readonly ffprobePath: string,
  ) {
    this.result = new Promise((resolve) => (this.settle = resolve));
    this.keyframes = new KeyframePacer(consumer, logger);
    this.flow = new FlowMeter(consumer, producer, (s) => void this.onSample(s));
    this.firstForwarded = this.watchForwarded();
    this.ffmpeg = startFfmpeg((p) => this.onProgress(p));
    void this.ffmpeg.exited.then((exit) => this.onExit(exit));
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
      await writeFile(sdpPath, recordingSdp(id, producer.kind, format, consumed, rtpPort, rtcpPort));
      const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0;
      const ports = { rtp: rtpPort, rtcp: rtcpPort, ssrc, sdpPath, rtcpSink };
      const ffmpeg = (onProgress: (p: Progress) => void) => new RecorderProcess(opts.ffmpegPath ?? 'ffmpeg', sdpPath, path, format, onProgress);
      recording = new Recording(id, path, producer.kind, ffmpeg, transport, consumer, producer, ports, log, opts.ffprobePath ?? 'ffprobe');
      await recording.whenReady();
      await consumer.resume();
      recording.keyframes.start();
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
    this.keyframes.stop();
    if (this.exited) return this.result;
    // The BYE overtakes RTP still queued for ffmpeg (it reads RTCP first): stop sending, let it read
    // everything, then end its input.
    await this.consumer.pause().catch(() => undefined);
    // What the file must cover ends here: later periods (ffmpeg finalizing) sent nothing.
    void this.flow.finish();
    const drained = await untilSockets(this.ffmpeg.process, [this.ports.rtp], (s) => s.rxQueue === 0, RECORDER_TIMEOUTS.drain).catch((err: Error) => err);
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
    const ready = await untilSockets(this.ffmpeg.process, [this.ports.rtp, this.ports.rtcp], () => true, RECORDER_TIMEOUTS.ready).then(
      () => true,
      () => false,
    );
    if (ready) return;
    if (this.ffmpeg.running) throw new RecorderError(`ffmpeg did not bind its ports within ${RECORDER_TIMEOUTS.ready} ms`);
    const { reason } = await this.result;
    if (/address already in use/i.test(this.ffmpeg.errors)) throw new PortTaken(reason);
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
      producerIdle(this.producer, idle),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    idle.over = true;
    clearTimeout(timer);
    if (onPause) this.consumer.off('producerpause', onPause);
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

  /** ffmpeg's report (sent when it writes): a frame or a timestamp above 0 means a frame went into the file. */
  private onProgress(p: Progress): void {
    this.written = p;
    if (!this.hasMedia && (p.frame > 0 || p.outTimeUs > 0)) {
      this.hasMedia = true;
      this.keyframes.firstWritten();
      this.flow.start();
      this.logger.debug({ sinceStart: Date.now() - this.startedAt.getTime() }, 'first frame written');
      this.mediaArrived();
    }
  }

  /** Each second: what the worker sent beside what ffmpeg wrote and what its socket dropped, where frames go missing. */
  private async onSample(s: FlowSample): Promise<void> {
    if (this.active) this.keyframes.sample(this.written.frame, s.packets);
    const socket = await socketOf(this.ffmpeg.process, this.ports.rtp);
    this.logger.debug({ ...s, written: this.written.frame, socketDrops: socket?.drops, keyframeRequests: this.keyframes.requests }, 'recording flow');
  }

  /** A start that failed: ffmpeg gone and nothing it wrote kept. */
  private async discard(): Promise<void> {
    this.stopping = true;
    this.keyframes.stop();
    if (!this.exited) this.ffmpeg.kill('SIGKILL');
    await this.result;
    await rm(this.path, { force: true });
  }

  private async onExit({ code, signal, error }: Exit): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    this.keyframes.stop();
    // Read before closing the transport: its close would look like a requested stop.
    const requested = this.stopping;
    this.stopping = true;
    const flow = await this.flow.finish();
    this.transport.close();
    this.ports.rtcpSink.close();
    await rm(this.ports.sdpPath, { force: true });
    const reason = error ?? (await this.failure(code, signal, requested, flow));
    const bytes = await stat(this.path).then((s) => s.size, () => 0);
    // An empty file is no recording: nothing is left of it but the row.
    if (reason && bytes === 0) await rm(this.path, { force: true });
    const summary = { bytes, sentPackets: flow.packets, flowingMs: Math.round(flow.flowingMs), written: this.written.frame, keyframeRequests: this.keyframes.requests };
    if (reason) this.logger.error({ code, signal, ...summary, ffmpeg: this.ffmpeg.stderrTail() }, `recording failed: ${reason}`);
    else this.logger.info(summary, 'recording finished');
    this.settle({ state: reason ? 'failed' : 'finished', endedAt: new Date(), bytes, ...(reason && { reason }) });
  }

  /** Why the ended recording is not a playable file of what was sent to it, or undefined if it is. */
  private async failure(code: number | null, signal: NodeJS.Signals | null, requested: boolean, flow: { flowingMs: number; packets: number }): Promise<string | undefined> {
    const last = this.ffmpeg.stderrTail().at(-1);
    if (code === 127 && /failed to execute|not found/i.test(this.ffmpeg.errors)) return `ffmpeg not found: ${last ?? ''}`;
    if (!requested) return `ffmpeg died (${code ?? signal})${last ? `: ${last}` : ''}`;
    const noMedia = 'no media arrived before it stopped';
    // ffmpeg exits 0 at end of input (BYE) and 255 after SIGINT: both finalize the file.
    if (code !== 0 && code !== 255) return this.hasMedia ? `ffmpeg exited ${code ?? signal} while finalizing${last ? `: ${last}` : ''}` : noMedia;
    const file = await probeRecording(this.ffprobePath, this.path, RECORDER_TIMEOUTS.probe);
    if (typeof file === 'string') return this.hasMedia ? file : noMedia;
    if (file.decoded === 0) return noMedia;
    return coverageShortfall(file, flow);
  }
}
