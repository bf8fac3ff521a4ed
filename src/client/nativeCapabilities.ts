// The browser's own RTP capabilities. mediasoup-client's `Device.load` finds them with two throwaway
// negotiations (a recvonly and a sendonly RTCPeerConnection: 40-90 ms on a 2-core machine), and it
// is called only once the welcome brought the router's capabilities, so the join waited for them.
// They depend on the browser alone: they are asked as the client is created, while its socket
// opens, and every Device the client loads gets those same answers.
import type { Device } from 'mediasoup-client';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';
import type { RtpCapabilities } from 'mediasoup-client/types';

type ProbeDirection = 'recvonly' | 'sendonly';

/**
 * Returns `adopt(device)`: has a Device (not loaded) take its native capabilities from one probe per
 * direction, asked when the first Device is adopted (a failed probe fails the load that needs it
 * and is asked again by the next). mediasoup-client has no public way in: the Device's handler
 * factory (`_handlerFactory`, which `load` reads its probes from) is replaced by one that asks
 * here. A Device without one is left as it is, and probes in `load`.
 */
export function sharedNativeCapabilities(): (device: Device) => Device {
  const asked = new Map<ProbeDirection, Promise<RtpCapabilities>>();
  return (device) => {
    const holder = device as unknown as { _handlerFactory?: HandlerFactory };
    const factory = holder._handlerFactory;
    if (!factory) return device;
    const probe = (direction: ProbeDirection) => {
      let answer = asked.get(direction);
      if (!answer) {
        asked.set(direction, (answer = factory.getNativeRtpCapabilities({ direction })));
        answer.catch(() => asked.delete(direction));
      }
      return answer;
    };
    holder._handlerFactory = { ...factory, getNativeRtpCapabilities: ({ direction }) => probe(direction) };
    probe('recvonly');
    probe('sendonly');
    return device;
  };
}
