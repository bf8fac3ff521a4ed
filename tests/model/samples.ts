// Sample events shared by the model tests.
import type { AnyEventObject } from 'xstate';

const serverError = { code: 'SERVER_ERROR', message: 'the server said no' };

/** `xstate.error.actor.<id>` samples for the given invoked actor ids. */
export function actorErrors(...ids: string[]): Record<string, AnyEventObject[]> {
  return Object.fromEntries(ids.map((id) => [`xstate.error.actor.${id}`, [{ type: `xstate.error.actor.${id}`, error: serverError }]]));
}

export const timing = { pingInterval: 5_000, welcomeTimeout: 10_000, closeTimeout: 5_000 };

/** One ICE restart allowed: enough to take both the "restart" and the "give up" branch. */
export const ice = { iceDisconnectedTimeout: 3_000, iceRestartTimeout: 8_000, maxIceRestarts: 1 };

export const welcome = {
  protocolVersion: 1,
  roomId: 'room-1',
  userId: 'user-1',
  routerRtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000 }] },
};
