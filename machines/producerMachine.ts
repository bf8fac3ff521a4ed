// One sent track (behind a ProduceManager). It survives a lost connection: the root sends `suspend`
// when the socket is lost and `produce` once a new send transport is ready, and the same actor
// produces the same track again, keeping its paused state. Recording is a parallel region.
import { and, assign, emit, fromPromise, sendParent, setup, type SnapshotFrom } from 'xstate';
import type { NotificationData, ResponseData } from '../src/protocol/messages.js';
import { notProvided, tagList, toErrorInfo, type ErrorInfo, type MediaKind } from './shared.js';

// What a ProduceManager may know of its producer is said by tags on the states (one media tag, and
// one recording tag while active): the facade never reads a state's name.

/**
 * `waiting`: for a (new) send transport — before the first connection and after a lost one;
 * `producing`: being produced; `live` / `paused`: sent / paused; `pausing` / `resuming`: waiting for
 * the server; `closing` / `closed`: ended for good.
 */
export type ProducerState = 'waiting' | 'producing' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closing' | 'closed';
/** `suspended`: the connection was lost while recording; recording starts again once produced again. */
export type RecordingState = 'idle' | 'starting' | 'recording' | 'stopping' | 'suspended' | 'failed';
/** The tags, each once (the compiler checks that none is missing or extra). */
export const producerStates = tagList<ProducerState>({ waiting: 1, producing: 1, live: 1, pausing: 1, paused: 1, resuming: 1, closing: 1, closed: 1 });
export const recordingStates = tagList<RecordingState>({ idle: 1, starting: 1, recording: 1, stopping: 1, suspended: 1, failed: 1 });

export interface ProducerInput {
  /** Local key, also the actor's id and systemId (`producer.<n>`). */
  key: string;
  /** The track (opaque here: machines import no browser API). */
  track: unknown;
  kind: MediaKind;
  appData: Record<string, unknown>;
  /** Start paused. */
  paused: boolean;
  /** How to send it (simulcast or not, encodings): opaque here, read by the `produce` implementation at every production. */
  send: unknown;
}

/** A finished recording: its id and the path of its file on the server (`stopRecord`'s answer). */
export interface Recording {
  /** The recording's id, as listed by `GET /v1/api/recordings` (and its file at `/v1/api/recordings/:id/file`). */
  id: string;
  /** Where its file is on the server. */
  path: string;
}

export interface ProducerContext extends ProducerInput {
  /** The server's producer id while produced; changes with every (re)production. */
  producerId: string | undefined;
  /** Error of the last failed command, or why it closed. */
  error: ErrorInfo | undefined;
  recordingId: string | undefined;
  lastRecording: Recording | undefined;
  recordingError: ErrorInfo | undefined;
  /** Why the last `replaceTrack` failed. */
  sourceError: ErrorInfo | undefined;
}

export type ProducerEvent =
  // from the root
  | { type: 'produce' }
  | { type: 'suspend' }
  | { type: 'release' }
  | ({ type: 'producerClosed' } & NotificationData<'producerClosed'>)
  | ({ type: 'recordingEnded' } & NotificationData<'recordingEnded'>)
  // from the ProduceManager
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'close' }
  | { type: 'startRecord' }
  | { type: 'stopRecord' }
  | { type: 'replaceTrack'; track: unknown };

/** Emitted for the ProduceManager. */
export type ProducerEmitted =
  | { type: 'produced'; producerId: string }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'recordingStarted'; recordingId: string }
  | { type: 'recordingStopped'; recording: Recording | undefined; error: ErrorInfo | undefined }
  | { type: 'closed'; error: ErrorInfo | undefined };

export type ProducerReport = { type: 'producer.closed'; key: string };

type ProducerIdInput = { producerId: string };

/** Why a command in flight when the socket dropped fails: its answer will never come. */
const connectionLost: ErrorInfo = { code: 'CONNECTION_CLOSED', message: 'the connection was lost' };

