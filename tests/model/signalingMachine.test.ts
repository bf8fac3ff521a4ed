import { describe, expect, it } from 'vitest';
import { signalingMachine } from '../../machines/signalingMachine.js';
import { coverageRow, testModel, uncovered, type ModelSpec } from './modelHarness.js';
import { actorErrors, timing, welcome } from './samples.js';

export const signalingModel: ModelSpec = {
  name: 'signalingMachine',
  machine: signalingMachine.provide({ actions: { reportWelcomed: () => {}, reportNotified: () => {}, reportClosed: () => {} } }),
  input: { timing },
  samples: {
    'socket.notified': [
      { type: 'socket.notified', method: 'welcome', data: welcome },
      { type: 'socket.notified', method: 'consumerClosed', data: { consumerId: 'c1', reason: 'producer closed' } },
    ],
    'socket.closed': [{ type: 'socket.closed', code: 1006, reason: '' }],
    ...actorErrors('ping', 'leave'),
  },
  serialize: (s) => JSON.stringify(s.value),
};

describe('signalingMachine (model)', () => {
  it('every path reaches its state; every state node and transition is covered', async () => {
    const coverage = await testModel(signalingModel);
    console.table([coverageRow(signalingModel.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
  });
});
