import { describe, expect, it } from 'vitest';
import { consumerMachine } from '../../machines/consumerMachine.js';
import { coverageRow, testModel, uncovered, type ModelSpec } from './modelHarness.js';
import { actorErrors } from './samples.js';

export const consumerModel: ModelSpec = {
  name: 'consumerMachine',
  machine: consumerMachine.provide({ actions: { releaseConsumer: () => {}, reportClosed: () => {} } }),
  input: { id: 'c1', producerId: 'p1', kind: 'audio', rtpParameters: {}, userId: 'user-2', producerPaused: false },
  samples: {
    consumerClosed: [{ type: 'consumerClosed', reason: 'producer closed' }],
    close: [{ type: 'close', reason: 'the connection was lost' }],
    ...actorErrors('consume', 'pauseConsumer', 'resumeConsumer'),
  },
  serialize: (s) =>
    JSON.stringify({ value: s.value, paused: s.context.paused, producerPaused: s.context.producerPaused, error: s.context.error?.code }),
};

describe('consumerMachine (model)', () => {
  it('every path reaches its state; every state node and transition is covered', async () => {
    const coverage = await testModel(consumerModel);
    console.table([coverageRow(consumerModel.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
  });
});
