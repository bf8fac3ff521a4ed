// One received track (behind a ConsumeManager). It does not survive a lost connection: the root
// sends `close` and a new consumer arrives through `listenTrack` after the reconnect.
import { assign, emit, fromPromise, sendParent, setup, type SnapshotFrom } from 'xstate';
import type { NotificationData, RequestData } from '../src/protocol/messages.js';
import { notProvided, tagList, toErrorInfo, type ErrorInfo } from './shared.js';

// What a ConsumeManager may know of its consumer is said by tags on the states, never by their names.

/**
 * `creating`: being consumed; `live` / `paused`: received (from the moment the server is asked to
 * send it) / paused by this client; `pausing` / `resuming`: waiting for the server; `closed`: for
 * good. (Which layers it asks for is a region of its own beside these, untagged: the facade reads
 * it from the context.)
 */
export type ConsumerState = 'creating' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closed';
export const consumerStates = tagList<ConsumerState>({ creating: 1, live: 1, pausing: 1, paused: 1, resuming: 1, closed: 1 });

/** One consumer of a `newConsumers` notification (or an older server's `newConsumer`). */
export type ConsumerInput = NotificationData<'newConsumer'>;

/** A spatial layer and, optionally, a temporal one (the server's consumer layers). */
export type ConsumerLayers = NonNullable<NotificationData<'consumerLayersChanged'>['layers']>;

export interface ConsumerContext extends ConsumerInput {
  /** Paused by this client (`pause()`), as opposed to `producerPaused` (paused by its sender). */
  paused: boolean;
  error: ErrorInfo | undefined;
  /** The layers the server forwards now (its `layerschange`); `null` until it says, or when none. */
  layers: ConsumerLayers | null;
  /** The layers last applied by `setPreferredLayers`. */
  preferredLayers: ConsumerLayers | undefined;
  /** The layers of the `setPreferredLayers` in flight (or last asked for). */
  requestedLayers: ConsumerLayers | undefined;
  /** Why the last `setPreferredLayers` failed. */
  layersError: ErrorInfo | undefined;
}

export type ConsumerEvent =
  // from the root: the server's notifications, and `close` when the connection is lost
  | ({ type: 'consumerClosed' } & Pick<NotificationData<'consumerClosed'>, 'reason'>)
  | { type: 'producerPaused' }
  | { type: 'producerResumed' }
  | ({ type: 'layersChanged' } & Pick<NotificationData<'consumerLayersChanged'>, 'layers'>)
  | { type: 'close'; reason: string }
  // from the ConsumeManager
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'setPreferredLayers'; layers: ConsumerLayers };

export type ConsumerEmitted =
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'producerPaused' }
  | { type: 'producerResumed' }
  | { type: 'layersChanged'; layers: ConsumerLayers | null }
  | { type: 'closed'; error: ErrorInfo | undefined };

export type ConsumerReport = { type: 'consumer.closed'; consumerId: string };

type ConsumerIdInput = { consumerId: string };
type PreferredLayersInput = RequestData<'setConsumerPreferredLayers'>;

