// Two facade rules found by the Chromium lifecycle tests, kept here without a browser:
// `track.stop()` by the page closes its producer (the browser fires no 'ended' for it), and a
// manager's `state` is already the new one inside its own event listeners.
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { producerMachine } from '../../machines/producerMachine.js';
import { ConsumeManager } from '../../src/client/ConsumeManager.js';
import { ProduceManager } from '../../src/client/ProduceManager.js';
import { fakeTrack } from './support/fakeServer.js';
import { until } from './support/clientHelpers.js';
import { consumerActor } from './support/managerActors.js';

function liveProducer() {
  const closes: Array<string | undefined> = [];
  const machine = producerMachine.provide({
    actors: {
      produce: fromPromise(async () => ({ producerId: 'p1' })),
      pauseProducer: fromPromise(async () => {}),
      resumeProducer: fromPromise(async () => {}),
      closeProducer: fromPromise(async ({ input }: { input: { producerId: string | undefined } }) => {
        closes.push(input.producerId);
      }),
      startRecord: fromPromise(async () => ({ recordingId: 'r1' })),
      stopRecord: fromPromise(async () => ({ id: 'r1', path: '/r1' })),
    },
    actions: { releaseProducer: () => {}, stopSending: () => {}, startSending: () => {}, reportClosed: () => {} },
  });
  const track = fakeTrack('video');
  const actor = createActor(machine, { input: { key: 'producer.1', track, kind: 'video', appData: {}, paused: false, send: {} } }).start();
  const originalStop = track.stop;
  const pm = new ProduceManager(actor);
  actor.send({ type: 'produce' });
  return { pm, track, closes, originalStop };
}

describe('ProduceManager', () => {
  it("closes (on the server too) when the page calls track.stop(), which fires no 'ended'", async () => {
    const { pm, track, closes, originalStop } = liveProducer();
    await until(() => pm.state === 'live');
    expect(track.stop).not.toBe(originalStop);
    const closed: unknown[] = [];
    pm.on('closed', (e) => closed.push(e));
    track.stop();
    expect(track.readyState).toBe('ended');
    await until(() => pm.state === 'closed');
    expect(closes).toEqual(['p1']);
    expect(closed).toEqual([undefined]);
    // The track's own stop() is given back once the producer is closed.
    expect(track.stop).toBe(originalStop);
  });

  it('inside its event listeners, state/paused/recording are already the new ones', async () => {
    const { pm } = liveProducer();
    await until(() => pm.state === 'live');
    const seen: unknown[] = [];
    for (const name of ['paused', 'resumed', 'recording', 'closed'] as const) {
      pm.on(name, () => seen.push([name, pm.state, pm.paused, pm.recording]));
    }
    pm.on('state', (s) => seen.push(['state', s]));
    await pm.pause();
    await pm.startRecord();
    await pm.resume();
    await pm.stopRecord();
    await pm.close();
    expect(seen).toEqual([
      ['state', 'pausing'],
      ['state', 'paused'],
      ['paused', 'paused', true, false],
      ['recording', 'paused', true, true],
      ['state', 'resuming'],
      ['state', 'live'],
      ['resumed', 'live', false, true],
      ['recording', 'live', false, false],
      ['state', 'closing'],
      ['state', 'closed'],
      ['closed', 'closed', false, false],
    ]);
  });
});

describe('ConsumeManager', () => {
  it('inside its event listeners, state/paused are already the new ones', async () => {
    const actor = consumerActor(false);
    await until(() => actor.getSnapshot().hasTag('live'));
    const cm = new ConsumeManager(actor, fakeTrack('video'));
    const seen: unknown[] = [];
    for (const name of ['paused', 'resumed', 'producerpaused', 'producerresumed', 'closed'] as const) {
      cm.on(name, () => seen.push([name, cm.state, cm.paused, cm.producerPaused]));
    }
    cm.on('state', (s) => seen.push(['state', s]));
    await cm.pause();
    actor.send({ type: 'producerPaused' });
    await cm.resume();
    actor.send({ type: 'producerResumed' });
    actor.send({ type: 'consumerClosed', reason: 'producer closed' });
    expect(seen).toEqual([
      ['state', 'pausing'],
      ['state', 'paused'],
      ['paused', 'paused', true, false],
      ['producerpaused', 'paused', true, true],
      ['state', 'resuming'],
      ['state', 'live'],
      ['resumed', 'live', false, true],
      ['producerresumed', 'live', false, false],
      ['state', 'closed'],
      ['closed', 'closed', false, false],
    ]);
  });
});
