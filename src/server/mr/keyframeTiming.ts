// When a video consumer's resume may ask its sender for a keyframe, for every consumer that
// starts a listener's video: a local one resumed by its client (peer.ts), a pipe consumer resumed
// for another node (pipes.ts).
//
// A browser honours a keyframe request only 300 ms after the last one it honoured (libwebrtc's
// EncoderRtcpFeedback), and a resumed consumer forwards nothing until a keyframe. So a resume is
// held only when the last request the sender honoured is under 300 ms old and its keyframe came
// already: the resume's own request would be ignored, and the listener would wait for mediasoup's
// retry, 1 s later. Asking again a moment after the resume would not help: mediasoup sends no
// request while one is pending (KeyFrameRequestManager) and the ignored one stays pending for that
// second. When the honoured request's keyframe is still on its way the resume lets it through.
//
// The producer's trace events say which requests went to the sender and when keyframes came, from
// its birth (peer.ts). Its first request may come before they are on: mediasoup asks at the
// producer's first packet unless it is a keyframe, as after a sender's reconnect (its first
// keyframe came before its new producer, and was dropped). The producer's stats count that one.
import type { types as ms } from 'mediasoup';

/** A browser sender ignores a keyframe request this soon after the last one it honoured (libwebrtc's kMinKeyframeSendIntervalMs). */
const SENDER_KEYFRAME_INTERVAL_MS = 300;
/** A held resume goes this much later than that, for the request's way to the sender. */
const KEYFRAME_MARGIN_MS = 30;

/** A local video producer's sender as its trace events show it (performance.now() times). */
interface Sender {
  /** The last keyframe request sent to it that it honoured (300 ms after the one before). */
  honouredAt: number;
  /** The last keyframe it sent. */
  keyframeAt: number;
}

const senders = new WeakMap<ms.Producer, Sender>();

/**
 * Notes the keyframe requests a local video producer's sender gets and the keyframes it sends
 * (mediasoup's trace events; nothing else here uses a producer's). Once per producer, as soon as
 * it is made.
 */
export async function watchSender(producer: ms.Producer): Promise<void> {
  if (producer.kind !== 'video' || senders.has(producer)) return;
  const sender: Sender = { honouredAt: -Infinity, keyframeAt: -Infinity };
  senders.set(producer, sender);
  producer.observer.on('trace', (trace) => {
    const now = performance.now();
    if (trace.type === 'keyframe' && trace.direction === 'in') sender.keyframeAt = now;
    else if ((trace.type === 'pli' || trace.type === 'fir') && trace.direction === 'out' && now - sender.honouredAt >= SENDER_KEYFRAME_INTERVAL_MS) sender.honouredAt = now;
  });
  await producer.enableTraceEvent(['keyframe', 'pli', 'fir']).catch(() => undefined);
  const traceOn = performance.now();
  // The worker answers in order: a request made since the trace is on was traced before these stats
  // came. One counted but not traced came before the trace was on: taken as made then, the latest it
  // can have been, and its keyframe as come by then (a later one is traced). So a resume is held long
  // enough, never too short: a request the sender ignores costs mediasoup's 1 s retry, while holding
  // a resume past a keyframe still on its way costs at most the rest of the 300 ms.
  const streams = await producer.getStats().catch(() => []);
  if (sender.honouredAt === -Infinity && streams.some((s) => s.pliCount + s.firCount > 0)) {
    sender.honouredAt = traceOn;
    sender.keyframeAt = Math.max(sender.keyframeAt, traceOn);
  }
}

/** How long a resume of a consumer of `producer` waits so that the keyframe request it makes is honoured. */
export function keyframeWait(producer: ms.Producer): number {
  const sender = senders.get(producer);
  // Never asked (or not watched: a pipe producer, whose origin holds), or the honoured request's keyframe is still on its way.
  if (!sender || sender.keyframeAt < sender.honouredAt) return 0;
  return sender.honouredAt + SENDER_KEYFRAME_INTERVAL_MS + KEYFRAME_MARGIN_MS - performance.now();
}

/** A consumer paused or resumed as asked last: at once, or a resume held by keyframeWait. */
export class ConsumerFlow {
  private flowing: boolean;
  private held: NodeJS.Timeout | undefined;

  constructor(
    private readonly consumer: ms.Consumer,
    private readonly producer: ms.Producer,
  ) {
    this.flowing = !consumer.paused;
    consumer.observer.once('close', () => clearTimeout(this.held));
  }

  /** Resolves once the worker has applied it, or at once when the resume is held (applied later, its failure ignored: the consumer closed). */
  set(flowing: boolean): Promise<void> {
    this.flowing = flowing;
    clearTimeout(this.held);
    this.held = undefined;
    const wait = flowing ? keyframeWait(this.producer) : 0;
    if (wait <= 0) return this.apply();
    this.held = setTimeout(() => void this.apply().catch(() => undefined), wait);
    return Promise.resolve();
  }

  private apply(): Promise<void> {
    this.held = undefined;
    if (this.consumer.closed) return Promise.resolve();
    // The worker takes requests in order, so a pause right behind a resume ends paused.
    return this.flowing ? this.consumer.resume() : this.consumer.pause();
  }
}
