// Cluster nodes for the tests and the benchmarks: server processes (./server.ts) on a real
// PostgreSQL and redis-server (./postgres.ts, ./redis.ts), and what the nodes say about the cluster
// (`GET /v1/api/stats`' `nodes` rows: the same live view placement decides from).
import { until } from './faults.js';
import type { Postgres } from './postgres.js';
import type { Redis } from './redis.js';
import { startServerProcess, type ServerProcess } from './server.js';

export interface ClusterEngines {
  pg: Postgres;
  redis: Redis;
}

/** A node of the cluster on `engines`, named `id`; `env` adds to (or overrides) the test server's environment. */
export function startClusterNode(engines: ClusterEngines, id: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServerProcess({ env: { DATABASE_URL: engines.pg.url, REDIS_URL: engines.redis.url, NODE_ID: id, ...env } });
}

export interface ClusterRow {
  id: string;
  url: string;
  peers: number;
  maxPeers: number;
  draining: boolean;
}

/** The live nodes as `node` sees them. */
export async function clusterRows(node: ServerProcess): Promise<ClusterRow[]> {
  const res = await fetch(`${node.httpUrl}/v1/api/stats`, { headers: { authorization: `Bearer ${node.apiKey}` } });
  if (!res.ok) throw new Error(`stats: ${res.status}`);
  return ((await res.json()) as { nodes: ClusterRow[] }).nodes;
}

/** Waits until `node` sees exactly the nodes named in `want`, holding the given peers each (undefined: any). */
export async function untilCluster(node: ServerProcess, want: Record<string, number | undefined>, timeoutMs = 20_000): Promise<void> {
  await until(
    async () => {
      const rows = await clusterRows(node).catch(() => []);
      return rows.length === Object.keys(want).length && rows.every((r) => r.id in want && (want[r.id] === undefined || want[r.id] === r.peers));
    },
    timeoutMs,
    `the cluster to read ${JSON.stringify(want)}`,
  );
}

/** The node among `nodes` that `url` (a socket URL placement returned) points at. */
export function nodeAt(nodes: readonly ServerProcess[], url: string): ServerProcess {
  const port = Number(new URL(url).port);
  const node = nodes.find((n) => n.port === port);
  if (!node) throw new Error(`no node at ${url}`);
  return node;
}

/** `url` (a socket URL) pointed at `node` instead: a token is valid at every node, so this places a peer by hand. */
export function urlAt(url: string, node: ServerProcess): string {
  const u = new URL(url);
  u.port = String(node.port);
  return u.toString();
}
