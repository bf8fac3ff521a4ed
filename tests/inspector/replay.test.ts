// Traces recorded from real calls replay to the states the call went through:
//  - fixtures/demo-call.trace.json (version 1, before call health): the demo page in Chromium,
//    camera + microphone sent, the camera paused, saved with the panel's Export button;
//  - fixtures/call-health.trace.json (version 2): the demo page with the state panel open and a
//    microphone playing a tone (tests/e2e/inspection.test.ts saves it), with call health: scores,
//    stats summaries, the speaker.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeHealth, describeSpeaker, describeState, parseTrace, stateAt, traceToJson, type Trace } from '../../src/inspector/index.js';

const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'demo-call.trace.json'), 'utf8');
const trace = parseTrace(text);
const seqOf = (predicate: (e: Trace['events'][number]) => boolean) => trace.events.find(predicate)!.seq;
const states = (step: number) => Object.fromEntries([...stateAt(trace, step).values()].filter((a) => a.machine).map((a) => [a.name, describeState(a)]));

describe('replaying a recorded trace', () => {
  it('is a redacted media-infra trace with the shapes of the machines it shows', () => {
    expect(trace).toMatchObject({ format: 'media-infra-trace', version: 1, redacted: true, dropped: 0 });
    expect(Object.keys(trace.machines).sort()).toEqual(['client', 'device', 'producer', 'signaling', 'transport']);
    expect(text).not.toMatch(/token=(?!\[redacted\])/);
    expect(trace.events.map((e) => e.seq)).toEqual(trace.events.map((_, i) => i));
  });

  it('starts with the root alone, connecting', () => {
    expect(states(0)).toEqual({ client: 'active' });
    const firstClientState = seqOf((e) => e.kind === 'snapshot' && e.actor === 'client');
    expect(states(firstClientState).client).toBe('running.connecting.welcoming');
  });

  it('shows every actor state at each step: producing, live, pausing, paused', () => {
    const produceVideo = seqOf((e) => e.kind === 'actor' && e.actor === 'producer.2');
    expect(states(produceVideo)).toMatchObject({ client: 'running.connected.idle', 'producer.1': 'active.media.live, active.recording.idle' });
    const pause = seqOf((e) => e.kind === 'event' && e.actor === 'producer.2' && (e.event as { type: string }).type === 'pause');
    expect(states(pause)['producer.2']).toBe('active.media.live, active.recording.idle');
    const pausing = seqOf((e) => e.kind === 'snapshot' && e.actor === 'producer.2' && JSON.stringify(e.value).includes('pausing'));
    expect(pausing).toBeGreaterThan(pause);
    expect(states(pausing)['producer.2']).toBe('active.media.pausing, active.recording.idle');
    const end = states(trace.events.length - 1);
    expect(end).toMatchObject({
      client: 'running.connected.subscribed',
      device: 'loaded',
      signaling: 'connection.open.waiting',
      'producer.1': 'active.media.live, active.recording.idle',
      'producer.2': 'active.media.paused, active.recording.idle',
    });
    expect(end['transport.send']).toMatch(/^established\.connected/);
    // contexts replay too, including the ones left out of snapshots because they did not change
    const last = stateAt(trace, trace.events.length - 1);
    expect(last.get('producer.2')!.context).toMatchObject({ kind: 'video', paused: true, track: '[MediaStreamTrack video]' });
    expect(last.get('producer.1')!.context).toMatchObject({ kind: 'audio', paused: false });
  });

  it('writes back to the same trace', () => {
    expect(parseTrace(traceToJson(trace))).toEqual(trace);
    expect(() => parseTrace('{"format":"something else","events":[]}')).toThrow(/not a media-infra trace/);
  });
});

describe('replaying a trace with call health', () => {
  const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'call-health.trace.json'), 'utf8');
  const trace = parseTrace(text);
  const health = trace.events.filter((e) => e.kind === 'health');
  const at = (step: number) => stateAt(trace, step);

  it('is a version-2 trace whose health entries are on the actors they are about', () => {
    expect(trace).toMatchObject({ format: 'media-infra-trace', version: 2, redacted: true, dropped: 0 });
    expect(text).not.toMatch(/token=(?!\[redacted\])/);
    expect(new Set(health.map((e) => e.actor))).toEqual(new Set(['client', 'producer.1', 'producer.2']));
    expect(parseTrace(traceToJson(trace))).toEqual(trace);
  });

  it("shows each actor's latest figures beside its state, and who speaks, at every step", () => {
    const end = at(trace.events.length - 1);
    // producer.2 is the camera, producer.1 the microphone
    expect(describeHealth(end.get('producer.2')!.health)).toBe('score 10 · 1.28 Mb/s · 20 fps · 1280×720 · loss 0%');
    expect(describeHealth(end.get('producer.1')!.health)).toBe('score 10 · 33 kb/s · loss 0%');
    expect(describeHealth(end.get('client')!.health)).toBe('excellent · rtt 25 ms');
    expect(describeState(end.get('producer.2')!)).toBe('active.media.live, active.recording.idle, active.source.current');
    // nobody speaks until the server names alice, by her microphone's producer
    const named = health.find((e) => e.health.speaker)!;
    expect(describeSpeaker(at(named.seq - 1).get('client')!.health!.speaker)).toBe('nobody');
    expect(describeSpeaker(at(named.seq).get('client')!.health!.speaker)).toBe('alice (producer.1)');
    expect(describeSpeaker(end.get('client')!.health!.speaker)).toBe('alice (producer.1)');
    // a score told before the first stats stays until a summary says otherwise
    const firstScore = health.find((e) => e.actor === 'producer.2' && e.health.score !== undefined)!;
    expect(at(firstScore.seq).get('producer.2')!.health).toEqual({ score: 10 });
  });

  it('changes no state: an actor is in the same state right before and after a health entry', () => {
    for (const e of health) {
      const before = at(e.seq - 1).get(e.actor)!;
      const after = at(e.seq).get(e.actor)!;
      expect({ value: after.value, status: after.status, context: after.context, changedAt: after.changedAt }).toEqual({
        value: before.value,
        status: before.status,
        context: before.context,
        changedAt: before.changedAt,
      });
    }
  });
});
