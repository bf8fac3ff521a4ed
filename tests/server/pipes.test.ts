// A room that spans two nodes: two MediaRouters in this process, each with its own mediasoup worker
// and RTC ports, joined by the in-memory cluster. Real media: werift peers over WebRTC send and
// receive through each node's router, and between the nodes it crosses real PipeTransports.
//
// The sender sends a keyframe only when asked (PLI): mediasoup forwards video to a new consumer only
// from a keyframe on, so every packet a listener gets proves a keyframe request went all the way
// back to the sender, through the pipe.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import { RtpHeader, RtpPacket } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/server/cluster/cluster.js';
import { RedisCluster } from '../../src/server/cluster/redisCluster.js';
import { createLogger } from '../../src/server/logger.js';
import { loadMediasoup } from '../../src/server/mr/mediasoupLoader.js';
import { MediaRouter } from '../../src/server/mr/mediaRouter.js';
import { Recordings } from '../../src/server/mr/recordings.js';
import type { WorkerPool } from '../../src/server/mr/workers.js';
import { openDatabase } from '../../src/server/store/sqliteDatabase.js';
import { SqliteRecordingStore } from '../../src/server/store/sqliteRecordings.js';
import { MemoryNetwork } from '../support/memoryCluster.js';
import { startRedis } from '../support/redis.js';
import { startTestWorkerPool } from '../support/workerPool.js';
import { VIDEO_PT } from '../support/weriftPeer.js';
import { RouterClient, until, vp8Parameters, vp8Payload, type Json } from '../support/routerClient.js';
import { RoomRequest } from '../../src/server/mr/pipeMessages.js';

const logger = createLogger(process.env['PIPES_LOG'] === '1' ? 'debug' : 'warn');
const FPS = 30;

/** A werift client of one peer of a MediaRouter (no gateway): a VP8 sender, a listener, or both. */
class Client extends RouterClient {
  private timer: NodeJS.Timeout | undefined;
  /** RTP packets this client decrypted, by SSRC; and how many keyframe requests reached it as a sender. */
  readonly received = new Map<number, number>();
  sent = 0;
  plis = 0;
  sending = true;

  /**
   * A VP8 producer sending 30 delta frames a second, and a keyframe whenever one is asked for; with
   * `spacingMs`, like a browser, it starts with a keyframe and ignores a request that soon after the
   * last one it honoured (libwebrtc: 300 ms).
   */
  async produce(spacingMs = 0): Promise<string> {
    const { id, transceiver } = await this.transport('send');
    const { producerId } = await this.ok('produce', { transportId: id, kind: 'video', rtpParameters: vp8Parameters(transceiver, 'pipes'), appData: { label: 'camera' } });
    let keyframe = spacingMs > 0;
    let honoured = -Infinity;
    transceiver.sender.onPictureLossIndication.subscribe(() => {
      this.plis += 1;
      if (performance.now() - honoured < spacingMs) return;
      honoured = performance.now();
      keyframe = true;
    });
    let seq = 0;
    let picture = 0;
    this.timer = setInterval(() => {
      if (!this.sending) return;
      const rtp = new RtpHeader({ payloadType: VIDEO_PT, sequenceNumber: seq, timestamp: (picture * (90000 / FPS)) >>> 0, marker: true });
      void transceiver.sender.sendRtp(new RtpPacket(rtp, vp8Payload(picture, keyframe, 0x5a)));
      keyframe = false;
      seq = (seq + 1) & 0xffff;
      picture = (picture + 1) & 0x7fff;
      this.sent += 1;
      this.wake();
    }, 1000 / FPS);
    return producerId as string;
  }

  /** A recv transport, `listen`; every packet decrypted is counted by SSRC. */
  async listen(): Promise<void> {
    const { pc } = await this.transport('recv');
    pc.getTransceivers()[0]!.receiver.dtlsTransport.onRtp.subscribe((rtp) => {
      this.received.set(rtp.header.ssrc, (this.received.get(rtp.header.ssrc) ?? 0) + 1);
      this.wake();
    });
    await this.ok('listen');
  }

  /** The consumer of `producerId`, resumed, once its `newConsumer` came. */
  async consumerOf(producerId: string): Promise<{ id: string; ssrc: number; data: Json }> {
    const data = await this.notification('newConsumer', (d) => d['producerId'] === producerId);
    await this.ok('resumeConsumer', { consumerId: data['id'] });
    return { id: data['id'] as string, ssrc: data['rtpParameters']['encodings'][0]['ssrc'] as number, data };
  }

