// Inspection of a client in Node (FakeServer, mediasoup-client's FakeHandler): the trace of a whole
// session, its replay, redaction, and the token kept out of everything inspected.
import { afterEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createMediaClient, type ConsumeManager, type MediaInfraClient } from '../../src/client/index.js';
import { describeHealth, describeSpeaker, parseTrace, redact, stateAt, describeState, type HealthView, type Trace } from '../../src/inspector/index.js';
import { startClient, TOKEN, until, waitForState } from '../unit/support/clientHelpers.js';
import { fakeDevice, fakeTrack, FakeServer } from '../unit/support/fakeServer.js';

const clients: MediaInfraClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** An inspection event as text, cycles and functions left out (what a careless logger would print). */
function text(event: unknown): string {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(event, (_k, v: unknown) => {
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return undefined;
        seen.add(v);
      }
      return typeof v === 'function' ? undefined : v;
    }) ?? ''
  );
}

/** The state every actor is in at the end of a trace. */
function finalStates(trace: Trace): Record<string, string> {
  return Object.fromEntries([...stateAt(trace, trace.events.length - 1).values()].map((a) => [a.name, describeState(a)]));
}

describe('client inspection', () => {
  it('exportTrace: a whole session, redacted, that replays to the states the client was in', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'audio', userId: 'user-2' });
    const { client } = startClient(server, { trace: true });
    clients.push(client);
    await waitForState(client, 'connected');
    const pm = await client.produceTrack(fakeTrack('video'), { appData: { source: 'camera', token: 'app-secret' } });
    await pm.pause();
    const consumers: unknown[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => consumers.length === 1, 3_000, 'a consumer');

    const json = await client.exportTrace();
    expect(json).not.toContain(TOKEN);
    expect(json).not.toContain(encodeURIComponent(TOKEN));
    expect(json).not.toContain('app-secret'); // a key that looks secret is redacted wherever it is
    const trace = parseTrace(json);
    expect(trace.redacted).toBe(true);

    // every actor of the client, by its systemId, with its parent
    const created = trace.events.filter((e) => e.kind === 'actor');
    const byName = Object.fromEntries(created.map((e) => [e.actor, e]));
    expect(byName.client).toMatchObject({ machine: 'client' });
    expect(byName.client).not.toHaveProperty('parent');
    for (const name of ['signaling', 'device', 'transport.send', 'transport.recv', 'producer.1']) expect(byName[name]).toMatchObject({ parent: 'client' });
    expect(byName['signaling/socket']).toMatchObject({ parent: 'signaling' });
    const consumer = created.find((e) => e.actor.startsWith('consumer.'));
    expect(consumer).toMatchObject({ parent: 'client', machine: 'consumer' });
    expect(Object.keys(trace.machines).sort()).toEqual(['client', 'consumer', 'device', 'producer', 'signaling', 'transport']);

    // the replay ends where the client is
    const states = finalStates(trace);
    expect(states.client).toBe('running.connected.subscribed');
    expect(states['producer.1']).toBe('active.media.paused, active.recording.idle, active.source.current');
    expect(states[consumer!.actor]).toBe('ready.media.live, ready.layers.idle');
    expect(states['transport.send']).toMatch(/^established\./);

    // and passes through the states before: the producer was live before it was paused
    const producerSteps = trace.events.filter((e) => e.kind === 'snapshot' && e.actor === 'producer.1').map((e) => e.seq);
    const seen = producerSteps.map((seq) => describeState(stateAt(trace, seq).get('producer.1')!));
    expect(seen).toEqual(expect.arrayContaining(['active.media.producing, active.recording.idle, active.source.current', 'active.media.live, active.recording.idle, active.source.current', 'active.media.pausing, active.recording.idle, active.source.current']));
    expect(seen.indexOf('active.media.live, active.recording.idle, active.source.current')).toBeLessThan(seen.indexOf('active.media.paused, active.recording.idle, active.source.current'));

    // payloads are there, redacted: the produced track is described, not serialized
    const produce = trace.events.find((e) => e.kind === 'event' && (e.event as { type?: string }).type === 'produceTrack');
    expect(produce).toMatchObject({ actor: 'client', event: { type: 'produceTrack', kind: 'video', track: expect.stringMatching(/^\[/), appData: { source: 'camera', token: '[redacted]' } } });
  });

  it('a client without inspection records from the first exportTrace on, starting from the actors alive then', async () => {
    const { client } = startClient(new FakeServer());
    clients.push(client);
    await waitForState(client, 'connected');
    const trace = parseTrace(await client.exportTrace());
    const states = finalStates(trace);
    expect(states).toMatchObject({ client: 'running.connected.idle', device: 'loaded', signaling: 'connection.open.waiting' });
    expect(Object.keys(states)).toEqual(expect.arrayContaining(['transport.send', 'signaling/socket']));
    // and goes on recording
    await client.produceTrack(fakeTrack('audio'));
    expect(finalStates(parseTrace(await client.exportTrace()))['producer.1']).toBe('active.media.live, active.recording.idle, active.source.current');
  });

  it('call health in the trace: scores, speaker, stats summaries on the actors they are about, redacted', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'audio', userId: 'user-2' });
    const { client } = startClient(server, { trace: true });
    clients.push(client);
    await waitForState(client, 'connected');
    const pm = await client.produceTrack(fakeTrack('video'));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => consumers.length === 1, 3_000, 'a consumer');
    const cm = consumers[0]!;
    server.notify('producerScore', { producerId: pm.id, score: 7 });
    server.notify('consumerScore', { consumerId: cm.id, score: 9, producerScore: 10 });
    server.notify('activeSpeaker', { speaker: { userId: 'user-2', producerId: cm.producerId } });
    await until(() => client.activeSpeaker !== null && pm.score === 7 && cm.score === 9, 3_000, 'the notifications');
    // a user id that is the token (never, but whatever a notification holds is redacted as today)
    server.notify('activeSpeaker', { speaker: { userId: TOKEN, producerId: 'p-elsewhere' } });
    await until(() => client.activeSpeaker?.userId === TOKEN, 3_000, 'the second speaker');

    const json = await client.exportTrace();
    expect(json).not.toContain(TOKEN);
    const trace = parseTrace(json);
    expect(trace.version).toBe(2);
    const health = trace.events.filter((e) => e.kind === 'health');
    const consumerActor = `consumer.${cm.id}`;
    expect(health).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: 'producer.1', health: { score: 7 } }),
        expect.objectContaining({ actor: consumerActor, health: { score: 9 } }),
        // the speaker is named with the actor here that receives it
        expect.objectContaining({ actor: 'client', health: { speaker: { userId: 'user-2', producerId: cm.producerId, actor: consumerActor } } }),
        expect.objectContaining({ actor: 'client', health: { speaker: { userId: '[redacted]', producerId: 'p-elsewhere' } } }),
        // the stats summary recording started with: the client's quality and RTT
        expect.objectContaining({ actor: 'client', health: { quality: expect.any(String), roundTripTimeMs: null } }),
      ]),
    );
    // replayed: each actor's latest beside its state
    const end = stateAt(trace, trace.events.length - 1);
    expect(end.get('producer.1')!.health).toMatchObject({ score: 7 });
    expect(end.get(consumerActor)!.health).toMatchObject({ score: 9 });
    expect(describeSpeaker(end.get('client')!.health!.speaker)).toBe('[redacted] (producer p-elsewhere)');
    // and at the step right after the first speaker: that one
    const first = health.find((e) => e.health.speaker?.userId === 'user-2')!;
    expect(describeSpeaker(stateAt(trace, first.seq).get('client')!.health!.speaker)).toBe(`user-2 (${consumerActor})`);
    expect(stateAt(trace, first.seq - 1).get('client')!.health?.speaker?.userId).not.toBe('user-2');
  });

  it('a trace started late has the scores and speaker of before: the speaker at once, the scores with the first stats summary', async () => {
    const { client, server } = startClient(new FakeServer());
    clients.push(client);
    await waitForState(client, 'connected');
    const pm = await client.produceTrack(fakeTrack('audio'));
    server.notify('producerScore', { producerId: pm.id, score: 4 });
    server.notify('activeSpeaker', { speaker: { userId: 'user-1', producerId: pm.id } });
    await until(() => pm.score === 4 && client.activeSpeaker !== null, 3_000, 'the notifications');
    const first = parseTrace(await client.exportTrace());
    expect(first.events.filter((e) => e.kind === 'health')).toEqual([expect.objectContaining({ actor: 'client', health: { speaker: { userId: 'user-1', producerId: pm.id, actor: 'producer.1' } } })]);
    // the first summary is taken at once (the browser's side only: the server is not asked)
    const asked = server.methods().length;
    let trace = first;
    await until(() => {
      void client.exportTrace().then((json) => (trace = parseTrace(json)));
      return trace.events.some((e) => e.kind === 'health' && e.actor === 'producer.1');
    }, 3_000, 'a stats summary');
    const summary = trace.events.find((e) => e.kind === 'health' && e.actor === 'producer.1') as { health: HealthView };
    expect(summary.health).toMatchObject({ score: 4, bitrateBps: null, framesPerSecond: null, lossFraction: null });
    expect(describeHealth(summary.health)).toBe('score 4');
    expect(server.methods().slice(asked).filter((m) => m.startsWith('get'))).toEqual([]);
  });

  it('a socket URL the WebSocket refuses does not carry the token into the machines', async () => {
    const events: string[] = [];
    const client = createMediaClient('ws://media.test/v1/ws', TOKEN, {
      // what a browser does with a malformed URL: quotes it in the error
      webSocketFactory: (url) => {
        throw new SyntaxError(`Failed to construct 'WebSocket': The URL '${url}' is invalid.`);
      },
      deviceFactory: fakeDevice,
      reconnect: { initialDelay: 1, maxDelay: 2, maxAttempts: 1, jitter: 0 },
      logger: { warn: () => {} },
      inspect: (event: InspectionEvent) => events.push(text(event)),
    });
    clients.push(client);
    await until(() => client.state === 'closed', 3_000, 'closed');
    const closedReports = events.filter((e) => e.includes('"signaling.closed"'));
    expect(closedReports.length).toBeGreaterThan(0);
    expect(closedReports.some((e) => e.includes('[redacted]'))).toBe(true);
    expect(events.filter((e) => e.includes(TOKEN) || e.includes(encodeURIComponent(TOKEN)))).toEqual([]);
  });
});

