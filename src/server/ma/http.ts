// MA's HTTP side, as a table of routes: the token API a customer's server calls, /healthz, the
// browser bundles, and the demo (development only). JSON errors are always
// { error: { code, message } }; nothing thrown inside ever reaches a client as a stack.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { repoRoot } from '../paths.js';
import { ID_PATTERN } from '../../protocol/messages.js';
import { apiKeyChecker } from './apiKey.js';
import { DemoGuard, demoFile, withPort } from './demo.js';
import { HttpError, readJsonObject, sendError, sendJson } from './httpJson.js';
import type { MediaStats } from '../mr/api.js';
import type { RecordingStore } from '../mr/recordingStore.js';
import { serveRecordingFile } from './recordingFile.js';
import { SessionLimitError, type SessionStore } from './sessions.js';
import { RETRY_AFTER_SECONDS, StoreUnavailableError } from '../store/errors.js';
import { SourceThrottle } from './sourceThrottle.js';
import { StaticFiles } from './staticFiles.js';
import { serverStats } from './stats.js';
import type { Cluster } from '../cluster/cluster.js';
import { placeNewPeer, socketUrl } from './nodeChoice.js';
import { forwardRecordingFile } from './remoteRecordingFile.js';

export { MAX_BODY_BYTES } from './httpJson.js';

export interface HttpDeps {
  config: Config;
  sessions: SessionStore;
  recordings: RecordingStore;
  logger: Logger;
  /** The port actually bound (config.port may be 0). */
  port: () => number;
  /** How clients reach this server: PUBLIC_URL, or http://HOST:port. */
  publicUrl: () => URL;
  /** True when the media workers can take clients. */
  ready: () => boolean;
  /** MR's counts for GET /v1/api/stats. */
  mediaStats: () => Promise<MediaStats>;
  /** The other nodes (a LocalCluster on a single node): placement, cluster-wide stats, files held elsewhere. */
  cluster: Cluster;
}

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** The path's captured parts, for routes whose path is a pattern. */
  params: string[];
  /** The peer's address, for per-source limits. */
  source: string;
}

interface Route {
  method: 'GET' | 'POST';
  path: string | RegExp;
  handle: (ctx: RouteContext) => Promise<void> | void;
}

/** The client bundles; their source maps only with SOURCE_MAPS=1. The inspector is loaded by the client only when asked for. */
const CLIENT_FILES = ['media-infra-client.js', 'media-infra-client.iife.js', 'media-infra-inspector.js'];

const ID_RULE = 'must be 1-128 characters of A-Z a-z 0-9 _ . : @ -';

function idField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new HttpError(400, 'BAD_REQUEST', `${name} must be a string`);
  if (!ID_PATTERN.test(value)) throw new HttpError(400, 'BAD_REQUEST', `${name} ${ID_RULE}`);
  return value;
}

function connectBody(body: Record<string, unknown>): { roomId: string; userId: string } {
  return { roomId: idField(body, 'roomId'), userId: idField(body, 'userId') };
}

/** The WebSocket URL of a public URL: same host and base path, ws(s) scheme. */

/** What the routes share: the key check, token issuing and file serving of one server. */
interface RouteTools {
  requireKey(ctx: RouteContext): void;
  issue(res: ServerResponse, ids: { roomId: string; userId: string }): Promise<void>;
  serveFile(ctx: RouteContext, path: string): Promise<void>;
}

function routeTools(deps: HttpDeps): RouteTools {
  const authorized = apiKeyChecker(deps.config.apiKey);
  const throttle = new SourceThrottle();
  const files = new StaticFiles();
  return {
    /**
     * A source that keeps sending wrong keys gets 429 for them; the right key always passes, so a
     * customer's backend behind the same proxy address is never locked out by someone else's
     * guesses (which a key of 16+ random characters makes hopeless anyway).
     */
    requireKey({ req, source }) {
      if (authorized(req.headers.authorization)) return;
      const wait = throttle.blockedFor(source);
      if (wait > 0) throw new HttpError(429, 'RATE_LIMITED', 'too many wrong API keys from this address: try again later', { 'retry-after': String(Math.ceil(wait / 1000)) });
      throttle.failed(source);
      throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong API key (Authorization: Bearer <MEDIA_API_KEY>)');
    },
    async issue(res, { roomId, userId }) {
      let issued;
      try {
        issued = await deps.sessions.create(roomId, userId);
      } catch (err) {
        if (err instanceof SessionLimitError) throw new HttpError(429, 'RATE_LIMITED', err.message);
        throw err;
      }
      const { token, session } = issued;
      deps.logger.info({ roomId, userId, sessionId: session.tokenHash.slice(0, 12) }, 'session issued');
      // Placed after the session is stored: a token is valid at every node, the URL only steers.
      const node = deps.cluster.multiNode ? new URL((await placeNewPeer(deps.cluster, roomId)).url) : deps.publicUrl();
      sendJson(res, 200, { url: socketUrl(node), token, expiresAt: session.expiresAt.toISOString() });
    },
    async serveFile({ req, res }, path) {
      if (!(await files.serve(req, res, path))) throw new HttpError(404, 'NOT_FOUND', 'not found');
    },
  };
}

