// One WebRTC transport (send or recv) of one connection: built locally from the server transport
// the welcome offered (protocol 3; an older server is asked `createTransport` first), then
// DTLS-connected on first use, then followed through its connection states. `connecting` sends
// `connectTransport` and, when the server is the DTLS client (the welcome's transports), lets the
// local transport go on at once: what follows (produce, resumeConsumer) is sent behind it on the
// same ordered socket; a refusal still fails the transport. ICE trouble is first
// repaired in place: a transport whose connection `failed`, or stayed `disconnected` longer than
// `iceDisconnectedTimeout`, asks the server for an ICE restart (`restartIce`) and waits
// `iceRestartTimeout` for it to connect again; at most `maxIceRestarts` restarts in a row (the
// count starts again once connected). Only then does it give up (`failed`, reported to the root,
// which reconnects from scratch). A new connection gets new transports.
import { assign, fromCallback, fromPromise, sendParent, setup, type EventObject } from 'xstate';
import type { TransportInfo } from '../src/protocol/messages.js';
import { notProvided, toErrorInfo, type ErrorInfo, type TransportDirection } from './shared.js';

/** mediasoup-client's `connectionstatechange` values (src/client/protocolAdapter.ts checks that they agree). */
export type TransportConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** ICE repair settings (src/client/defaults.ts holds the defaults). */
export interface IceTiming {
  /** A connection `disconnected` this long is restarted (ms). */
  iceDisconnectedTimeout: number;
  /** After a restart, the connection must be `connected` again within this (ms), or the next restart (or failure) follows. */
  iceRestartTimeout: number;
  /** ICE restarts in a row (without being connected in between) before the transport fails. */
  maxIceRestarts: number;
}

export interface TransportInput {
  direction: TransportDirection;
  ice: IceTiming;
  /** The server transport the welcome offered (protocol 3); absent: ask `createTransport`. */
  offered?: TransportInfo | undefined;
}

export interface TransportContext {
  direction: TransportDirection;
  ice: IceTiming;
  offered: TransportInfo | undefined;
  transportId: string | undefined;
  /** The last connection state the local transport reported. */
  connection: TransportConnectionState;
  /** ICE restarts since the transport was last connected. */
  iceRestarts: number;
  error: ErrorInfo | undefined;
}

export type TransportEvent =
  /** The local transport wants its DTLS parameters sent to the server (mediasoup-client `connect`). */
  | { type: 'transport.connectRequested' }
  | { type: 'transport.stateChanged'; state: TransportConnectionState }
  | { type: 'close' };

export type TransportReport =
  | { type: 'transport.created'; direction: TransportDirection; transportId: string }
  | { type: 'transport.failed'; direction: TransportDirection; error: ErrorInfo };

/** What the actors that act on an existing transport are given. */
type TransportIds = { direction: TransportDirection; transportId: string };

const iceFailed: ErrorInfo = { code: 'SERVER_ERROR', message: 'the ICE/DTLS connection failed and ICE restarts did not repair it' };

