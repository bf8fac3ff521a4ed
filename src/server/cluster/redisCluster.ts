// Cluster mode (REDIS_URL): the node registry, the room directory and node-to-node messages in
// Redis. Redis holds only what is live: a restart of it empties everything, and every node then
// writes its own part again from its own memory (re-register, rewrite its room entries).
//
// Keys (all under `mi:`) and their lifetimes:
//   mi:nodes                HASH nodeId → incarnation (one per process). The registry's members.
//                           Set by every heartbeat (HSET answering 1 means the node was missing:
//                           Redis restarted or the node had been judged dead, so it rewrites its
//                           room entries). Removed by the node's clean close, or by the cleanup
//                           survivor of its death (only while it still names the dead process).
//   mi:node:<nodeId>        STRING, JSON NodeInfo + incarnation. Written by every heartbeat (2 s)
//                           and at once by setPeers/setDraining, with a TTL of NODE_DEAD_MS (6 s):
//                           it exists while the node beats. Deleted by clean close. nodes() and
//                           roomNodes() show only nodes that have it.
//   mi:room:<roomId>        HASH nodeId → peers of the room that node holds. Written by
//                           setRoomPeers (0 deletes the field; Redis deletes an empty hash), and
//                           rewritten from the node's own map at start, whenever its heartbeat
//                           finds it missing from mi:nodes, and after a failed write. No TTL:
//                           removed by the node itself, its clean close, or the cleanup survivor.
//   mi:node-rooms:<nodeId>  SET of roomIds the node has entries in (its entries can be removed
//                           without a scan). Same writers and lifetime as its room entries.
//   mi:lost:<nodeId>:<inc>  STRING (the survivor's id), SET NX with a 10 min TTL: elects the one
//                           survivor that cleans up after that process (the first to set it). Long
//                           enough that a survivor judging late never cleans up a second time;
//                           per incarnation, so a node restarted under the same NODE_ID is
//                           cleaned up again when it dies again. Deleted by a node that hears that
//                           process beat again (it was not dead: its next death is cleaned up too).
// Channels: mi:to:<nodeId> (directed messages, requests and their replies, "lost") and mi:all
// (broadcasts, heartbeats, a clean close's "left"). Each node has ONE publisher connection and
// ONE subscriber connection, so Redis delivers one node's messages to another in the order sent.
// Envelopes (JSON, `k` names them): msg, req, res (Cluster.send/broadcast/request), beat
// (heartbeat), left (clean close), and lost { inc }: "I had judged your process <inc> lost", sent
// by a node that hears a process it judged dead beat again, before anything else it sends there;
// both then emit `nodeBack` (cluster.ts). When PUBLISH counts no receiver (the other is not
// subscribed again yet) the judge keeps it judged lost and sends it nothing (requests refused),
// and its next beat starts all this again.
//
// While Redis is unreachable nothing throws into the node and nothing it serves is dropped:
// commands fail at once (no offline queue), requests reject ClusterRequestError, sends are
// dropped, nodes() is this node alone and roomNodes() its own entry; the node's own state stays
// in memory and is written again on reconnect. Deaths are judged by Liveness (liveness.ts).
import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import * as v from 'valibot';
import type { Logger } from '../logger.js';
import {
  CLUSTER_REQUEST_TIMEOUT_MS,
  ClusterRequestError,
  HEARTBEAT_MS,
  NODE_DEAD_MS,
  type Cluster,
  type ClusterEvents,
  type ClusterMessage,
  type MessageHandler,
  type NodeInfo,
  type RequestHandler,
} from './cluster.js';
import { Dispatcher, jsonCopy, settle, withTimeout, type Reply } from './dispatch.js';
import { Liveness, type LostNode } from './liveness.js';

