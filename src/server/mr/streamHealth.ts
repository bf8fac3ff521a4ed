// Call health on the server: the scores of a peer's producers and consumers, forwarded to its client
// as they change, and the server's side of a stream summarised for `getProducerStats` /
// `getConsumerStats` (mediasoup's raw stats stay here).
import type { types as ms } from 'mediasoup';
import type { ServerStreamStats } from '../../protocol/messages.js';
import type { Notify } from './api.js';

/** A producer's score is its best encoding's: a simulcast sender leaves its upper encodings idle when its bandwidth is short. */
export function bestScore(scores: readonly ms.ProducerScore[]): number | null {
  return scores.length ? Math.max(...scores.map((s) => s.score)) : null;
}

/** Tells the client every change of its producer's score (mediasoup emits only changes). */
export function forwardProducerScore(producer: ms.Producer, notify: Notify): void {
  let last: number | null = null;
  producer.on('score', (scores) => {
    const score = bestScore(scores);
    if (score === null || score === last) return;
    last = score;
    notify('producerScore', { producerId: producer.id, score });
  });
}

/**
 * Tells the client every change of its consumer's score and of the producer stream it forwards.
 * Called right after the consumer's offer (`newConsumers`), which says both as they were: mediasoup
 * emits only changes, and a consumer of a producer whose score is steady may see none for a long
 * time. (A producer stream not scored yet, or idle, reads 0 there, as in mediasoup's own events.)
 */
export function forwardConsumerScore(consumer: ms.Consumer, notify: Notify): void {
  consumer.on('score', ({ score, producerScore }) => notify('consumerScore', { consumerId: consumer.id, score, producerScore }));
}

type RtpStreamStats = ms.ProducerStat | ms.ConsumerStat;

/** mediasoup's streams of one producer (its encodings) or one consumer (its own first), as one figure. Jitter and RTT are in ms there. */
export function summariseStreams(streams: readonly RtpStreamStats[], score: number | null): ServerStreamStats {
  const sum = (pick: (s: RtpStreamStats) => number) => streams.reduce((total, s) => total + pick(s), 0);
  const worst = (pick: (s: RtpStreamStats) => number | undefined) => {
    const values = streams.map(pick).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    return values.length ? Math.max(...values) : null;
  };
  return {
    score,
    bitrateBps: sum((s) => s.bitrate),
    packets: sum((s) => s.packetCount),
    packetsLost: sum((s) => s.packetsLost),
    // RTCP's fraction lost is n/256.
    lossFraction: Math.min(1, (worst((s) => s.fractionLost) ?? 0) / 256),
    jitterMs: worst((s) => ('jitter' in s ? (s as { jitter: number }).jitter : undefined)),
    roundTripTimeMs: worst((s) => s.roundTripTime),
    nackCount: sum((s) => s.nackCount),
    pliCount: sum((s) => s.pliCount),
  };
}

export async function producerStats(producer: ms.Producer): Promise<ServerStreamStats> {
  return summariseStreams(await producer.getStats(), bestScore(producer.score));
}

/** The consumer's own stream only (mediasoup adds its producer's stream after it). */
export async function consumerStats(consumer: ms.Consumer): Promise<ServerStreamStats> {
  const own = (await consumer.getStats()).filter((s) => s.type === 'outbound-rtp');
  return summariseStreams(own, own.length ? consumer.score.score : null);
}
