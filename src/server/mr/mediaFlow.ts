// Whether media flows, from the worker's own counters: a producer that receives nothing (a sender
// that sends nothing has nothing to wait for), and how long the recording consumer sent packets to
// ffmpeg, which is the time its file must cover.
import type { types as ms } from 'mediasoup';

/** A producer that received no packet for this long sends nothing (ms). */
const IDLE_MS = 1_000;
/** How often the consumer's counters are read while recording (ms). */
const SAMPLE_MS = 1_000;

/** What the worker received for `producer` so far (its streams' sums): packets, and those lost on the way to it. */
async function producerReceived(producer: ms.Producer): Promise<{ packets: number; lost: number; nacks: number }> {
  const stats = await producer.getStats().catch(() => []);
  return stats.reduce((n, s) => ({ packets: n.packets + s.packetCount, lost: n.lost + s.packetsLost, nacks: n.nacks + s.nackCount }), { packets: 0, lost: 0, nacks: 0 });
}

/** Resolves once `producer` has received no packet for IDLE_MS; never, if `watch.over` is set first. */
export async function producerIdle(producer: ms.Producer, watch: { over: boolean }): Promise<void> {
  let last = -1;
  while (!watch.over) {
    const { packets } = await producerReceived(producer);
    if (packets === last) return;
    last = packets;
    await new Promise((r) => setTimeout(r, IDLE_MS));
  }
  return new Promise(() => undefined); // the wait ended otherwise
}

export interface Flow {
  /** Time in which the consumer sent packets to ffmpeg (ms): each sample period counts whole if its packet count grew. */
  flowingMs: number;
  /** RTP packets the consumer sent to ffmpeg since the meter started. */
  packets: number;
}

/** One sample of the worker's counters, for the logs when frames go missing: what reached the producer, and what it lost and asked again for (NACKs). */
export interface FlowSample extends Flow {
  producerPackets: number;
  producerLost: number;
  producerNacks: number;
}

/**
 * Measures how long the recording consumer sends to ffmpeg, from the moment the file has its first
 * frame. Paused stretches (no packet sent) are not counted: a file is not expected to cover them.
 */
export class FlowMeter {
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private finished: Promise<Flow> | undefined;
  private base: number | undefined;
  private last: { at: number; packets: number } | undefined;
  private flowingMs = 0;
  private sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly consumer: ms.Consumer,
    private readonly producer: ms.Producer,
    private readonly onSample: (s: FlowSample) => void,
  ) {}

  start(): void {
    if (this.started || this.finished) return;
    this.started = true;
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Takes a last sample (if the consumer still answers) and returns what was measured; the same answer when called again. */
  finish(): Promise<Flow> {
    this.finished ??= (async () => {
      clearInterval(this.timer);
      if (this.started) this.sample();
      await this.sampling;
      return { flowingMs: this.flowingMs, packets: (this.last?.packets ?? 0) - (this.base ?? 0) };
    })();
    return this.finished;
  }

  private sample(): void {
    // Timed when asked for, not when the worker answers (seconds later on a busy machine): the last
    // sample is asked for right after the consumer paused, and that is where the sending ended.
    const at = performance.now();
    // Samples in order: each period is judged from the one before.
    this.sampling = this.sampling.then(async () => {
      const [stats, received] = await Promise.all([this.consumer.getStats().catch(() => []), producerReceived(this.producer)]);
      const sent = stats.find((s) => s.type === 'outbound-rtp');
      if (!sent) return; // closed: the last period is not known
      if (this.base === undefined || !this.last) this.base = sent.packetCount;
      else if (sent.packetCount > this.last.packets) this.flowingMs += at - this.last.at;
      this.last = { at, packets: sent.packetCount };
      this.onSample({ flowingMs: this.flowingMs, packets: sent.packetCount - this.base, producerPackets: received.packets, producerLost: received.lost, producerNacks: received.nacks });
    });
  }
}