const KEY = {
  nodes: 'mi:nodes',
  node: (nodeId: string) => `mi:node:${nodeId}`,
  room: (roomId: string) => `mi:room:${roomId}`,
  nodeRooms: (nodeId: string) => `mi:node-rooms:${nodeId}`,
  lost: (nodeId: string, incarnation: string) => `mi:lost:${nodeId}:${incarnation}`,
  to: (nodeId: string) => `mi:to:${nodeId}`,
  all: 'mi:all',
};
const ROOM_KEY_PREFIX = KEY.room('');
const LOST_MARK_MS = 10 * 60_000;
/** How often each node looks for dead nodes: a death is seen within this after NODE_DEAD_MS. */
const DEATH_CHECK_MS = 250;
/** Reconnect backoff cap: a restarted Redis is found within about a second. */
const MAX_RECONNECT_DELAY_MS = 1_000;
/** start() gives up if Redis cannot be reached for this long (a clear error instead of hanging). */
const START_TIMEOUT_MS = 10_000;
/** A command answers within this or fails (node-redis's default is 5 s): no longer than a heartbeat period. */
const COMMAND_TIMEOUT_MS = HEARTBEAT_MS;

/** The cleanup survivor's removal of a dead process's registry and directory entries, atomic. Skipped when the node
 *  already runs again under the same id (its entries are the new process's). Touches room keys it computes (fine
 *  on a single Redis, not on Redis Cluster). */
