// What the facades rely on in the machines: the tags of their states (never a state's name) and
// the events they send. The type-level half fails `npm run typecheck` when a machine renames a tag
// or drops an event a facade sends; the other half fails when a tag is no longer where the facade's
// status functions need it (every configuration of states says exactly one status).
import type { AnyStateMachine, EventFrom, SnapshotFrom } from 'xstate';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { clientMachine, clientStates, type ClientState } from '../../machines/clientMachine.js';
import { consumerMachine, consumerStates, type ConsumerState } from '../../machines/consumerMachine.js';
import { producerMachine, producerStates, recordingStates, type ProducerState, type RecordingState } from '../../machines/producerMachine.js';
import type { ConsumeManager, MediaInfraClient, ProduceManager } from '../../src/client/index.js';

type TagOf<M extends AnyStateMachine> = Parameters<SnapshotFrom<M>['hasTag']>[0];

describe('the machines say what the facades read', () => {
  it('the tags are the facades\' public states (a renamed tag fails the type check)', () => {
    // The public states (README, SPEC): pinned here, so that a machine cannot rename one silently.
    expectTypeOf<ProduceManager['state']>().toEqualTypeOf<'waiting' | 'producing' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closing' | 'closed'>();
    expectTypeOf<ConsumeManager['state']>().toEqualTypeOf<'creating' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closed'>();
    expectTypeOf<MediaInfraClient['state']>().toEqualTypeOf<'connecting' | 'connected' | 'reconnecting' | 'closed'>();
    expectTypeOf<RecordingState>().toEqualTypeOf<'idle' | 'starting' | 'recording' | 'stopping' | 'suspended' | 'failed'>();
    // ... and they are exactly the tags each machine declares.
    expectTypeOf<TagOf<typeof producerMachine>>().toEqualTypeOf<ProducerState | RecordingState>();
    expectTypeOf<TagOf<typeof consumerMachine>>().toEqualTypeOf<ConsumerState>();
    expectTypeOf<TagOf<typeof clientMachine>>().toEqualTypeOf<ClientState>();
    expectTypeOf<ProduceManager['state']>().toEqualTypeOf<ProducerState>();
    expectTypeOf<ConsumeManager['state']>().toEqualTypeOf<ConsumerState>();
    expectTypeOf<MediaInfraClient['state']>().toEqualTypeOf<ClientState>();
  });

  it('the machines take every event their facade sends', () => {
    type Sent<E> = Extract<E, { type: 'pause' | 'resume' | 'close' | 'startRecord' | 'stopRecord' | 'produceTrack' | 'listenTrack' }>['type'];
    expectTypeOf<Sent<EventFrom<typeof producerMachine>>>().toEqualTypeOf<'pause' | 'resume' | 'close' | 'startRecord' | 'stopRecord'>();
    expectTypeOf<Sent<EventFrom<typeof consumerMachine>>>().toEqualTypeOf<'pause' | 'resume' | 'close'>();
    expectTypeOf<Sent<EventFrom<typeof clientMachine>>>().toEqualTypeOf<'produceTrack' | 'listenTrack' | 'close'>();
  });

  it.each([
    { machine: clientMachine, lists: [{ tags: clientStates, required: true }] },
    { machine: consumerMachine, lists: [{ tags: consumerStates, required: true }] },
    // A recording tag only while the producer is active (its status is `idle` otherwise).
    { machine: producerMachine, lists: [{ tags: producerStates, required: true }, { tags: recordingStates, required: false }] },
  ])('$machine.id: every configuration of states carries one status tag of each kind, and every tag is used', ({ machine, lists }) => {
    const configurations = tagSets(machine.root);
    expect(configurations.length).toBeGreaterThan(1);
    for (const { tags, required } of lists) {
      const used = new Set<string>();
      for (const configuration of configurations) {
        const found = tags.filter((tag) => configuration.has(tag));
        found.forEach((tag) => used.add(tag));
        const where = `${machine.id}, a configuration tagged ${[...configuration].join(', ') || 'nothing'}`;
        if (required) expect(found, where).toHaveLength(1);
        else expect(found.length, where).toBeLessThanOrEqual(1);
      }
      expect([...used].sort()).toEqual([...tags].sort());
    }
  });
});

/** The parts of xstate's StateNode read here (public fields). */
interface Node {
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  tags: string[];
  states: Record<string, Node>;
  always?: Array<{ guard?: unknown }>;
}

/** The tags of every configuration of states under `node` (a parallel node combines its regions'). */
function tagSets(node: Node): Set<string>[] {
  const own = new Set(node.tags);
  // A state left at once by an unguarded eventless transition is never a state the machine rests in.
  const children = Object.values(node.states).filter((child) => child.type !== 'history' && !child.always?.some((t) => !t.guard));
  if (children.length === 0) return [own];
  if (node.type === 'parallel') {
    return children.reduce<Set<string>[]>(
      (sets, region) => sets.flatMap((set) => tagSets(region).map((tags) => new Set([...set, ...tags]))),
      [own],
    );
  }
  return children.flatMap((child) => tagSets(child).map((tags) => new Set([...own, ...tags])));
}
