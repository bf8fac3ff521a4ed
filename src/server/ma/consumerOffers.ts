// How a `newConsumers` (MR offers its consumers in one) reaches a client's socket: as few frames
// as fit under MAX_MESSAGE_BYTES for a version-4 client, which consumes each frame's consumers in
// one negotiation; one `newConsumer` each for an older client, which knows no other.
import { encodeNotification, MAX_MESSAGE_BYTES, NOTIFICATION_SINCE, type NotificationData } from '../../protocol/messages.js';

type Offered = NotificationData<'newConsumers'>['consumers'][number];

/** The frames (encoded) that carry `consumers` to a client of `protocolVersion`. */
export function consumerOfferFrames(consumers: readonly Offered[], protocolVersion: number): string[] {
  if (protocolVersion < NOTIFICATION_SINCE.newConsumers!) return consumers.map((consumer) => encodeNotification('newConsumer', consumer));
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
