// How a `newConsumers` (MR offers its consumers in one, each with its scores) reaches a client's
// socket: as few frames as fit under MAX_MESSAGE_BYTES for a version-4 client or newer, which
// consumes each frame's consumers in one negotiation; one `newConsumer` each for an older client,
// which knows no other. Before version 5 the scores go in a `consumerScore` each after the offer.
import { encodeNotification, MAX_MESSAGE_BYTES, NOTIFICATION_SINCE, SCORES_IN_OFFER_SINCE, type NotificationData } from '../../protocol/messages.js';

type Offered = NotificationData<'newConsumers'>['consumers'][number];

/** The frames (encoded) that carry `consumers` to a client of `protocolVersion`. */
export function consumerOfferFrames(consumers: readonly Offered[], protocolVersion: number): string[] {
  if (protocolVersion >= SCORES_IN_OFFER_SINCE) return offerFrames(consumers);
  const offered = consumers.map(({ score: _score, producerScore: _producerScore, ...consumer }) => consumer);
  const frames = protocolVersion < NOTIFICATION_SINCE.newConsumers! ? offered.map((consumer) => encodeNotification('newConsumer', consumer)) : offerFrames(offered);
  if (protocolVersion < NOTIFICATION_SINCE.consumerScore!) return frames;
  const scores = consumers.flatMap(({ id, score, producerScore }) =>
    score === undefined || producerScore === undefined ? [] : [encodeNotification('consumerScore', { consumerId: id, score, producerScore })],
  );
  return [...frames, ...scores];
}

function offerFrames(consumers: readonly Offered[]): string[] {
  const frames: string[] = [];
  let batch: Offered[] = [];
  let bytes = 0;
  const flush = () => {
    if (batch.length > 0) frames.push(encodeNotification('newConsumers', { consumers: batch }));
    [batch, bytes] = [[], 0];
  };
  for (const consumer of consumers) {
    // The envelope and the separators are a few dozen bytes: 1 KB of room covers them.
    const size = Buffer.byteLength(JSON.stringify(consumer)) + 1;
    if (batch.length > 0 && bytes + size > MAX_MESSAGE_BYTES - 1024) flush();
    batch.push(consumer);
    bytes += size;
  }
  flush();
  return frames;
}
