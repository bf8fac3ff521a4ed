// A trace recorded from a real call (the demo page in Chromium: camera + microphone sent, the
// camera paused; fixtures/demo-call.trace.json, saved with the panel's Export button) replays to
// the states the call went through.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeState, parseTrace, stateAt, traceToJson, type Trace } from '../../src/inspector/index.js';

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
