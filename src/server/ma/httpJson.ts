// JSON in and out for MA's HTTP routes: errors are always { error: { code, message } }, bodies are
// bounded and must be JSON objects.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_BODY_BYTES = 16 * 1024;

export type HttpErrorCode =
  | 'UNAUTHORIZED'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'RANGE_NOT_SATISFIABLE'
  | 'SERVER_ERROR'
  | 'UNAVAILABLE'
  /** An engine or node this answer needs (the database, the node holding a file) cannot be reached now: try again. */
  | 'SERVICE_UNAVAILABLE';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    /** Extra response headers (e.g. retry-after, allow). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  const headers = { ...err.headers };
  if (err.status === 413) headers['connection'] = 'close'; // the rest of the body is not read
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, headers);
}

/** The body as a JSON object (415 unless application/json, 413 past MAX_BODY_BYTES, 400 unless an object). */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
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
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'BAD_REQUEST', 'body must be a JSON object');
  return body as Record<string, unknown>;
}
