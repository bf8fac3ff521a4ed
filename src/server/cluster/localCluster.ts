// The single process is the whole cluster (`npm start` without REDIS_URL): the same Cluster
// interface, answered from memory. Nothing is piped, nobody else is told, no node is ever lost.
import type { Logger } from '../logger.js';
import {
  CLUSTER_REQUEST_TIMEOUT_MS,
  ClusterRequestError,
  type Cluster,
  type ClusterEvents,
  type ClusterMessage,
  type MessageHandler,
  type NodeInfo,
  type RequestHandler,
} from './cluster.js';
import { Dispatcher, jsonCopy, settle, withTimeout } from './dispatch.js';

export interface LocalClusterOptions {
  nodeId: string;
  /** PUBLIC_URL (or http://HOST:PORT). */
  url: string;
  maxPeers: number;
  logger?: Logger;
}

export class LocalCluster implements Cluster {
  readonly nodeId: string;
  readonly multiNode = false;
  readonly #options: LocalClusterOptions;
  readonly #dispatcher: Dispatcher;
  readonly #rooms = new Map<string, number>();
  #peers = 0;
  #draining = false;
  #stats: Record<string, unknown> | undefined;
  #closed = false;

  constructor(options: LocalClusterOptions) {
    this.nodeId = options.nodeId;
    this.#options = options;
    this.#dispatcher = new Dispatcher(options.logger);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
  }

  async nodes(): Promise<NodeInfo[]> {
    const { url, maxPeers } = this.#options;
    return [{ id: this.nodeId, url, peers: this.#peers, maxPeers, draining: this.#draining, seenAt: Date.now(), ...(this.#stats && { stats: this.#stats }) }];
  }

  setPeers(peers: number): void {
    this.#peers = peers;
  }

  setStats(stats: Record<string, unknown>): void {
    this.#stats = stats;
  }

  async setDraining(): Promise<void> {
    this.#draining = true;
  }

  async roomNodes(roomId: string): Promise<Map<string, number>> {
    const peers = this.#rooms.get(roomId);
    return new Map(peers === undefined ? [] : [[this.nodeId, peers]]);
  }

  setRoomPeers(roomId: string, peers: number): void {
    if (peers > 0) this.#rooms.set(roomId, peers);
    else this.#rooms.delete(roomId);
  }

  /** To this node only (in order, on a later tick, as a remote message would arrive); other ids do not exist. */
  send(nodeId: string, message: ClusterMessage): void {
    if (nodeId !== this.nodeId || this.#closed) return;
    const copy = jsonCopy(message);
    queueMicrotask(() => this.#dispatcher.deliver(copy, this.nodeId));
  }

  /** There is no other node. */
  broadcast(_message: ClusterMessage): void {}

  async request<T = unknown>(nodeId: string, message: ClusterMessage, timeoutMs = CLUSTER_REQUEST_TIMEOUT_MS): Promise<T> {
    if (this.#closed) throw new ClusterRequestError('cluster closed');
    if (nodeId !== this.nodeId) throw new ClusterRequestError(`no node ${nodeId} (single-process cluster)`);
    const reply = await withTimeout(this.#dispatcher.answer(jsonCopy(message), this.nodeId), timeoutMs, nodeId);
    return settle<T>(jsonCopy(reply), nodeId);
  }

  onMessage(type: string, handler: MessageHandler): void {
    this.#dispatcher.onMessage(type, handler);
  }

  onRequest(type: string, handler: RequestHandler): void {
    this.#dispatcher.onRequest(type, handler);
  }

  /** No node is ever lost (nor back), no link ever resyncs: listeners are accepted and never called. */
  on<K extends keyof ClusterEvents>(_event: K, _listener: ClusterEvents[K]): void {}
  off<K extends keyof ClusterEvents>(_event: K, _listener: ClusterEvents[K]): void {}
}
