// The Device this client makes by default: mediasoup-client's own handler for this browser, with
// one change to how a recv transport receives. mediasoup-client gives the RTP probator (the stream
// mediasoup sends bandwidth probes on) an m-section of its own, negotiated right after the first
// receive that had a video: a second negotiation, which re-applies every m-section of the first.
// Here the probator rides in that first receive instead. A late joiner's offer is one negotiation,
// not two; for a class of 24 tracks the second cost Chrome about 130 ms on a 2-core machine, while
// the first keyframes were on their way (bench/latency.ts, fullClass).
import { detectDevice, Device, ortc } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { Chrome74 } from 'mediasoup-client/handlers/Chrome74';
import { Firefox120 } from 'mediasoup-client/handlers/Firefox120';
import type { HandlerFactory, HandlerInterface, HandlerReceiveOptions, HandlerReceiveResult } from 'mediasoup-client/handlers/HandlerInterface';
import { ReactNative106 } from 'mediasoup-client/handlers/ReactNative106';
import { Safari12 } from 'mediasoup-client/handlers/Safari12';

/** The track id mediasoup-client's Transport receives the probator under. */
const PROBATOR_TRACK_ID = 'probator';

const BUILTIN = { Chrome111, Chrome74, Firefox120, Safari12, ReactNative106 } as const;

/** `new Device()` with the probator folded into the first video receive; an unsupported browser throws as `new Device()` does. */
export function createDevice(): Device {
  const name = detectDevice();
  if (!name) return new Device();
  return new Device({ handlerFactory: withProbatorInFirstReceive(BUILTIN[name].createFactory()) });
}

export function withProbatorInFirstReceive(base: HandlerFactory): HandlerFactory {
  return {
    ...base,
    factory: (options) => {
      const handler = base.factory(options);
      if (options.direction === 'recv') foldProbator(handler);
      return handler;
    },
  };
}

/**
 * The handler's first receive with a video also receives the probator, from that video's
 * parameters as mediasoup-client would; mediasoup-client's own probator receive, which follows
 * (the Transport runs one at a time), then gets that result without negotiating.
 */
function foldProbator(handler: HandlerInterface): void {
  const receive = handler.receive.bind(handler);
  let probator: HandlerReceiveResult | undefined;
  handler.receive = async (optionsList: HandlerReceiveOptions[]): Promise<HandlerReceiveResult[]> => {
    if (optionsList.length === 1 && optionsList[0]!.trackId === PROBATOR_TRACK_ID) return probator ? [probator] : receive(optionsList);
    const video = probator ? undefined : optionsList.find((o) => o.kind === 'video');
    if (!video) return receive(optionsList);
    const rtpParameters = ortc.generateProbatorRtpParameters(video.rtpParameters);
    const results = await receive([...optionsList, { trackId: PROBATOR_TRACK_ID, kind: 'video', rtpParameters }]);
    probator = results.pop();
    return results;
  };
}