/** The API a customer's server calls (all but /healthz need the key). */
function apiRoutes(deps: HttpDeps, { requireKey, issue }: RouteTools): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/api/connect',
      handle: async (ctx) => {
        requireKey(ctx);
        await issue(ctx.res, connectBody(await readJsonObject(ctx.req)));
      },
    },
    {
      method: 'GET',
      path: '/v1/api/recordings',
      handle: async (ctx) => {
        requireKey(ctx);
        const roomId = ctx.query.get('roomId');
        if (roomId !== null && !ID_PATTERN.test(roomId)) throw new HttpError(400, 'BAD_REQUEST', `roomId ${ID_RULE}`);
        sendJson(ctx.res, 200, { recordings: await deps.recordings.list(roomId ?? undefined) });
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/api\/recordings\/([^/]+)\/file$/,
      handle: async (ctx) => {
        requireKey(ctx);
        const id = ctx.params[0]!;
        // A file on another node's disk is fetched from that node and passed through.
        if (await forwardRecordingFile(ctx.req, ctx.res, { recordings: deps.recordings, cluster: deps.cluster, apiKey: deps.config.apiKey, id })) return;
        await serveRecordingFile(ctx.req, ctx.res, { recordings: deps.recordings, recordingsDir: deps.config.recordingsDir, id });
      },
    },
    {
      method: 'GET',
      path: '/v1/api/stats',
      handle: async (ctx) => {
        requireKey(ctx);
        const [own, nodes] = await Promise.all([serverStats(deps.mediaStats, { collectGarbage: ctx.query.get('gc') === '1' }), deps.cluster.nodes()]);
        sendJson(ctx.res, 200, { ...own, nodeId: deps.cluster.nodeId, nodes });
      },
    },
    {
      method: 'GET',
      path: '/healthz',
      handle: ({ res }) => {
        if (!deps.ready()) throw new HttpError(503, 'UNAVAILABLE', 'no media worker is running');
        sendJson(res, 200, { ok: true });
      },
    },
  ];
}

/** The browser bundles; their source maps only with SOURCE_MAPS=1. */
function clientFileRoutes(config: Config, { serveFile }: RouteTools): Route[] {
  const clientDir = join(repoRoot, 'dist', 'client');
  const names = config.sourceMaps ? CLIENT_FILES.flatMap((name) => [name, `${name}.map`]) : CLIENT_FILES;
  return names.map((name) => ({ method: 'GET', path: `/${name}`, handle: (ctx) => serveFile(ctx, join(clientDir, name)) }));
}

/** The demo page, its files and its token route (development only, see demo.ts). */
function demoRoutes(deps: HttpDeps, { issue, serveFile }: RouteTools): Route[] {
  const guard = new DemoGuard(() => ownAuthorities(deps));
  return [
    {
      method: 'POST',
      path: '/demo/connect',
      handle: async (ctx) => {
        guard.check(ctx.req, ctx.source);
        await issue(ctx.res, connectBody(await readJsonObject(ctx.req)));
      },
    },
    { method: 'GET', path: '/favicon.ico', handle: (ctx) => serveFile(ctx, demoFile('/demo/favicon.svg')) },
    { method: 'GET', path: /^(\/|\/demo|\/demo\/.*)$/, handle: (ctx) => serveFile(ctx, demoFile(ctx.params[0]!)) },
  ];
}

/** The route for a request: 404 when no path matches, 405 (with Allow) when only the method does not. */
async function dispatch(routes: Route[], ctx: RouteContext, pathname: string): Promise<void> {
  const method = ctx.req.method === 'HEAD' ? 'GET' : ctx.req.method;
  const matching = routes.flatMap((r) => {
    if (typeof r.path === 'string') return r.path === pathname ? [{ route: r, params: [] }] : [];
    const m = r.path.exec(pathname);
    return m ? [{ route: r, params: m.slice(1) }] : [];
  });
  if (matching.length === 0) throw new HttpError(404, 'NOT_FOUND', 'not found');
  const match = matching.find((m) => m.route.method === method);
  if (!match) {
    const allow = [...new Set(matching.map((m) => m.route.method))].join(', ');
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${allow}`, { allow });
  }
  await match.route.handle({ ...ctx, params: match.params });
}

export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger } = deps;
  const tools = routeTools(deps);
  const routes = [...apiRoutes(deps, tools), ...clientFileRoutes(deps.config, tools), ...(deps.config.demo ? demoRoutes(deps, tools) : [])];
  return (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Only the path is logged: a query string may carry anything.
    res.on('finish', () =>
      logger.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'http request'),
    );
    const source = (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    dispatch(routes, { req, res, query: url.searchParams, params: [], source }, url.pathname).catch((err: unknown) => {
      const unavailable = err instanceof StoreUnavailableError;
      if (unavailable) logger.warn({ err: err.message, path: url.pathname }, 'http request refused for now: the database is unavailable');
      else if (!(err instanceof HttpError)) logger.error({ err, path: url.pathname }, 'http handler failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (unavailable) return sendStoreUnavailable(res);
      sendError(res, err instanceof HttpError ? err : new HttpError(500, 'SERVER_ERROR', 'internal error'));
    });
  };
}

/** A database outage, as every route answers it: a typed 503 the caller retries after Retry-After. */
function sendStoreUnavailable(res: ServerResponse): void {
  const error = { code: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable: try again later' };
  sendJson(res, 503, { error }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/** host:port names this server answers to: its public URL, its listen address, and loopback names. */
function ownAuthorities({ config, port, publicUrl }: HttpDeps): ReadonlySet<string> {
  const p = port();
  const pub = publicUrl();
  const names = [withPort(pub.host.toLowerCase(), pub.protocol === 'https:' ? 443 : 80)];
  for (const host of [config.host, 'localhost', '127.0.0.1', '[::1]']) {
    names.push(`${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${p}`);
  }
  return new Set(names);
}
