// Who is speaking in a room (call health): mediasoup's ActiveSpeakerObserver picks the dominant
// speaker among the room's audio producers, its AudioLevelObserver gives their levels. The room's
// clients are told the speaker (`activeSpeaker`) whenever it changes and the levels (`audioLevels`)
// every interval in which someone is above the silence threshold.
import type { types as ms } from 'mediasoup';
import type { NotificationData, NotificationMethod } from '../../protocol/messages.js';

/** Sends one notification to every client of the room. */
export type Broadcast = <M extends 'activeSpeaker' | 'audioLevels'>(method: M & NotificationMethod, data: NotificationData<M>) => void;

/** How often the dominant speaker is re-evaluated (mediasoup's default: 300 ms). */
export const SPEAKER_INTERVAL_MS = 300;
/** How often levels are reported; one interval holds at least one beat of ordinary speech. */
export const AUDIO_LEVEL_INTERVAL_MS = 1000;
/** Below this average level (dBov) a producer counts as silent: above a quiet room's noise, below soft speech. */
export const SILENCE_THRESHOLD_DBOV = -70;
/** Most producers one `audioLevels` lists (the loudest). */
const MAX_LEVELS = 32;

type Speaker = NotificationData<'activeSpeaker'>['speaker'];

export class RoomSpeakers {
  /** Who owns each observed producer. */
  readonly #owners = new Map<string, string>();
  /** The observer's last dominant speaker: it names one only when it changes. */
  #dominant: ms.Producer | undefined;
  /** The level observer's word: nobody above the threshold in its last interval. */
  #silent = true;
  #told: Speaker = null;

  private constructor(
    private readonly observers: { active: ms.ActiveSpeakerObserver; levels: ms.AudioLevelObserver } | undefined,
    private readonly broadcast: Broadcast,
  ) {
    if (!observers) return;
    const { active, levels } = observers;
    active.on('dominantspeaker', ({ producer }) => {
      this.#dominant = producer;
      this.#update();
    });
    levels.on('volumes', (volumes) => {
      this.#silent = false;
      broadcast('audioLevels', { levels: volumes.map(({ producer, volume }) => ({ producerId: producer.id, dBov: Math.max(-127, Math.min(0, volume)) })) });
      this.#update();
    });
    levels.on('silence', () => {
      this.#silent = true;
      broadcast('audioLevels', { levels: [] });
      this.#update();
    });
  }

  /** `enabled` false (SPEAKER_DETECTION=0): no observers; nobody is ever the speaker and no levels are sent. */
  static async create(router: ms.Router, broadcast: Broadcast, enabled = true): Promise<RoomSpeakers> {
    if (!enabled) return new RoomSpeakers(undefined, broadcast);
    const [active, levels] = await Promise.all([
      router.createActiveSpeakerObserver({ interval: SPEAKER_INTERVAL_MS }),
      router.createAudioLevelObserver({ interval: AUDIO_LEVEL_INTERVAL_MS, threshold: SILENCE_THRESHOLD_DBOV, maxEntries: MAX_LEVELS }),
    ]);
    return new RoomSpeakers({ active, levels }, broadcast);
  }

  /** The speaker the room was last told of. */
  get speaker(): Speaker {
    return this.#told;
  }

  /** Observes an audio producer of `userId` for as long as it lives (its pause, resume and close change the speaker). */
  add(producer: ms.Producer, userId: string): void {
    const observers = this.observers;
    if (!observers || producer.kind !== 'audio' || producer.closed || observers.active.closed) return;
    this.#owners.set(producer.id, userId);
    const changed = () => this.#update();
    producer.observer.on('pause', changed);
    producer.observer.on('resume', changed);
    producer.observer.on('close', () => {
      this.#owners.delete(producer.id);
      changed();
    });
    // The producer may close between the check and the worker's answer: then it is simply not observed.
    for (const observer of [observers.active, observers.levels]) void observer.addProducer({ producerId: producer.id }).catch(() => undefined);
  }

  /** The speaker is the observer's dominant one while it is live and someone is heard; tells the room when that changes. */
  #update(): void {
    const dominant = this.#dominant;
    const userId = dominant && this.#owners.get(dominant.id);
    const speaker: Speaker = !this.#silent && dominant && userId && !dominant.closed && !dominant.paused ? { userId, producerId: dominant.id } : null;
    if (speaker?.producerId === this.#told?.producerId) return;
    this.#told = speaker;
    this.broadcast('activeSpeaker', { speaker });
  }
}
