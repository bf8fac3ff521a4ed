// A listener's first video frame needs a keyframe, and a browser sends one only when asked, at
// most once per 300 ms (libwebrtc's kMinKeyframeSendIntervalMs: a request that soon after the last
// one it honoured is ignored). A consumer resumed inside that window must not ask in vain and wait
// for mediasoup's own retry, 1 s later (src/server/mr/keyframeTiming.ts).
//
// One node (a MediaRouter and its real mediasoup worker), driven directly as the gateway does; its
// peers are werift clients over real WebRTC. The sender behaves as libwebrtc does: it starts with
// a keyframe, answers a keyframe request (PLI) with one at its next frame only 300 ms after the last
// request it honoured, and notes every request and whether it ignored it. Each keyframe carries the
// number of the request it answers (0: unasked), so a listener's first packet (mediasoup forwards
// from a keyframe on) says which request opened its video.
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtpHeader, RtpPacket } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';
import { keyframeWait, watchSender } from '../../src/server/mr/keyframeTiming.js';
import { loadMediasoup } from '../../src/server/mr/mediasoupLoader.js';
import { MediaRouter } from '../../src/server/mr/mediaRouter.js';
import { Recordings } from '../../src/server/mr/recordings.js';
import { startTestWorkerPool } from '../support/workerPool.js';
import { openDatabase } from '../../src/server/store/sqliteDatabase.js';
import { SqliteRecordingStore } from '../../src/server/store/sqliteRecordings.js';
import { VIDEO_PT } from '../support/weriftPeer.js';
import { RouterClient, until, vp8Parameters, vp8Payload } from '../support/routerClient.js';

const logger = createLogger('warn');
const FPS = 30;
/** libwebrtc's spacing of honoured keyframe requests. */
const SPACING_MS = 300;

interface Request {
  at: number;
  honoured: boolean;
}

/** A werift client of one peer of the MediaRouter: a libwebrtc-like sender, a listener, or both. */
class Client extends RouterClient {
  private timer: NodeJS.Timeout | undefined;
  /** As a sender: every keyframe request that reached it; the keyframes sent, by the request each answers (0: unasked). */
  readonly requests: Request[] = [];
  readonly keyframes: number[] = [];
  sent = 0;
  private closed = false;
  /** As a listener: the tag of the first packet of each SSRC (the keyframe that opened it), and when it came. */
  readonly first = new Map<number, { tag: number; at: number }>();
  private readonly received = new Map<number, number>();

  get ignored(): Request[] {
    return this.requests.filter((r) => !r.honoured);
  }

  /**
   * A VP8 producer sending like libwebrtc (see the header), a frame a packet. With `early`, it sends
   * from before the server has its producer, as a browser does after a reconnect: its first
   * keyframe is lost; and until a keyframe is asked for, a packet every turn of the event loop,
   * so that one surely reaches the worker right after the producer's birth.
   */
  async produce({ early = false } = {}): Promise<string> {
    const { id, transceiver } = await this.transport('send');
    let asked: number | undefined = 0;
    let honouredAt = -Infinity;
    transceiver.sender.onPictureLossIndication.subscribe(() => {
      const at = performance.now();
      const honoured = at - honouredAt >= SPACING_MS;
      this.requests.push({ at, honoured });
      if (honoured) {
        honouredAt = at;
        asked = this.requests.length;
      }
      this.wake();
    });
    let seq = 0;
    let picture = 0;
    const send = () => {
      const keyframe = asked !== undefined;
      if (keyframe) this.keyframes.push(asked!);
      const tag = keyframe ? asked! : 0xff;
      asked = undefined;
      const rtp = new RtpHeader({ payloadType: VIDEO_PT, sequenceNumber: seq, timestamp: (picture * (90000 / FPS)) >>> 0, marker: true });
      void transceiver.sender.sendRtp(new RtpPacket(rtp, vp8Payload(picture, keyframe, tag)));
      seq = (seq + 1) & 0xffff;
      picture = (picture + 1) & 0x7fff;
      this.sent += 1;
      this.wake();
    };
    if (early) {
      const flood = () => {
        if (this.closed) return;
        send();
        if (this.requests.length === 0) setImmediate(flood);
        else this.timer = setInterval(send, 1000 / FPS);
      };
      flood();
      await this.until(() => this.sent >= 3, 'frames sent before the producer');
    }
    const { producerId } = await this.ok('produce', { transportId: id, kind: 'video', rtpParameters: vp8Parameters(transceiver, 'keyframes') });
    if (!early) this.timer = setInterval(send, 1000 / FPS);
    return producerId as string;
  }

