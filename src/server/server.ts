// Wires MA and MR together in one process. Also the entry point for in-process tests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { CloseCode } from '../protocol/codes.js';
import { Gateway } from './ma/gateway.js';
import { createHttpHandler } from './ma/http.js';
import { cutStalledConnections } from './ma/stalledConnections.js';
import { loadMediasoup } from './mr/mediasoupLoader.js';
import { MediaRouter } from './mr/mediaRouter.js';
import { Recordings } from './mr/recordings.js';
import { WorkerPool } from './mr/workers.js';
import { HEARTBEAT_MS, type Cluster } from './cluster/cluster.js';
import { LocalCluster } from './cluster/localCluster.js';
import { RedisCluster } from './cluster/redisCluster.js';
import { ConfigError } from './config.js';
import { openStores } from './store/stores.js';

/** Time allowed for a request's head to arrive on a new connection (ms). */
export const IDLE_CONNECTION_MS = 10_000;
/** Time allowed for a whole request (ms). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A client that stopped reading a response (no byte of it leaves) is cut after this long (ms). */
export const STALLED_CONNECTION_MS = 20_000;

export interface MediaServer {
  /** http://host:port with the port actually bound. */
  url: string;
  port: number;
  /** Pids of the live mediasoup workers (diagnostics, crash tests). */
  workerPids(): number[];
  /** Closes every client (1001), finalizes every recording, closes the workers and the database. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** WebSocket ping interval (tests shorten it). */
  heartbeatMs?: number;
}

export async function startMediaServer(config: Config, options: StartOptions = {}): Promise<MediaServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const mediasoup = await loadMediasoup();
  mediasoup.setLogEventListeners({
    onwarn: (namespace, log) => logger.warn({ namespace }, log),
    onerror: (namespace, log, error) => logger.error({ namespace, err: error?.message }, log),
  });

  if ((config.host === '0.0.0.0' || config.host === '::') && config.announcedIp === undefined) {
    logger.warn(`HOST=${config.host} without ANNOUNCED_IP: WebRTC candidates would name ${config.host}, which browsers cannot reach; set ANNOUNCED_IP to this machine's public or LAN address`);
  }
  // Other nodes reach this one at its public URL, known before listening: in cluster mode the port
  // must be fixed (or PUBLIC_URL given), never one the kernel picks.
  if (config.redisUrl !== undefined && config.port === 0 && config.publicUrl === undefined) {
    throw new ConfigError('cluster mode (REDIS_URL) needs a fixed PORT or a PUBLIC_URL: other nodes must know where this one listens');
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let boundPort = config.port;
  const publicUrl = () => config.publicUrl ?? new URL(`http://${host}:${boundPort}`);
  const stores = await openStores(config, config.nodeId, logger);
  const { sessions, recordings: recordingStore } = stores;
  const closeDb = () => stores.close();
  let pool: WorkerPool;
  try {
    const interrupted = await recordingStore.failInterrupted();
    if (interrupted > 0) logger.warn({ recordings: interrupted }, 'marked recordings of a server that stopped without finalizing them as failed');
    sessions.startPurging((err) => logger.warn({ err: err.message }, 'purging expired sessions failed'));
    pool = await WorkerPool.start(
      mediasoup,
      {
        numWorkers: config.numWorkers,
        listenIp: config.host === 'localhost' ? '127.0.0.1' : config.host,
        ...(config.announcedIp !== undefined && { announcedIp: config.announcedIp }),
        rtcMinPort: config.rtcMinPort,
        rtcMaxPort: config.rtcMaxPort,
      },
      logger,
    );
  } catch (err) {
    await closeDb();
    throw err;
  }
  const recordings = new Recordings(recordingStore, config.recordingsDir, logger);
  const listenIp = config.host === 'localhost' ? '127.0.0.1' : config.host;
  // `url` read when used: with PORT=0 (tests) the bound port is known only after listening.
  const nodeOptions = {
    nodeId: config.nodeId,
    get url() {
      return publicUrl().href.replace(/\/$/, '');
    },
    maxPeers: config.nodeMaxPeers,
    logger,
  };
  const cluster: Cluster = config.redisUrl !== undefined ? new RedisCluster({ ...nodeOptions, redisUrl: config.redisUrl.href }) : new LocalCluster(nodeOptions);
  const media = new MediaRouter(pool, recordings, logger, {
    cluster,
    pipeListen: { ip: listenIp, ...(config.announcedIp !== undefined && { announcedAddress: config.announcedIp }) },
    speakerDetection: config.speakerDetection,
  });
  const gateway = new Gateway({ sessions, media, logger, cluster, ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }) });
  // The survivor chosen to clean up after a dead node marks the recordings it was writing failed.
  cluster.on('nodeLost', (nodeId, cleanup) => {
    if (!cleanup) return;
    recordingStore.failNodeLost(nodeId).then(
      (n) => n > 0 && logger.warn({ node: nodeId, recordings: n }, 'marked the recordings of a lost node as failed'),
      (err: unknown) => logger.error({ node: nodeId, err: (err as Error).message }, 'cannot mark the recordings of a lost node as failed'),
    );
  });
  // /healthz says ready only once this node is in the cluster (placement can see it).
  let clusterStarted = false;
  // A connection that sends no complete request head within IDLE_CONNECTION_MS is answered 408 and
  // closed: idle sockets without a session hold nothing for long. (Upgraded WebSockets are not
  // affected; the gateway's heartbeat watches those.)
  const http = createServer({ headersTimeout: IDLE_CONNECTION_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 }, createHttpHandler({ config, sessions, recordings: recordingStore, logger, port: () => boundPort, publicUrl, ready: () => media.ready && clusterStarted, mediaStats: () => media.stats(), cluster }));
  const stopCuttingStalled = cutStalledConnections(http, STALLED_CONNECTION_MS);
  http.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  // A malformed or too slow request gets a plain status line, never Node's default handling.
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    boundPort = (http.address() as AddressInfo).port;
    await cluster.start();
  } catch (err) {
    http.close();
    media.close();
    await cluster.close();
    await closeDb();
    throw err;
  }
  clusterStarted = true;
  // Each node's own row in cluster-wide stats, published with its heartbeats.
  const publishStats = () => {
    const mem = process.memoryUsage();
    cluster.setStats({ workers: pool.liveCount, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, uptimeSeconds: Math.round(process.uptime()) });
  };
  publishStats();
  const statsTimer = setInterval(publishStats, HEARTBEAT_MS);
  statsTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${boundPort}`,
    port: boundPort,
    workerPids: () => pool.pids(),
    close: () =>
      (closing ??= (async () => {
        // Draining: placement sends nobody here any more, and the clients' next welcome will not list it.
        await cluster.setDraining().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'cannot announce draining'));
        clearInterval(statsTimer);
        http.close();
        stopCuttingStalled();
        await gateway.closeAll(CloseCode.GOING_AWAY, 'server shutting down');
        http.closeAllConnections();
        // Closing the peers closed their producers, which ends their recordings: wait until every
        // file is finalized and its row written, while the workers and the database still run.
        await recordings.stopAll();
        // Only now leave the cluster: the other nodes heard of every producer closing (their
        // consumers closed at once), and see this node gone without waiting for its silence.
        await cluster.close();
        media.close();
        await closeDb();
        logger.info('server closed');
      })()),
  };
}
