// Every signaling message between MIC (browser) and MA (gateway), declared once with runtime
// validation. Both ends import this file; it imports neither end.
//
// Wire frames (JSON text):
//   client → server   { type: 'request', id, method, data }
//   server → client   { type: 'response', id, ok: true, data } | { type: 'response', id, ok: false, error }
//   server → client   { type: 'notification', method, data }
//
// What a client sends is validated to the ranges mediasoup accepts (requests.ts and rtp.ts, the
// server's share); what the server sends (mediasoup's own objects) is checked for its outline
// (this file and media.ts, the browser client's share). Each end casts them to its library's type.
import * as v from 'valibot';
import { ErrorCode } from './codes.js';
import { AppData, DtlsParametersOutline, IceCandidate, IceParameters, MediaKind, RtpCapabilitiesOutline, RtpParametersOutline } from './media.js';
import type { RequestData } from './requests.js';

/** Most consumers one `newConsumers` offers, or one `resumeConsumers` resumes (a client receives 256 tracks at most). */
export const MAX_OFFERED_CONSUMERS = 256;
/** Largest frame either end accepts, in bytes of UTF-8 text. Capabilities are a few KB. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * The protocol version, bumped on every incompatible change of the wire. The rule: a client sends
 * its version with the socket (`?protocol=N`; no parameter counts as 1) and the server announces
 * its own in `welcome`. The server serves every version from MIN_PROTOCOL_VERSION to
 * PROTOCOL_VERSION and closes an older client's socket with `CloseCode.UNSUPPORTED_PROTOCOL`
 * (4010); a client that hears of a server older than its own MIN_PROTOCOL_VERSION closes itself.
 * Either way the client ends `closed`/'failed' with an `UNSUPPORTED_PROTOCOL` error, never retrying.
 */
export const PROTOCOL_VERSION = 5;
export const MIN_PROTOCOL_VERSION = 1;
/** The socket URL's query parameter carrying the client's protocol version. */
export const PROTOCOL_PARAM = 'protocol';

/** Every id on the wire: ours are UUIDs; room and user ids are the customer's (same rule as the token API). */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const Id = v.pipe(v.string(), v.regex(ID_PATTERN, 'must be 1-128 of A-Z a-z 0-9 _ . : @ -'));

export const Empty = v.object({});

/** Most other nodes a `welcome` lists. */
export const MAX_WELCOME_NODES = 64;
/**
 * A node's socket URL as `welcome` lists it: ws: or wss:, the same path as the URL the client was
 * given; a host and no white space. What `new WebSocket` would still refuse is a failed connection
 * (MediaSignalingService), as an unreachable node is.
 */
const NodeUrl = v.pipe(v.string(), v.maxLength(2048), v.regex(/^wss?:\/\/[^\s/?#]+([/?#]\S*)?$/i, 'must be a ws: or wss: URL'));
/** A spatial or temporal layer index: mediasoup allows a handful; 15 bounds it well above any real encoding. */
const LayerIndex = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(15));
/** The layers a simulcast or SVC consumer receives (or should receive). */
export const Layers = v.object({ spatialLayer: LayerIndex, temporalLayer: v.optional(LayerIndex) });
/** mediasoup's score of an RTP stream: 10 is perfect, 0 is nothing usable. */
const Score = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10));
const Count = v.pipe(v.number(), v.minValue(0));
/** The server's side of one stream (call health): what it received from a producer or sent to a consumer. */
const ServerStreamStats = v.object({
  /** The best of its encodings' scores (a simulcast producer), `null` before the first. */
  score: v.nullable(Score),
  bitrateBps: Count,
  packets: Count,
  packetsLost: v.number(),
  /** The last RTCP interval's loss, 0-1. */
  lossFraction: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  jitterMs: v.nullable(v.number()),
  roundTripTimeMs: v.nullable(v.number()),
  nackCount: Count,
  pliCount: Count,
});

/** A server WebRtcTransport as the client builds its local side from it (`createTransport`'s answer, `welcome.transports`). */
const TransportInfo = v.object({
  id: Id,
  iceParameters: IceParameters,
  iceCandidates: v.pipe(v.array(IceCandidate), v.maxLength(16)),
  dtlsParameters: DtlsParametersOutline,
});

