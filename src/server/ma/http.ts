// MA's HTTP side: the token API a customer's server calls, /healthz, the browser bundle, and the
// demo (a page plus the "customer server" route it needs). JSON errors are always
// { error: { code, message } }; nothing thrown inside ever reaches a client as a stack.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { repoRoot } from '../paths.js';
import { apiKeyChecker } from './apiKey.js';
import type { RecordingStore } from '../mr/recordingStore.js';
import type { SessionStore } from './sessions.js';
import { serverStats } from './stats.js';

export const MAX_BODY_BYTES = 16 * 1024;
const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
/** A Host header we are willing to echo into the socket URL. */
const HOST_PATTERN = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export type HttpErrorCode = 'UNAUTHORIZED' | 'BAD_REQUEST' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'SERVER_ERROR' | 'UNAVAILABLE';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpDeps {
  config: Config;
  sessions: SessionStore;
  recordings: RecordingStore;
  logger: Logger;
  /** The port actually bound (config.port may be 0). */
  port: () => number;
  /** True when the media workers can take clients. */
  ready: () => boolean;
}

const STATIC_CLIENT: Record<string, string> = {
  '/media-infra-client.js': 'media-infra-client.js',
  '/media-infra-client.js.map': 'media-infra-client.js.map',
  '/media-infra-client.iife.js': 'media-infra-client.iife.js',
  '/media-infra-client.iife.js.map': 'media-infra-client.iife.js.map',
  // loaded by the client only for inspection (`inspect: true`, `showPanel()`, `exportTrace()`)
  '/media-infra-inspector.js': 'media-infra-inspector.js',
  '/media-infra-inspector.js.map': 'media-infra-inspector.js.map',
};
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, err: HttpError): void {
  if (err.status === 413) res.setHeader('connection', 'close'); // the rest of the body is not read
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'TOO_LARGE', `body larger than ${MAX_BODY_BYTES} bytes`);
  // Events, not `for await`: leaving an async iterator early destroys the socket before the 413 is sent.
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY_BYTES) return; // already refused: discard the rest
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, 'TOO_LARGE', `body larger than ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body is not valid JSON');
  }
}

function idField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new HttpError(400, 'BAD_REQUEST', `${name} must be a string`);
  if (!ID_PATTERN.test(value)) throw new HttpError(400, 'BAD_REQUEST', `${name} must be 1-128 characters of A-Z a-z 0-9 _ . : @ -`);
  return value;
}

function parseConnectBody(body: unknown): { roomId: string; userId: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'BAD_REQUEST', 'body must be a JSON object');
  const record = body as Record<string, unknown>;
  return { roomId: idField(record, 'roomId'), userId: idField(record, 'userId') };
}

export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, sessions, logger } = deps;
  const authorized = apiKeyChecker(config.apiKey);
  const clientDir = join(repoRoot, 'dist', 'client');
  const demoDir = join(repoRoot, 'demo');

  function requireKey(req: IncomingMessage): void {
    if (!authorized(req.headers.authorization)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong API key (Authorization: Bearer <MEDIA_API_KEY>)');
  }

  /** The socket URL for a token: as the caller reached us, so it works behind a name or a LAN address. */
  function socketUrl(req: IncomingMessage): string {
    const host = req.headers.host;
    const authority = host && HOST_PATTERN.test(host) ? host : `${hostForUrl(config.host)}:${deps.port()}`;
    return `ws://${authority}/v1/ws`;
  }

  async function connect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireKey(req);
    const { roomId, userId } = parseConnectBody(await readJsonBody(req));
    const { token, session } = sessions.create(roomId, userId);
    logger.info({ roomId, userId, sessionId: session.tokenHash.slice(0, 12) }, 'session issued');
    sendJson(res, 200, { url: socketUrl(req), token, expiresAt: session.expiresAt.toISOString() });
  }

  /** What a customer's server does: call the token API with the key, hand {url, token} to its page. */
  async function demoConnect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = JSON.stringify(parseConnectBody(await readJsonBody(req)));
    // The address this request arrived on is one we certainly listen on (HOST may be a wildcard).
    const local = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const upstream = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const out = httpRequest(
        {
          host: local,
          port: deps.port(),
          method: 'POST',
          path: '/v1/api/connect',
          headers: {
            authorization: `Bearer ${config.apiKey}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            // So the socket URL names the host the browser used.
            ...(req.headers.host !== undefined && { host: req.headers.host }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => resolve({ status: response.statusCode ?? 502, text: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
    res.writeHead(upstream.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(upstream.text);
  }

  async function serveFile(res: ServerResponse, path: string): Promise<void> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch {
      throw new HttpError(404, 'NOT_FOUND', 'not found');
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      'content-length': data.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(data);
  }

  /** A file directly inside demo/ (or below it): decoded, normalized and checked to stay inside. */
  function demoPath(pathname: string): string {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice('/demo/'.length));
    } catch {
      throw new HttpError(400, 'BAD_REQUEST', 'bad path');
    }
    const full = normalize(join(demoDir, rel));
    if (rel.includes('\0') || !full.startsWith(demoDir + sep)) throw new HttpError(404, 'NOT_FOUND', 'not found');
    return full;
  }

  async function route(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const only = (allowed: string): void => {
      if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
        res.setHeader('allow', allowed);
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${allowed}`);
      }
    };
    if (pathname === '/v1/api/connect') {
      only('POST');
      return connect(req, res);
    }
    if (pathname === '/v1/api/recordings') {
      only('GET');
      requireKey(req);
      const roomId = query.get('roomId');
      if (roomId !== null && !ID_PATTERN.test(roomId)) throw new HttpError(400, 'BAD_REQUEST', 'roomId must be 1-128 characters of A-Z a-z 0-9 _ . : @ -');
      return sendJson(res, 200, { recordings: deps.recordings.list(roomId ?? undefined) });
    }
    if (pathname === '/v1/api/stats') {
      only('GET');
      requireKey(req);
      return sendJson(res, 200, await serverStats({ collectGarbage: query.get('gc') === '1' }));
    }
    if (pathname === '/healthz') {
      only('GET');
      if (!deps.ready()) throw new HttpError(503, 'UNAVAILABLE', 'no media worker is running');
      return sendJson(res, 200, { ok: true });
    }
    const clientFile = STATIC_CLIENT[pathname];
    if (clientFile) {
      only('GET');
      return serveFile(res, join(clientDir, clientFile));
    }
    // The demo is a development aid: on a public HOST it is off unless DEMO=1.
    if (config.demo) {
      if (pathname === '/demo/connect') {
        only('POST');
        return demoConnect(req, res);
      }
      if (pathname === '/' || pathname === '/demo' || pathname === '/demo/') {
        only('GET');
        return serveFile(res, join(demoDir, 'index.html'));
      }
      if (pathname.startsWith('/demo/')) {
        only('GET');
        return serveFile(res, demoPath(pathname));
      }
    }
    throw new HttpError(404, 'NOT_FOUND', 'not found');
  }

  return (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Only the path is logged: a query string may carry anything.
    res.on('finish', () =>
      logger.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'http request'),
    );
    route(req, res, url.pathname, url.searchParams).catch((err: unknown) => {
      const httpError = err instanceof HttpError ? err : new HttpError(500, 'SERVER_ERROR', 'internal error');
      if (!(err instanceof HttpError)) logger.error({ err, path: url.pathname }, 'http handler failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, httpError);
    });
  };
}
