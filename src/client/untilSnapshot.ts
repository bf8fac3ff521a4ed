import type { AnyActorRef, SnapshotFrom } from 'xstate';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';

/**
 * Resolves with the first snapshot of `actor` (the current one included) that satisfies
 * `predicate`, or with the last one when the actor ends first. Rejects with `TIMEOUT` after
 * `timeoutMs` when given. This is how facades await "the state that answers" their event.
 */
export function untilSnapshot<A extends AnyActorRef>(
  actor: A,
  predicate: (snapshot: SnapshotFrom<A>) => boolean,
  timeoutMs?: number,
): Promise<SnapshotFrom<A>> {
  return new Promise((resolve, reject) => {
    const current = actor.getSnapshot() as SnapshotFrom<A>;
    if (predicate(current) || (current as { status: string }).status !== 'active') {
      resolve(current);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (fn: () => void) => {
      if (timer !== undefined) clearTimeout(timer);
      subscription.unsubscribe();
      fn();
    };
    const subscription = actor.subscribe({
      next: (snapshot: SnapshotFrom<A>) => {
        if (predicate(snapshot) || (snapshot as { status: string }).status !== 'active') finish(() => resolve(snapshot));
      },
      error: () => finish(() => resolve(actor.getSnapshot() as SnapshotFrom<A>)),
      complete: () => finish(() => resolve(actor.getSnapshot() as SnapshotFrom<A>)),
    });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => finish(() => reject(new MediaInfraError(ErrorCode.TIMEOUT, `no answer in ${timeoutMs} ms`))), timeoutMs);
    }
  });
}