/**
 * Each request's answer: name → the schema of its data, as the client checks it. The requests
 * themselves, and what the server checks of them, are in requests.ts.
 */
export const answers = {
  join: v.object({ peerId: Id }),
  createTransport: TransportInfo,
  connectTransport: Empty,
  restartIce: v.object({ iceParameters: IceParameters }),
  produce: v.object({ producerId: Id }),
  pauseProducer: Empty,
  resumeProducer: Empty,
  closeProducer: Empty,
  listen: Empty,
  resumeConsumer: Empty,
  resumeConsumers: Empty,
  pauseConsumer: Empty,
  setConsumerPreferredLayers: Empty,
  startRecord: v.object({ recordingId: Id, path: v.optional(v.string()) }),
  stopRecord: v.object({ id: Id, path: v.string() }),
  getProducerStats: ServerStreamStats,
  getConsumerStats: ServerStreamStats,
  ping: v.object({ now: v.number() }),
  leave: Empty,
} as const;

/** A consumer the server created, paused, for a remote producer (`newConsumer`, `newConsumers`). */
const NewConsumer = v.object({
  id: Id,
  producerId: Id,
  kind: MediaKind,
  rtpParameters: RtpParametersOutline,
  userId: Id,
  producerPaused: v.boolean(),
  appData: v.optional(AppData),
  /** A simulcast producer's spatial layers, lowest first: how much each is scaled down from the sent size. */
  spatialLayers: v.optional(v.pipe(v.array(v.object({ scaleResolutionDownBy: v.number() })), v.maxLength(16))),
  /** Version 5: the consumer's scores as of the offer, as `consumerScore` says them (before 5 that message follows the offer instead). */
  score: v.optional(Score),
  producerScore: v.optional(Score),
});

/** Notifications the server sends: name → data schema. */
export const notifications = {
  /** First message after the token is accepted: the router's capabilities (the MR "asks" for ours). */
  welcome: v.object({
    protocolVersion: v.number(),
    roomId: Id,
    userId: Id,
    routerRtpCapabilities: RtpCapabilitiesOutline,
    /**
     * Cluster mode: the socket URLs of the cluster's other live nodes (absent on a single node). A
     * client that loses this node tries it again first, then these in order, cycling.
     */
    nodes: v.optional(v.pipe(v.array(NodeUrl), v.maxLength(MAX_WELCOME_NODES))),
    /**
     * Version 3: this peer's send and recv transports, created with the socket (no `createTransport`).
     * The send transport's DTLS role is `client`: the server starts its handshake once
     * `connectTransport` arrives, so a client may go on without waiting for that answer.
     */
    transports: v.optional(v.object({ send: TransportInfo, recv: TransportInfo })),
  }),
  /** Versions 1-3: a consumer was created, paused, for a remote producer; resume it once consumed locally. */
  newConsumer: NewConsumer,
  /**
   * Version 4: consumers created, paused, for remote producers; resume each once consumed locally.
   * `listen` offers every track already there in one (or, past the frame size, a few), sent before
   * its answer, so the client consumes them in one negotiation; a track that comes later, in one of its own.
   */
  newConsumers: v.object({ consumers: v.pipe(v.array(NewConsumer), v.maxLength(MAX_OFFERED_CONSUMERS)) }),
  /** The consumer is gone on the server (its producer closed, its transport closed, ...). */
  consumerClosed: v.object({ consumerId: Id, reason: v.string() }),
  consumerProducerPaused: v.object({ consumerId: Id }),
  consumerProducerResumed: v.object({ consumerId: Id }),
  /** The layers a simulcast consumer receives changed (`null`: none, e.g. paused or no bandwidth). */
  consumerLayersChanged: v.object({ consumerId: Id, layers: v.nullable(Layers) }),
  /** A remote track this client will not receive: no common codec (`UNSUPPORTED_CODEC`), or it receives the most tracks it may (`INVALID_STATE`). */
  trackNotConsumed: v.object({
    producerId: Id,
    userId: Id,
    kind: MediaKind,
    code: v.picklist([ErrorCode.UNSUPPORTED_CODEC, ErrorCode.INVALID_STATE]),
    message: v.string(),
  }),
  /** The server's score of what it receives from one of our producers changed (its best encoding). */
  producerScore: v.object({ producerId: Id, score: Score }),
  /** The server's score of what it sends on one of our consumers (`score`) and of what it receives from its producer (`producerScore`, 0 while that stream is idle or not scored yet) changed. The offer that brought the consumer says both (before version 5, one of these right after the offer does). */
  consumerScore: v.object({ consumerId: Id, score: Score, producerScore: Score }),
  /** The room's dominant speaker changed (`null`: nobody speaks, or the speaker paused or left). Also right after `welcome` when someone speaks, so a client that joins or reconnects knows the current speaker. */
  activeSpeaker: v.object({ speaker: v.nullable(v.object({ userId: Id, producerId: Id })) }),
  /** The room's audio producers above the silence threshold in the last interval, in dBov (-127..0); absent ones are silent. */
  audioLevels: v.object({ levels: v.pipe(v.array(v.object({ producerId: Id, dBov: v.pipe(v.number(), v.minValue(-127), v.maxValue(0)) })), v.maxLength(256)) }),
  /** The server closed one of our producers (not at our request). */
  producerClosed: v.object({ producerId: Id, reason: v.string() }),
  /** A recording ended without `stopRecord` (producer closed, ffmpeg died, shutdown). */
  recordingEnded: v.object({
    producerId: Id,
    id: Id,
    path: v.string(),
    state: v.picklist(['finished', 'failed']),
  }),
} as const;

