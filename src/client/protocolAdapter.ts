// The one place on the client where the protocol's shapes (src/protocol, checked by valibot) meet
// mediasoup-client's types. Both describe the same JSON: what the server sends was made by
// mediasoup and is checked here for its outline only; what the client sends was made by
// mediasoup-client and is checked field by field by the server. mediasoup-client's types are
// narrower only in ways a schema does not state (string unions such as header extension URIs).
// The server's counterpart is src/server/mr/protocolAdapter.ts.
import type * as mc from 'mediasoup-client/types';
import type { TransportConnectionState } from '../../machines/transportMachine.js';
import type { NotificationData, RequestData, ResponseData } from '../protocol/messages.js';

export const toMediasoupClient = {
  routerCapabilities: (caps: NotificationData<'welcome'>['routerRtpCapabilities']) => caps as mc.RtpCapabilities,
  transportOptions: (answer: ResponseData<'createTransport'>) => answer as unknown as mc.TransportOptions,
  iceParameters: (params: ResponseData<'restartIce'>['iceParameters']) => params as mc.IceParameters,
  consumerParameters: (params: NotificationData<'newConsumer'>['rtpParameters']) => params as mc.RtpParameters,
};

export const fromMediasoupClient = {
  rtpCapabilities: (caps: mc.RtpCapabilities) => caps as RequestData<'join'>['rtpCapabilities'],
  rtpParameters: (params: mc.RtpParameters) => params as RequestData<'produce'>['rtpParameters'],
  dtlsParameters: (params: mc.DtlsParameters) => params as RequestData<'connectTransport'>['dtlsParameters'],
  /** The same union on both sides (no cast): this stops compiling the day mediasoup-client adds a state. */
  connectionState: (state: mc.ConnectionState): TransportConnectionState => state,
};
