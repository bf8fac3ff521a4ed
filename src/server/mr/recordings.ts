// Every recording this server runs: at most one per producer, each a row in the recording table
// kept true to its ffmpeg, and all of them finalized before the server exits.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/codes.js';
import { MediaError } from './errors.js';
import { Recording, type RecordingResult } from './recorder.js';
import type { RecordingStore } from './recordingStore.js';

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
  /** Settles (never rejects) once the file is final, the row updated and `onEnded` called. */
  done: Promise<EndedRecording>;
}

export class Recordings {
  /** By producer id. */
  private readonly active = new Map<string, Running>();
  private readonly starting = new Set<string>();

  constructor(
    private readonly store: RecordingStore,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  private isRecording(producerId: string): boolean {
    return this.active.has(producerId) || this.starting.has(producerId);
  }

  /**
   * Starts recording `producer`; `onEnded` is called once when it ends, however it ends
   * (stop(), producer closed, ffmpeg died, shutdown), after its row has been updated.
   */
  async start(owner: RecordingOwner, producer: ms.Producer, onEnded: (ended: EndedRecording) => void): Promise<Recording> {
    if (this.isRecording(producer.id)) throw new MediaError(ErrorCode.INVALID_STATE, `producer ${producer.id} is already being recorded`);
    this.starting.add(producer.id);
    let recording: Recording;
    try {
      await mkdir(this.dir, { recursive: true });
      recording = await Recording.start({ router: owner.router, producer, id: randomUUID(), dir: this.dir, logger: this.logger });
    } catch (err) {
      if (err instanceof MediaError) throw err;
      this.logger.error({ producerId: producer.id, err: (err as Error).message }, 'recording could not start');
      throw new MediaError(ErrorCode.SERVER_ERROR, 'the recording could not start');
    } finally {
      this.starting.delete(producer.id);
    }
    const { id, path } = recording;
    this.store.started({ id, roomId: owner.roomId, userId: owner.userId, producerId: producer.id, kind: recording.kind, path, startedAt: recording.startedAt });
    const done = recording.ended.then((result) => {
      this.active.delete(producer.id);
      const ended = { id, path, result };
      try {
        this.store.ended(id, result);
        onEnded(ended);
      } catch (err) {
        this.logger.error({ recordingId: id, err: (err as Error).message }, 'recording bookkeeping failed');
      }
      return ended;
    });
    this.active.set(producer.id, { recording, done });
    return recording;
  }

  /** Stops the recording of `producerId`; resolves once its file is final and its row updated. */
  async stop(producerId: string): Promise<EndedRecording> {
    const running = this.active.get(producerId);
    if (!running) throw new MediaError(ErrorCode.INVALID_STATE, `producer ${producerId} is not being recorded`);
    void running.recording.stop();
    return running.done;
  }

  /** Finalizes every running recording (shutdown) and waits for their rows. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.active.values()].map(({ recording, done }) => {
        void recording.stop();
        return done;
      }),
    );
  }
}
