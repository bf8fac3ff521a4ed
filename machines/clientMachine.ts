// The root actor of a MediaInfraClient. It owns every other actor:
//
//   client ── device                       (deviceMachine, systemId 'device')
//          ├─ signaling                    (signalingMachine, systemId 'signaling')
//          ├─ transport.send, transport.recv   (transportMachine, one pair per connection)
//          ├─ producer.<n> …               (producerMachine, survive reconnects)
//          └─ consumer.<id> …              (consumerMachine, closed on a lost connection)
//
// running.connecting → running.connected → running.reconnecting → closing → closed (final).
// Both connecting and reconnecting.attempting run the same session steps:
// welcoming → loadingDevice → joining → creatingTransports → ready.
// The send transport is created with every connection; the recv transport only once the page
// listens (`listenTrack`), so a client that only sends never pays for a receiving one.
import { assign, emit, enqueueActions, fromPromise, sendTo, setup, spawnChild, type ActorRefFrom } from 'xstate';
import { consumerMachine, type ConsumerInput, type ConsumerReport } from './consumerMachine.js';
import { deviceMachine, type DeviceReport } from './deviceMachine.js';
import { producerMachine, type ProducerReport } from './producerMachine.js';
import { notProvided, toErrorInfo, type ErrorInfo, type MediaKind } from './shared.js';
import { signalingMachine, type SignalingReport, type SignalingTiming, type Welcome } from './signalingMachine.js';
import { transportMachine, type IceTiming, type TransportDirection, type TransportReport } from './transportMachine.js';

/** Why a client ended `closed`. */
export type CloseReason = 'client' | 'unauthorized' | 'expired' | 'failed';

/** WebSocket close codes the gateway uses for refusals (src/protocol/codes.ts `CloseCode`). */
export const REFUSAL_CODES = { unauthorized: 4001, expired: 4002 } as const;
/**
 * The gateway closed this socket because the same session (token) opened a newer one. The client's
 * own reconnections never see it (a socket the client gave up on is detached first), so a 4003 on
 * the live socket means another connection took the session over: ending is the only way not to
 * fight over it (each would replace the other forever). Ends `closed`, reason `failed`.
 */
export const REPLACED_CODE = 4003;

export type ProducerRef = ActorRefFrom<typeof producerMachine>;
export type ConsumerRef = ActorRefFrom<typeof consumerMachine>;
export type TransportRef = ActorRefFrom<typeof transportMachine>;

export interface ClientInput {
  /** Failed connection attempts in a row before giving up (`closed`, reason `failed`). */
  maxAttempts: number;
  timing: SignalingTiming;
  /** ICE restart settings of every transport. */
  ice: IceTiming;
}

export interface ClientContext {
  maxAttempts: number;
  timing: SignalingTiming;
  ice: IceTiming;
  /** Reconnection attempts since the last time the client was connected. */
  attempt: number;
  closeReason: CloseReason | undefined;
  /** The last error that cost a connection (or a listen), for diagnostics. */
  error: ErrorInfo | undefined;
  /** `listenTrack` was called: ask the server for consumers on every connection. */
  listening: boolean;
  welcome: Welcome | undefined;
  transports: Partial<Record<TransportDirection, TransportRef>>;
  ready: Record<TransportDirection, boolean>;
  /** By local key `producer.<n>`. */
  producers: Record<string, ProducerRef>;
  /** By server consumer id. */
  consumers: Record<string, ConsumerRef>;
}

export type ClientCommand =
  | { type: 'produceTrack'; key: string; track: unknown; kind: MediaKind; appData: Record<string, unknown>; paused: boolean }
  | { type: 'listenTrack' }
  | { type: 'close' };

export type ClientEvent = ClientCommand | SignalingReport | DeviceReport | TransportReport | ProducerReport | ConsumerReport;

