// Keyframe requests for a video recording. A file can only begin with a keyframe, and ffmpeg's VP8
// depacketizer drops every frame after a lost or late packet until the next one ("Missed a picture,
// sequence broken"), which a browser sends only when asked:
// - until ffmpeg reports its first frame written: after 250 ms, then doubling, at most every 2 s
//   (again from 250 ms when the producer resumes);
// - after that, at every flow sample (mediaFlow.ts) in which the consumer sent packets to ffmpeg but
//   ffmpeg wrote no frame. Not from ffmpeg's own progress reports: it writes none while it drops
//   frames (they come when a packet is written), so a stall there went unnoticed for good.
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;

export class KeyframePacer {
  private timer: NodeJS.Timeout | undefined;
  private delay = FIRST_RETRY_MS;
  private firstFrameWritten = false;
  private done = false;
  private last: { written: number; sent: number } | undefined;
  /** Keyframe requests sent, for the recording's summary. */
  requests = 0;

  constructor(
    private readonly consumer: ms.Consumer,
    private readonly logger: Logger,
  ) {}

  /** Asks until `firstWritten()` (video only: audio needs none). */
  start(): void {
    if (this.consumer.kind !== 'video') return;
    this.consumer.on('producerresume', () => {
      this.delay = FIRST_RETRY_MS;
      this.tick();
    });
    this.tick();
  }

  /** ffmpeg has written its first frame: no more backoff requests. */
  firstWritten(): void {
    this.firstFrameWritten = true;
    clearTimeout(this.timer);
  }

  /** A flow sample: frames ffmpeg has written and packets the consumer has sent so far. */
  sample(written: number, sent: number): void {
    if (this.consumer.kind !== 'video' || this.done) return;
    if (this.last && sent > this.last.sent && written === this.last.written) {
      this.logger.debug({ written, sent }, 'packets sent but no frame written: asking for a keyframe');
      this.request();
    }
    this.last = { written, sent };
  }

  /** No more requests (stopping, or ended). */
  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
  }

  private tick(): void {
    clearTimeout(this.timer);
    if (this.firstFrameWritten || this.done || this.consumer.closed) return;
    if (!this.consumer.producerPaused) this.request();
    this.timer = setTimeout(() => this.tick(), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_RETRY_MS);
  }

  private request(): void {
    this.requests += 1;
    void this.consumer.requestKeyFrame().catch(() => undefined);
  }
}
