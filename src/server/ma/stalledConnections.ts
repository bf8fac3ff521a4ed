// Cuts HTTP connections whose client stopped reading: a connection with bytes waiting to be sent
// that no byte of has left for `stallMs` is destroyed, so a client that requests a large file (or
// a recording) and never reads holds nothing here for long. Node's own `server.timeout` cannot do
// this: it is reset to "none" once a keep-alive connection's next request arrives. Upgraded
// sockets (WebSockets) are the gateway's: its heartbeat and unread-bytes bound watch those.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const CHECK_EVERY_MS = 1_000;

interface Watch {
  /** Bytes waiting to be sent at the last check. */
  pending: number;
  /** Since when no byte has left (ms), or 0 while the connection makes progress. */
  stalledSince: number;
}

/** Bytes queued in Node and in libuv, not yet handed to the kernel. */
function pendingBytes(socket: Socket): number {
  // `bufferSize` is writableLength plus libuv's write queue: the only figure that drops as the
  // client reads.
  return socket.bufferSize;
}

export function cutStalledConnections(server: Server, stallMs: number, now: () => number = Date.now): () => void {
  const watched = new Map<Socket, Watch>();
  server.on('connection', (socket: Socket) => {
    watched.set(socket, { pending: 0, stalledSince: 0 });
    socket.once('close', () => watched.delete(socket));
  });
  server.on('upgrade', (_req, socket: Socket) => watched.delete(socket));
  const timer = setInterval(() => {
    const t = now();
    for (const [socket, watch] of watched) {
      const pending = pendingBytes(socket);
      if (pending === 0 || pending < watch.pending) {
        watch.stalledSince = 0;
      } else if (watch.stalledSince === 0) {
        watch.stalledSince = t;
      } else if (t - watch.stalledSince >= stallMs) {
        watched.delete(socket);
        socket.destroy();
        continue;
      }
      watch.pending = pending;
    }
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
