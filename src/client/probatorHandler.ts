// How a recv transport's handler receives the RTP probator (the stream mediasoup sends bandwidth
// probes on, on an m-section of its own). mediasoup-client negotiates it right after the first
// receive that had a video: a second negotiation, which re-applies every m-section of the
// first. Here it comes before: `prepareToReceive` negotiates it alone as soon as the client asks
// to listen, which also connects the transport (ICE and DTLS) while the server makes the offer;
// a transport not prepared gets it in its first video receive. Either way a late joiner's offer is
// one negotiation, on a transport that is connected when it ends (bench/latency.ts, fullClass: for
// a class of 24 tracks the second negotiation cost Chrome about 130 ms on a 2-core machine, and the
// connection after it 50-120 ms more).
import { ortc } from 'mediasoup-client';
import type { HandlerInterface, HandlerReceiveOptions, HandlerReceiveResult } from 'mediasoup-client/handlers/HandlerInterface';
import type { RtpCapabilities, RtpParameters } from 'mediasoup-client/types';

/** The track id mediasoup-client's Transport receives the probator under. */
const PROBATOR_TRACK_ID = 'probator';

const folded = new WeakMap<HandlerInterface, ProbatorFirst>();

/** Takes over a recv transport's handler (`transport.handler`) before its first receive. */
export function foldProbator(handler: HandlerInterface | undefined): void {
  if (handler && !folded.has(handler)) folded.set(handler, new ProbatorFirst(handler));
}

/**
 * Negotiates the probator on that transport now, from the video codec and header extensions a video
 * consumer gets with `rtpCapabilities` (the Device's). Once only; nothing for a handler not folded.
 */
export function prepareToReceive(handler: HandlerInterface | undefined, rtpCapabilities: RtpCapabilities): void {
  if (handler) folded.get(handler)?.prepare(rtpCapabilities);
}

/**
 * One recv handler's receives, one at a time in the order asked (mediasoup-client's Transport runs
 * its own one at a time; `prepare` adds one it does not know of). The first with a video brings the
 * probator unless it is negotiated already; mediasoup-client's own probator receive, which follows
 * that one, then gets the result without negotiating.
 */
class ProbatorFirst {
  readonly #receive: (optionsList: HandlerReceiveOptions[]) => Promise<HandlerReceiveResult[]>;
  #probator: Promise<HandlerReceiveResult> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(handler: HandlerInterface) {
    this.#receive = handler.receive.bind(handler);
    handler.receive = (optionsList) => this.#inTurn(() => this.#receiveWithProbator(optionsList));
  }

  prepare(rtpCapabilities: RtpCapabilities): void {
    if (this.#probator) return;
    // Parameters mediasoup-client refuses (it validates them) leave it to the first video receive too.
    let rtpParameters: RtpParameters | undefined;
    try {
      rtpParameters = probatorParameters(rtpCapabilities);
    } catch {
      return;
    }
    if (!rtpParameters) return;
    const receiving = this.#inTurn(() => this.#receiveProbator(rtpParameters));
    this.#probator = receiving;
    // A failure leaves it to the first video receive (this runs before the next receive's turn).
    receiving.catch(() => {
      if (this.#probator === receiving) this.#probator = undefined;
    });
  }

  #inTurn<T>(run: () => Promise<T>): Promise<T> {
    const turn = this.#queue.then(run);
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #receiveWithProbator(optionsList: HandlerReceiveOptions[]): Promise<HandlerReceiveResult[]> {
    if (optionsList.length === 1 && optionsList[0]!.trackId === PROBATOR_TRACK_ID && this.#probator) return [await this.#probator];
    const video = this.#probator ? undefined : optionsList.find((o) => o.kind === 'video');
    if (!video) return this.#receive(optionsList);
    const probator = { trackId: PROBATOR_TRACK_ID, kind: 'video' as const, rtpParameters: ortc.generateProbatorRtpParameters(video.rtpParameters) };
    const results = await this.#receive([...optionsList, probator]);
    this.#probator = Promise.resolve(results.pop()!);
    return results;
  }

  async #receiveProbator(rtpParameters: RtpParameters): Promise<HandlerReceiveResult> {
    const [result] = await this.#receive([{ trackId: PROBATOR_TRACK_ID, kind: 'video', rtpParameters }]);
    return result!;
  }
}

/**
 * The probator's parameters as mediasoup-client makes them from a video consumer's: a consumer gets
 * the router's first video codec this browser receives (the capabilities list them in the router's
 * order) and every video header extension it can receive, with the router's ids.
 */
function probatorParameters(caps: RtpCapabilities): RtpParameters | undefined {
  const codec = caps.codecs?.find((c) => c.kind === 'video' && !/\/rtx$/i.test(c.mimeType));
  if (codec?.preferredPayloadType === undefined) return undefined;
  return ortc.generateProbatorRtpParameters({
    codecs: [{ mimeType: codec.mimeType, payloadType: codec.preferredPayloadType, clockRate: codec.clockRate, parameters: codec.parameters ?? {}, rtcpFeedback: codec.rtcpFeedback ?? [] }],
    headerExtensions: (caps.headerExtensions ?? [])
      .filter((h) => h.kind === 'video')
      .map((h) => ({ uri: h.uri, id: h.preferredId, encrypt: h.preferredEncrypt ?? false, parameters: {} })),
    encodings: [{ ssrc: 1 }],
    rtcp: {},
  });
}