/** Emitted for the MediaInfraClient facade. */
export type ClientEmitted = { type: 'consumerAdded'; consumerId: string } | { type: 'error'; error: ErrorInfo };

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
    input: {} as ClientInput,
    emitted: {} as ClientEmitted,
    output: {} as { closeReason: CloseReason | undefined },
  },
  actors: {
    device: deviceMachine,
    signaling: signalingMachine,
    transport: transportMachine,
    producer: producerMachine,
    consumer: consumerMachine,
    /** Request `join` with the loaded device's RTP capabilities. */
    join: fromPromise<void>(async () => notProvided('join')),
    /** Request `listen`: the server then sends `newConsumer` for every remote track. */
    listen: fromPromise<void>(async () => notProvided('listen')),
  },
  actions: {
    connectSignaling: sendTo('signaling', { type: 'connect' }),
    disconnectSignaling: sendTo('signaling', { type: 'disconnect' }),
    /** A session step failed on an open socket: drop it; `signaling.closed` follows. */
    dropConnection: sendTo('signaling', { type: 'drop' }),
    loadDevice: sendTo('device', ({ context }) => ({
      type: 'load' as const,
      routerRtpCapabilities: (context.welcome?.routerRtpCapabilities ?? {}) as Record<string, unknown>,
    })),
    assignWelcome: assign({ welcome: ({ event }) => (event.type === 'signaling.welcomed' ? event.welcome : undefined) }),
    assignTransportReady: assign({
      ready: ({ context, event }) => (event.type === 'transport.created' ? { ...context.ready, [event.direction]: true } : context.ready),
    }),
    /** Keeps the error a report or an actor carried. */
    assignEventError: assign({
      error: ({ context, event }) => {
        if ('error' in event) return toErrorInfo((event as { error: unknown }).error);
        return context.error;
      },
    }),
    closeAs: assign({ closeReason: (_, params: { reason: CloseReason }) => params.reason }),
    assignReplaced: assign({
      error: { code: 'INVALID_STATE', message: 'a newer connection of the same session (token) replaced this one (4003)' },
    }),
    emitError: emit(({ context }) => ({ type: 'error', error: context.error ?? { code: 'SERVER_ERROR', message: 'unknown error' } }) as const),
    /** The connection's transports: send, and recv if the page listens. */
    spawnTransports: assign({
      transports: ({ context, spawn }) => {
        const send = spawn('transport', transportOptions('send', context.ice));
        return context.listening ? { send, recv: spawn('transport', transportOptions('recv', context.ice)) } : { send };
      },
      ready: { send: false, recv: false },
    }),
    /** The page listens on a connection made without a recv transport: make it now. */
    spawnRecvTransport: assign({
      transports: ({ context, spawn }) =>
        context.transports.recv ? context.transports : { ...context.transports, recv: spawn('transport', transportOptions('recv', context.ice)) },
    }),
    spawnProducer: assign({
      producers: ({ context, event, spawn }) => {
        if (event.type !== 'produceTrack') return context.producers;
        const { key, track, kind, appData, paused } = event;
        return { ...context.producers, [key]: spawn('producer', { id: key, systemId: key, input: { key, track, kind, appData, paused } }) };
      },
    }),
    produceNewProducer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'produceTrack') return;
      const ref = context.producers[event.key];
      if (ref) enqueue.sendTo(ref, { type: 'produce' });
    }),
    /** A send transport is ready: every waiting producer produces (again). */
    produceAll: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.producers)) enqueue.sendTo(ref, { type: 'produce' });
    }),
    spawnConsumer: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'signaling.notified' || event.method !== 'newConsumer') return;
      const input: ConsumerInput = { ...event.data, rtpParameters: event.data.rtpParameters as Record<string, unknown> };
      enqueue.assign({
        consumers: ({ context, spawn }) => ({
          ...context.consumers,
          [input.id]: spawn('consumer', { id: `consumer.${input.id}`, systemId: `consumer.${input.id}`, input }),
        }),
      });
      enqueue.emit({ type: 'consumerAdded', consumerId: input.id });
    }),
    forwardToConsumer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'signaling.notified') return;
      const id = 'consumerId' in event.data ? event.data.consumerId : undefined;
      const ref = id === undefined ? undefined : context.consumers[id];
      if (!ref) return;
      if (event.method === 'consumerClosed') enqueue.sendTo(ref, { type: 'consumerClosed', reason: event.data.reason });
      else if (event.method === 'consumerProducerPaused') enqueue.sendTo(ref, { type: 'producerPaused' });
      else if (event.method === 'consumerProducerResumed') enqueue.sendTo(ref, { type: 'producerResumed' });
    }),
    /** A remote track the server will not send this client: said as an error, not kept silent. */
    emitTrackNotConsumed: emit(({ event }) => {
      const data = event.type === 'signaling.notified' && event.method === 'trackNotConsumed' ? event.data : undefined;
      return { type: 'error', error: { code: data?.code ?? 'SERVER_ERROR', message: data?.message ?? 'a remote track was not consumed' } } as const;
    }),
    /** Producer notifications go to every producer; the one whose producerId matches acts. */
    forwardToProducers: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'signaling.notified') return;
      for (const ref of Object.values(context.producers)) {
        if (event.method === 'producerClosed') enqueue.sendTo(ref, { type: 'producerClosed', ...event.data });
        else if (event.method === 'recordingEnded') enqueue.sendTo(ref, { type: 'recordingEnded', ...event.data });
      }
    }),
    /** The connection is gone: transports close, producers wait, consumers close. */
    releaseSession: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.transports)) {
        enqueue.sendTo(ref, { type: 'close' });
        enqueue.stopChild(ref);
      }
      for (const ref of Object.values(context.producers)) enqueue.sendTo(ref, { type: 'suspend' });
      for (const ref of Object.values(context.consumers)) enqueue.sendTo(ref, { type: 'close', reason: 'the connection was lost' });
      enqueue.assign({ transports: {}, ready: { send: false, recv: false }, consumers: {} });
    }),
    /** The client is closed: everything closes, nothing waits. */
    releaseAll: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.transports)) {
        enqueue.sendTo(ref, { type: 'close' });
        enqueue.stopChild(ref);
      }
      for (const ref of Object.values(context.producers)) enqueue.sendTo(ref, { type: 'release' });
      for (const ref of Object.values(context.consumers)) enqueue.sendTo(ref, { type: 'close', reason: 'the client was closed' });
      enqueue.assign({ transports: {}, ready: { send: false, recv: false }, consumers: {}, producers: {} });
    }),
  },
  guards: {
    isUnauthorized: ({ event }) => event.type === 'signaling.closed' && event.code === REFUSAL_CODES.unauthorized,
    isExpired: ({ event }) => event.type === 'signaling.closed' && event.code === REFUSAL_CODES.expired,
    isReplaced: ({ event }) => event.type === 'signaling.closed' && event.code === REPLACED_CODE,
    /** Every transport this connection made is created (recv only exists if the page listened in time). */
    transportsReady: ({ context }) => context.ready.send && (context.ready.recv || !context.transports.recv),
    recvTransportReady: ({ context }) => context.ready.recv,
    attemptsExhausted: ({ context }) => context.attempt >= context.maxAttempts,
    isListening: ({ context }) => context.listening,
    isNewProducer: ({ context, event }) => event.type === 'produceTrack' && !(event.key in context.producers),
    isNewConsumer: ({ context, event }) =>
      event.type === 'signaling.notified' && event.method === 'newConsumer' && context.listening && !(event.data.id in context.consumers),
    isConsumerNotification: ({ event }) =>
      event.type === 'signaling.notified' &&
      (event.method === 'consumerClosed' || event.method === 'consumerProducerPaused' || event.method === 'consumerProducerResumed'),
    isTrackNotConsumed: ({ event }) => event.type === 'signaling.notified' && event.method === 'trackNotConsumed',
    isProducerNotification: ({ event }) =>
      event.type === 'signaling.notified' && (event.method === 'producerClosed' || event.method === 'recordingEnded'),
  },
  delays: {
    /** Replaced by the client's reconnect policy (capped exponential backoff with jitter). */
    backoff: ({ context }) => Math.min(500 * 2 ** context.attempt, 10_000),
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    maxAttempts: input.maxAttempts,
    timing: input.timing,
    ice: input.ice,
    attempt: 0,
    closeReason: undefined,
    error: undefined,
    listening: false,
    welcome: undefined,
    transports: {},
    ready: { send: false, recv: false },
    producers: {},
    consumers: {},
  }),
  entry: [
    spawnChild('device', { id: 'device', systemId: 'device' }),
    spawnChild('signaling', { id: 'signaling', systemId: 'signaling', input: ({ context }) => ({ timing: context.timing }) }),
  ],
  initial: 'running',
  on: {
    'producer.closed': {
      actions: assign({ producers: ({ context, event }) => withoutKey(context.producers, event.key) }),
    },
    'consumer.closed': {
      actions: assign({ consumers: ({ context, event }) => withoutKey(context.consumers, event.consumerId) }),
    },
  },
  states: {
    running: {
      initial: 'connecting',
      on: {
        close: '#client.closing',
        listenTrack: { actions: assign({ listening: true }) },
        produceTrack: { guard: 'isNewProducer', actions: 'spawnProducer' },
        'signaling.notified': [
          { guard: 'isNewConsumer', actions: 'spawnConsumer' },
          { guard: 'isConsumerNotification', actions: 'forwardToConsumer' },
          { guard: 'isProducerNotification', actions: 'forwardToProducers' },
          { guard: 'isTrackNotConsumed', actions: 'emitTrackNotConsumed' },
        ],
      },
      states: {
        connecting: {
          entry: 'connectSignaling',
          initial: 'welcoming',
          states: sessionStates(),
          onDone: 'connected',
          on: { 'signaling.closed': onSignalingClosed('#client.running.reconnecting') },
        },
        connected: {
          entry: [assign({ attempt: 0, error: undefined }), 'produceAll'],
          initial: 'idle',
          on: {
            'signaling.closed': onSignalingClosed('#client.running.reconnecting'),
            produceTrack: { guard: 'isNewProducer', actions: ['spawnProducer', 'produceNewProducer'] },
            // A transport that ICE restarts could not repair: start over on a new connection.
            'transport.failed': { actions: ['assignEventError', 'dropConnection'] },
          },
          states: {
            idle: { always: { guard: 'isListening', target: 'subscribing' } },
            subscribing: {
              initial: 'preparing',
              states: {
                preparing: {
                  entry: 'spawnRecvTransport',
                  always: { guard: 'recvTransportReady', target: 'requesting' },
                  on: { 'transport.created': { actions: 'assignTransportReady' } },
                },
                requesting: {
                  invoke: {
                    id: 'listen',
                    src: 'listen',
                    onDone: '#client.running.connected.subscribed',
                    // Listening failed: say so, and wait for the next `listenTrack` (or connection).
                    onError: {
                      target: '#client.running.connected.idle',
                      actions: [
                        assign({ listening: false, error: ({ event }) => toErrorInfo(event.error) }),
                        emit(({ event }) => ({ type: 'error', error: toErrorInfo(event.error) }) as const),
                      ],
                    },
                  },
                },
              },
            },
            subscribed: {},
          },
        },
        reconnecting: {
          initial: 'backingOff',
          states: {
            backingOff: {
              entry: 'releaseSession',
              always: { guard: 'attemptsExhausted', target: '#client.closed', actions: { type: 'closeAs', params: { reason: 'failed' } } },
              after: { backoff: { target: 'attempting', actions: assign({ attempt: ({ context }) => context.attempt + 1 }) } },
            },
            attempting: {
              entry: 'connectSignaling',
              initial: 'welcoming',
              states: sessionStates(),
              onDone: '#client.running.connected',
              on: { 'signaling.closed': onSignalingClosed('#client.running.reconnecting.backingOff') },
            },
          },
        },
      },
    },
    closing: {
      entry: [{ type: 'closeAs', params: { reason: 'client' } }, 'releaseAll', 'disconnectSignaling'],
      on: { 'signaling.closed': 'closed' },
    },
    closed: {
      type: 'final',
      entry: 'releaseAll',
    },
  },
  output: ({ context }) => ({ closeReason: context.closeReason }),
});

