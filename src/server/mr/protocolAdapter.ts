// The one place where the protocol's shapes meet mediasoup's types. What a client sent was
// validated field by field to the ranges mediasoup accepts (src/protocol/rtp.ts); mediasoup's own
// types are narrower only in ways a schema cannot state (string unions such as header extension
// URIs, which mediasoup checks itself and refuses with a TypeError). What mediasoup produces is
// the full form of the outlines the client checks.
import type { types as ms } from 'mediasoup';
import type { RequestData, ResponseData, RtpCapabilitiesOutline, RtpParametersOutline } from '../../protocol/messages.js';

export const toMediasoup = {
  rtpCapabilities: (caps: RequestData<'join'>['rtpCapabilities']) => caps as ms.RtpCapabilities,
  rtpParameters: (params: RequestData<'produce'>['rtpParameters']) => params as ms.RtpParameters,
  dtlsParameters: (params: RequestData<'connectTransport'>['dtlsParameters']) => params as ms.DtlsParameters,
};

type TransportAnswer = ResponseData<'createTransport'>;

export const fromMediasoup = {
  routerCapabilities: (caps: ms.RtpCapabilities) => caps as unknown as RtpCapabilitiesOutline,
  consumerParameters: (params: ms.RtpParameters) => params as unknown as RtpParametersOutline,
  iceParameters: (params: ms.IceParameters) => params as TransportAnswer['iceParameters'],
  transport: (transport: ms.WebRtcTransport): TransportAnswer => ({
    id: transport.id,
    iceParameters: transport.iceParameters as TransportAnswer['iceParameters'],
    iceCandidates: transport.iceCandidates as unknown as TransportAnswer['iceCandidates'],
    dtlsParameters: transport.dtlsParameters as TransportAnswer['dtlsParameters'],
  }),
};