export type RequestMethod = keyof typeof answers;
export type NotificationMethod = keyof typeof notifications;

/**
 * Notifications a version added (2: layers, scores, the active speaker, audio levels; 4:
 * `newConsumers`). The server sends them only to clients of that version or newer: an older client
 * would log each one as malformed. Nothing else on the wire changed incompatibly from 1 to 2 (new
 * fields are optional and an older client's validation drops them), so the server still serves
 * version 1. From 4 a client gets consumers only in `newConsumers`; an older one gets each as a
 * `newConsumer` (the gateway splits them).
 */
export const NOTIFICATION_SINCE: Partial<Record<NotificationMethod, number>> = {
  consumerLayersChanged: 2,
  producerScore: 2,
  consumerScore: 2,
  activeSpeaker: 2,
  audioLevels: 2,
  newConsumers: 4,
};
/** The version from which an offered consumer carries its scores (`score`, `producerScore`) and no `consumerScore` follows the offer. */
export const SCORES_IN_OFFER_SINCE = 5;
/** The version from which the server takes `resumeConsumers`. */
export const RESUME_BATCH_SINCE = 4;
/** The version from which a `welcome` carries the peer's transports (`welcome.transports`). */
export const WELCOME_TRANSPORTS_SINCE = 3;
export type { ParsedRequest, RequestData } from './requests.js';
export type ResponseData<M extends RequestMethod> = v.InferOutput<(typeof answers)[M]>;
export type NotificationData<M extends NotificationMethod> = v.InferOutput<(typeof notifications)[M]>;

export type { RtpCapabilities, RtpParameters } from './rtp.js';
/** The router's capabilities and a consumer's parameters as the client receives them. */
export type RtpCapabilitiesOutline = v.InferOutput<typeof RtpCapabilitiesOutline>;
export type RtpParametersOutline = v.InferOutput<typeof RtpParametersOutline>;
/** A server transport as a client builds its local one from it. */
export type TransportInfo = v.InferOutput<typeof TransportInfo>;
/** The server's side of one stream, as `getProducerStats` / `getConsumerStats` answer. */
export type ServerStreamStats = v.InferOutput<typeof ServerStreamStats>;

/** Longest error message on the wire, in characters. */
export const MAX_ERROR_MESSAGE = 1000;
const ErrorBody = v.object({
  code: v.picklist(Object.values(ErrorCode)),
  message: v.pipe(v.string(), v.maxLength(MAX_ERROR_MESSAGE)),
});
export type ErrorBody = v.InferOutput<typeof ErrorBody>;

