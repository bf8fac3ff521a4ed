// The mediasoup-client Device: loaded once with the router's RTP capabilities, reloaded only when
// a new router announces different ones (after a reconnect to another server).
import { assign, fromPromise, sendParent, setup } from 'xstate';
import { notProvided, sameJson, toErrorInfo, type ErrorInfo, type RouterCapabilities } from './shared.js';

export interface DeviceContext {
  routerRtpCapabilities: RouterCapabilities | undefined;
  error: ErrorInfo | undefined;
}

export type DeviceEvent = { type: 'load'; routerRtpCapabilities: RouterCapabilities };

/** What the device reports to its parent. */
export type DeviceReport = { type: 'device.loaded' } | { type: 'device.failed'; error: ErrorInfo };

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    events: {} as DeviceEvent,
  },
  actors: {
    /** Loads the Device with the router's capabilities (mediasoup-client `Device.load`). */
    loadDevice: fromPromise<void, { routerRtpCapabilities: RouterCapabilities }>(async () => notProvided('loadDevice')),
  },
  actions: {
    assignCapabilities: assign({ routerRtpCapabilities: ({ event }) => event.routerRtpCapabilities, error: undefined }),
    assignError: assign({ error: (_, params: { error: unknown }) => toErrorInfo(params.error, 'UNSUPPORTED_CODEC') }),
    reportLoaded: sendParent({ type: 'device.loaded' } satisfies DeviceReport),
    reportFailed: sendParent(({ context }): DeviceReport => ({
      type: 'device.failed',
      error: context.error ?? { code: 'UNSUPPORTED_CODEC', message: 'device failed to load' },
    })),
  },
  guards: {
    sameCapabilities: ({ context, event }) => sameJson(context.routerRtpCapabilities, event.routerRtpCapabilities),
  },
}).createMachine({
  id: 'device',
  initial: 'unloaded',
  context: { routerRtpCapabilities: undefined, error: undefined },
  states: {
    unloaded: {
      on: { load: { target: 'loading', actions: 'assignCapabilities' } },
    },
    loading: {
      invoke: {
        id: 'loadDevice',
        src: 'loadDevice',
        input: ({ context }) => ({ routerRtpCapabilities: context.routerRtpCapabilities ?? {} }),
        onDone: { target: 'loaded', actions: 'reportLoaded' },
        onError: {
          target: 'failed',
          actions: [{ type: 'assignError', params: ({ event }) => ({ error: event.error }) }, 'reportFailed'],
        },
      },
      // A new attempt while still loading (the socket was lost meanwhile): start over with these.
      on: { load: { target: 'loading', reenter: true, actions: 'assignCapabilities' } },
    },
    loaded: {
      on: {
        load: [
          { guard: 'sameCapabilities', actions: 'reportLoaded' },
          { target: 'loading', actions: 'assignCapabilities' },
        ],
      },
    },
    failed: {
      on: { load: { target: 'loading', actions: 'assignCapabilities' } },
    },
  },
});
