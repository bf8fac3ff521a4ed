// Plain data shared by the machines. Machines import no browser, network or mediasoup API: every
// side effect is a named actor or action that src/client provides with `machine.provide()`.
//
// Event naming, in every machine:
//   - commands are imperative verbs: `connect`, `pause`, `produce`, `close`, ...
//   - reports are past tense, prefixed by who reports: `socket.opened`, `device.loaded`,
//     `transport.created`, `producer.closed`, ...
//   - server notifications keep their protocol name: `producerClosed`, `consumerClosed`, ...
//
// Wire facts (kinds, directions, payloads, close codes) are the protocol's (src/protocol): the
// machines import their types from there and never write them again.
import type { NotificationData, RequestData } from '../src/protocol/messages.js';

export type { MediaKind } from '../src/protocol/media.js';
/** A transport's direction, as `createTransport` asks for it. */
export type TransportDirection = RequestData<'createTransport'>['direction'];

/** An error as machines keep it: serializable, with a stable code (see src/protocol/codes.ts). */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** Turns whatever an actor threw into an ErrorInfo (a MediaInfraError keeps its code). */
export function toErrorInfo(error: unknown, fallbackCode = 'SERVER_ERROR'): ErrorInfo {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      code: typeof code === 'string' ? code : fallbackCode,
      message: typeof message === 'string' ? message : String(error),
    };
  }
  return { code: fallbackCode, message: String(error) };
}

/** Router RTP capabilities, as `welcome` brings them: opaque to the machines (only compared). */
export type RouterCapabilities = NotificationData<'welcome'>['routerRtpCapabilities'];

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The tags of a union, as a list to look them up in a snapshot (`snapshot.hasTag`). Given as an
 * object so that the compiler checks that it names every member of the union, and nothing else.
 */
export function tagList<T extends string>(tags: Record<T, 1>): readonly T[] {
  return Object.keys(tags) as T[];
}

/** Placeholder for an actor or action that src/client must provide. */
export function notProvided(name: string): never {
  throw new Error(`'${name}' is not provided: use machine.provide()`);
}
