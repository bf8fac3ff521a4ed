// Machine actors with instant fake effects, for testing the managers (facades) over them.
import { createActor, fromPromise } from 'xstate';
import { consumerMachine } from '../../../machines/consumerMachine.js';

/** A consumerMachine actor whose server calls all succeed at once. */
export function consumerActor(producerPaused: boolean) {
  const machine = consumerMachine.provide({
    actors: {
      consume: fromPromise(async () => {}),
      startConsumer: fromPromise(async () => {}),
      pauseConsumer: fromPromise(async () => {}),
      resumeConsumer: fromPromise(async () => {}),
    },
    actions: { releaseConsumer: () => {}, reportClosed: () => {} },
  });
  return createActor(machine, {
    input: { id: 'c1', producerId: 'p1', kind: 'video', rtpParameters: { codecs: [] }, userId: 'user-2', producerPaused },
  }).start();
}
