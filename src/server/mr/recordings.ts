// Every recording this server runs: at most one per producer, each a row in the recording table
// kept true to its ffmpeg, and all of them finalized before the server exits.
//
// The row is written when a start begins, so a server killed at any moment leaves a row that the
// next start marks failed; a start that fails marks it failed with the reason at once. A start
// whose row cannot be written (database down) is refused; an end whose row cannot be written is
// retried in the background until the database is back (RetryingWrites), never lost, never thrown.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/codes.js';
import { MediaError } from './errors.js';
import { Recording, type RecordingResult } from './recorder.js';
import { recordingPath } from './recordingFormat.js';
import type { RecordingStore } from './recordingStore.js';
import { RetryingWrites } from '../store/retryingWrites.js';

/** At shutdown, row writes still waiting for the database get this long before they are given up (ms). */
export const SHUTDOWN_WRITES_MS = 10_000;

export interface RecordingOwner {
  roomId: string;
  userId: string;
  router: ms.Router;
}

export interface EndedRecording {
  id: string;
  path: string;
  result: RecordingResult;
}

interface Running {
  recording: Recording;
  /** Settles (never rejects) once the file is final, the row updated (or queued while the database is down) and `onEnded` called. */
  done: Promise<EndedRecording>;
}

export class Recordings {
  /** By producer id. */
  private readonly active = new Map<string, Running>();
  /** Starts in progress, by producer id: settle (never reject) when the start has succeeded or cleaned up. */
  private readonly starting = new Map<string, Promise<unknown>>();
  private readonly writes: RetryingWrites;

  constructor(
    private readonly store: RecordingStore,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.writes = new RetryingWrites(logger);
  }

  private isRecording(producerId: string): boolean {
    return this.active.has(producerId) || this.starting.has(producerId);
  }

  /**
   * Starts recording `producer`; `onEnded` is called once when it ends, however it ends
   * (stop(), producer closed, ffmpeg died, shutdown), after its row has been updated.
   * Rejects with UNSUPPORTED_CODEC, PRODUCER_CLOSED or SERVER_ERROR (with the reason).
   */
  async start(owner: RecordingOwner, producer: ms.Producer, onEnded: (ended: EndedRecording) => void): Promise<Recording> {
    if (this.isRecording(producer.id)) throw new MediaError(ErrorCode.INVALID_STATE, `producer ${producer.id} is already being recorded`);
    const id = randomUUID();
    const path = recordingPath(this.dir, id, producer);
    const started = this.startRow(owner, producer, id, path);
    this.starting.set(producer.id, started.catch(() => undefined));
    let recording: Recording;
    try {
      recording = await started;
    } finally {
      this.starting.delete(producer.id);
    }
    const done = recording.ended.then(async (result) => {
      this.active.delete(producer.id);
      const ended = { id, path, result };
      await this.writes.run({ recordingId: id, state: result.state }, () => this.store.ended(id, result));
      try {
        onEnded(ended);
      } catch (err) {
        this.logger.error({ recordingId: id, err: (err as Error).message }, 'recording bookkeeping failed');
      }
      return ended;
    });
    this.active.set(producer.id, { recording, done });
    return recording;
  }

  private async startRow(owner: RecordingOwner, producer: ms.Producer, id: string, path: string): Promise<Recording> {
    const startedAt = new Date();
    try {
      await this.store.started({ id, roomId: owner.roomId, userId: owner.userId, producerId: producer.id, kind: producer.kind, path, startedAt });
    } catch (err) {
      const reason = (err as Error).message;
      this.logger.error({ recordingId: id, producerId: producer.id, err: reason }, 'recording refused: its row cannot be written');
      throw new MediaError(ErrorCode.SERVER_ERROR, `the recording could not start: ${reason}`);
    }
    try {
      await mkdir(this.dir, { recursive: true });
      return await Recording.start({ router: owner.router, producer, id, dir: this.dir, logger: this.logger });
    } catch (err) {
      const reason = (err as Error).message;
      await this.writes.run({ recordingId: id, state: 'failed' }, () => this.store.ended(id, { state: 'failed', endedAt: new Date(), bytes: 0, reason: `could not start: ${reason}` }));
      this.logger.error({ recordingId: id, producerId: producer.id, err: reason }, 'recording could not start');
      if (err instanceof MediaError) throw err;
      throw new MediaError(ErrorCode.SERVER_ERROR, `the recording could not start: ${reason}`);
    }
  }

  /** Stops the recording of `producerId`; resolves once its file is final and its row updated. */
  async stop(producerId: string): Promise<EndedRecording> {
    const running = this.active.get(producerId);
    if (!running) throw new MediaError(ErrorCode.INVALID_STATE, `producer ${producerId} is not being recorded`);
    void running.recording.stop();
    return running.done;
  }

  /**
   * Finalizes every running recording (shutdown) and waits for their rows, and for starts in
   * progress; rows waiting for the database get SHUTDOWN_WRITES_MS more.
   */
  async stopAll(): Promise<void> {
    await Promise.all(this.starting.values());
    await Promise.all(
      [...this.active.values()].map(({ recording, done }) => {
        void recording.stop();
        return done;
      }),
    );
    await this.writes.settle(SHUTDOWN_WRITES_MS);
  }
}
