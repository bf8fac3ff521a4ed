// The facades over single actors, with fake actor implementations (no signaling, no device).
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { producerMachine, type ProducerInput } from '../../machines/producerMachine.js';
import { ConsumeManager } from '../../src/client/ConsumeManager.js';
import { MediaInfraError } from '../../src/client/MediaInfraError.js';
import { ProduceManager } from '../../src/client/ProduceManager.js';
import { fakeTrack } from './support/fakeServer.js';
import { until } from './support/clientHelpers.js';
import { consumerActor } from './support/managerActors.js';

describe('ConsumeManager', () => {
  it('after close, every method rejects with CONSUMER_CLOSED and closed fired once', async () => {
    const actor = consumerActor(true);
    await until(() => actor.getSnapshot().hasTag('live'));
    const cm = new ConsumeManager(actor, fakeTrack('video'));
    expect([cm.id, cm.kind, cm.userId, cm.producerPaused, cm.paused]).toEqual(['c1', 'video', 'user-2', true, false]);
    const closed: MediaInfraError[] = [];
    cm.on('closed', (e) => closed.push(e));
    actor.send({ type: 'close', reason: 'the connection was lost' });
    expect(cm.state).toBe('closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.code).toBe('CONSUMER_CLOSED');
    for (const call of [() => cm.pause(), () => cm.resume()]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MediaInfraError);
      expect(error).toMatchObject({ code: 'CONSUMER_CLOSED' });
      expect((error as Error).message).toContain('the connection was lost');
    }
  });

  it('a pause during another pause is INVALID_STATE', async () => {
    const actor = consumerActor(true);
    await until(() => actor.getSnapshot().hasTag('live'));
    const cm = new ConsumeManager(actor, fakeTrack('video'));
    const first = cm.pause();
    await expect(cm.resume()).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await first;
    expect(cm.paused).toBe(true);
  });
});

describe('ProduceManager', () => {
  it('takes pause and startRecord before the first production as intents; refuses only what cannot be (INVALID_STATE)', async () => {
    let finishProduce: (v: { producerId: string }) => void = () => {};
    const produced: unknown[] = [];
    const machine = producerMachine.provide({
      actors: {
        produce: fromPromise<{ producerId: string }, Omit<ProducerInput, 'key'>>(({ input }) => {
          produced.push(input.paused);
          return new Promise<{ producerId: string }>((resolve) => (finishProduce = resolve));
        }),
        pauseProducer: fromPromise(async () => {}),
        resumeProducer: fromPromise(async () => {}),
        closeProducer: fromPromise(async () => {}),
        startRecord: fromPromise(async (): Promise<{ recordingId: string; path?: string }> => ({ recordingId: 'r1', path: '/r1' })),
        stopRecord: fromPromise(async () => ({ id: 'r1', path: '/r1' })),
      },
      actions: { releaseProducer: () => {}, stopSending: () => {}, startSending: () => {}, reportClosed: () => {} },
    });
    const track = fakeTrack('audio');
    const actor = createActor(machine, { input: { key: 'producer.1', track, kind: 'audio', appData: {}, paused: false, send: {} } }).start();
    const pm = new ProduceManager(actor);
    expect(pm.state).toBe('waiting');
    // Not refused: kept, and said at once.
    const pausing = pm.pause();
    const recording = pm.startRecord();
    expect([pm.paused, pm.recording]).toEqual([true, true]);
    await expect(pm.stopRecord().then(() => 'resolved', (e: { code: string }) => e.code)).resolves.toBe('INVALID_STATE');
    expect(pm.recording).toBe(false);
    await expect(recording).rejects.toMatchObject({ code: 'INVALID_STATE' });
    const recordingAgain = pm.startRecord();
    actor.send({ type: 'produce' });
    expect(pm.state).toBe('producing');
    finishProduce({ producerId: 'p1' });
    await pausing;
    await recordingAgain;
    // Produced paused, as the page asked while it waited.
    expect(produced).toEqual([true]);
    expect([pm.state, pm.paused, pm.recording, pm.id]).toEqual(['paused', true, true, 'p1']);
    await expect(pm.startRecord()).rejects.toMatchObject({ code: 'INVALID_STATE' });
    // a track that ends closes the producer
    track.dispatchEvent(new Event('ended'));
    await until(() => pm.state === 'closed');
    await expect(pm.pause()).rejects.toMatchObject({ code: 'PRODUCER_CLOSED' });
    await pm.close(); // close is idempotent
  });
});