export const consumerMachine = setup({
  types: {
    context: {} as ConsumerContext,
    events: {} as ConsumerEvent,
    input: {} as ConsumerInput,
    emitted: {} as ConsumerEmitted,
    tags: {} as ConsumerState,
  },
  actors: {
    /** Create the local consumer on the recv transport (its m-section negotiated). */
    consume: fromPromise<void, ConsumerInput>(async () => notProvided('consume')),
    /** Ask the server to start sending it (created paused): `resumeConsumers` with the others of its offer. */
    startConsumer: fromPromise<void, ConsumerIdInput>(async () => notProvided('startConsumer')),
    pauseConsumer: fromPromise<void, ConsumerIdInput>(async () => notProvided('pauseConsumer')),
    resumeConsumer: fromPromise<void, ConsumerIdInput>(async () => notProvided('resumeConsumer')),
    /** Request `setConsumerPreferredLayers`: resolves once the server applied them. */
    setPreferredLayers: fromPromise<void, PreferredLayersInput>(async () => notProvided('setPreferredLayers')),
  },
  actions: {
    /** Close the local mediasoup consumer, if any. */
    releaseConsumer: (_, _params: ConsumerIdInput) => notProvided('releaseConsumer'),
    reportClosed: sendParent(({ context }): ConsumerReport => ({ type: 'consumer.closed', consumerId: context.id })),
    emitClosed: emit(({ context }): ConsumerEmitted => ({ type: 'closed', error: context.error })),
  },
}).createMachine({
  id: 'consumer',
  context: ({ input }) => ({ ...input, paused: false, error: undefined, layers: null, preferredLayers: undefined, requestedLayers: undefined, layersError: undefined }),
  initial: 'creating',
  on: {
    consumerClosed: {
      target: '.closed',
      actions: assign({ error: ({ event }) => ({ code: 'CONSUMER_CLOSED', message: `closed by the server: ${event.reason}` }) }),
    },
    close: { target: '.closed', actions: assign({ error: ({ event }) => ({ code: 'CONSUMER_CLOSED', message: event.reason }) }) },
    producerPaused: { actions: [assign({ producerPaused: true }), emit({ type: 'producerPaused' })] },
    producerResumed: { actions: [assign({ producerPaused: false }), emit({ type: 'producerResumed' })] },
    layersChanged: { actions: [assign({ layers: ({ event }) => event.layers }), emit(({ event }) => ({ type: 'layersChanged', layers: event.layers }) as const)] },
  },
  states: {
    creating: {
      tags: 'creating',
      invoke: {
        id: 'consume',
        src: 'consume',
        input: ({ context }) => ({
          id: context.id,
          producerId: context.producerId,
          kind: context.kind,
          rtpParameters: context.rtpParameters,
          userId: context.userId,
          producerPaused: context.producerPaused,
          appData: context.appData,
        }),
        onDone: 'ready',
        onError: { target: 'closed', actions: assign({ error: ({ event }) => toErrorInfo(event.error, 'UNSUPPORTED_CODEC') }) },
      },
    },
    // Received: whether it is paused, and which layers it asks for, are independent.
    ready: {
      type: 'parallel',
      states: {
        media: {
          initial: 'starting',
          states: {
            // Handed to the page as soon as it is consumed, live: media flows once the server has the
            // request, half a round trip before its answer could say so. A pause meanwhile goes after
            // it on the ordered socket; a refusal closes it (the server will not send it).
            starting: {
              tags: 'live',
              invoke: {
                id: 'startConsumer',
                src: 'startConsumer',
                input: ({ context }) => ({ consumerId: context.id }),
                onDone: 'live',
                onError: {
                  target: '#consumer.closed',
                  actions: assign({ error: ({ event }) => ({ code: 'CONSUMER_CLOSED', message: `the server did not start sending it: ${toErrorInfo(event.error).message}` }) }),
                },
              },
              on: { pause: { target: 'pausing', actions: assign({ error: undefined }) } },
            },
            live: {
              tags: 'live',
              on: { pause: { target: 'pausing', actions: assign({ error: undefined }) } },
            },
            pausing: {
              tags: 'pausing',
              invoke: {
                id: 'pauseConsumer',
                src: 'pauseConsumer',
                input: ({ context }) => ({ consumerId: context.id }),
                onDone: { target: 'paused', actions: [assign({ paused: true }), emit({ type: 'paused' })] },
                onError: { target: 'live', actions: assign({ error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
            paused: {
              tags: 'paused',
              on: { resume: { target: 'resuming', actions: assign({ error: undefined }) } },
            },
            resuming: {
              tags: 'resuming',
              invoke: {
                id: 'resumeConsumer',
                src: 'resumeConsumer',
                input: ({ context }) => ({ consumerId: context.id }),
                onDone: { target: 'live', actions: [assign({ paused: false }), emit({ type: 'resumed' })] },
                onError: { target: 'paused', actions: assign({ error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
          },
        },
        layers: {
          initial: 'idle',
          states: {
            idle: {
              on: { setPreferredLayers: { target: 'setting', actions: assign({ layersError: undefined, requestedLayers: ({ event }) => event.layers }) } },
            },
            setting: {
              invoke: {
                id: 'setPreferredLayers',
                src: 'setPreferredLayers',
                input: ({ context }) => ({ consumerId: context.id, ...context.requestedLayers! }),
                onDone: { target: 'idle', actions: assign({ preferredLayers: ({ context }) => context.requestedLayers }) },
                onError: { target: 'idle', actions: assign({ layersError: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
          },
        },
      },
    },
    closed: {
      tags: 'closed',
      type: 'final',
      entry: [{ type: 'releaseConsumer', params: ({ context }) => ({ consumerId: context.id }) }, 'emitClosed', 'reportClosed'],
    },
  },
});

export type ConsumerSnapshot = SnapshotFrom<typeof consumerMachine>;

/** The consumer's status (a stopped actor is `closed`). */
export function consumerState(snapshot: ConsumerSnapshot): ConsumerState {
  if (snapshot.status !== 'active') return 'closed';
  return consumerStates.find((tag) => snapshot.hasTag(tag)) ?? 'closed';
}

/** Whether a `setPreferredLayers` is in flight (`setting`) or not (`idle`, also once closed). */
export function layersState(snapshot: ConsumerSnapshot): 'idle' | 'setting' {
  return snapshot.status === 'active' && snapshot.matches({ ready: { layers: 'setting' } }) ? 'setting' : 'idle';
}
