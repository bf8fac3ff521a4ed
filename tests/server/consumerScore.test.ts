// A consumer's score reaches its client with the consumer, not only at the next change: mediasoup
// emits a consumer's score only when it changes, and a listener that arrives after the producer's
// score settled may see no change for a long time (a CI run read `score: null` on a live consumer).
// A real server process; the sender and the listeners are werift peers (bench/scalePeer.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { ScalePeer } from '../../bench/scalePeer.js';
import type { Frame } from './wsClient.js';

let server: ServerProcess;
const peers: ScalePeer[] = [];

beforeAll(async () => {
  server = await startServerProcess({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close(true)));
  await server?.stop();
});

async function peer(room: string, user: string): Promise<ScalePeer> {
  const t = await server.connect(room, user);
  const p = await ScalePeer.open(t.url, t.token);
  peers.push(p);
  return p;
}

type Notification = Extract<Frame, { type: 'notification' }>;

describe("a consumer's score", () => {
  it('is told right after the consumers are offered, not only at its next change', async () => {
    const room = 'consumer-score';
    const sender = await peer(room, 'sender');
    await sender.produce();
    // A first listener sees both producers scored (a change from "not scored yet", so an event).
    const early = await peer(room, 'early');
    await early.consume(2);
    const scored = new Set<string>();
    await early.socket.waitFor((f) => {
      if (f.type === 'notification' && f.method === 'consumerScore' && f.data.producerScore > 0) scored.add(f.data.consumerId);
      return scored.size === 2;
    }, 'both of the early listener’s consumers scored', 20_000);

    const late = await peer(room, 'late');
    await late.consume(2);
    const frames = late.socket.frames.filter((f): f is Notification => f.type === 'notification');
    // This peer speaks protocol 2: the listen's offer (one `newConsumers` on the server) reaches it
    // as one `newConsumer` each, and the scores follow them before anything else.
    const offered = frames.flatMap((f, i) => (f.method === 'newConsumer' ? [i] : []));
    expect(offered).toHaveLength(2);
    expect(offered[1]).toBe(offered[0]! + 1);
    const ids = offered.map((i) => (frames[i] as Extract<Notification, { method: 'newConsumer' }>).data.id);
    const next = frames.slice(offered[1]! + 1, offered[1]! + 3);
    expect(next.map((f) => f.method)).toEqual(['consumerScore', 'consumerScore']);
    const scores = next.map((f) => (f as Extract<Notification, { method: 'consumerScore' }>).data);
    expect(scores.map((d) => d.consumerId).sort()).toEqual([...ids].sort());
    for (const { score, producerScore } of scores) {
      // The consumer's own stream starts at 10; its producer's is what mediasoup reads now (0 if idle).
      expect(score).toBe(10);
      expect(producerScore).toBeGreaterThanOrEqual(0);
    }
  });
});
