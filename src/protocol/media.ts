// The media shapes both ends check: a track's kind, a producer's `appData` (the client sends it,
// every listener receives it as it came), and the outline of what mediasoup itself makes (router
// capabilities, consumer parameters, transports), which the client checks no further.
//
// What only a client sends is checked field by field in rtp.ts, by the server alone: this file is
// the browser client's share, so the client bundle never carries the server's checks.
import * as v from 'valibot';

export const MediaKind = v.picklist(['audio', 'video']);
export type MediaKind = v.InferOutput<typeof MediaKind>;

/** Bounds on `appData` (characters of JSON, levels), which the server stores and hands to every listener as it came. */
export const MAX_APP_DATA_BYTES = 4 * 1024;
export const MAX_APP_DATA_DEPTH = 8;

/**
 * Depth and size of a JSON value, walked without recursion: a value nested thousands of levels
 * deep (a few KB of `{"a":{"a":…}}`) must not overflow the stack here, nor later in
 * JSON.stringify when it is sent to a listener.
 */
export function jsonDepthWithin(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}

/** A client's own data for a producer: any JSON object, at most MAX_APP_DATA_DEPTH deep and MAX_APP_DATA_BYTES long. */
export const AppData = v.pipe(
  v.record(v.string(), v.unknown()),
  // One check, depth first: valibot runs every action of a pipe, and the size is measured with
  // JSON.stringify, which only a value of bounded depth can go through.
  v.check(
    (data) => jsonDepthWithin(data, MAX_APP_DATA_DEPTH) && JSON.stringify(data).length <= MAX_APP_DATA_BYTES,
    `at most ${MAX_APP_DATA_DEPTH} levels deep and ${MAX_APP_DATA_BYTES} characters of JSON`,
  ),
);

// The server's own objects, as the client checks them: outline only (mediasoup made them).
export const RtpCapabilitiesOutline = v.looseObject({
  codecs: v.optional(v.pipe(v.array(v.looseObject({ kind: MediaKind, mimeType: v.pipe(v.string(), v.maxLength(64)), clockRate: v.number() })), v.maxLength(128))),
  headerExtensions: v.optional(v.pipe(v.array(v.looseObject({ uri: v.string() })), v.maxLength(64))),
});
export const RtpParametersOutline = v.looseObject({
  codecs: v.pipe(v.array(v.looseObject({ mimeType: v.string(), payloadType: v.number(), clockRate: v.number() })), v.maxLength(32)),
  encodings: v.optional(v.pipe(v.array(v.looseObject({})), v.maxLength(16))),
  headerExtensions: v.optional(v.pipe(v.array(v.looseObject({ uri: v.string(), id: v.number() })), v.maxLength(32))),
});
export const DtlsParametersOutline = v.looseObject({
  role: v.optional(v.picklist(['auto', 'client', 'server'])),
  fingerprints: v.pipe(v.array(v.looseObject({ algorithm: v.string(), value: v.string() })), v.minLength(1), v.maxLength(8)),
});
export const IceParameters = v.looseObject({ usernameFragment: v.string(), password: v.string() });
export const IceCandidate = v.looseObject({ ip: v.string(), port: v.number(), protocol: v.string() });