export const transportMachine = setup({
  types: {
    context: {} as TransportContext,
    events: {} as TransportEvent,
    input: {} as TransportInput,
  },
  actors: {
    /** Create the local transport from the offered one (or from a `createTransport` request); resolves with its id. */
    createTransport: fromPromise<{ transportId: string }, { direction: TransportDirection; offered: TransportInfo | undefined }>(async () =>
      notProvided('createTransport'),
    ),
    /** Request `connectTransport` with the DTLS parameters the local transport gave. */
    connectTransport: fromPromise<void, TransportIds>(async () => notProvided('connectTransport')),
    /** Request `restartIce` and give the new ICE parameters to the local transport. */
    restartIce: fromPromise<void, TransportIds>(async () => notProvided('restartIce')),
    /** Forwards the local transport's events as `transport.connectRequested` / `transport.stateChanged`. */
    watchTransport: fromCallback<EventObject, { direction: TransportDirection }>(() => notProvided('watchTransport')),
  },
  actions: {
    assignError: assign({ error: (_, params: { error: unknown }) => toErrorInfo(params.error) }),
    assignIceFailed: assign({ error: iceFailed }),
    reportCreated: sendParent(({ context }): TransportReport => ({
      type: 'transport.created',
      direction: context.direction,
      transportId: context.transportId ?? '',
    })),
    reportFailed: sendParent(({ context }): TransportReport => ({
      type: 'transport.failed',
      direction: context.direction,
      error: context.error ?? { code: 'SERVER_ERROR', message: 'transport failed' },
    })),
    /** Closes the local transport (and with it its producers and consumers). */
    closeTransport: () => notProvided('closeTransport'),
  },
  guards: {
    isConnected: ({ context }) => context.connection === 'connected',
    isDisconnected: ({ context }) => context.connection === 'disconnected',
    isFailed: ({ context }) => context.connection === 'failed',
    canRestartIce: ({ context }) => context.iceRestarts < context.ice.maxIceRestarts,
  },
  delays: {
    iceDisconnectedTimeout: ({ context }) => context.ice.iceDisconnectedTimeout,
    iceRestartTimeout: ({ context }) => context.ice.iceRestartTimeout,
  },
}).createMachine({
  id: 'transport',
  context: ({ input }) => ({
    direction: input.direction,
    ice: input.ice,
    offered: input.offered,
    transportId: undefined,
    connection: 'new',
    iceRestarts: 0,
    error: undefined,
  }),
  initial: 'creating',
  on: { close: '.closed' },
  states: {
    creating: {
      invoke: {
        id: 'createTransport',
        src: 'createTransport',
        input: ({ context }) => ({ direction: context.direction, offered: context.offered }),
        onDone: {
          target: 'established',
          actions: [assign({ transportId: ({ event }) => event.output.transportId }), 'reportCreated'],
        },
        onError: {
          target: 'failed',
          actions: [{ type: 'assignError', params: ({ event }) => ({ error: event.error }) }, 'reportFailed'],
        },
      },
    },
    established: {
      invoke: { id: 'watchTransport', src: 'watchTransport', input: ({ context }) => ({ direction: context.direction }) },
      initial: 'new',
      // Every state report is kept; the states below move on what it is now (`always`).
      on: { 'transport.stateChanged': { actions: assign({ connection: ({ event }) => event.state }) } },
      states: {
        new: {
          on: { 'transport.connectRequested': 'connecting' },
        },
        connecting: {
          invoke: {
            id: 'connectTransport',
            src: 'connectTransport',
            input: ({ context }) => ({ direction: context.direction, transportId: context.transportId ?? '' }),
            onError: {
              target: '#transport.failed',
              actions: [{ type: 'assignError', params: ({ event }) => ({ error: event.error }) }, 'reportFailed'],
            },
          },
          always: [{ guard: 'isConnected', target: 'connected' }, { guard: 'isFailed', target: 'iceTrouble' }],
        },
        connected: {
          entry: assign({ iceRestarts: 0 }),
          always: [{ guard: 'isDisconnected', target: 'disconnected' }, { guard: 'isFailed', target: 'iceTrouble' }],
        },
        // ICE lost its path (consent checks unanswered): it may come back by itself; if not, restart.
        disconnected: {
          always: [{ guard: 'isConnected', target: 'connected' }, { guard: 'isFailed', target: 'iceTrouble' }],
          after: { iceDisconnectedTimeout: 'iceTrouble' },
        },
        // ICE failed, or a wait ran out: restart while restarts remain, else give up on the transport.
        iceTrouble: {
          always: [
            { guard: 'canRestartIce', target: 'restartingIce' },
            { target: '#transport.failed', actions: ['assignIceFailed', 'reportFailed'] },
          ],
        },
        restartingIce: {
          entry: assign({ iceRestarts: ({ context }) => context.iceRestarts + 1, connection: 'connecting' }),
          invoke: {
            id: 'restartIce',
            src: 'restartIce',
            input: ({ context }) => ({ direction: context.direction, transportId: context.transportId ?? '' }),
            onDone: 'checking',
            onError: {
              target: '#transport.failed',
              actions: [{ type: 'assignError', params: ({ event }) => ({ error: event.error }) }, 'reportFailed'],
            },
          },
        },
        // New ICE parameters are in place: wait for the connection to come back.
        checking: {
          always: [{ guard: 'isConnected', target: 'connected' }, { guard: 'isFailed', target: 'iceTrouble' }],
          after: { iceRestartTimeout: 'iceTrouble' },
        },
      },
    },
    failed: {},
    closed: { type: 'final', entry: 'closeTransport' },
  },
});

