import { describe, expect, it } from 'vitest';
import { clientMachine } from '../../machines/clientMachine.js';
import { coverageRow, testModel, uncovered, type ModelSpec } from './modelHarness.js';
import { actorErrors, ice, timing, welcome } from './samples.js';

const newConsumer = {
  id: 'c1',
  producerId: 'p9',
  kind: 'audio',
  rtpParameters: { codecs: [] },
  userId: 'user-2',
  producerPaused: false,
};

export const clientModel: ModelSpec = {
  name: 'clientMachine',
  machine: clientMachine,
  input: { maxAttempts: 2, timing, ice },
  samples: {
    'signaling.welcomed': [{ type: 'signaling.welcomed', welcome }],
    'signaling.closed': [
      { type: 'signaling.closed', code: undefined, reason: 'lost' },
      { type: 'signaling.closed', code: 4001, reason: 'unauthorized' },
      { type: 'signaling.closed', code: 4002, reason: 'expired' },
      { type: 'signaling.closed', code: 4003, reason: 'replaced' },
    ],
    'signaling.notified': [
      { type: 'signaling.notified', method: 'newConsumer', data: newConsumer },
      { type: 'signaling.notified', method: 'consumerClosed', data: { consumerId: 'c1', reason: 'producer closed' } },
      { type: 'signaling.notified', method: 'producerClosed', data: { producerId: 'p1', reason: 'kicked' } },
      {
        type: 'signaling.notified',
        method: 'trackNotConsumed',
        data: { producerId: 'p9', userId: 'user-2', kind: 'video', code: 'INVALID_STATE', message: 'the most tracks' },
      },
    ],
    'device.failed': [{ type: 'device.failed', error: { code: 'UNSUPPORTED_CODEC', message: 'no codecs' } }],
    'transport.created': [
      { type: 'transport.created', direction: 'send', transportId: 't-send' },
      { type: 'transport.created', direction: 'recv', transportId: 't-recv' },
    ],
    'transport.failed': [{ type: 'transport.failed', direction: 'send', error: { code: 'SERVER_ERROR', message: 'no' } }],
    produceTrack: [{ type: 'produceTrack', key: 'producer.1', track: {}, kind: 'audio', appData: {}, paused: false }],
    'producer.closed': [{ type: 'producer.closed', key: 'producer.1' }],
    'consumer.closed': [{ type: 'consumer.closed', consumerId: 'c1' }],
    ...actorErrors('join', 'listen'),
  },
  serialize: (s) =>
    JSON.stringify({
      value: s.value,
      attempt: s.context.attempt,
      listening: s.context.listening,
      closeReason: s.context.closeReason,
      ready: s.context.ready,
      transports: Object.keys(s.context.transports),
      producers: Object.keys(s.context.producers),
      consumers: Object.keys(s.context.consumers),
    }),
};

describe('clientMachine (model)', () => {
  it('every path reaches its state; every state node and transition is covered', async () => {
    const coverage = await testModel(clientModel);
    console.table([coverageRow(clientModel.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
  });
});