  /** A recv transport and `listen`; the first packet of each SSRC is noted. */
  async listen(): Promise<void> {
    const { pc } = await this.transport('recv');
    pc.getTransceivers()[0]!.receiver.dtlsTransport.onRtp.subscribe((rtp) => {
      const { ssrc } = rtp.header;
      if (!this.first.has(ssrc)) this.first.set(ssrc, { tag: rtp.payload.at(-1)!, at: performance.now() });
      this.received.set(ssrc, this.packets(ssrc) + 1);
      this.wake();
    });
    await this.ok('listen');
  }

  packets(ssrc: number): number {
    return this.received.get(ssrc) ?? 0;
  }

  /** The (paused) consumer of `producerId`, once its `newConsumer` came. */
  async consumerOf(producerId: string): Promise<{ id: string; ssrc: number }> {
    const data = await this.notification('newConsumer', (d) => d['producerId'] === producerId);
    return { id: data['id'] as string, ssrc: data['rtpParameters']['encodings'][0]['ssrc'] as number };
  }

  override async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await super.close();
  }
}

const running: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close();
});

async function startNode(): Promise<MediaRouter> {
  const mediasoup = await loadMediasoup();
  const pool = await startTestWorkerPool(mediasoup, logger);
  const db = openDatabase(':memory:');
  const media = new MediaRouter(pool, new Recordings(new SqliteRecordingStore(db, 'n1'), mkdtempSync(join(tmpdir(), 'media-infra-keyframes-')), logger), logger);
  running.push({
    close: async () => {
      media.close();
      db.close();
    },
  });
  return media;
}

async function client(media: MediaRouter, roomId: string, userId: string): Promise<Client> {
  const c = await Client.join(media, roomId, userId, ['video/vp8']);
  running.push(c);
  return c;
}

/** A node with Bob and Carol listening and Alice sending (no request yet): their paused consumers of her video. */
async function senderAndTwoListeners(roomId: string) {
  const media = await startNode();
  const [b, c] = [await client(media, roomId, 'bob'), await client(media, roomId, 'carol')];
  await Promise.all([b.listen(), c.listen()]);
  const a = await client(media, roomId, 'alice');
  const producerId = await a.produce();
  const [cb, cc] = [await b.consumerOf(producerId), await c.consumerOf(producerId)];
  await a.until(() => a.sent >= 3, 'the sender sending');
  return { a, b, c, cb, cc };
}