/** The steps of one connection, shared by the first attempt and every reconnection attempt. */
function sessionStates() {
  return {
    welcoming: {
      on: { 'signaling.welcomed': { target: 'loadingDevice', actions: 'assignWelcome' } },
    },
    loadingDevice: {
      entry: 'loadDevice',
      on: {
        'device.loaded': { target: 'joining' },
        // The browser cannot work with this router at all: retrying would not help.
        'device.failed': { target: '#client.closed', actions: [{ type: 'closeAs', params: { reason: 'failed' } }, 'assignEventError'] },
      },
    },
    joining: {
      invoke: { id: 'join', src: 'join', onDone: { target: 'creatingTransports' }, onError: { actions: ['assignEventError', 'dropConnection'] } },
    },
    creatingTransports: {
      entry: 'spawnTransports',
      always: { guard: 'transportsReady', target: 'ready' },
      on: {
        'transport.created': { actions: 'assignTransportReady' },
        'transport.failed': { actions: ['assignEventError', 'dropConnection'] },
      },
    },
    ready: { type: 'final' },
  } as const;
}

/** A socket that ends: a refusal is final, anything else is a lost connection. */
function onSignalingClosed(lost: string) {
  return [
    { guard: 'isUnauthorized', target: '#client.closed', actions: { type: 'closeAs', params: { reason: 'unauthorized' } } },
    { guard: 'isExpired', target: '#client.closed', actions: { type: 'closeAs', params: { reason: 'expired' } } },
    {
      guard: 'isReplaced',
      target: '#client.closed',
      actions: [{ type: 'closeAs', params: { reason: 'failed' } }, 'assignReplaced', 'emitError'],
    },
    { target: lost, reenter: true },
  ] as const;
}

/** One transport actor of a connection, named by its direction. */
function transportOptions(direction: TransportDirection, ice: IceTiming) {
  return { id: `transport.${direction}`, systemId: `transport.${direction}`, input: { direction, ice } };
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const { [key]: _removed, ...rest } = record;
  return rest;
}
