// What a node knows of the others: the one interface behind cluster mode. Two implementations:
// `localCluster.ts` (one process, the `npm start` default: it is the whole cluster) and
// `redisCluster.ts` (REDIS_URL: a node registry with heartbeats, a room directory and node-to-node
// messages). Everything that crosses is plain JSON data, never a shared object.

/** One live node as the registry sees it. */
export interface NodeInfo {
  id: string;
  /** How clients and other nodes reach it (its PUBLIC_URL, http(s)). */
  url: string;
  /** Peers it holds now. */
  peers: number;
  /** NODE_MAX_PEERS: placement sends no more peers there while it holds this many. */
  maxPeers: number;
  /** Stopping (SIGTERM): placement sends it nothing, its clients are moving away. */
  draining: boolean;
  /** Epoch ms of its last heartbeat. */
  seenAt: number;
  /** Its own summary for `GET /v1/api/stats` (whatever the node publishes with its heartbeat). */
  stats?: Record<string, unknown>;
}

/** A message between nodes: `type` names it, the rest is its JSON payload. */
export interface ClusterMessage {
  type: string;
  [key: string]: unknown;
}

/** A request to another node got no answer (node gone, Redis down, handler too slow). */
export class ClusterRequestError extends Error {
  override name = 'ClusterRequestError';
}

export type MessageHandler = (message: ClusterMessage, from: string) => void;
/** Answers a request; a throw becomes a ClusterRequestError at the asking node. */
export type RequestHandler = (message: ClusterMessage, from: string) => Promise<unknown> | unknown;

export interface ClusterEvents {
  /**
   * Another node stopped heartbeating for NODE_DEAD_MS (or left): every survivor drops its pipes
   * and remote producers of it. `cleanup` is true at exactly one survivor, which also does the
   * cluster-wide chores (its recordings marked failed "node lost", its directory entries removed).
   */
  nodeLost: (nodeId: string, cleanup: boolean) => void;
  /**
   * A node lost by mistake is back: this node judged `nodeId` lost and then heard the same process
   * again (it had stalled, or lost Redis alone, longer than NODE_DEAD_MS), or `nodeId` says it
   * judged this node lost. The two dropped different halves of what they shared, so each drops
   * its own half as on `nodeLost` (no chores: nobody died) and sets it up again. The judge tells
   * the other before it asks it anything, so the other has dropped its half before it answers.
   */
  nodeBack: (nodeId: string) => void;
  /**
   * This node's link to the others came back after an outage (Redis restarted or unreachable):
   * messages sent meanwhile may be lost, so whatever was learnt from them is asked for again.
   */
  resynced: () => void;
}

export interface Cluster {
  readonly nodeId: string;
  /** False for the single-process cluster: nothing to pipe, nobody to tell. */
  readonly multiNode: boolean;

  /** Registers this node and starts heartbeating. */
  start(): Promise<void>;
  /** Deregisters (others see `nodeLost` at once) and releases the connections. Idempotent. */
  close(): Promise<void>;

  /** Live nodes, this one included. Never rejects: while Redis is unreachable, this node alone. */
  nodes(): Promise<NodeInfo[]>;
  /** This node's load, published at once (not only at the next heartbeat). */
  setPeers(peers: number): void;
  /** Published with every heartbeat: the node's row in cluster-wide stats. */
  setStats(stats: Record<string, unknown>): void;
  /** Placement stops choosing this node. */
  setDraining(): Promise<void>;

  /** The room directory: how many peers of `roomId` each live node holds (nodes holding none absent).
   *  Never rejects: while Redis is unreachable, this node's own entry only. */
  roomNodes(roomId: string): Promise<Map<string, number>>;
  /** This node now holds `peers` peers of `roomId` (0 removes it from the room). */
  setRoomPeers(roomId: string, peers: number): void;

  /** Fire-and-forget to one node. Messages from one node arrive in the order it sent them; while Redis
   *  is unreachable they are dropped (never queued). */
  send(nodeId: string, message: ClusterMessage): void;
  /** To every other live node. */
  broadcast(message: ClusterMessage): void;
  /** Request/response with an id and a timeout; rejects ClusterRequestError (at once while Redis is
   *  unreachable, when nobody listens as `nodeId`, when that node is lost, or back but not told yet). */
  request<T = unknown>(nodeId: string, message: ClusterMessage, timeoutMs?: number): Promise<T>;
  /** One handler per message type (a second registration replaces the first). */
  onMessage(type: string, handler: MessageHandler): void;
  onRequest(type: string, handler: RequestHandler): void;

  on<K extends keyof ClusterEvents>(event: K, listener: ClusterEvents[K]): void;
  off<K extends keyof ClusterEvents>(event: K, listener: ClusterEvents[K]): void;
}

/** Heartbeat period and the silence after which a node is dead (SPEC "Running a cluster"). */
export const HEARTBEAT_MS = 2_000;
export const NODE_DEAD_MS = 6_000;
/** Default time a node-to-node request waits for its answer. */
export const CLUSTER_REQUEST_TIMEOUT_MS = 5_000;
