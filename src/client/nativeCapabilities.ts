// The browser's own RTP capabilities. mediasoup-client's `Device.load` finds them with two throwaway
// negotiations (a recvonly and a sendonly RTCPeerConnection: 40-90 ms on a 2-core machine), and it
// is called only once the welcome brought the router's capabilities, so the join waited for them.
// They depend on the browser alone: the client's first Device asks for them as the client is
// created, while its socket opens, and its load takes those answers.
import type { Device } from 'mediasoup-client';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';

/**
 * Starts `device`'s two probes now; its `load` then awaits them (a failed one fails that load, as
 * it would have). mediasoup-client has no public way in: the Device's handler factory
 * (`_handlerFactory`, where `load` finds its probes) is replaced by one that hands over these. A
 * Device without one is left as it is: it probes in `load`.
 */
export function probeNativeCapabilities(device: Device): Device {
  const holder = device as unknown as { _handlerFactory?: HandlerFactory };
  const factory = holder._handlerFactory;
  if (!factory) return device;
  const recv = factory.getNativeRtpCapabilities({ direction: 'recvonly' });
  const send = factory.getNativeRtpCapabilities({ direction: 'sendonly' });
  // The load awaits them and fails with their error; these catches only spare a client that never loads an unhandled rejection.
  for (const probe of [recv, send]) probe.catch(() => undefined);
  holder._handlerFactory = { ...factory, getNativeRtpCapabilities: ({ direction }) => (direction === 'recvonly' ? recv : send) };
  return device;
}
