// One signaling connection at a time: the WebSocket (a callback actor that src/client provides and
// that closes over the token, so it never enters a snapshot), the wait for `welcome`, the
// heartbeat, and the polite `leave`. The root sends `connect` with the node's URL for every attempt
// (the root chooses the node: see clientMachine's `nodes`) and `disconnect` to end; every
// connection ends with exactly one `signaling.closed` report.
import { assign, fromCallback, fromPromise, sendParent, setup, type EventObject } from 'xstate';
import type { NotificationData, NotificationMethod } from '../src/protocol/messages.js';
import { notProvided } from './shared.js';

/** A notification from the server, as the socket actor forwards it (already validated). */
export type ServerNotification = {
  [M in NotificationMethod]: { method: M; data: NotificationData<M> };
}[NotificationMethod];
export type Welcome = NotificationData<'welcome'>;

export interface SignalingTiming {
  /** Time between heartbeats (ms). */
  pingInterval: number;
  /** Time allowed between the socket opening and `welcome` (ms). */
  welcomeTimeout: number;
  /** Time allowed for `leave` to be answered and the socket closed by the server (ms). */
  closeTimeout: number;
}

export interface SignalingContext {
  timing: SignalingTiming;
  /** The socket URL of the node this connection goes (or went) to, without the token. */
  url: string | undefined;
}

/** Sent by the socket actor. `code` is the WebSocket close code. */
export type SocketEvent =
  | { type: 'socket.opened' }
  | ({ type: 'socket.notified' } & ServerNotification)
  | { type: 'socket.closed'; code: number; reason: string };

/** Commands from the parent. `drop` closes at once without `leave` (counted as a lost socket). */
export type SignalingCommand = { type: 'connect'; url: string } | { type: 'disconnect' } | { type: 'drop' };

export type SignalingEvent = SocketEvent | SignalingCommand;

/** What signaling reports to its parent. `code` is undefined when the client dropped the socket. */
export type SignalingReport =
  | { type: 'signaling.welcomed'; welcome: Welcome }
  | ({ type: 'signaling.notified' } & ServerNotification)
  | { type: 'signaling.closed'; code: number | undefined; reason: string };

export const signalingMachine = setup({
  types: {
    context: {} as SignalingContext,
    events: {} as SignalingEvent,
    input: {} as { timing: SignalingTiming },
  },
  actors: {
    /** The WebSocket to `url`: sends `socket.*` events back; closes the socket when stopped. */
    socket: fromCallback<EventObject, { url: string }>(() => notProvided('socket')),
    /** Request `ping`; rejects on timeout. */
    ping: fromPromise<void>(async () => notProvided('ping')),
    /** Request `leave`. */
    leave: fromPromise<void>(async () => notProvided('leave')),
  },
  actions: {
    reportWelcomed: sendParent((_, params: { welcome: Welcome }): SignalingReport => ({ type: 'signaling.welcomed', welcome: params.welcome })),
    reportNotified: sendParent((_, params: ServerNotification) => ({ type: 'signaling.notified', ...params }) as SignalingReport),
    reportClosed: sendParent((_, params: { code: number | undefined; reason: string }): SignalingReport => ({
      type: 'signaling.closed',
      code: params.code,
      reason: params.reason,
    })),
  },
  guards: {
    isWelcome: ({ event }) => event.type === 'socket.notified' && event.method === 'welcome',
    isNotWelcome: ({ event }) => event.type === 'socket.notified' && event.method !== 'welcome',
  },
  delays: {
    pingInterval: ({ context }) => context.timing.pingInterval,
    welcomeTimeout: ({ context }) => context.timing.welcomeTimeout,
    closeTimeout: ({ context }) => context.timing.closeTimeout,
  },
}).createMachine({
  id: 'signaling',
  context: ({ input }) => ({ timing: input.timing, url: undefined }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        connect: { target: 'connection', actions: assign({ url: ({ event }) => event.url }) },
        // Nothing to close: say so at once, so that whoever waits for the end is not left waiting.
        disconnect: { actions: { type: 'reportClosed', params: { code: undefined, reason: 'not connected' } } },
      },
    },
    connection: {
      invoke: { id: 'socket', src: 'socket', input: ({ context }) => ({ url: context.url ?? '' }) },
      initial: 'opening',
      on: {
        'socket.closed': {
          target: 'idle',
          actions: { type: 'reportClosed', params: ({ event }) => ({ code: event.code, reason: event.reason }) },
        },
        drop: { target: 'idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'dropped by the client' } } },
      },
      states: {
        opening: {
          on: {
            'socket.opened': 'welcoming',
            disconnect: { target: '#signaling.idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'client' } } },
          },
        },
        welcoming: {
          on: {
            'socket.notified': {
              guard: 'isWelcome',
              target: 'open',
              actions: { type: 'reportWelcomed', params: ({ event }) => ({ welcome: event.data as Welcome }) },
            },
            disconnect: { target: '#signaling.idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'client' } } },
          },
          after: {
            welcomeTimeout: { target: '#signaling.idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'no welcome' } } },
          },
        },
        open: {
          initial: 'waiting',
          on: {
            'socket.notified': {
              guard: 'isNotWelcome',
              actions: {
                type: 'reportNotified',
                params: ({ event }) => ({ method: event.method, data: event.data }) as ServerNotification,
              },
            },
            disconnect: 'closing',
          },
          states: {
            // The heartbeat: a ping every `pingInterval`; an unanswered one means the socket is lost.
            waiting: { after: { pingInterval: 'pinging' } },
            pinging: {
              invoke: {
                id: 'ping',
                src: 'ping',
                onDone: 'waiting',
                onError: { target: '#signaling.idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'heartbeat lost' } } },
              },
            },
          },
        },
        closing: {
          initial: 'leaving',
          after: {
            closeTimeout: { target: '#signaling.idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'client' } } },
          },
          states: {
            leaving: { invoke: { id: 'leave', src: 'leave', onDone: 'awaitingClose', onError: 'awaitingClose' } },
            // The server closes the socket once it released everything: `socket.closed` ends this.
            awaitingClose: {},
          },
        },
      },
    },
  },
});
