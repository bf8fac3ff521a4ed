// One WebRTC transport (send or recv) of one connection: created on the server and locally, then
// DTLS-connected on first use, then followed through its connection states. A new connection gets
// new transports; `iceRestarting` is planned between `disconnected` and `connected`.
import { assign, fromCallback, fromPromise, sendParent, setup, type EventObject } from 'xstate';
import { notProvided, toErrorInfo, type ErrorInfo } from './shared.js';

export type TransportDirection = 'send' | 'recv';
/** mediasoup-client's `connectionstatechange` values. */
export type TransportConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface TransportContext {
  direction: TransportDirection;
  transportId: string | undefined;
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

export const transportMachine = setup({
  types: {
    context: {} as TransportContext,
    events: {} as TransportEvent,
    input: {} as { direction: TransportDirection },
  },
  actors: {
    /** Request `createTransport` and create the local transport; resolves with its id. */
    createTransport: fromPromise<{ transportId: string }, { direction: TransportDirection }>(async () => notProvided('createTransport')),
    /** Request `connectTransport` with the DTLS parameters the local transport gave. */
    connectTransport: fromPromise<void, { direction: TransportDirection; transportId: string }>(async () => notProvided('connectTransport')),
    /** Forwards the local transport's events as `transport.connectRequested` / `transport.stateChanged`. */
    watchTransport: fromCallback<EventObject, { direction: TransportDirection }>(() => notProvided('watchTransport')),
  },
  actions: {
    assignError: assign({ error: (_, params: { error: unknown }) => toErrorInfo(params.error) }),
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
    isState: ({ event }, params: { state: TransportConnectionState }) =>
      event.type === 'transport.stateChanged' && event.state === params.state,
  },
}).createMachine({
  id: 'transport',
  context: ({ input }) => ({ direction: input.direction, transportId: undefined, error: undefined }),
  initial: 'creating',
  on: { close: '.closed' },
  states: {
    creating: {
      invoke: {
        id: 'createTransport',
        src: 'createTransport',
        input: ({ context }) => ({ direction: context.direction }),
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
      on: {
        'transport.stateChanged': {
          guard: { type: 'isState', params: { state: 'failed' } },
          target: 'failed',
          actions: [assign({ error: { code: 'SERVER_ERROR', message: 'ICE/DTLS connection failed' } }), 'reportFailed'],
        },
      },
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
          on: { 'transport.stateChanged': { guard: { type: 'isState', params: { state: 'connected' } }, target: 'connected' } },
        },
        connected: {
          on: { 'transport.stateChanged': { guard: { type: 'isState', params: { state: 'disconnected' } }, target: 'disconnected' } },
        },
        disconnected: {
          on: { 'transport.stateChanged': { guard: { type: 'isState', params: { state: 'connected' } }, target: 'connected' } },
        },
      },
    },
    failed: {},
    closed: { type: 'final', entry: 'closeTransport' },
  },
});
