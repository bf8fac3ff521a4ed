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
  /** What the server's producer is (or is being produced as): `paused` is the page's intent. */
  serverPaused: boolean;
  /** Error of the last failed command, or why it closed. */
  error: ErrorInfo | undefined;
  recordingId: string | undefined;
  /** Where the running recording's file is (`startRecord`'s answer). */
  recordingPath: string | undefined;
  /** The page's recording intent: `startRecord()` sets it, `stopRecord()` clears it. */
  recordingWanted: boolean;
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
    /** The local producer sends no packet from now on (whatever the connection does); none yet: nothing to do. */
    stopSending: (_, _params: { producerId: string | undefined }) => notProvided('stopSending'),
    /** The local producer sends again (the server's producer is live). */
    startSending: (_, _params: { producerId: string | undefined }) => notProvided('startSending'),
    wantPaused: assign({ paused: true, error: undefined }),
    wantLive: assign({ paused: false, error: undefined }),
    // stopRecord() answers with the recording it stops, never an earlier one.
    wantRecording: assign({ recordingWanted: true, recordingError: undefined, lastRecording: undefined }),
    unwantRecording: assign({ recordingWanted: false, recordingError: undefined, lastRecording: undefined }),
    /** The connection is lost: the server finalized the running segment (if any), which is now the last recording. */
    cutSegment: assign(({ context }) =>
      context.recordingId === undefined
        ? {}
        : { lastRecording: { id: context.recordingId, path: context.recordingPath ?? '' }, recordingId: undefined, recordingPath: undefined },
    ),
    reportClosed: sendParent(({ context }): ProducerReport => ({ type: 'producer.closed', key: context.key })),
    emitClosed: emit(({ context }): ProducerEmitted => ({ type: 'closed', error: context.error })),
  },
  guards: {
    wantsPaused: ({ context }) => context.paused,
    pauseUnapplied: ({ context }) => context.paused && !context.serverPaused,
    resumeUnapplied: ({ context }) => !context.paused && context.serverPaused,
    recordingWanted: ({ context }) => context.recordingWanted,
    recordingUnwanted: ({ context }) => !context.recordingWanted,
    /** A recording that ended (the lost connection's segment) is there to answer a stopRecord(). */
    segmentEnded: ({ context }) => context.lastRecording !== undefined,
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
    serverPaused: input.paused,
    error: undefined,
    recordingId: undefined,
    recordingPath: undefined,
    recordingWanted: false,
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
        // Paused or live: `paused` is the page's intent, taken at once in every state (the last call
        // wins), and `serverPaused` what the server's producer is. Each apply step ends in
        // `settling`, which sends the difference to the server, if any. Only `live` sends: a pause
        // stops the local producer on the way out of it (`pausing`'s entry), before the server hears of it.
        media: {
          initial: 'waiting',
          on: {
            // The connection is lost: the server producer is gone; wait for a new send transport.
            // The intent is kept: the track is produced again as the page last asked.
            suspend: {
              target: '.waiting',
              actions: [{ type: 'releaseProducer', params: ({ context }) => ({ producerId: context.producerId }) }, assign({ producerId: undefined })],
            },
            // Kept for later: nothing is sent in these states (no local producer yet, or paused already).
            pause: { actions: 'wantPaused' },
            resume: { actions: 'wantLive' },
          },
          states: {
            waiting: { tags: 'waiting', on: { produce: 'producing' } },
            producing: {
              tags: 'producing',
              // Produced as the intent is now: a paused track never sends a packet (see MediaDevice.produce).
              entry: assign({ serverPaused: ({ context }) => context.paused }),
              invoke: {
                id: 'produce',
                src: 'produce',
                input: ({ context }) => ({ track: context.track, kind: context.kind, appData: context.appData, paused: context.paused, send: context.send }),
                onDone: {
                  target: 'settling',
                  actions: [assign({ producerId: ({ event }) => event.output.producerId }), emit(({ event }) => ({ type: 'produced', producerId: event.output.producerId }) as const)],
                },
                onError: { target: '#producer.closed', actions: assign({ error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
            settling: {
              always: [
                { guard: 'pauseUnapplied', target: 'pausing' },
                { guard: 'resumeUnapplied', target: 'resuming' },
                { guard: 'wantsPaused', target: 'paused' },
                { target: 'live' },
              ],
            },
            live: {
              tags: 'live',
              entry: { type: 'startSending', params: ({ context }) => ({ producerId: context.producerId }) },
              on: { pause: { target: 'pausing', actions: 'wantPaused' } },
            },
            pausing: {
              tags: 'pausing',
              entry: { type: 'stopSending', params: ({ context }) => ({ producerId: context.producerId }) },
              invoke: {
                id: 'pauseProducer',
                src: 'pauseProducer',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: { target: 'settling', actions: [assign({ serverPaused: true }), emit({ type: 'paused' })] },
                // Refused: the intent falls back to what the server has (live), and `error` says why.
                onError: { target: 'settling', actions: assign({ paused: false, error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
            paused: { tags: 'paused', on: { resume: { target: 'resuming', actions: 'wantLive' } } },
            resuming: {
              tags: 'resuming',
              invoke: {
                id: 'resumeProducer',
                src: 'resumeProducer',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: { target: 'settling', actions: [assign({ serverPaused: false }), emit({ type: 'resumed' })] },
                onError: { target: 'settling', actions: assign({ paused: true, error: ({ event }) => toErrorInfo(event.error) }) },
              },
            },
          },
        },
        // Recording: `recordingWanted` is the page's intent (startRecord / stopRecord), taken at once
        // in every state; the states apply it once the track is produced, one request at a time.
        recording: {
          initial: 'idle',
          on: {
            // The server ends a recording with its producer, so a lost connection ends it too; a
            // recording still wanted starts again in a new segment once produced again. (Where a
            // segment runs, `recording` and `stopping` keep it as the last recording first.)
            suspend: [{ guard: 'recordingWanted', target: '.suspended' }, { target: '.idle' }],
            recordingEnded: [
              {
                guard: and(['isThisProducer', 'recordingFailed']),
                target: '.failed',
                actions: [
                  assign({ recordingId: undefined, recordingWanted: false, recordingError: { code: 'SERVER_ERROR', message: 'the recording failed' } }),
                  emit(({ context }) => ({ type: 'recordingStopped', recording: undefined, error: context.recordingError }) as const),
                ],
              },
              {
                guard: 'isThisProducer',
                target: '.idle',
                actions: [
                  assign({ recordingId: undefined, recordingWanted: false, lastRecording: ({ event }) => ({ id: event.id, path: event.path }) }),
                  emit(({ context }) => ({ type: 'recordingStopped', recording: context.lastRecording, error: undefined }) as const),
                ],
              },
            ],
          },
          states: {
            idle: { tags: 'idle', on: { startRecord: [{ guard: 'isProduced', target: 'starting', actions: 'wantRecording' }, { target: 'suspended', actions: 'wantRecording' }] } },
            starting: {
              tags: 'starting',
              invoke: {
                id: 'startRecord',
                src: 'startRecord',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: [
                  // stopRecord() was called meanwhile: stop what just started.
                  { guard: 'recordingUnwanted', target: 'stopping', actions: [
                      assign({ recordingId: ({ event }) => event.output.recordingId, recordingPath: ({ event }) => event.output.path }),
                      emit(({ event }) => ({ type: 'recordingStarted', recordingId: event.output.recordingId }) as const),
                    ] },
                  { target: 'recording', actions: [
                      assign({ recordingId: ({ event }) => event.output.recordingId, recordingPath: ({ event }) => event.output.path }),
                      emit(({ event }) => ({ type: 'recordingStarted', recordingId: event.output.recordingId }) as const),
                    ] },
                ],
                onError: { target: 'failed', actions: assign({ recordingWanted: false, recordingError: ({ event }) => toErrorInfo(event.error) }) },
              },
              on: { stopRecord: { actions: 'unwantRecording' } },
            },
            recording: {
              tags: 'recording',
              on: { stopRecord: { target: 'stopping', actions: 'unwantRecording' }, suspend: { target: 'suspended', actions: 'cutSegment' } },
            },
            // Wanted, not running: the connection was lost while recording (the server finalized that
            // segment), or startRecord() came before the track was produced. Starts once produced.
            suspended: {
              tags: 'suspended',
              always: { guard: 'isProduced', target: 'starting' },
              // Nothing runs on the server: stopping is forgetting the intent. The answer is the segment the
              // lost connection ended, if there is one; if nothing was recorded, the start is cancelled.
              on: {
                stopRecord: [
                  { guard: 'segmentEnded', target: 'idle', actions: assign({ recordingWanted: false }) },
                  {
                    target: 'idle',
                    actions: assign({
                      recordingWanted: false,
                      recordingError: { code: 'INVALID_STATE', message: 'stopRecord() was called before the recording started' },
                    }),
                  },
                ],
              },
            },
            stopping: {
              tags: 'stopping',
              invoke: {
                id: 'stopRecord',
                src: 'stopRecord',
                input: ({ context }) => ({ producerId: context.producerId ?? '' }),
                onDone: [
                  // startRecord() was called meanwhile: start a new recording once this one is done.
                  { guard: 'recordingWanted', target: 'starting', actions: [
                      assign({ recordingId: undefined, recordingPath: undefined, lastRecording: ({ event }) => event.output }),
                      emit(({ event }) => ({ type: 'recordingStopped', recording: event.output, error: undefined }) as const),
                    ] },
                  { target: 'idle', actions: [
                      assign({ recordingId: undefined, recordingPath: undefined, lastRecording: ({ event }) => event.output }),
                      emit(({ event }) => ({ type: 'recordingStopped', recording: event.output, error: undefined }) as const),
                    ] },
                ],
                onError: {
                  target: 'failed',
                  actions: [
                    assign({ recordingId: undefined, recordingWanted: false, recordingError: ({ event }) => toErrorInfo(event.error) }),
                    emit(({ context }) => ({ type: 'recordingStopped', recording: undefined, error: context.recordingError }) as const),
                  ],
                },
              },
              on: {
                startRecord: { actions: 'wantRecording' },
                // The server finalized the recording with its producer, but its answer is lost: that recording is the answer.
                suspend: [
                  { guard: 'recordingWanted', target: 'suspended', actions: 'cutSegment' },
                  { target: 'idle', actions: 'cutSegment' },
                ],
              },
            },
            // Only while produced (a lost connection makes it idle).
            failed: { tags: 'failed', on: { startRecord: { target: 'starting', actions: 'wantRecording' } } },
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
