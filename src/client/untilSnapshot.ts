import type { Observer, Subscription } from 'xstate';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';

/** The part of an actor that can be watched: its snapshot now, and every next one. */
export interface Watchable<S> {
  getSnapshot(): S;
  subscribe(observer: Observer<S>): Subscription;
}

/**
 * Resolves with the first snapshot of `actor` (the current one included) that satisfies
 * `predicate`, or with the last one when the actor ends first. Rejects with `TIMEOUT` after
 * `timeoutMs` when given. This is how facades await "the state that answers" their event.
 */
export function untilSnapshot<S extends { status: string }>(actor: Watchable<S>, predicate: (snapshot: S) => boolean, timeoutMs?: number): Promise<S> {
  return new Promise((resolve, reject) => {
    const current = actor.getSnapshot();
    if (predicate(current) || current.status !== 'active') {
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
      next: (snapshot) => {
        if (predicate(snapshot) || snapshot.status !== 'active') finish(() => resolve(snapshot));
      },
      error: () => finish(() => resolve(actor.getSnapshot())),
      complete: () => finish(() => resolve(actor.getSnapshot())),
    });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => finish(() => reject(new MediaInfraError(ErrorCode.TIMEOUT, `no answer in ${timeoutMs} ms`))), timeoutMs);
    }
  });
}