const ResponseFrame = v.variant('ok', [
  v.object({ type: v.literal('response'), id: v.number(), ok: v.literal(true), data: v.optional(v.unknown()) }),
  v.object({ type: v.literal('response'), id: v.number(), ok: v.literal(false), error: ErrorBody }),
]);
const NotificationFrame = v.object({
  type: v.literal('notification'),
  method: v.pipe(v.string(), v.maxLength(64)),
  data: v.optional(v.unknown()),
});

export type ServerMessage =
  | { type: 'response'; id: number; ok: true; data: unknown }
  | { type: 'response'; id: number; ok: false; error: ErrorBody }
  | {
      [M in NotificationMethod]: { type: 'notification'; method: M; data: NotificationData<M> };
    }[NotificationMethod];

/** Why a frame was refused: an error code, a message for humans, and the request id if one was readable. */
export interface ParseFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  id?: number;
}

/** The first issue of a failed check, as `path: message`. */
export function issuesText(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return 'invalid';
  const path = first.path?.map((p) => String(p.key)).join('.') ?? '';
  return path ? `${path}: ${first.message}` : first.message;
}

/** A frame's text as JSON, refused when larger than MAX_MESSAGE_BYTES. */
export function parseJson(text: string): { ok: true; value: unknown } | ParseFailure {
  if (text.length > MAX_MESSAGE_BYTES) {
    return { ok: false, code: ErrorCode.TOO_LARGE, message: `message larger than ${MAX_MESSAGE_BYTES} bytes` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, code: ErrorCode.BAD_REQUEST, message: 'message is not JSON' };
  }
}

/** Client side: a server frame → a response or a notification whose data is valid, or why not. */
export function parseServerMessage(text: string): { ok: true; message: ServerMessage } | ParseFailure {
  const json = parseJson(text);
  if (!json.ok) return json;
  const value = json.value as { type?: unknown } | null;
  if (value && value.type === 'response') {
    const frame = v.safeParse(ResponseFrame, value);
    if (!frame.success) return { ok: false, code: ErrorCode.BAD_REQUEST, message: `bad response: ${issuesText(frame.issues)}` };
    const out = frame.output;
    return { ok: true, message: out.ok ? { ...out, data: out.data ?? {} } : out };
  }
  const frame = v.safeParse(NotificationFrame, value);
  if (!frame.success) return { ok: false, code: ErrorCode.BAD_REQUEST, message: `bad frame: ${issuesText(frame.issues)}` };
  const { method } = frame.output;
  if (!Object.hasOwn(notifications, method)) {
    return { ok: false, code: ErrorCode.UNKNOWN_METHOD, message: `unknown notification '${method}'` };
  }
  const data = v.safeParse(notifications[method as NotificationMethod], frame.output.data ?? {});
  if (!data.success) return { ok: false, code: ErrorCode.BAD_REQUEST, message: `${method}: ${issuesText(data.issues)}` };
  return { ok: true, message: { type: 'notification', method, data: data.output } as ServerMessage };
}

/** Client side: a response's data checked against its method's schema. */
export function parseResponseData<M extends RequestMethod>(method: M, data: unknown): { ok: true; data: ResponseData<M> } | ParseFailure {
  const out = v.safeParse(answers[method], data);
  if (!out.success) return { ok: false, code: ErrorCode.SERVER_ERROR, message: `${method} response: ${issuesText(out.issues)}` };
  return { ok: true, data: out.output as ResponseData<M> };
}

export function encodeRequest<M extends RequestMethod>(id: number, method: M, data: RequestData<M>): string {
  return JSON.stringify({ type: 'request', id, method, data });
}
export function encodeResponse(id: number, data: unknown): string {
  return JSON.stringify({ type: 'response', id, ok: true, data });
}
export function encodeError(id: number | undefined, error: ErrorBody): string {
  return JSON.stringify({ type: 'response', id: id ?? 0, ok: false, error });
}
export function encodeNotification<M extends NotificationMethod>(method: M, data: NotificationData<M>): string {
  return JSON.stringify({ type: 'notification', method, data });
}
