// The media shapes a client sends (RTP capabilities and parameters, DTLS parameters), validated
// to the ranges mediasoup's worker really accepts, so that nothing a client sends can reach
// mediasoup, a listener or a log line unbounded. Unknown keys are dropped (`v.object`), never
// passed through: a field we do not know is a field we did not check.
//
// Checked by the server only (requests.ts); the client never imports this file. What the server
// sends back (router capabilities, consumer parameters) comes from mediasoup itself: the client
// checks only its outline (media.ts).
import * as v from 'valibot';
import { MediaKind } from './media.js';

const uint = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max));
const UINT32_MAX = 0xffff_ffff;
const PayloadType = uint(127);
const Ssrc = uint(UINT32_MAX);
const ClockRate = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(UINT32_MAX));
const Channels = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8));
/** Header extension ids: 1-14 in one-byte headers, up to 255 in two-byte ones. */
const ExtensionId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255));
const MimeType = v.pipe(v.string(), v.maxLength(64), v.regex(/^(?:audio|video)\/[A-Za-z0-9._+-]{1,48}$/, 'must be audio/… or video/…'));
const Uri = v.pipe(v.string(), v.minLength(1), v.maxLength(256));
/** RIDs and MIDs are short tokens (RFC 8851, RFC 8843). */
const Token = v.pipe(v.string(), v.minLength(1), v.maxLength(32), v.regex(/^[A-Za-z0-9_-]+$/, 'must be 1-32 of A-Z a-z 0-9 _ -'));
const ShortText = v.pipe(v.string(), v.maxLength(64));
const Finite = (min: number, max: number) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));

/** Codec parameters (fmtp): a few short strings or numbers, e.g. `{ apt: 96 }`, `{ 'profile-id': 0 }`. */
const CodecParameters = v.pipe(
  v.record(v.pipe(v.string(), v.maxLength(64)), v.union([v.pipe(v.string(), v.maxLength(256)), Finite(-UINT32_MAX, UINT32_MAX)])),
  v.check((p) => Object.keys(p).length <= 32, 'at most 32 parameters'),
);
const RtcpFeedback = v.pipe(
  v.array(v.object({ type: ShortText, parameter: v.optional(ShortText) })),
  v.maxLength(32),
);

const RtpCodecCapability = v.object({
  kind: MediaKind,
  mimeType: MimeType,
  preferredPayloadType: v.optional(PayloadType),
  clockRate: ClockRate,
  channels: v.optional(Channels),
  parameters: v.optional(CodecParameters),
  rtcpFeedback: v.optional(RtcpFeedback),
});
const RtpHeaderExtensionCapability = v.object({
  kind: MediaKind,
  uri: Uri,
  preferredId: ExtensionId,
  preferredEncrypt: v.optional(v.boolean()),
  direction: v.optional(v.picklist(['sendrecv', 'sendonly', 'recvonly', 'inactive'])),
});
/** A client's receive capabilities (`join`). */
export const RtpCapabilities = v.object({
  codecs: v.optional(v.pipe(v.array(RtpCodecCapability), v.maxLength(64))),
  headerExtensions: v.optional(v.pipe(v.array(RtpHeaderExtensionCapability), v.maxLength(32))),
});

const RtpCodecParameters = v.object({
  mimeType: MimeType,
  payloadType: PayloadType,
  clockRate: ClockRate,
  channels: v.optional(Channels),
  parameters: v.optional(CodecParameters),
  rtcpFeedback: v.optional(RtcpFeedback),
});
const RtpHeaderExtensionParameters = v.object({
  uri: Uri,
  id: ExtensionId,
  encrypt: v.optional(v.boolean()),
  parameters: v.optional(CodecParameters),
});
const RtpEncodingParameters = v.object({
  ssrc: v.optional(Ssrc),
  rid: v.optional(Token),
  codecPayloadType: v.optional(PayloadType),
  rtx: v.optional(v.object({ ssrc: Ssrc })),
  dtx: v.optional(v.boolean()),
  scalabilityMode: v.optional(v.pipe(v.string(), v.maxLength(16), v.regex(/^[A-Za-z0-9_]+$/, 'must be like L1T3'))),
  scaleResolutionDownBy: v.optional(Finite(1, 1024)),
  maxBitrate: v.optional(Finite(0, 1e10)),
  maxFramerate: v.optional(Finite(0, 1000)),
  adaptivePtime: v.optional(v.boolean()),
  priority: v.optional(v.picklist(['very-low', 'low', 'medium', 'high'])),
  networkPriority: v.optional(v.picklist(['very-low', 'low', 'medium', 'high'])),
  active: v.optional(v.boolean()),
});
/** What a client sends with `produce`. */
export const RtpParameters = v.object({
  mid: v.optional(Token),
  codecs: v.pipe(v.array(RtpCodecParameters), v.minLength(1), v.maxLength(16)),
  headerExtensions: v.optional(v.pipe(v.array(RtpHeaderExtensionParameters), v.maxLength(32))),
  encodings: v.optional(v.pipe(v.array(RtpEncodingParameters), v.maxLength(8))),
  rtcp: v.optional(v.object({ cname: v.optional(v.pipe(v.string(), v.maxLength(128))), reducedSize: v.optional(v.boolean()), mux: v.optional(v.boolean()) })),
  msid: v.optional(v.pipe(v.string(), v.maxLength(128))),
});

export const DtlsParameters = v.object({
  role: v.optional(v.picklist(['auto', 'client', 'server'])),
  fingerprints: v.pipe(
    v.array(
      v.object({
        algorithm: v.picklist(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']),
        value: v.pipe(v.string(), v.maxLength(192), v.regex(/^[0-9A-Fa-f:]+$/, 'must be hex bytes')),
      }),
    ),
    v.minLength(1),
    v.maxLength(8),
  ),
});

/** A client's capabilities and parameters as validated (what MR hands to mediasoup). */
export type RtpCapabilities = v.InferOutput<typeof RtpCapabilities>;
export type RtpParameters = v.InferOutput<typeof RtpParameters>;
