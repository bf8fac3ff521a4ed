// The client's named loggers: levels, names, and what a debug log of a real session (the client
// over the FakeServer) shows: the signaling flow and state changes, never data and never the token.
import { afterEach, describe, expect, it } from 'vitest';
import { createLoggers, type LogLevel } from '../../src/client/logger.js';
import type { MediaInfraClient } from '../../src/client/index.js';
import { startClient, TOKEN, until, waitForState } from './support/clientHelpers.js';
import { fakeTrack, FakeServer } from './support/fakeServer.js';

/** A sink that keeps every line as `level text`. */
function sink() {
  const lines: string[] = [];
  const at = (level: string) => (...args: unknown[]) => lines.push(`${level} ${args.map(String).join(' ')}`);
  return { lines, sink: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const refused = () => ({ error: { code: 'SERVER_ERROR' as const, message: 'no listening today' } });

const clients: MediaInfraClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('createLoggers', () => {
  it.each<[LogLevel | undefined, string[]]>([
    [undefined, ['warn', 'error']],
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['error', ['error']],
    ['silent', []],
  ])('level %s writes %j, each line named', (level, written) => {
    const { lines, sink: out } = sink();
    const log = createLoggers(level, out)('device');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines).toEqual(written.map((l) => `${l} [media-infra:device] ${l[0]}`));
  });

  it('a sink without a method for a level drops that level', () => {
    const warned: unknown[][] = [];
    const log = createLoggers('debug', { warn: (...args) => warned.push(args) })('client');
    log.debug('not written');
    log.warn('written');
    expect(warned).toEqual([['[media-infra:client]', 'written']]);
  });
});

describe("a client's log", () => {
  it("at 'debug': requests (method, id, outcome, ms), socket and state changes, reconnection attempts; no data, no token", async () => {
    const { lines, sink: out } = sink();
    const { client, server } = startClient(new FakeServer(), { logLevel: 'debug', logger: out });
    clients.push(client);
    await waitForState(client, 'connected');
    await client.produceTrack(fakeTrack('audio'), { appData: { secretNote: 'do-not-log' } });
    server.current!.serverClose(1012, 'worker died');
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');

    const text = lines.join('\n');
    expect(text).toMatch(/^debug \[media-infra:signaling\] socket 1 open$/m);
    expect(text).toMatch(/^debug \[media-infra:signaling\] notification welcome$/m);
    expect(text).toMatch(/^debug \[media-infra:signaling\] join #\d+ ok in \d+ ms$/m);
    expect(text).toMatch(/^debug \[media-infra:signaling\] produce #\d+ ok in \d+ ms$/m);
    expect(text).toMatch(/^debug \[media-infra:signaling\] socket closed by the server: 1012 worker died$/m);
    expect(text).toMatch(/^debug \[media-infra:device\] send transport connecting$/m);
    expect(text).toMatch(/^debug \[media-infra:client\] connecting → connected$/m);
    expect(text).toMatch(/^debug \[media-infra:client\] connected → reconnecting$/m);
    expect(text).toMatch(/^debug \[media-infra:client\] reconnection attempt 1 of 3 to ws:\/\/media\.test\/v1\/ws in \d+ ms$/m);
    expect(text).toMatch(/^debug \[media-infra:client\] reconnecting → connected$/m);
    // What was sent and received stays out: capabilities, parameters, appData, the token.
    for (const secret of [TOKEN, encodeURIComponent(TOKEN), 'do-not-log', 'secretNote', 'mimeType', 'rtpCapabilities', 'fingerprint']) {
      expect(text).not.toContain(secret);
    }
  });

  it("a failed request is logged with its code; at the default level nothing but warnings is written", async () => {
    const debug = sink();
    const server = new FakeServer();
    server.handlers.listen = refused;
    const { client } = startClient(server, { logLevel: 'debug', logger: debug.sink });
    clients.push(client);
    client.listenTrack(() => {});
    await until(() => debug.lines.some((l) => l.includes('listen #')), 2_000, 'listen logged');
    expect(debug.lines.join('\n')).toMatch(/^debug \[media-infra:signaling\] listen #\d+ failed: SERVER_ERROR in \d+ ms$/m);
    expect(debug.lines.join('\n')).toMatch(/^warn \[media-infra:client\] SERVER_ERROR: no listening today$/m);

    const quiet = sink();
    const second = new FakeServer();
    second.handlers.listen = refused;
    const other = startClient(second, { logger: quiet.sink });
    clients.push(other.client);
    other.client.listenTrack(() => {});
    await until(() => quiet.lines.length > 0, 2_000, 'a warning');
    expect(quiet.lines).toEqual(['warn [media-infra:client] SERVER_ERROR: no listening today']);
  });
});