  packets(ssrc: number): number {
    return this.received.get(ssrc) ?? 0;
  }

  override async close(): Promise<void> {
    clearInterval(this.timer);
    await super.close();
  }
}

/** The pipe transports a worker has made and what they carry, followed through mediasoup's observer; the worker's own dumps confirm. */
class PipeWatch {
  private readonly pipes = new Map<string, ms.PipeTransport>();
  /** Every pipe transport id ever made here. */
  private readonly known = new Set<string>();
  private readonly routers = new Set<ms.Router>();
  private readonly wakers = new Set<() => void>();
  consumers = 0;
  producers = 0;
  private readonly paused = new Set<ms.Producer>();
  /** The pipe consumers open now (their `paused` is what this node was told last). */
  readonly pipeConsumers = new Set<ms.Consumer>();

  /** Pipe producers paused now. */
  get pausedProducers(): number {
    return this.paused.size;
  }

  constructor(worker: ms.Worker) {
    const change = (apply: () => void) => {
      apply();
      for (const w of [...this.wakers]) w();
    };
    worker.observer.on('newrouter', (router) => {
      this.routers.add(router);
      router.observer.once('close', () => this.routers.delete(router));
      router.observer.on('newtransport', (transport) => {
        if (transport.type !== 'pipe') return;
        this.known.add(transport.id);
        change(() => this.pipes.set(transport.id, transport as ms.PipeTransport));
        transport.observer.once('close', () => change(() => this.pipes.delete(transport.id)));
        transport.observer.on('newconsumer', (c) => {
          change(() => ((this.consumers += 1), this.pipeConsumers.add(c)));
          c.observer.on('pause', () => change(() => undefined));
          c.observer.on('resume', () => change(() => undefined));
          c.observer.once('close', () => change(() => ((this.consumers -= 1), this.pipeConsumers.delete(c))));
        });
        transport.observer.on('newproducer', (p) => {
          change(() => (this.producers += 1));
          p.observer.once('close', () => change(() => (this.producers -= 1)));
          p.observer.on('pause', () => change(() => this.paused.add(p)));
          p.observer.on('resume', () => change(() => this.paused.delete(p)));
          p.observer.once('close', () => change(() => this.paused.delete(p)));
          if (p.paused) this.paused.add(p);
        });
      });
    });
  }

  get open(): number {
    return this.pipes.size;
  }

  until(check: () => boolean, what: string): Promise<void> {
    return until(check, (wake) => (this.wakers.add(wake), () => this.wakers.delete(wake)), what);
  }

  /** What the worker itself says: pipe transports its routers still hold, and their pipe consumers and producers. */
  async inWorker(): Promise<{ transports: number; consumers: number; producers: number }> {
    const routers = await Promise.all([...this.routers].map((r) => r.dump().catch(() => undefined)));
    const transports = routers.flatMap((d) => d?.transportIds ?? []).filter((id) => this.known.has(id));
    const dumps = await Promise.all([...this.pipes.values()].filter((t) => transports.includes(t.id)).map((t) => t.dump()));
    return {
      transports: transports.length,
      consumers: dumps.reduce((n, d) => n + d.consumerIds.length, 0),
      producers: dumps.reduce((n, d) => n + d.producerIds.length, 0),
    };
  }
}

interface Node {
  cluster: Cluster;
  media: MediaRouter;
  pool: WorkerPool;
  pipes: PipeWatch;
  /** Its MediaRouter, cluster membership and database closed (once). */
  stop(): Promise<void>;
}

const running: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close();
});

async function startNode(cluster: Cluster, id = cluster.nodeId): Promise<Node> {
  const mediasoup = await loadMediasoup();
  let worker: ms.Worker | undefined;
  const catchWorker = (w: ms.Worker) => (worker = w);
  mediasoup.observer.on('newworker', catchWorker);
  const pool = await startTestWorkerPool(mediasoup, logger).finally(() => mediasoup.observer.off('newworker', catchWorker));
  const db = openDatabase(':memory:');
  const recordings = new Recordings(new SqliteRecordingStore(db, id), mkdtempSync(join(tmpdir(), 'media-infra-pipes-')), logger);
  await cluster.start();
  const media = new MediaRouter(pool, recordings, logger, { cluster, pipeListen: { ip: '127.0.0.1' } });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      media.close();
      await cluster.close();
      db.close();
    })());
  running.push({ close: stop });
  return { cluster, media, pool, pipes: new PipeWatch(worker!), stop };
}

