// GET /v1/api/recordings/:id/file on a node that does not hold the file: its row names the node
// whose disk does, and this node fetches it from there (same key, same Range) and passes the
// answer through. A redirect would not do: clients drop the Authorization header when a redirect
// crosses origins, and the other node may not be reachable from the customer's network at all.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Cluster } from '../cluster/cluster.js';
import type { RecordingStore } from '../mr/recordingStore.js';
import { HttpError } from './httpJson.js';
import { RECORDING_ID } from './recordingFile.js';

/** Headers of the owner's answer that describe the body; the rest (connection, date…) are this hop's. */
const PASSED_HEADERS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'cache-control'];

export interface ForwardDeps {
  recordings: RecordingStore;
  cluster: Cluster;
  apiKey: string;
  id: string;
}

/** Answers from the owner node and resolves true, or resolves false when this node should answer itself. */
export async function forwardRecordingFile(req: IncomingMessage, res: ServerResponse, { recordings, cluster, apiKey, id }: ForwardDeps): Promise<boolean> {
  if (!cluster.multiNode || !RECORDING_ID.test(id)) return false;
  const row = await recordings.get(id);
  if (!row || row.nodeId === '' || row.nodeId === cluster.nodeId) return false;
  const owner = (await cluster.nodes()).find((n) => n.id === row.nodeId);
  if (!owner) throw new HttpError(503, 'SERVICE_UNAVAILABLE', `the node that holds recording ${id} (${row.nodeId}) is not running`);
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  let upstream: Response;
  try {
    upstream = await fetch(new URL(`v1/api/recordings/${id}/file`, owner.url.endsWith('/') ? owner.url : `${owner.url}/`), {
      headers: { authorization: `Bearer ${apiKey}`, ...(req.headers.range !== undefined && { range: req.headers.range }) },
      signal: abort.signal,
      redirect: 'error',
    });
  } catch (err) {
    throw new HttpError(503, 'SERVICE_UNAVAILABLE', `the node that holds recording ${id} (${row.nodeId}) did not answer: ${(err as Error).message}`);
  }
  const headers: Record<string, string> = {};
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  res.writeHead(upstream.status, headers);
  if (upstream.body === null || req.method === 'HEAD') res.end();
  else await pipeline(Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream), res).catch(() => res.destroy());
  return true;
}
