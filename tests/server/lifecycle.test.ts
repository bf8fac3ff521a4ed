// Shutdown: SIGTERM/SIGINT close every client with 1001 (they may reconnect elsewhere) and exit 0.
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/codes.js';
import { startServerProcess } from '../support/server.js';
import { TestSocket } from './wsClient.js';

describe.each(['SIGTERM', 'SIGINT'] as const)('on %s', (signal) => {
  it('closes every socket with 1001 and exits 0', async () => {
    const server = await startServerProcess();
    const sockets = await Promise.all(
      ['a', 'b'].map(async (user) => {
        const t = await server.connect('room-l', user);
        const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
        await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
        return socket;
      }),
    );
    const exit = server.stop(signal);
    for (const socket of sockets) expect(await socket.waitClosed()).toEqual({ code: CloseCode.GOING_AWAY, reason: 'server shutting down' });
    expect(await exit).toBe(0);
    expect(server.logs()).toMatch(/"msg":"server closed"/);
  });
});
