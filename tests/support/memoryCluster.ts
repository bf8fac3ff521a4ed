// Several cluster nodes in one process, for tests of what crosses between nodes without Redis:
// a shared registry and room directory, and messages that keep the Cluster's promises (one node's
// messages, replies included, arrive in the order it sent them, each on a later turn of the event
// loop as over a network; a request to a node that is gone, or that throws, rejects
// ClusterRequestError). `lose(id)` is a node dying: the survivors hear `nodeLost` at once.
import { EventEmitter } from 'node:events';
import {
  CLUSTER_REQUEST_TIMEOUT_MS,
  ClusterRequestError,
  type Cluster,
  type ClusterEvents,
  type ClusterMessage,
  type MessageHandler,
  type NodeInfo,
  type RequestHandler,
} from '../../src/server/cluster/cluster.js';

interface Pending {
  to: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class MemoryNetwork {
  readonly nodes = new Map<string, MemoryCluster>();
  /** roomId → nodeId → peers. */
  readonly rooms = new Map<string, Map<string, number>>();
  /**
   * Called with each message just before its handler runs (a reply's type is `reply:<request type>`),
   * so a test can act at a chosen moment; a promise returned holds this message, and every later
   * one between the same two nodes, until it settles.
   */
  onDeliver: ((from: string, to: string, message: ClusterMessage) => void | Promise<unknown>) | undefined;
  /** A request this returns true for is refused at once, as Redis refuses one to a node not subscribed (yet). */
  refuse: ((from: string, to: string, message: ClusterMessage) => boolean) | undefined;
  /** One FIFO per (sender, receiver): the order the Cluster promises. */
  private readonly links = new Map<string, { queue: (() => Promise<void>)[]; running: boolean }>();

  node(id: string): MemoryCluster {
    const node = new MemoryCluster(this, id);
    this.nodes.set(id, node);
    return node;
  }

  /** `id` dies: it hears nothing more, its requests in flight fail, every survivor hears `nodeLost`. */
  lose(id: string): void {
    const node = this.nodes.get(id);
    if (!node?.live) return;
    node.live = false;
    node.failPending(`node ${id} was lost`);
    for (const room of this.rooms.values()) room.delete(id);
    const survivors = this.liveNodes();
    survivors.forEach((other, i) => other.emitter.emit('nodeLost', id, i === 0));
  }

  liveNodes(): MemoryCluster[] {
    return [...this.nodes.values()].filter((n) => n.live && n.started);
  }

  /** Delivery on a later turn of the event loop, in order per (sender, receiver); dropped if either end is gone by then. */
  deliver(from: string, to: string, message: ClusterMessage, act: (target: MemoryCluster, message: ClusterMessage) => void): void {
    const key = `${from}>${to}`;
    let link = this.links.get(key);
    if (!link) this.links.set(key, (link = { queue: [], running: false }));
    // What crosses is JSON, copied when sent, as over Redis: nothing shared between nodes.
    const sent = JSON.parse(JSON.stringify(message)) as ClusterMessage;
    link.queue.push(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const target = this.nodes.get(to);
      if (!target?.live || !this.nodes.get(from)?.live) return;
      await this.onDeliver?.(from, to, sent);
      if (target.live) act(target, sent);
    });
    if (!link.running) void this.pump(link);
  }

  private async pump(link: { queue: (() => Promise<void>)[]; running: boolean }): Promise<void> {
    link.running = true;
    for (let next = link.queue.shift(); next; next = link.queue.shift()) await next();
    link.running = false;
  }
}

