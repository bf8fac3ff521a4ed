// Files served as they are (the client bundles, the demo page), from memory: each is read once
// (again only when it changed on disk) and every response shares that one buffer, so clients that
// request a large file and never read it cost a reference each, not a copy each.
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

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

interface Cached {
  mtimeMs: number;
  size: number;
  data: Promise<Buffer>;
}

export class StaticFiles {
  private readonly cache = new Map<string, Cached>();

  /** The file's bytes, or undefined when it does not exist (or is not a file). */
  async read(path: string): Promise<Buffer | undefined> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) {
      this.cache.delete(path);
      return undefined;
    }
    let cached = this.cache.get(path);
    if (!cached || cached.mtimeMs !== info.mtimeMs || cached.size !== info.size) {
      cached = { mtimeMs: info.mtimeMs, size: info.size, data: readFile(path) };
      this.cache.set(path, cached);
      cached.data.catch(() => this.cache.delete(path));
    }
    return cached.data.catch(() => undefined);
  }

  /** Answers with the file; false when there is none (the caller answers 404). */
  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const data = await this.read(path);
    if (!data) return false;
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      'content-length': data.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : data);
    return true;
  }
}