describe("a video consumer's resume", () => {
  it('resumed just after the sender honoured a request, gets its keyframe from the next request the sender honours, not from an ignored one', async () => {
    const { a, b, c, cb, cc } = await senderAndTwoListeners('room-1');

    // Bob's resume asks the sender for the first time: honoured, and its keyframe opens his video.
    await b.ok('resumeConsumer', { consumerId: cb.id });
    await b.until(() => b.first.has(cb.ssrc), "Bob's first packet");
    expect(a.requests).toHaveLength(1);
    expect(b.first.get(cb.ssrc)!.tag).toBe(1);

    // Carol resumes a frame after that keyframe came (a client is a network away: the server has
    // heard of the keyframe by then), inside the sender's 300 ms: her resume waits until the
    // sender will honour it, rather than ask in vain.
    await b.until(() => b.packets(cb.ssrc) >= 2, "Bob's next frame");
    const resumedAt = performance.now();
    await c.ok('resumeConsumer', { consumerId: cc.id });
    await c.until(() => c.first.has(cc.ssrc), "Carol's first packet");
    const asked = a.requests[1]!;
    console.log(
      `second consumer: resumed ${Math.round(resumedAt - a.requests[0]!.at)} ms after the honoured request, ` +
        `its request reached the sender ${Math.round(asked.at - resumedAt)} ms after the resume, first packet after ${Math.round(c.first.get(cc.ssrc)!.at - resumedAt)} ms`,
    );
    expect(a.ignored).toEqual([]);
    expect(a.requests).toHaveLength(2);
    expect(c.first.get(cc.ssrc)!.tag).toBe(2);
    // The sender's spacing, not mediasoup's retry (1 s after an ignored request): the second request
    // came no sooner than the sender would honour it, and it is the only one after the first.
    expect(asked.at - a.requests[0]!.at).toBeGreaterThanOrEqual(SPACING_MS);
  });

  it("after a sender's reconnect: a listener resumed just after the keyframe of the producer's first request does not ask in vain", async () => {
    const media = await startNode();
    const b = await client(media, 'room-2', 'bob');
    await b.listen();
    const a = await client(media, 'room-2', 'alice');
    // As a browser after a reconnect: it sends before the server has its new producer, so its own
    // first keyframe is lost and mediasoup asks for one at the producer's first packet, which comes
    // right after its birth: the server must have watched that request.
    const producerId = await a.produce({ early: true });
    const cb = await b.consumerOf(producerId);
    await a.until(() => a.keyframes.includes(1), "the keyframe of the producer's first request");
    const sent = a.sent;
    await a.until(() => a.sent > sent, 'one frame more: the server has heard of that keyframe');

    await b.ok('resumeConsumer', { consumerId: cb.id });
    await b.until(() => b.first.has(cb.ssrc), "Bob's first packet");
    expect(a.ignored).toEqual([]);
    expect(a.requests).toHaveLength(2);
    expect(b.first.get(cb.ssrc)!.tag).toBe(2);
  });

  it('is not held when the sender has honoured no request, nor while the keyframe of the one it honoured is on its way', async () => {
    const { a, b, c, cb, cc } = await senderAndTwoListeners('room-3');

    // Both resumed back to back: Bob's request is honoured and Carol's (pending in mediasoup, not
    // sent again) is not held, so the same keyframe opens both.
    await Promise.all([b.ok('resumeConsumer', { consumerId: cb.id }), c.ok('resumeConsumer', { consumerId: cc.id })]);
    await Promise.all([b.until(() => b.first.has(cb.ssrc), "Bob's first packet"), c.until(() => c.first.has(cc.ssrc), "Carol's first packet")]);
    expect(a.requests).toEqual([expect.objectContaining({ honoured: true })]);
    expect([b.first.get(cb.ssrc)!.tag, c.first.get(cc.ssrc)!.tag]).toEqual([1, 1]);
  });
});

describe('watchSender', () => {
  it("counts the producer's first keyframe request when it came before the trace was on", async () => {
    const mediasoup = await loadMediasoup();
    const worker = await mediasoup.createWorker({ logLevel: 'warn' });
    running.push({ close: async () => worker.close() });
    const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    const ssrc = 1234;
    const producer = await transport.produce({
      kind: 'video',
      rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }], encodings: [{ ssrc }] },
    });
    // A raw RTP sender on the plain transport; it notes the PLIs it gets.
    const wakers = new Set<() => void>();
    const wake = () => [...wakers].forEach((w) => w());
    const woken = (w: () => void) => (wakers.add(w), () => wakers.delete(w));
    let plis = 0;
    const socket = createSocket('udp4');
    running.push({ close: async () => void socket.close() });
    socket.on('message', (msg) => {
      for (let at = 0; at + 4 <= msg.length; at += (msg.readUInt16BE(at + 2) + 1) * 4) if (msg[at + 1] === 206 && (msg[at]! & 0x1f) === 1) plis += 1;
      wake();
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    let seq = 0;
    const send = (keyframe: boolean) => {
      const header = Buffer.alloc(12);
      header.writeUInt8(0x80, 0);
      header.writeUInt8(0x80 | VIDEO_PT, 1);
      header.writeUInt16BE(seq, 2);
      header.writeUInt32BE(seq * 3000, 4);
      header.writeUInt32BE(ssrc, 8);
      socket.send(Buffer.concat([header, vp8Payload(seq, keyframe, 0)]), transport.tuple.localPort, '127.0.0.1');
      seq += 1;
    };

    // The sender's first keyframe was lost: its first packet is a delta frame, and mediasoup asks
    // for a keyframe before anything watches the producer (as when the watch comes a moment late).
    send(false);
    await until(() => plis === 1, woken, 'the PLI at the first packet');
    await watchSender(producer);
    const keyframeIn = new Promise<void>((resolve) => producer.observer.on('trace', (t) => t.type === 'keyframe' && resolve()));
    send(true);
    await keyframeIn;
    // Its keyframe came: a consumer resumed now must wait out the rest of the sender's 300 ms.
    expect(keyframeWait(producer)).toBeGreaterThan(0);
    expect(plis).toBe(1);
  });
});