export class MemoryCluster implements Cluster {
  readonly multiNode = true;
  live = true;
  started = false;
  readonly emitter = new EventEmitter();
  private peers = 0;
  private stats: Record<string, unknown> = {};
  private draining = false;
  private readonly messageHandlers = new Map<string, MessageHandler>();
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly network: MemoryNetwork,
    readonly nodeId: string,
  ) {}

  async start(): Promise<void> {
    this.started = true;
  }

  async close(): Promise<void> {
    this.network.lose(this.nodeId);
  }

  async nodes(): Promise<NodeInfo[]> {
    return this.network.liveNodes().map((n) => n.info());
  }

  info(): NodeInfo {
    return { id: this.nodeId, url: `http://${this.nodeId}.invalid`, peers: this.peers, maxPeers: 100, draining: this.draining, seenAt: Date.now(), stats: this.stats };
  }

  setPeers(peers: number): void {
    this.peers = peers;
  }

  setStats(stats: Record<string, unknown>): void {
    this.stats = stats;
  }

  async setDraining(): Promise<void> {
    this.draining = true;
  }

  async roomNodes(roomId: string): Promise<Map<string, number>> {
    return new Map(this.network.rooms.get(roomId));
  }

  setRoomPeers(roomId: string, peers: number): void {
    if (!this.live) return;
    let room = this.network.rooms.get(roomId);
    if (!room) this.network.rooms.set(roomId, (room = new Map()));
    if (peers > 0) room.set(this.nodeId, peers);
    else room.delete(this.nodeId);
    if (room.size === 0) this.network.rooms.delete(roomId);
  }

  send(nodeId: string, message: ClusterMessage): void {
    this.network.deliver(this.nodeId, nodeId, message, (target, sent) => target.messageHandlers.get(sent.type)?.(sent, this.nodeId));
  }

  broadcast(message: ClusterMessage): void {
    for (const node of this.network.liveNodes()) if (node !== this) this.send(node.nodeId, message);
  }

  request<T = unknown>(nodeId: string, message: ClusterMessage, timeoutMs = CLUSTER_REQUEST_TIMEOUT_MS): Promise<T> {
    if (!this.network.nodes.get(nodeId)?.live) return Promise.reject(new ClusterRequestError(`node ${nodeId} is not live`));
    if (this.network.refuse?.(this.nodeId, nodeId, message)) return Promise.reject(new ClusterRequestError(`node ${nodeId} is not listening`));
    const id = this.nextId++;
    const answer = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new ClusterRequestError(`${message.type} to ${nodeId}: no answer within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, { to: nodeId, resolve: resolve as (value: unknown) => void, reject, timer });
    });
    this.network.deliver(this.nodeId, nodeId, message, (target, sent) => {
      const handler = target.requestHandlers.get(sent.type);
      const reply = (outcome: { ok: true; value: unknown } | { ok: false; error: string }) =>
        this.network.deliver(nodeId, this.nodeId, { type: `reply:${message.type}` }, (asker) => asker.settle(id, outcome.ok ? outcome : new ClusterRequestError(outcome.error)));
      if (!handler) return reply({ ok: false, error: `node ${nodeId} has no handler for ${message.type}` });
      Promise.resolve()
        .then(() => handler(sent, this.nodeId))
        // The answer crosses as JSON too.
        .then((value) => reply({ ok: true, value: value === undefined ? undefined : JSON.parse(JSON.stringify(value)) }))
        .catch((err: Error) => reply({ ok: false, error: err.message }));
    });
    return answer;
  }

  onMessage(type: string, handler: MessageHandler): void {
    this.messageHandlers.set(type, handler);
  }

  onRequest(type: string, handler: RequestHandler): void {
    this.requestHandlers.set(type, handler);
  }

  on<K extends keyof ClusterEvents>(event: K, listener: ClusterEvents[K]): void {
    this.emitter.on(event, listener);
  }

  off<K extends keyof ClusterEvents>(event: K, listener: ClusterEvents[K]): void {
    this.emitter.off(event, listener);
  }

  /** This node is lost: its own requests fail, and so do the others' requests to it (as their timeout would). */
  failPending(reason: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new ClusterRequestError(reason));
    for (const node of this.network.nodes.values()) if (node !== this) node.failPendingTo(this.nodeId);
  }

  private failPendingTo(nodeId: string): void {
    for (const [id, { to }] of [...this.pending]) if (to === nodeId) this.settle(id, new ClusterRequestError(`node ${nodeId} was lost`));
  }

  private settle(id: number, outcome: { ok: true; value: unknown } | Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome.value);
  }
}
