// A werift client driving one peer of a MediaRouter directly (no gateway): what MR sees from a
// browser, for the server tests that run MR in the test process (pipes, keyframe timing). Each test
// extends it with the sender or listener it needs. Waits are on events (notifications, RTP, ICE),
// never on a timer.
import { RTCPeerConnection, type RTCRtpTransceiver } from 'werift';
import type { PeerHandle, PeerRequest } from '../../src/server/mr/api.js';
import type { MediaRouter } from '../../src/server/mr/mediaRouter.js';
import { VIDEO_PT, answerSdp, pcConfig } from './weriftPeer.js';

export type Json = Record<string, any>;

/** Resolves when `check` holds, re-checked on every event `subscribe` reports (never on a timer). */
export function until(check: () => boolean, subscribe: (wake: () => void) => () => void, what: string, timeoutMs = 15_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (stop(), reject(new Error(`timed out waiting for ${what}`))), timeoutMs);
    const stop = subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

/** A VP8 payload of one frame: descriptor (X, S, picture id), frame header (bit 0 clear: a keyframe, with its start code and size), then 600 bytes of `fill`. */
export function vp8Payload(picture: number, keyframe: boolean, fill: number): Buffer {
  const descriptor = Buffer.from([0x90, 0x80, 0x80 | ((picture >> 8) & 0x7f), picture & 0xff]);
  const header = keyframe ? Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]) : Buffer.from([0x11, 0x02, 0x00]);
  return Buffer.concat([descriptor, header, Buffer.alloc(600, fill)]);
}

/** `produce`'s parameters of a VP8 sender on `transceiver`, one RTP stream, NACK and PLI. */
export function vp8Parameters(transceiver: RTCRtpTransceiver, cname: string): Json {
  return {
    mid: transceiver.mid,
    codecs: [{ mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
    headerExtensions: [],
    encodings: [{ ssrc: transceiver.sender.ssrc }],
    rtcp: { cname: `${cname}-${transceiver.sender.ssrc}`, reducedSize: true },
  };
}

export class RouterClient {
  readonly notifications: { method: string; data: Json }[] = [];
  protected readonly wakers = new Set<() => void>();
  protected readonly pcs: RTCPeerConnection[] = [];

  constructor(readonly peer: PeerHandle) {}

  /** A peer of `roomId` on `media`, joined with the router's codecs of `mimeTypes` (lower case). */
  static async join<C extends RouterClient>(this: new (peer: PeerHandle) => C, media: MediaRouter, roomId: string, userId: string, mimeTypes: string[]): Promise<C> {
    let client: C | undefined;
    const peer = await media.openPeer({ roomId, userId, notify: (method, data) => client?.notified(method, data as Json), onClosedByServer: () => undefined });
    client = new this(peer);
    const codecs = (peer.routerRtpCapabilities.codecs as Json[]).filter((c) => mimeTypes.includes(String(c['mimeType']).toLowerCase()));
    await client.ok('join', { rtpCapabilities: { codecs, headerExtensions: [] } });
    return client;
  }

  async ok(method: PeerRequest['method'], data: Json = {}): Promise<Json> {
    const res = await this.peer.request({ method, data } as PeerRequest);
    if (!res.ok) throw new Error(`${method}: ${res.error.code} ${res.error.message}`);
    return res.data as Json;
  }

  /** Waits until `check` holds, re-checked on every notification, RTP packet and ICE change this client sees. */
  until(check: () => boolean, what: string): Promise<void> {
    return until(check, (wake) => (this.wakers.add(wake), () => this.wakers.delete(wake)), what);
  }

  async notification(method: string, match: (data: Json) => boolean = () => true): Promise<Json> {
    const find = () => this.notifications.find((n) => n.method === method && match(n.data));
    await this.until(() => find() !== undefined, method);
    return find()!.data;
  }

  async close(): Promise<void> {
    this.peer.close('test over');
    for (const pc of this.pcs) await pc.close().catch(() => undefined);
  }

  protected wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** A transport of `direction` with one video m-line, connected. */
  protected async transport(direction: 'send' | 'recv'): Promise<{ id: string; pc: RTCPeerConnection; transceiver: RTCRtpTransceiver }> {
    const t = await this.ok('createTransport', { direction });
    const pc = new RTCPeerConnection(pcConfig());
    this.pcs.push(pc);
    const transceiver = pc.addTransceiver('video', { direction: direction === 'send' ? 'sendonly' : 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const fingerprint = /a=fingerprint:(\S+) (\S+)/.exec(pc.localDescription!.sdp)!;
    await this.ok('connectTransport', { transportId: t['id'], dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fingerprint[1], value: fingerprint[2] }] } });
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, [{ mid: transceiver.mid ?? '0', kind: 'video' }], direction === 'send' ? 'recvonly' : 'sendonly') });
    pc.connectionStateChange.subscribe(() => this.wake());
    await this.until(() => pc.connectionState === 'connected', 'WebRTC connected');
    return { id: t['id'] as string, pc, transceiver };
  }

  private notified(method: string, data: Json): void {
    // MR offers consumers together (`newConsumers`); these tests look for each one's, as the
    // gateway sends them to a client older than protocol 4.
    if (method === 'newConsumers') for (const consumer of data['consumers'] as Json[]) this.notifications.push({ method: 'newConsumer', data: consumer });
    else this.notifications.push({ method, data });
    this.wake();
  }
}