export const producerMachine = setup({
  types: {
    context: {} as ProducerContext,
    events: {} as ProducerEvent,
    input: {} as ProducerInput,
    emitted: {} as ProducerEmitted,
    tags: {} as ProducerState | RecordingState,
  },
  actors: {
    /** Produce the track on the current send transport (paused if asked); resolves with the server's id. */
    produce: fromPromise<ResponseData<'produce'>, Omit<ProducerInput, 'key'>>(async () => notProvided('produce')),
    pauseProducer: fromPromise<void, ProducerIdInput>(async () => notProvided('pauseProducer')),
    resumeProducer: fromPromise<void, ProducerIdInput>(async () => notProvided('resumeProducer')),
    /** Request `closeProducer` (when there is a server producer) and close the local one. */
    closeProducer: fromPromise<void, { producerId: string | undefined }>(async () => notProvided('closeProducer')),
    startRecord: fromPromise<ResponseData<'startRecord'>, ProducerIdInput>(async () => notProvided('startRecord')),
    stopRecord: fromPromise<Recording, ProducerIdInput>(async () => notProvided('stopRecord')),
    /** Send `track` instead on the local producer (same server producer: receivers keep their consumers). */
    replaceTrack: fromPromise<void, ProducerIdInput & { track: unknown }>(async () => notProvided('replaceTrack')),
  },
  actions: {
    /** Forget the local mediasoup producer (closed with its transport, or by the server). */
    releaseProducer: (_, _params: { producerId: string | undefined }) => notProvided('releaseProducer'),
    reportClosed: sendParent(({ context }): ProducerReport => ({ type: 'producer.closed', key: context.key })),
    emitClosed: emit(({ context }): ProducerEmitted => ({ type: 'closed', error: context.error })),
  },
  guards: {
    wantsPaused: ({ context }) => context.paused,
    isThisProducer: ({ context, event }) =>
      (event.type === 'producerClosed' || event.type === 'recordingEnded') && event.producerId === context.producerId,
    isProduced: ({ context }) => context.producerId !== undefined,
    recordingFailed: ({ event }) => event.type === 'recordingEnded' && event.state === 'failed',
  },
}).createMachine({
  id: 'producer',
  context: ({ input }) => ({
    ...input,
    producerId: undefined,
    error: undefined,
    recordingId: undefined,
    lastRecording: undefined,
    recordingError: undefined,
    sourceError: undefined,
  }),
  initial: 'active',
  states: {
    active: {
      type: 'parallel',
      on: {
        close: 'closing',
        release: { target: 'closed', actions: assign({ error: { code: 'PRODUCER_CLOSED', message: 'the client was closed' } }) },
        producerClosed: {
          guard: 'isThisProducer',
          target: 'closed',
          actions: assign({ error: ({ event }) => ({ code: 'PRODUCER_CLOSED', message: `closed by the server: ${event.reason}` }) }),
        },
      },
      states: {
        media: {
          initial: 'waiting',
          on: {
            // The connection is lost: the server producer is gone; wait for a new send transport.
            suspend: {
              target: '.waiting',
              actions: [
                { type: 'releaseProducer', params: ({ context }) => ({ producerId: context.producerId }) },
                assign({ producerId: undefined, error: connectionLost }),
              ],
            },
          },
          states: {
            waiting: { tags: 'waiting', on: { produce: 'producing' } },
            producing: {
              tags: 'producing',
              invoke: {
                id: 'produce',
                src: 'produce',
                input: ({ context }) => ({ track: context.track, kind: context.kind, appData: context.appData, paused: context.paused, send: context.send }),
                onDone: [
                  {
                    guard: 'wantsPaused',
                    target: 'paused',
                    actions: [assign({ producerId: ({ event }) => event.output.producerId }), emit(({ event }) => ({ type: 'produced', producerId: event.output.producerId }) as const)],
                  },
                  {
                    target: 'live',
                    actions: [assign({ producerId: ({ event }) => event.output.producerId }), emit(({ event }) => ({ type: 'produced', producerId: event.output.producerId }) as const)],
                  },
                ],
                onError: { target: '#producer.closed', actions: assign({ error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
            live: { tags: 'live', on: { pause: { target: 'pausing', actions: assign({ error: undefined }) } } },
            pausing: {
              tags: 'pausing',
              invoke: {
                id: 'pauseProducer',
                src: 'pauseProducer',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: { target: 'paused', actions: [assign({ paused: true }), emit({ type: 'paused' })] },
                onError: { target: 'live', actions: assign({ error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
            paused: { tags: 'paused', on: { resume: { target: 'resuming', actions: assign({ error: undefined }) } } },
            resuming: {
              tags: 'resuming',
              invoke: {
                id: 'resumeProducer',
                src: 'resumeProducer',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: { target: 'live', actions: [assign({ paused: false }), emit({ type: 'resumed' })] },
                onError: { target: 'paused', actions: assign({ error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
          },
        },
        recording: {
          initial: 'idle',
          on: {
            // The server ends a recording with its producer: a lost connection ends it too.
            // (A running one continues in a new segment: see `suspended`.)
            suspend: { target: '.idle', actions: assign({ recordingId: undefined }) },
            recordingEnded: [
              {
                guard: and(['isThisProducer', 'recordingFailed']),
                target: '.failed',
                actions: [
                  assign({ recordingId: undefined, recordingError: { code: 'SERVER_ERROR', message: 'the recording failed' } }),
                  emit(({ context }) => ({ type: 'recordingStopped', recording: undefined, error: context.recordingError }) as const),
                ],
              },
              {
                guard: 'isThisProducer',
                target: '.idle',
                actions: [
                  assign({ recordingId: undefined, lastRecording: ({ event }) => ({ id: event.id, path: event.path }) }),
                  emit(({ context }) => ({ type: 'recordingStopped', recording: context.lastRecording, error: undefined }) as const),
                ],
              },
            ],
          },
          states: {
            idle: { tags: 'idle', on: { startRecord: { guard: 'isProduced', target: 'starting', actions: assign({ recordingError: undefined }) } } },
            starting: {
              tags: 'starting',
              invoke: {
                id: 'startRecord',
                src: 'startRecord',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: {
                  target: 'recording',
                  actions: [
                    assign({ recordingId: ({ event }) => event.output.recordingId }),
                    emit(({ event }) => ({ type: 'recordingStarted', recordingId: event.output.recordingId }) as const),
                  ],
                },
                onError: { target: 'failed', actions: assign({ recordingError: ({ event }) => toErrorInfo(event.error) }) },
              },
              on: { suspend: { target: 'suspended', actions: assign({ recordingId: undefined, recordingError: connectionLost }) } },
            },
            recording: {
              tags: 'recording',
              on: {
                // stopRecord() answers with the recording it stops, never an earlier one.
                stopRecord: { target: 'stopping', actions: assign({ recordingError: undefined, lastRecording: undefined }) },
                suspend: { target: 'suspended', actions: assign({ recordingId: undefined }) },
              },
            },
            // The connection was lost while recording (the server finalized that segment): once the
            // track is produced again, recording starts again, in a new segment.
            suspended: { tags: 'suspended', always: { guard: 'isProduced', target: 'starting' } },
            stopping: {
              tags: 'stopping',
              invoke: {
                id: 'stopRecord',
                src: 'stopRecord',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: {
                  target: 'idle',
                  actions: [
                    assign({ recordingId: undefined, lastRecording: ({ event }) => event.output }),
                    emit(({ event }) => ({ type: 'recordingStopped', recording: event.output, error: undefined }) as const),
                  ],
                },
                onError: {
                  target: 'failed',
                  actions: [
                    assign({ recordingId: undefined, recordingError: ({ event }) => toErrorInfo(event.error) }),
                    emit(({ context }) => ({ type: 'recordingStopped', recording: undefined, error: context.recordingError }) as const),
                  ],
                },
              },
              // The server finalized the recording with its producer, but its answer is lost.
              on: { suspend: { target: 'idle', actions: assign({ recordingId: undefined, recordingError: connectionLost }) } },
            },
            failed: { tags: 'failed', on: { startRecord: { guard: 'isProduced', target: 'starting', actions: assign({ recordingError: undefined }) } } },
          },
        },
        // What is sent: `replaceTrack` makes the new track the one produced from now on (after a
        // reconnect too), and swaps it on the local producer once there is one.
        source: {
          initial: 'current',
          on: {
            replaceTrack: { target: '.pending', actions: assign({ track: ({ event }) => event.track, sourceError: undefined }) },
          },
          states: {
            current: {},
            // Waits for the local producer (a production in flight may still send the old track).
            pending: { always: { guard: 'isProduced', target: 'replacing' } },
            replacing: {
              invoke: {
                id: 'replaceTrack',
                src: 'replaceTrack',
                input: ({ context }) => ({ producerId: context.producerId ?? '', track: context.track }),
                onDone: 'current',
                onError: { target: 'current', actions: assign({ sourceError: ({ event }) => toErrorInfo(event.error) }) },
              },
              // The local producer is gone: the next production sends the new track.
              on: { suspend: 'pending' },
            },
          },
        },
      },
    },
    closing: {
      tags: 'closing',
      invoke: {
        id: 'closeProducer',
        src: 'closeProducer',
        input: ({ context }) => ({ producerId: context.producerId }),
        onDone: { target: 'closed', actions: assign({ error: undefined }) },
        onError: { target: 'closed', actions: assign({ error: undefined }) },
      },
    },
    closed: {
      tags: 'closed',
      type: 'final',
      entry: [{ type: 'releaseProducer', params: ({ context }) => ({ producerId: context.producerId }) }, 'emitClosed', 'reportClosed'],
    },
  },
});

export type ProducerSnapshot = SnapshotFrom<typeof producerMachine>;

/** The producer's media status (a stopped actor is `closed`). */
export function producerState(snapshot: ProducerSnapshot): ProducerState {
  if (snapshot.status !== 'active') return 'closed';
  return producerStates.find((tag) => snapshot.hasTag(tag)) ?? 'closed';
}

/** The producer's recording status (`idle` once it is no longer active). */
export function recordingState(snapshot: ProducerSnapshot): RecordingState {
  return recordingStates.find((tag) => snapshot.hasTag(tag)) ?? 'idle';
}

/** Whether the track last given (`replaceTrack`) is the one sent: `current`, or `pending` / `replacing` until it is. */
export function sourceState(snapshot: ProducerSnapshot): 'current' | 'pending' | 'replacing' {
  if (snapshot.status !== 'active' || !snapshot.matches('active')) return 'current';
  if (snapshot.matches({ active: { source: 'pending' } })) return 'pending';
  return snapshot.matches({ active: { source: 'replacing' } }) ? 'replacing' : 'current';
}