async function twoNodes(): Promise<{ network: MemoryNetwork; n1: Node; n2: Node }> {
  const network = new MemoryNetwork();
  const [n1, n2] = [await startNode(network.node('n1')), await startNode(network.node('n2'))];
  return { network, n1, n2 };
}

async function client(node: Node, roomId: string, userId: string): Promise<Client> {
  const c = await Client.join(node.media, roomId, userId, ['audio/opus', 'video/vp8']);
  running.push(c);
  return c;
}

describe('a room across two nodes', () => {
  it('carries media from a producer on one node to a listener on the other; pause, resume and close cross', async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-p', 'alice');
    const b = await client(n2, 'room-p', 'bob');
    await b.listen();
    const producerId = await a.produce();

    const consumer = await b.consumerOf(producerId);
    expect(consumer.data).toMatchObject({ userId: 'alice', kind: 'video', producerPaused: false, appData: { label: 'camera' } });
    await b.until(() => b.packets(consumer.ssrc) >= 10, 'RTP from node 1 at node 2');
    // One pair of pipe transports: a pipe consumer at the origin, a pipe producer at the listener's node.
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 0 });
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 1 });

    // Paused at the origin: the listener is told, and nothing more crosses though the sender goes on.
    await a.ok('pauseProducer', { producerId });
    await b.notification('consumerProducerPaused', (d) => d['consumerId'] === consumer.id);
    const atPause = b.packets(consumer.ssrc);
    const sentAtPause = a.sent;
    await a.until(() => a.sent >= sentAtPause + FPS, 'a second of frames sent while paused');
    expect(b.packets(consumer.ssrc) - atPause).toBeLessThanOrEqual(2);

    await a.ok('resumeProducer', { producerId });
    await b.notification('consumerProducerResumed', (d) => d['consumerId'] === consumer.id);
    const atResume = b.packets(consumer.ssrc);
    await b.until(() => b.packets(consumer.ssrc) >= atResume + 10, 'RTP again after resume');

    await a.ok('closeProducer', { producerId });
    expect(await b.notification('consumerClosed', (d) => d['consumerId'] === consumer.id)).toMatchObject({ reason: 'producer closed' });
    // The pipe producer and consumer went with it; the transport pair stays while both hold the room.
    await n1.pipes.until(() => n1.pipes.consumers === 0, 'the pipe consumer closed');
    await n2.pipes.until(() => n2.pipes.producers === 0, 'the pipe producer closed');
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 0 });
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 0 });
  });

  it('sets up the pair and the pipe producer before anyone listens; a listener who comes later gets a keyframe through it; none crosses to nobody', async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-k', 'alice');
    const producerId = await a.produce();
    // A peer that only holds the room open at node 2 (it never listens): the pair and the pipe
    // producer are made for it at once, and nothing crosses (the origin's pipe consumer is paused).
    await client(n2, 'room-k', 'dave');
    await n2.pipes.until(() => n2.pipes.producers === 1, 'the pipe producer made before anyone listens');
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 0 });
    const [pipeConsumer] = [...n1.pipes.pipeConsumers];
    expect(pipeConsumer!.paused).toBe(true);

    const b1 = await client(n2, 'room-k', 'bob');
    await b1.listen();
    const first = await b1.consumerOf(producerId);
    await b1.until(() => b1.packets(first.ssrc) >= 10, 'RTP at the first listener');

    const b2 = await client(n2, 'room-k', 'carol');
    await b2.listen();
    const plis = a.plis;
    const asked = performance.now();
    const second = await b2.consumerOf(producerId);
    await b2.until(() => b2.packets(second.ssrc) > 0, 'RTP at the second listener');
    const firstPacketMs = performance.now() - asked;
    // Only a keyframe opens a new consumer's video, and the sender makes one only when asked.
    expect(a.plis).toBeGreaterThan(plis);
    console.log(`later listener: first video packet ${firstPacketMs.toFixed(0)} ms after its consumer was resumed`);
    // Still one pipe producer and one pipe consumer for two listeners.
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 1 });
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 0 });

    // The last listener gone: the pipe producer stays with the room, and no video crosses to nobody.
    await b1.close();
    await b2.close();
    await n1.pipes.until(() => pipeConsumer!.paused, 'the pipe consumer paused');
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 1 });

    // A listener again: the same pipe producer, the same pipe consumer resumed.
    const b3 = await client(n2, 'room-k', 'erin');
    await b3.listen();
    const third = await b3.consumerOf(producerId);
    await b3.until(() => b3.packets(third.ssrc) > 0, 'RTP at a listener after the pause');
    expect(pipeConsumer!.paused).toBe(false);
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 0 });
  });

  it("crosses media only while a listener's consumer is resumed, and its first keyframe does not wait for a browser-like sender's spacing", async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-f', 'alice');
    const producerId = await a.produce(300);
    // The sender sends before the listener's node holds the room: the pipe consumer made then asks
    // for a keyframe the sender gets (made before the first packet, mediasoup has nobody to ask).
    await a.until(() => a.sent >= 2, 'the sender sending');
    const b = await client(n2, 'room-f', 'bob');
    await b.listen();
    const data = await b.notification('newConsumer', (d) => d['producerId'] === producerId);
    const ssrc = data['rtpParameters']['encodings'][0]['ssrc'] as number;
    // Before the listener resumes its consumer, the origin's pipe consumer is paused: nothing crosses for nobody.
    expect(n1.pipes.pipeConsumers.size).toBe(1);
    const [pipeConsumer] = [...n1.pipes.pipeConsumers];
    expect(pipeConsumer!.paused).toBe(true);

    // A browser's listener resumes later than this one: after the keyframe the pipe consumer's creation asked for went by.
    await a.until(() => a.plis >= 1, 'the creation keyframe request at the sender');
    const sentAtRequest = a.sent;
    await a.until(() => a.sent >= sentAtRequest + 2, 'the creation keyframe sent');
    const resumed = performance.now();
    await b.ok('resumeConsumer', { consumerId: data['id'] });
    await b.until(() => b.packets(ssrc) > 0, 'RTP at the listener');
    const firstPacketMs = performance.now() - resumed;
    console.log(`first listener: first video packet ${firstPacketMs.toFixed(0)} ms after its consumer was resumed (${a.plis} PLIs at the sender)`);
    expect(pipeConsumer!.paused).toBe(false);
    // Not mediasoup's keyframe retry (1 s): the request the sender honours is the pipe consumer's resume, spaced from its creation's.
    expect(firstPacketMs).toBeLessThan(800);

    // The listener pauses its consumer: the pipe pauses too; and resumes.
    await b.ok('pauseConsumer', { consumerId: data['id'] });
    await n1.pipes.until(() => pipeConsumer!.paused, 'the pipe consumer paused');
    await b.ok('resumeConsumer', { consumerId: data['id'] });
    await n1.pipes.until(() => !pipeConsumer!.paused, 'the pipe consumer resumed');
    const atResume = b.packets(ssrc);
    await b.until(() => b.packets(ssrc) >= atResume + 10, 'RTP again after the resume');
  });

  it('does not hold the first resume when the sender has honoured no keyframe request: a listener already there waits no spacing', async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-e', 'alice');
    const b = await client(n2, 'room-e', 'bob');
    await b.listen();
    // As in a browser call: the pipe consumer is made at the producer's birth, before the sender
    // sends (its creation's keyframe request goes nowhere), then the sender starts with a keyframe,
    // which the paused pipe drops.
    a.sending = false;
    const producerId = await a.produce(300);
    const data = await b.notification('newConsumer', (d) => d['producerId'] === producerId);
    const [pipeConsumer] = [...n1.pipes.pipeConsumers];
    expect(pipeConsumer!.paused).toBe(true);
    a.sending = true;
    await a.until(() => a.sent >= 2, 'the first keyframe sent');
    expect(a.plis).toBe(0);

    const sentAtResume = a.sent;
    await b.ok('resumeConsumer', { consumerId: data['id'] });
    const ssrc = data['rtpParameters']['encodings'][0]['ssrc'] as number;
    await b.until(() => b.packets(ssrc) > 0, 'RTP at the listener');
    // The resume's request is the first the sender gets: honoured at its next frame. A hold of the
    // sender's spacing would have let some 9 frames go by (at 30 fps).
    expect(a.plis).toBe(1);
    expect(a.sent - sentAtResume).toBeLessThanOrEqual(4);
  });

  it('closes the pipes of a room when the room closes on either side', async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-c', 'alice');
    const producerId = await a.produce();
    const b = await client(n2, 'room-c', 'bob');
    await b.listen();
    const consumer = await b.consumerOf(producerId);
    await b.until(() => b.packets(consumer.ssrc) > 0, 'RTP across');

    // Node 1's room closes (its last peer leaves): node 2 keeps its room, and no pipe.
    await a.close();
    expect(await b.notification('consumerClosed', (d) => d['consumerId'] === consumer.id)).toMatchObject({ reason: 'producer closed' });
    await n2.pipes.until(() => n2.pipes.open === 0, 'node 2 closed its pipe');
    expect(await n2.pipes.inWorker()).toEqual({ transports: 0, consumers: 0, producers: 0 });
    expect((await n2.media.stats()).rooms).toBe(1);

    // And the other way: node 1 opens the room again, media crosses, node 2's room closes.
    const a2 = await client(n1, 'room-c', 'alice');
    const producer2 = await a2.produce();
    const c2 = await b.consumerOf(producer2);
    await b.until(() => b.packets(c2.ssrc) > 0, 'RTP across again');
    expect(await n1.pipes.inWorker()).toMatchObject({ transports: 1, consumers: 1 });
    await b.close();
    await n1.pipes.until(() => n1.pipes.open === 0, 'node 1 closed its pipe');
    expect(await n1.pipes.inWorker()).toEqual({ transports: 0, consumers: 0, producers: 0 });
    expect((await n1.media.stats()).rooms).toBe(1);
  });

  it("ends in the origin's pause state when pauses and resumes cross while the pipe producer is being made, or back to back", async () => {
    const { network, n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-r', 'alice');
    const producerId = await a.produce();
    const b = await client(n2, 'room-r', 'bob');
    const told = (method: string) => b.notifications.filter((n) => n.method === method).length;
    // Node 1's answer to pipe.consume (not paused) is held until its producer has paused: the pause
    // event lands at node 2 right behind the answer, while node 2 is making its pipe producer.
    network.onDeliver = (from, _to, message) => {
      if (from !== 'n1' || message.type !== 'reply:pipe.consume') return;
      network.onDeliver = undefined;
      return a.ok('pauseProducer', { producerId });
    };
    await b.listen();
    const consumer = await b.consumerOf(producerId);
    // Told either way: made paused, or paused right after.
    if (!consumer.data['producerPaused']) await b.notification('consumerProducerPaused', (d) => d['consumerId'] === consumer.id);
    await n2.pipes.until(() => n2.pipes.pausedProducers === 1, 'the pipe producer paused');
    const pausesTold = told('consumerProducerPaused');

    // A resume and a pause back to back at node 2 (the resume is held until node 1 paused again).
    network.onDeliver = (from, _to, message) => {
      if (from !== 'n1' || message.type !== 'room.producerResumed') return;
      network.onDeliver = undefined;
      return a.ok('pauseProducer', { producerId });
    };
    await a.ok('resumeProducer', { producerId });
    await b.until(() => told('consumerProducerPaused') > pausesTold, 'paused again after the resume');
    expect(told('consumerProducerResumed')).toBe(1);
    await n2.pipes.until(() => n2.pipes.pausedProducers === 1, 'the pipe producer paused again');

    await a.ok('resumeProducer', { producerId });
    await b.until(() => told('consumerProducerResumed') === 2, 'resumed');
    await b.until(() => b.packets(consumer.ssrc) >= 10, 'RTP after resume');
  });

  it("closes the other node's pipes when a worker dies and takes the room with it", async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-w', 'alice');
    const producerId = await a.produce();
    const b = await client(n2, 'room-w', 'bob');
    await b.listen();
    const consumer = await b.consumerOf(producerId);
    await b.until(() => b.packets(consumer.ssrc) > 0, 'RTP across');

    process.kill(n1.pool.pids()[0]!, 'SIGKILL');
    expect(await b.notification('consumerClosed', (d) => d['consumerId'] === consumer.id)).toMatchObject({ reason: 'producer closed' });
    await n2.pipes.until(() => n2.pipes.open === 0, 'node 2 closed its pipe');
    expect(await n2.pipes.inWorker()).toEqual({ transports: 0, consumers: 0, producers: 0 });
  });

  it("keeps a connected pair when a rediscovery's pipe.connect is refused (Redis back, the other node not subscribed again yet)", async () => {
    const { network, n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-s', 'alice');
    const producerId = await a.produce();
    const b = await client(n2, 'room-s', 'bob');
    await b.listen();
    const consumer = await b.consumerOf(producerId);
    await b.until(() => b.packets(consumer.ssrc) >= 10, 'RTP across');

    // Node 1's pair was set up by node 2's pipe.connect. Node 1's link comes back from an outage
    // while node 2 is not listening again yet: its rediscovery's pipe.connect is refused.
    let refused = 0;
    network.refuse = (from, _to, message) => from === 'n1' && message.type === RoomRequest.pipeConnect && ++refused > 0;
    network.nodes.get('n1')!.emitter.emit('resynced');
    const atResync = b.packets(consumer.ssrc);
    await b.until(() => b.packets(consumer.ssrc) >= atResync + 2 * FPS, 'RTP two seconds after the resync');
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 0 });
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 1 });
  });

  it('closes every pipe and pipe producer of a node that is lost', async () => {
    const { network, n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-n', 'alice');
    const producerId = await a.produce();
    const b = await client(n2, 'room-n', 'bob');
    await b.listen();
    const consumer = await b.consumerOf(producerId);
    await b.until(() => b.packets(consumer.ssrc) > 0, 'RTP across');

    network.lose('n1');
    expect(await b.notification('consumerClosed', (d) => d['consumerId'] === consumer.id)).toMatchObject({ reason: 'producer closed' });
    await n2.pipes.until(() => n2.pipes.open === 0, 'node 2 closed its pipe');
    expect(await n2.pipes.inWorker()).toEqual({ transports: 0, consumers: 0, producers: 0 });
    // Node 2's room and its peer go on.
    expect((await n2.media.stats()).peers).toBe(1);
  });

  it('carries producers of both nodes to listeners of both, over one pair set up from both sides at once', async () => {
    const { n1, n2 } = await twoNodes();
    const a = await client(n1, 'room-b', 'alice');
    const b = await client(n2, 'room-b', 'bob');
    const [pa, pb] = await Promise.all([a.produce(), b.produce()]);
    await Promise.all([a.listen(), b.listen()]);
    const [ca, cb] = await Promise.all([a.consumerOf(pb), b.consumerOf(pa)]);
    await Promise.all([a.until(() => a.packets(ca.ssrc) >= 10, 'RTP at node 1'), b.until(() => b.packets(cb.ssrc) >= 10, 'RTP at node 2')]);
    expect(await n1.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 1 });
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 1, producers: 1 });
  });
});

