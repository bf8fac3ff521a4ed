import { describe, expect, it } from 'vitest';
import { transportMachine } from '../../machines/transportMachine.js';
import { coverageRow, testModel, uncovered, type ModelSpec } from './modelHarness.js';
import { actorErrors, ice } from './samples.js';

const stateChanged = (['new', 'connecting', 'connected', 'disconnected', 'failed'] as const).map((state) => ({ type: 'transport.stateChanged', state }));

export const transportModel: ModelSpec = {
  name: 'transportMachine',
  machine: transportMachine.provide({ actions: { reportCreated: () => {}, reportFailed: () => {}, closeTransport: () => {} } }),
  input: { direction: 'send', ice },
  samples: {
    'xstate.done.actor.createTransport': [{ type: 'xstate.done.actor.createTransport', output: { transportId: 't1' } }],
    'transport.stateChanged': stateChanged,
    ...actorErrors('createTransport', 'connectTransport', 'restartIce'),
  },
  serialize: (s) =>
    JSON.stringify({ value: s.value, id: s.context.transportId, connection: s.context.connection, restarts: s.context.iceRestarts, error: s.context.error?.code }),
};

describe('transportMachine (model)', () => {
  it('every path reaches its state; every state node and transition is covered', async () => {
    const coverage = await testModel(transportModel);
    console.table([coverageRow(transportModel.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
  });
});