describe('redact', () => {
  it('keeps what helps debugging and drops what must not leave the page', () => {
    const track = Object.assign(Object.create({ constructor: { name: 'MediaStreamTrack' } }), { kind: 'video', readyState: 'live', label: 'FaceTime HD Camera' });
    const out = redact(
      {
        url: `ws://host/v1/ws?token=${encodeURIComponent(TOKEN)}&x=1`,
        note: `the token ${TOKEN} leaked`,
        authorization: 'Bearer abc',
        apiKey: 'k',
        nested: { password: 'p', keep: [1, 2, 3] },
        track,
        error: Object.assign(new Error(`bad ${TOKEN}`), { code: 'SERVER_ERROR' }),
        fn: () => 1,
        deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } },
        list: Array.from({ length: 30 }, (_, i) => i),
      },
      [TOKEN, encodeURIComponent(TOKEN)],
    );
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(JSON.stringify(out)).not.toContain('FaceTime');
    expect(out).toMatchObject({
      url: 'ws://host/v1/ws?token=[redacted]&x=1',
      note: 'the token [redacted] leaked',
      authorization: '[redacted]',
      apiKey: '[redacted]',
      nested: { password: '[redacted]', keep: [1, 2, 3] },
      track: '[MediaStreamTrack video]',
      error: { name: 'Error', code: 'SERVER_ERROR', message: 'bad [redacted]' },
      deep: { a: { b: { c: { d: { e: '[…]' } } } } },
    });
    expect(out).not.toHaveProperty('fn');
    expect((out as { list: unknown[] }).list).toHaveLength(25);
  });
});