describe('a room across two nodes over a real Redis', () => {
  it('carries media, pause and resume between nodes; a node that leaves the cluster takes its pipes with it', async () => {
    const redis = await startRedis();
    running.push(redis);
    const node = (id: string) => startNode(new RedisCluster({ redisUrl: redis.url, nodeId: id, url: `http://${id}.invalid`, maxPeers: 100, logger }));
    const n1 = await node('r1');
    const n2 = await node('r2');
    const a = await client(n1, 'room-redis', 'alice');
    const producerId = await a.produce();
    const b = await client(n2, 'room-redis', 'bob');
    await b.listen();
    const consumer = await b.consumerOf(producerId);
    await b.until(() => b.packets(consumer.ssrc) >= 10, 'RTP from node 1 at node 2');
    expect(await n2.pipes.inWorker()).toEqual({ transports: 1, consumers: 0, producers: 1 });

    await a.ok('pauseProducer', { producerId });
    await b.notification('consumerProducerPaused', (d) => d['consumerId'] === consumer.id);
    await a.ok('resumeProducer', { producerId });
    await b.notification('consumerProducerResumed', (d) => d['consumerId'] === consumer.id);

    // Redis goes away and comes back empty: node 1's close of a producer meanwhile was broadcast to
    // nobody; once the link is back node 2 asks node 1 again and closes what is gone.
    const a2 = await client(n1, 'room-redis', 'carol');
    const second = await a2.produce();
    const secondConsumer = await b.consumerOf(second);
    await redis.stop();
    await a2.ok('closeProducer', { producerId: second });
    await redis.start();
    expect(await b.notification('consumerClosed', (d) => d['consumerId'] === secondConsumer.id)).toMatchObject({ reason: 'producer closed' });

    // Node 1 leaves the cluster while its media goes on (a clean close: the others hear nodeLost at
    // once, and nothing more of node 1's rooms reaches them).
    await n1.cluster.close();
    expect(await b.notification('consumerClosed', (d) => d['consumerId'] === consumer.id)).toMatchObject({ reason: 'producer closed' });
    await n2.pipes.until(() => n2.pipes.open === 0, 'node 2 closed its pipe');
    expect(await n2.pipes.inWorker()).toEqual({ transports: 0, consumers: 0, producers: 0 });
  });
});
