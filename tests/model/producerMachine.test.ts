import { describe, expect, it } from 'vitest';
import { producerMachine } from '../../machines/producerMachine.js';
import { coverageRow, testModel, uncovered, type ModelSpec } from './modelHarness.js';
import { actorErrors } from './samples.js';

export const producerModel: ModelSpec = {
  name: 'producerMachine',
  machine: producerMachine.provide({ actions: { releaseProducer: () => {}, reportClosed: () => {} } }),
  input: { key: 'producer.1', track: {}, kind: 'video', appData: {}, paused: false },
  samples: {
    'xstate.done.actor.produce': [{ type: 'xstate.done.actor.produce', output: { producerId: 'p1' } }],
    'xstate.done.actor.startRecord': [{ type: 'xstate.done.actor.startRecord', output: { recordingId: 'r1' } }],
    'xstate.done.actor.stopRecord': [{ type: 'xstate.done.actor.stopRecord', output: { id: 'r1', path: '/recordings/r1.webm' } }],
    producerClosed: [
      { type: 'producerClosed', producerId: 'p1', reason: 'kicked' },
      { type: 'producerClosed', producerId: 'someone-else', reason: 'kicked' },
    ],
    recordingEnded: [
      { type: 'recordingEnded', producerId: 'p1', id: 'r1', path: '/recordings/r1.webm', state: 'finished' },
      { type: 'recordingEnded', producerId: 'p1', id: 'r1', path: '/recordings/r1.webm', state: 'failed' },
      { type: 'recordingEnded', producerId: 'someone-else', id: 'r2', path: '/recordings/r2.webm', state: 'finished' },
    ],
    ...actorErrors('produce', 'pauseProducer', 'resumeProducer', 'closeProducer', 'startRecord', 'stopRecord'),
  },
  serialize: (s) =>
    JSON.stringify({
      value: s.value,
      paused: s.context.paused,
      producerId: s.context.producerId,
      recordingId: s.context.recordingId,
      lastRecording: s.context.lastRecording?.id,
      error: s.context.error?.code,
      recordingError: s.context.recordingError?.code,
    }),
};

describe('producerMachine (model)', () => {
  it('every path reaches its state; every state node and transition is covered', async () => {
    const coverage = await testModel(producerModel);
    console.table([coverageRow(producerModel.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
  });
});
