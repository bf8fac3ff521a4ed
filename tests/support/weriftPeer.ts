// What every werift peer of the tests and benchmarks says to mediasoup the same way: its codecs,
// its loopback-only ICE settings, and mediasoup's side of a transport as the SDP answer to
// werift's offer (mediasoup has no SDP; werift needs one).
import { RTCPeerConnection, useOPUS, useVP8 } from 'werift';

type Json = Record<string, any>;

export const VIDEO_PT = 96;
export const AUDIO_PT = 111;

export function pcConfig(): ConstructorParameters<typeof RTCPeerConnection>[0] {
  return {
    codecs: { video: [useVP8({ payloadType: VIDEO_PT })], audio: [useOPUS({ payloadType: AUDIO_PT })] },
    headerExtensions: { video: [], audio: [] },
    // Loopback only: the server listens on 127.0.0.1.
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    // One ICE+DTLS transport for both m-lines from the start, as mediasoup-client's (bundle only).
    bundlePolicy: 'max-bundle',
  };
}

/** The SDP answer of mediasoup's side of one transport (`t`: the createTransport answer), for werift's offer of `mids`. */
export function answerSdp(t: Json, mids: { mid: string; kind: 'video' | 'audio' }[], remoteDirection: 'recvonly' | 'sendonly'): string {
  const fp = (t['dtlsParameters'].fingerprints as Json[]).find((f) => f['algorithm'] === 'sha-256') ?? t['dtlsParameters'].fingerprints[0];
  const udp = (t['iceCandidates'] as Json[]).filter((c) => c['protocol'] === 'udp');
  const port = udp[0]?.['port'] ?? 9;
  const lines = ['v=0', 'o=mediasoup 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=ice-lite', `a=group:BUNDLE ${mids.map((m) => m.mid).join(' ')}`, 'a=msid-semantic: WMS *'];
  for (const { mid, kind } of mids) {
    const pt = kind === 'video' ? VIDEO_PT : AUDIO_PT;
    lines.push(`m=${kind} ${port} UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 127.0.0.1', `a=mid:${mid}`, `a=${remoteDirection}`, 'a=rtcp-mux', 'a=rtcp-rsize');
    if (kind === 'video') lines.push(`a=rtpmap:${pt} VP8/90000`, `a=rtcp-fb:${pt} nack`, `a=rtcp-fb:${pt} nack pli`);
    else lines.push(`a=rtpmap:${pt} opus/48000/2`);
    lines.push(`a=ice-ufrag:${t['iceParameters'].usernameFragment}`, `a=ice-pwd:${t['iceParameters'].password}`);
    lines.push(`a=fingerprint:${fp['algorithm']} ${fp['value']}`, 'a=setup:passive');
    for (const c of udp) lines.push(`a=candidate:${c['foundation'] ?? 'udp'} 1 udp ${c['priority'] ?? 1} ${c['address'] ?? c['ip']} ${c['port']} typ host`);
    lines.push('a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}