const REMOVE_NODE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current ~= ARGV[2] then return 0 end
for _, room in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('HDEL', ARGV[3] .. room, ARGV[1]) end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`;

const Message = v.looseObject({ type: v.string() });
const ReplySchema = v.union([v.object({ ok: v.literal(true), value: v.optional(v.unknown()) }), v.object({ ok: v.literal(false), error: v.string() })]);
const Envelope = v.variant('k', [
  v.object({ k: v.literal('msg'), from: v.string(), body: Message }),
  v.object({ k: v.literal('req'), from: v.string(), id: v.string(), body: Message }),
  v.object({ k: v.literal('res'), from: v.string(), id: v.string(), reply: ReplySchema }),
  v.object({ k: v.literal('beat'), from: v.string(), inc: v.string() }),
  v.object({ k: v.literal('left'), from: v.string(), inc: v.string() }),
  v.object({ k: v.literal('lost'), from: v.string(), inc: v.string() }),
]);
type Envelope = v.InferOutput<typeof Envelope>;

type NodeRecord = NodeInfo & { incarnation: string };
type RedisClient = ReturnType<typeof createClient>;

interface Pending {
  nodeId: string;
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RedisClusterOptions {
  /** REDIS_URL (never logged: it may hold a password). */
  redisUrl: string;
  nodeId: string;
  /** PUBLIC_URL (or http://HOST:PORT): how clients and other nodes reach this one. */
  url: string;
  maxPeers: number;
  logger?: Logger;
}

export class RedisCluster implements Cluster {
  readonly nodeId: string;
  readonly multiNode = true;
  /** This process: a node restarted under the same NODE_ID is another incarnation. */
  readonly incarnation = randomBytes(6).toString('hex');
  readonly #options: RedisClusterOptions;
  readonly #log: Logger | undefined;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #dispatcher: Dispatcher;
  readonly #liveness = new Liveness(NODE_DEAD_MS, 2 * HEARTBEAT_MS);
  readonly #listeners: { [K in keyof ClusterEvents]: Set<ClusterEvents[K]> } = { nodeLost: new Set(), nodeBack: new Set(), resynced: new Set() };
  /** The truth about this node's rooms; Redis holds a copy that is rewritten from it. */
  readonly #rooms = new Map<string, number>();
  readonly #pending = new Map<string, Pending>();
  #requests = 0;
  #peers = 0;
  #draining = false;
  #stats: Record<string, unknown> | undefined;
  #state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  #startAt = 0;
  #closing: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  #beating = false;
  #registered = false;
  #directoryDirty = false;
  /** Nodes back that could not be told so yet: nothing is sent to them (they would answer from their stale half). */
  readonly #untold = new Set<string>();
  /** For logging an outage once, not at every reconnect attempt. */
  #down = false;

  constructor(options: RedisClusterOptions) {
    this.nodeId = options.nodeId;
    this.#options = options;
    this.#log = options.logger;
    this.#dispatcher = new Dispatcher(options.logger);
    this.#pub = createClient({
      url: options.redisUrl,
      disableOfflineQueue: true,
      commandOptions: { timeout: COMMAND_TIMEOUT_MS },
      socket: { reconnectStrategy: (retries: number, cause: Error) => this.#reconnectDelay(retries, cause) },
    });
    // Pub/sub needs a connection of its own.
    this.#sub = this.#pub.duplicate();
    for (const [name, client] of [['publisher', this.#pub], ['subscriber', this.#sub]] as const) {
      // node-redis emits 'error' at every disconnect and failed attempt; without a listener it would throw.
      client.on('error', (err: Error) => this.#connectionLost(name, err));
      client.on('ready', () => this.#connectionBack(name));
    }
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('RedisCluster.start() is called once');
    this.#state = 'starting';
    this.#startAt = Date.now();
    try {
      // Both settled before going on: a failure of one must not leave the other's rejection unhandled.
      const connected = await Promise.allSettled([this.#pub.connect(), this.#sub.connect()]);
      for (const result of connected) if (result.status === 'rejected') throw result.reason;
      // node-redis subscribes again by itself after every reconnect.
      await this.#sub.subscribe([KEY.to(this.nodeId), KEY.all], (raw: string) => this.#receive(raw));
      const registered = await this.#pub.hGetAll(KEY.nodes);
      for (const [nodeId, incarnation] of Object.entries(registered)) if (nodeId !== this.nodeId) this.#liveness.listed(nodeId, incarnation);
      this.#state = 'started';
      await this.#rewriteDirectory(); // also removes what an earlier process under this NODE_ID left
      await this.#heartbeat();
    } catch (err) {
      await this.close();
      throw new Error(`cluster: cannot use Redis (${(err as Error).message})`);
    }
    this.#timers.push(setInterval(() => void this.#tick(), HEARTBEAT_MS).unref());
    this.#timers.push(setInterval(() => this.#checkDeaths(), DEATH_CHECK_MS).unref());
    this.#log?.info({ nodeId: this.nodeId, incarnation: this.incarnation }, 'cluster: registered');
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const wasStarted = this.#state === 'started';
      this.#halt('cluster closed');
      if (wasStarted && this.#pub.isReady) {
        try {
          await this.#leave();
        } catch (err) {
          this.#log?.warn({ err: (err as Error).message }, 'cluster: could not deregister (the others will see this node silent)');
        }
      }
      for (const client of [this.#pub, this.#sub]) if (client.isOpen) client.destroy();
    })();
    return this.#closing;
  }

  /** @internal For tests: ends as kill -9 does (no more heartbeats, connections cut, nothing deregistered, nobody told). */
  kill(): void {
    this.#closing ??= Promise.resolve();
    this.#halt('cluster closed');
    for (const client of [this.#pub, this.#sub]) if (client.isOpen) client.destroy();
  }

  async nodes(): Promise<NodeInfo[]> {
    const self = this.#info(this.#record());
    if (!this.#pub.isReady) return [self];
    try {
      const ids = (await this.#pub.hKeys(KEY.nodes)).filter((id) => id !== this.nodeId);
      if (ids.length === 0) return [self];
      const records = await this.#pub.mGet(ids.map(KEY.node));
      return [self, ...records.flatMap((raw) => (raw === null ? [] : [this.#info(JSON.parse(raw) as NodeRecord)]))];
    } catch (err) {
      this.#log?.debug({ err: (err as Error).message }, 'cluster: registry unreadable, this node alone');
      return [self];
    }
  }

  setPeers(peers: number): void {
    this.#peers = peers;
    void this.#writeRecord();
  }

  setStats(stats: Record<string, unknown>): void {
    this.#stats = stats;
  }

  async setDraining(): Promise<void> {
    this.#draining = true;
    await this.#writeRecord();
  }

  async roomNodes(roomId: string): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    const own = this.#rooms.get(roomId);
    if (own !== undefined) result.set(this.nodeId, own);
    if (!this.#pub.isReady) return result;
    try {
      const entries = Object.entries(await this.#pub.hGetAll(KEY.room(roomId))).filter(([id]) => id !== this.nodeId);
      if (entries.length === 0) return result;
      // Only live nodes: entries of a node that died with nobody left to clean up stay until a survivor does.
      const live = await this.#pub.mGet(entries.map(([id]) => KEY.node(id)));
      entries.forEach(([id, peers], i) => {
        if (live[i] !== null) result.set(id, Number(peers));
      });
    } catch (err) {
      this.#log?.debug({ err: (err as Error).message, roomId }, 'cluster: room directory unreadable, own entry only');
    }
    return result;
  }

  setRoomPeers(roomId: string, peers: number): void {
    if (peers > 0) this.#rooms.set(roomId, peers);
    else this.#rooms.delete(roomId);
    if (this.#state !== 'started') return; // start() writes the whole map
    if (!this.#pub.isReady) {
      this.#directoryDirty = true;
      return;
    }
    const write = this.#pub.multi();
    if (peers > 0) write.hSet(KEY.room(roomId), this.nodeId, peers).sAdd(KEY.nodeRooms(this.nodeId), roomId);
    else write.hDel(KEY.room(roomId), this.nodeId).sRem(KEY.nodeRooms(this.nodeId), roomId);
    write.exec().catch(() => {
      this.#directoryDirty = true; // the next heartbeat rewrites the directory from #rooms
    });
  }

  send(nodeId: string, message: ClusterMessage): void {
    if (this.#state !== 'started') return;
    if (nodeId === this.nodeId) {
      const copy = jsonCopy(message);
      queueMicrotask(() => this.#dispatcher.deliver(copy, this.nodeId));
      return;
    }
    if (this.#untold.has(nodeId)) return; // it would read it on its stale half
    this.#post(KEY.to(nodeId), { k: 'msg', from: this.nodeId, body: message }, message.type);
  }

  broadcast(message: ClusterMessage): void {
    if (this.#state !== 'started') return;
    this.#post(KEY.all, { k: 'msg', from: this.nodeId, body: message }, message.type);
  }

  async request<T = unknown>(nodeId: string, message: ClusterMessage, timeoutMs = CLUSTER_REQUEST_TIMEOUT_MS): Promise<T> {
    if (this.#state !== 'started') throw new ClusterRequestError('cluster not running');
    if (nodeId === this.nodeId) {
      const reply = await withTimeout(this.#dispatcher.answer(jsonCopy(message), this.nodeId), timeoutMs, nodeId);
      return settle<T>(jsonCopy(reply), nodeId);
    }
    // Without both connections the answer could not come back: say so now, not after the timeout.
    if (!this.#pub.isReady || !this.#sub.isReady) throw new ClusterRequestError(`no answer from node ${nodeId}: Redis unreachable`);
    if (this.#untold.has(nodeId)) throw new ClusterRequestError(`node ${nodeId} is back but not told yet that it was judged lost`);
    const id = `${this.incarnation}.${++this.#requests}`;
    const raw = JSON.stringify({ k: 'req', from: this.nodeId, id, body: message } satisfies Envelope);
    const answered = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(id, `no answer from node ${nodeId} in ${timeoutMs} ms`), timeoutMs);
      this.#pending.set(id, { nodeId, resolve, reject, timer });
    });
    this.#pub.publish(KEY.to(nodeId), raw).then(
      (receivers) => {
        if (receivers === 0) this.#fail(id, `node ${nodeId} is not listening`);
      },
      (err: Error) => this.#fail(id, `no answer from node ${nodeId}: ${err.message}`),
    );
    return settle<T>(await answered, nodeId);
  }

  onMessage(type: string, handler: MessageHandler): void {
    this.#dispatcher.onMessage(type, handler);
  }

  onRequest(type: string, handler: RequestHandler): void {
    this.#dispatcher.onRequest(type, handler);
  }

  on<K extends keyof ClusterEvents>(event: K, listener: ClusterEvents[K]): void {
    (this.#listeners[event] as Set<ClusterEvents[K]>).add(listener);
  }

  off<K extends keyof ClusterEvents>(event: K, listener: ClusterEvents[K]): void {
    (this.#listeners[event] as Set<ClusterEvents[K]>).delete(listener);
  }

  /** Calls each listener of `event`; one that throws is logged and stops no other. */
  #emit<K extends keyof ClusterEvents>(event: K, ...args: Parameters<ClusterEvents[K]>): void {
    for (const listener of [...(this.#listeners[event] as Set<(...a: Parameters<ClusterEvents[K]>) => void>)]) {
      try {
        listener(...args);
      } catch (err) {
        this.#log?.error({ event, err: (err as Error).message }, 'cluster: event listener threw');
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Registry and directory

  #record(): NodeRecord {
    const { url, maxPeers } = this.#options;
    return { id: this.nodeId, url, peers: this.#peers, maxPeers, draining: this.#draining, seenAt: Date.now(), ...(this.#stats && { stats: this.#stats }), incarnation: this.incarnation };
  }

  #info({ incarnation: _, ...info }: NodeRecord): NodeInfo {
    return info;
  }

  async #tick(): Promise<void> {
    if (this.#beating || this.#state !== 'started') return;
    this.#beating = true;
    try {
      await this.#heartbeat();
    } catch (err) {
      this.#log?.debug({ err: (err as Error).message }, 'cluster: heartbeat failed');
    } finally {
      this.#beating = false;
    }
  }

  /** Record (with its TTL), registry membership and the beat the others time us by, in one go. */
  async #heartbeat(): Promise<void> {
    this.#ready();
    const replies = await this.#pub
      .multi()
      .set(KEY.node(this.nodeId), JSON.stringify(this.#record()), { expiration: { type: 'PX', value: NODE_DEAD_MS } })
      .hSet(KEY.nodes, this.nodeId, this.incarnation)
      .publish(KEY.all, JSON.stringify({ k: 'beat', from: this.nodeId, inc: this.incarnation } satisfies Envelope))
      .exec();
    const missing = Number(replies[1]) === 1;
    if (missing && this.#registered) this.#log?.info({ nodeId: this.nodeId }, 'cluster: registered again (Redis restarted or this node was judged dead)');
    this.#registered = true;
    if (missing || this.#directoryDirty) await this.#rewriteDirectory();
  }

  async #writeRecord(): Promise<void> {
    if (this.#state !== 'started' || !this.#pub.isReady) return; // the next heartbeat carries it
    try {
      await this.#pub.set(KEY.node(this.nodeId), JSON.stringify(this.#record()), { expiration: { type: 'PX', value: NODE_DEAD_MS } });
    } catch (err) {
      this.#log?.debug({ err: (err as Error).message }, 'cluster: record not written (the next heartbeat carries it)');
    }
  }

  /** Makes Redis's copy of this node's room entries equal to #rooms. */
  async #rewriteDirectory(): Promise<void> {
    this.#directoryDirty = false;
    try {
      this.#ready();
      const listed = await this.#pub.sMembers(KEY.nodeRooms(this.nodeId));
      // Built after the read, from #rooms as it is now; later setRoomPeers writes queue behind it.
      const write = this.#pub.multi();
      for (const roomId of listed) if (!this.#rooms.has(roomId)) write.hDel(KEY.room(roomId), this.nodeId);
      for (const [roomId, peers] of this.#rooms) write.hSet(KEY.room(roomId), this.nodeId, peers);
      write.del(KEY.nodeRooms(this.nodeId));
      if (this.#rooms.size > 0) write.sAdd(KEY.nodeRooms(this.nodeId), [...this.#rooms.keys()]);
      await write.exec();
    } catch (err) {
      this.#directoryDirty = true;
      throw err;
    }
  }

  /** Clean close: every entry of this node removed, then "left" so the others need not wait for silence. */
  async #leave(): Promise<void> {
    const rooms = new Set([...(await this.#pub.sMembers(KEY.nodeRooms(this.nodeId))), ...this.#rooms.keys()]);
    const write = this.#pub.multi();
    for (const roomId of rooms) write.hDel(KEY.room(roomId), this.nodeId);
    await write
      .del([KEY.nodeRooms(this.nodeId), KEY.node(this.nodeId)])
      .hDel(KEY.nodes, this.nodeId)
      .publish(KEY.all, JSON.stringify({ k: 'left', from: this.nodeId, inc: this.incarnation } satisfies Envelope))
      .exec();
  }

  // -------------------------------------------------------------------------------------------
  // Deaths

  #checkDeaths(): void {
    for (const lost of this.#liveness.dead()) void this.#lose(lost, 'silent');
  }

  /** Another node's process is gone: elect the cleanup survivor, do its chores there, tell the listeners. */
  async #lose({ nodeId, incarnation, silentMs }: LostNode, reason: 'silent' | 'left' | 'restarted'): Promise<void> {
    this.#failAll(`node ${nodeId} lost`, nodeId);
    let cleanup = false;
    try {
      this.#ready();
      const won = await this.#pub.set(KEY.lost(nodeId, incarnation), this.nodeId, { condition: 'NX', expiration: { type: 'PX', value: LOST_MARK_MS } });
      cleanup = won === 'OK';
      if (cleanup) {
        await this.#pub.eval(REMOVE_NODE, { keys: [KEY.nodes, KEY.nodeRooms(nodeId)], arguments: [nodeId, incarnation, ROOM_KEY_PREFIX] });
      }
    } catch (err) {
      this.#log?.warn({ nodeId, err: (err as Error).message }, 'cluster: cleanup election or removal failed');
    }
    if (this.#state !== 'started') return;
    this.#log?.info({ nodeId, reason, cleanup, ...(silentMs !== undefined && { silentMs: Math.round(silentMs) }) }, 'cluster: node lost');
    this.#emit('nodeLost', nodeId, cleanup);
  }

  /** A process this node judged dead beats again: it was alive (ClusterEvents.nodeBack). */
  #back(nodeId: string, incarnation: string): void {
    // Answers to what was asked of it since would come from the half it has not dropped yet.
    this.#failAll(`node ${nodeId} was judged lost`, nodeId);
    // First on its channel, before anything the nodeBack listeners ask it. Not received (its beat
    // came back before its subscription: cut off from Redis, it reconnects each connection on its
    // own): it stays judged lost and is sent nothing (what it answered would come from its stale
    // half), until its next beat tells it again and everything is set up again. Its PUBLISH reply
    // comes before that of any command issued after it, so the listeners' requests see the gate.
    this.#untold.delete(nodeId);
    const untold = (why: string) => {
      this.#log?.info({ nodeId, why }, 'cluster: a node back could not be told yet: again at its next heartbeat');
      this.#untold.add(nodeId);
      this.#liveness.untold(nodeId, incarnation);
    };
    const lost = JSON.stringify({ k: 'lost', from: this.nodeId, inc: incarnation } satisfies Envelope);
    this.#pub.publish(KEY.to(nodeId), lost).then((receivers) => receivers === 0 && untold('not subscribed'), (err: Error) => untold(err.message));
    // Its next death is cleaned up again.
    this.#pub.del(KEY.lost(nodeId, incarnation)).catch((err: Error) => this.#log?.debug({ nodeId, err: err.message }, 'cluster: lost mark not removed'));
    this.#log?.warn({ nodeId }, 'cluster: node back: judged lost, it was alive (stalled, or cut off from Redis); setting up again what was dropped with it');
    // At once: this node's half is dropped before it reads anything that node sends once told.
    this.#emit('nodeBack', nodeId);
  }

  /** Another node says it judged this process lost: what this node holds with it is stale (ClusterEvents.nodeBack). */
  #judgedLostBy(nodeId: string): void {
    this.#failAll(`node ${nodeId} had judged this node lost`, nodeId);
    this.#log?.warn({ nodeId }, 'cluster: another node had judged this node lost (it stalled, or was cut off from Redis); setting up again what it dropped');
    this.#emit('nodeBack', nodeId);
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  #post(channel: string, envelope: Envelope, type: string): void {
    const raw = JSON.stringify(envelope); // a payload that is not JSON is the caller's bug: it throws here
    if (!this.#pub.isReady) {
      this.#log?.debug({ type }, 'cluster: message dropped, Redis unreachable');
      return;
    }
    this.#pub.publish(channel, raw).then(
      (receivers) => {
        if (receivers === 0) this.#log?.debug({ type, channel }, 'cluster: message reached nobody');
      },
      (err: Error) => this.#log?.debug({ type, err: err.message }, 'cluster: message dropped'),
    );
  }

  #receive(raw: string): void {
    let envelope: Envelope;
    try {
      envelope = v.parse(Envelope, JSON.parse(raw));
    } catch {
      this.#log?.warn('cluster: unreadable message ignored');
      return;
    }
    if (this.#state !== 'started') return;
    const { from } = envelope;
    const own = from === this.nodeId;
    switch (envelope.k) {
      case 'beat': {
        if (own) {
          if (envelope.inc === this.incarnation) this.#liveness.ownHeartbeat();
          else this.#log?.warn({ nodeId: from }, 'cluster: another process runs under this NODE_ID');
          return;
        }
        const heard = this.#liveness.heard(from, envelope.inc);
        // Another process under that id: it holds nothing stale.
        if (heard.kind === 'new' || heard.kind === 'restarted') this.#untold.delete(from);
        if (heard.kind === 'restarted') void this.#lose({ nodeId: from, incarnation: heard.replaced }, 'restarted');
        else if (heard.kind === 'back') this.#back(from, envelope.inc);
        return;
      }
      case 'lost':
        // Meant for this process only: one judged lost under this NODE_ID before is gone.
        if (!own && envelope.inc === this.incarnation) this.#judgedLostBy(from);
        return;
      case 'left': {
        // Only a node still watched: one judged dead already had its nodeLost.
        if (!own && this.#liveness.forget(from)) void this.#lose({ nodeId: from, incarnation: envelope.inc }, 'left');
        return;
      }
      case 'msg':
        if (!own) this.#dispatcher.deliver(envelope.body as ClusterMessage, from);
        return;
      case 'req':
        void this.#answer(envelope.id, envelope.body as ClusterMessage, from);
        return;
      case 'res': {
        const pending = this.#pending.get(envelope.id);
        if (!pending) return; // timed out already
        this.#pending.delete(envelope.id);
        clearTimeout(pending.timer);
        pending.resolve(envelope.reply as Reply);
        return;
      }
    }
  }

  async #answer(id: string, message: ClusterMessage, from: string): Promise<void> {
    const reply = await this.#dispatcher.answer(message, from);
    let raw: string;
    try {
      raw = JSON.stringify({ k: 'res', from: this.nodeId, id, reply } satisfies Envelope);
    } catch (err) {
      raw = JSON.stringify({ k: 'res', from: this.nodeId, id, reply: { ok: false, error: `answer is not JSON: ${(err as Error).message}` } } satisfies Envelope);
    }
    if (!this.#pub.isReady) return; // the asker's own timeout or outage handling answers it
    this.#pub.publish(KEY.to(from), raw).catch((err: Error) => this.#log?.debug({ err: err.message }, 'cluster: reply dropped'));
  }

  #fail(id: string, reason: string): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.reject(new ClusterRequestError(reason));
  }

  /** Rejects the requests waiting for `nodeId` (every request when undefined). */
  #failAll(reason: string, nodeId?: string): void {
    for (const [id, pending] of this.#pending) if (nodeId === undefined || pending.nodeId === nodeId) this.#fail(id, reason);
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  #ready(): void {
    if (!this.#pub.isReady) throw new ClusterRequestError('Redis unreachable');
  }

  #reconnectDelay(retries: number, cause: Error): number | false | Error {
    if (this.#state === 'closed') return false;
    if (this.#state === 'starting' && Date.now() - this.#startAt > START_TIMEOUT_MS) return new Error(`Redis unreachable for ${START_TIMEOUT_MS} ms: ${cause.message}`);
    return Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100);
  }

  #connectionLost(name: string, err: Error): void {
    this.#liveness.disconnected();
    // Replies arrive on the subscriber: without it, nothing pending can be answered.
    if (name === 'subscriber') this.#failAll(`no answer: connection to Redis lost (${err.message})`);
    if (this.#down || this.#state !== 'started') return;
    this.#down = true;
    this.#log?.warn({ connection: name, err: err.message }, 'cluster: Redis connection lost, retrying (the node goes on serving)');
  }

  #connectionBack(name: string): void {
    if (this.#state !== 'started') return;
    if (name === 'publisher') void this.#tick(); // re-register at once
    if (this.#down && this.#pub.isReady && this.#sub.isReady) {
      this.#down = false;
      this.#log?.info('cluster: Redis connection back');
      this.#emit('resynced');
    }
  }

  /** Stops timers and fails what waits; the connections are the caller's. */
  #halt(reason: string): void {
    this.#state = 'closed';
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#failAll(reason);
  }
}
