// The requests a client sends, as the server checks them: each method's data validated field by
// field (rtp.ts for the media shapes), so nothing reaches mediasoup unchecked. The server's share
// of the protocol: the browser client imports only its types (its answers are in messages.ts).
import * as v from 'valibot';
import { ErrorCode } from './codes.js';
import { AppData, MediaKind } from './media.js';
import { answers, Empty, Id, issuesText, Layers, MAX_OFFERED_CONSUMERS, parseJson, type ParseFailure, type RequestMethod } from './messages.js';
import { DtlsParameters, RtpCapabilities, RtpParameters } from './rtp.js';

/** Requests the client sends: name → [data schema (checked here), answer data schema (`answers`, checked by the client)]. */
export const requests = {
  /** After `welcome`: the client's Device is loaded; here are its receive capabilities. */
  join: [v.object({ rtpCapabilities: RtpCapabilities }), answers.join],
  /** Versions 1 and 2 only: a version-3 client gets its transports with `welcome`. */
  createTransport: [v.object({ direction: v.picklist(['send', 'recv']) }), answers.createTransport],
  connectTransport: [v.object({ transportId: Id, dtlsParameters: DtlsParameters }), answers.connectTransport],
  /** Ask for new ICE credentials after ICE failed or disconnected. */
  restartIce: [v.object({ transportId: Id }), answers.restartIce],
  produce: [
    v.object({
      transportId: Id,
      kind: MediaKind,
      rtpParameters: RtpParameters,
      paused: v.optional(v.boolean()),
      appData: v.optional(AppData),
    }),
    answers.produce,
  ],
  pauseProducer: [v.object({ producerId: Id }), answers.pauseProducer],
  resumeProducer: [v.object({ producerId: Id }), answers.resumeProducer],
  closeProducer: [v.object({ producerId: Id }), answers.closeProducer],
  /** The client is ready to receive: the server offers a consumer of every remote track from now on (`newConsumers`; before version 4 `newConsumer`), those already there before this answer. */
  listen: [Empty, answers.listen],
  /** Start (or restart) forwarding to a consumer; also the "ready" after the client consumed it. */
  resumeConsumer: [v.object({ consumerId: Id }), answers.resumeConsumer],
  /** Version 4: `resumeConsumer` for many at once, as a client does after consuming an offer (one request, not one per track). All or nothing: an id that is not one of this client's consumers now is NOT_FOUND, and none is resumed. */
  resumeConsumers: [v.object({ consumerIds: v.pipe(v.array(Id), v.minLength(1), v.maxLength(MAX_OFFERED_CONSUMERS)) }), answers.resumeConsumers],
  pauseConsumer: [v.object({ consumerId: Id }), answers.pauseConsumer],
  /** The layers this client prefers to receive; answered once the server applied them (an out-of-range layer is BAD_REQUEST). */
  setConsumerPreferredLayers: [v.object({ consumerId: Id, ...Layers.entries }), answers.setConsumerPreferredLayers],
  /** `path`: where the file is written (the client's answer for a segment the server finalizes when the connection is lost). */
  startRecord: [v.object({ producerId: Id }), answers.startRecord],
  stopRecord: [v.object({ producerId: Id }), answers.stopRecord],
  /** The server's side of one of this client's producers (call health). */
  getProducerStats: [v.object({ producerId: Id }), answers.getProducerStats],
  /** The server's side of one of this client's consumers (call health). */
  getConsumerStats: [v.object({ consumerId: Id }), answers.getConsumerStats],
  /** Heartbeat: a socket that cannot answer this in time is treated as lost. */
  ping: [Empty, answers.ping],
  /** Release everything of this client on the server; the server then closes the socket (1000). */
  leave: [Empty, answers.leave],
} as const satisfies { [M in RequestMethod]: readonly [v.GenericSchema, (typeof answers)[M]] };

export type RequestData<M extends RequestMethod> = v.InferOutput<(typeof requests)[M][0]>;

const RequestFrame = v.object({
  type: v.literal('request'),
  id: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  method: v.pipe(v.string(), v.maxLength(64)),
  data: v.optional(v.unknown()),
});
/** A request as the server receives it, data validated for its method. */
export type ParsedRequest = {
  [M in RequestMethod]: { type: 'request'; id: number; method: M; data: RequestData<M> };
}[RequestMethod];

/** Server side: a client frame → a request whose data is valid for its method, or why not. */
export function parseRequest(text: string): { ok: true; request: ParsedRequest } | ParseFailure {
  const json = parseJson(text);
  if (!json.ok) return json;
  const frame = v.safeParse(RequestFrame, json.value);
  if (!frame.success) {
    const raw = json.value as { id?: unknown } | null;
    const id = raw && typeof raw.id === 'number' && Number.isInteger(raw.id) ? raw.id : undefined;
    return { ok: false, code: ErrorCode.BAD_REQUEST, message: `bad frame: ${issuesText(frame.issues)}`, ...(id !== undefined && { id }) };
  }
  const { id, method } = frame.output;
  if (!Object.hasOwn(requests, method)) {
    return { ok: false, code: ErrorCode.UNKNOWN_METHOD, message: `unknown method '${method}'`, id };
  }
  const schema = requests[method as RequestMethod][0];
  const data = v.safeParse(schema, frame.output.data ?? {});
  if (!data.success) {
    return { ok: false, code: ErrorCode.BAD_REQUEST, message: `${method}: ${issuesText(data.issues)}`, id };
  }
  return { ok: true, request: { type: 'request', id, method, data: data.output } as ParsedRequest };
}

