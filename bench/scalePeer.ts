// One Node client for the server-scale benchmark: our signaling over `ws` (tests/server/wsClient.ts)
// and werift (a WebRTC stack in TypeScript) for ICE, DTLS and SRTP against mediasoup.
//
// werift has no mediasoup-client, so the handshake is done here the way mediasoup-client does it
// with a browser: werift makes the SDP offer; the answer is written from the server's
// iceParameters, iceCandidates and dtlsParameters (mediasoup's WebRtcTransport is ICE-lite and
// DTLS server; the client is ICE controlling and DTLS client), and `connectTransport` carries
// werift's certificate fingerprint.
//
// What is synthetic: the media. A producer sends RTP that is shaped like a real VP8 + Opus camera
// (30 fps video of ~1.1 KB delta frames and ~5 KB keyframes every 2 s or on PLI, VP8 payload
// descriptor and frame header valid so that mediasoup sees keyframes; 20 ms Opus packets of
// 80 bytes) but whose payload is filler, not an encoded picture. Nobody decodes it: receivers count
// the SRTP packets they decrypt (werift's DTLS transport, per SSRC), which is what the SFU
// forwarding costs are about. Like a browser's, the audio carries the ssrc-audio-level header
// extension (RFC 6464), which is all the server's speaker and level observers read: a producer
// "speaks" at the level it is given.
import { RTCPeerConnection, RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift';
import { NOTIFICATION_SINCE, PROTOCOL_PARAM } from '../src/protocol/messages.js';
import { TestSocket } from '../tests/server/wsClient.js';
import { AUDIO_PT, VIDEO_PT, answerSdp, pcConfig } from '../tests/support/weriftPeer.js';

type Json = Record<string, any>;

export const VIDEO_FPS = 30;
export const AUDIO_PTIME_MS = 20;
const DELTA_BYTES = 1100;
const KEYFRAME_PACKETS = 5;
const KEYFRAME_PACKET_BYTES = 1000;
const KEYFRAME_EVERY = 2 * VIDEO_FPS;
const AUDIO_BYTES = 80;
/** What a browser sends with Opus; mediasoup's speaker and level observers read only this. */
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const AUDIO_LEVEL_ID = 1;
/** Ordinary speech, well above the server's silence threshold. */
export const SPEECH_DBOV = -30;
/** Filler for payloads (never encoded pictures). */
const FILLER = Buffer.alloc(2048, 0x5a);

function waitConnected(pc: RTCPeerConnection, timeoutMs = 20_000): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WebRTC not connected after ${timeoutMs} ms (${pc.connectionState})`)), timeoutMs);
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        clearTimeout(timer);
        unSubscribe();
        resolve();
      } else if (state === 'failed' || state === 'closed') {
        clearTimeout(timer);
        unSubscribe();
        reject(new Error(`WebRTC ${state}`));
      }
    });
  });
}

/** A PeerConnection bound to one mediasoup transport: created, offered, answered, connected. */
async function connectTransport(socket: TestSocket, direction: 'send' | 'recv'): Promise<{ pc: RTCPeerConnection; transportId: string; transceivers: RTCRtpTransceiver[] }> {
  const t = await socket.ok<Json>('createTransport', { direction });
  const pc = new RTCPeerConnection(pcConfig());
  const dir = direction === 'send' ? 'sendonly' : 'recvonly';
  const transceivers = [pc.addTransceiver('video', { direction: dir }), pc.addTransceiver('audio', { direction: dir })];
  await pc.setLocalDescription(await pc.createOffer());
  const offer = pc.localDescription!.sdp;
  const fingerprint = /a=fingerprint:(\S+) (\S+)/.exec(offer);
  if (!fingerprint) throw new Error('no fingerprint in the offer');
  await socket.ok('connectTransport', { transportId: t['id'], dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fingerprint[1], value: fingerprint[2] }] } });
  const mids = transceivers.map((tr, i) => ({ mid: tr.mid ?? String(i), kind: (i === 0 ? 'video' : 'audio') as 'video' | 'audio' }));
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, mids, direction === 'send' ? 'recvonly' : 'sendonly') });
  await waitConnected(pc);
  return { pc, transportId: t['id'], transceivers };
}

/** What we tell the server we can receive: the router's Opus and VP8, no RTX, no header extensions. */
function receiveCapabilities(router: Json): Json {
  const codecs = (router['codecs'] as Json[]).filter((c) => ['audio/opus', 'video/vp8'].includes(String(c['mimeType']).toLowerCase()));
  return { codecs: codecs.map((c) => ({ ...c, rtcpFeedback: (c['rtcpFeedback'] ?? []).filter((f: Json) => f['type'] === 'nack') })), headerExtensions: [] };
}

export class ScalePeer {
  private pcs: RTCPeerConnection[] = [];
  private timers: NodeJS.Timeout[] = [];
  /** RTP packets decrypted on the recv transport, by SSRC. */
  readonly received = new Map<number, number>();
  rtpReceived = 0;
  rtpSent = 0;
  consumers = 0;
  private closed = false;

  private constructor(readonly socket: TestSocket) {}

  /**
   * Socket open, `welcome`, `join`. It speaks the protocol version that brought call health's
   * notifications (the server sends it the speaker and levels, as to a browser), and what this
   * peer implements of that version only.
   */
  static async open(url: string, token: string): Promise<ScalePeer> {
    const { socket, welcome } = await TestSocket.welcomed(`${url}?${PROTOCOL_PARAM}=${NOTIFICATION_SINCE.activeSpeaker ?? 1}`, token);
    await socket.ok('join', { rtpCapabilities: receiveCapabilities(welcome.data.routerRtpCapabilities as Json) });
    return new ScalePeer(socket);
  }

  /** The level (dBov, -127..0) this peer's audio says it has; `null`: no audio-level extension at all. */
  audioLevelDbov: number | null = SPEECH_DBOV;

  /** Send transport, a VP8 and an Opus producer, then synthetic RTP on both until close(). Resolves with their producer ids. */
  async produce(): Promise<{ video: string; audio: string }> {
    const { pc, transportId, transceivers } = await connectTransport(this.socket, 'send');
    this.pcs.push(pc);
    const [video, audio] = transceivers as [RTCRtpTransceiver, RTCRtpTransceiver];
    const params = (kind: 'video' | 'audio', tr: RTCRtpTransceiver) => ({
      mid: tr.mid,
      codecs: [
        kind === 'video'
          ? { mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }
          : { mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] },
      ],
      headerExtensions: kind === 'audio' ? [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_ID, encrypt: false, parameters: {} }] : [],
      encodings: [{ ssrc: tr.sender.ssrc }],
      rtcp: { cname: `scale-${tr.sender.ssrc}`, reducedSize: true },
    });
    const v = await this.socket.ok<{ producerId: string }>('produce', { transportId, kind: 'video', rtpParameters: params('video', video) });
    const a = await this.socket.ok<{ producerId: string }>('produce', { transportId, kind: 'audio', rtpParameters: params('audio', audio) });
    this.startVideo(video);
    this.startAudio(audio);
    return { video: v.producerId, audio: a.producerId };
  }

  private startVideo(tr: RTCRtpTransceiver): void {
    let frame = 0;
    let seq = 0;
    let pictureId = 0;
    let pli = true;
    tr.sender.onPictureLossIndication.subscribe(() => (pli = true));
    const send = (payload: Buffer, marker: boolean, timestamp: number) => {
      void tr.sender.sendRtp(new RtpPacket(new RtpHeader({ payloadType: VIDEO_PT, sequenceNumber: seq, timestamp, marker }), payload));
      seq = (seq + 1) & 0xffff;
      this.rtpSent += 1;
    };
    this.timers.push(
      setInterval(() => {
        const key = pli || frame % KEYFRAME_EVERY === 0;
        pli = false;
        const ts = (frame * (90000 / VIDEO_FPS)) >>> 0;
        const packets = key ? KEYFRAME_PACKETS : 1;
        for (let i = 0; i < packets; i++) {
          // VP8 payload descriptor: X, S on the first packet, PID 0; I with a 15-bit picture id.
          const descriptor = Buffer.from([0x80 | (i === 0 ? 0x10 : 0), 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff]);
          // VP8 frame header on the first packet: inverse keyframe bit, show_frame; a keyframe adds
          // the start code and a 320x240 size.
          const header = i > 0 ? Buffer.alloc(0) : key ? Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]) : Buffer.from([0x11, 0x02, 0x00]);
          const size = key ? KEYFRAME_PACKET_BYTES : DELTA_BYTES;
          send(Buffer.concat([descriptor, header, FILLER.subarray(0, size - descriptor.length - header.length)]), i === packets - 1, ts);
        }
        pictureId = (pictureId + 1) & 0x7fff;
        frame += 1;
      }, 1000 / VIDEO_FPS),
    );
  }

  private startAudio(tr: RTCRtpTransceiver): void {
    let n = 0;
    this.timers.push(
      setInterval(() => {
        // Opus TOC 0x78: CELT fullband 20 ms, mono frame; filler after it.
        const payload = Buffer.concat([Buffer.from([0x78]), FILLER.subarray(0, AUDIO_BYTES - 1)]);
        const level = this.audioLevelDbov;
        // RFC 6464: the voice-activity bit, then the level as -dBov (0-127)
        const extensions = level === null ? [] : [{ id: AUDIO_LEVEL_ID, payload: Buffer.from([0x80 | Math.min(127, Math.round(-level))]) }];
        const header = new RtpHeader({ payloadType: AUDIO_PT, sequenceNumber: n & 0xffff, timestamp: (n * 960) >>> 0, extension: extensions.length > 0, extensions });
        void tr.sender.sendRtp(new RtpPacket(header, payload));
        n += 1;
        this.rtpSent += 1;
      }, AUDIO_PTIME_MS),
    );
  }

  /** Recv transport, `listen`, and every `newConsumer` resumed, until `expected` consumers. */
  async consume(expected: number, timeoutMs = 30_000): Promise<void> {
    const { pc } = await connectTransport(this.socket, 'recv');
    this.pcs.push(pc);
    const dtls = pc.getTransceivers()[0]!.receiver.dtlsTransport;
    dtls.onRtp.subscribe((rtp) => {
      this.rtpReceived += 1;
      this.received.set(rtp.header.ssrc, (this.received.get(rtp.header.ssrc) ?? 0) + 1);
    });
    await this.socket.ok('listen');
    const seen = new Set<string>();
    const deadline = Date.now() + timeoutMs;
    while (seen.size < expected) {
      const n = await this.socket.waitFor(
        (f) => f.type === 'notification' && f.method === 'newConsumer' && !seen.has((f.data as Json)['id']),
        'newConsumer',
        Math.max(1, deadline - Date.now()),
      );
      const id = (n as { data: Json }).data['id'] as string;
      seen.add(id);
      await this.socket.ok('resumeConsumer', { consumerId: id });
      this.consumers += 1;
    }
  }

  /** `leave` (server releases, closes 1000) or, with `abrupt`, just the socket; then the PCs. */
  async close(abrupt = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    try {
      if (abrupt) await this.socket.close();
      else {
        await this.socket.ok('leave');
        await this.socket.waitClosed();
      }
    } catch {
      this.socket.ws.terminate();
    }
    await Promise.all(this.pcs.map((pc) => pc.close().catch(() => undefined)));
  }
}
