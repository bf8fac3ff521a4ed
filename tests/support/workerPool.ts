// A mediasoup worker pool inside the test process, for the server tests that drive MR directly. Its
// WebRTC ports come from a free port as a test server's do (server.ts); another process may have
// bound that range meanwhile, and then the pool starts again on a new one, as a test server does.
import type { Logger } from '../../src/server/logger.js';
import type { Mediasoup } from '../../src/server/mr/mediasoupLoader.js';
import { WorkerPool } from '../../src/server/mr/workers.js';
import { freePort, rtcMinPortFor } from './server.js';

export async function startTestWorkerPool(mediasoup: Mediasoup, logger: Logger): Promise<WorkerPool> {
  for (let attempt = 1; ; attempt++) {
    const rtcMinPort = rtcMinPortFor(await freePort());
    try {
      return await WorkerPool.start(mediasoup, { numWorkers: 1, listenIp: '127.0.0.1', rtcMinPort, rtcMaxPort: rtcMinPort + 9 }, logger);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}
