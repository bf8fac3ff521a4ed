// The handler tables behind Cluster.onMessage/onRequest, shared by both implementations: the
// transport (in-process or Redis) only carries messages, this decides what runs and turns a
// request handler's result or throw into a plain JSON reply.
import type { Logger } from '../logger.js';
import { ClusterRequestError, type ClusterMessage, type MessageHandler, type RequestHandler } from './cluster.js';

/** A request's answer as it crosses between nodes. */
export type Reply = { ok: true; value?: unknown } | { ok: false; error: string };

export class Dispatcher {
  readonly #messages = new Map<string, MessageHandler>();
  readonly #requests = new Map<string, RequestHandler>();

  constructor(private readonly logger?: Logger) {}

  onMessage(type: string, handler: MessageHandler): void {
    this.#messages.set(type, handler);
  }

  onRequest(type: string, handler: RequestHandler): void {
    this.#requests.set(type, handler);
  }

  /** Runs the message's handler; a throw is logged, never passed back to the transport. */
  deliver(message: ClusterMessage, from: string): void {
    const handler = this.#messages.get(message.type);
    if (!handler) {
      this.logger?.debug({ type: message.type, from }, 'cluster message without a handler');
      return;
    }
    try {
      handler(message, from);
    } catch (err) {
      this.logger?.error({ type: message.type, from, err: (err as Error).message }, 'cluster message handler threw');
    }
  }

  /** Runs the request's handler; never rejects (a throw becomes `{ ok: false }`). */
  async answer(message: ClusterMessage, from: string): Promise<Reply> {
    const handler = this.#requests.get(message.type);
    if (!handler) return { ok: false, error: `no handler for request '${message.type}'` };
    try {
      return { ok: true, value: await handler(message, from) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** What the other side receives: plain JSON, as Redis carries it (so both clusters refuse the same payloads). */
export function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** A reply as the asking node sees it: the value, or a ClusterRequestError naming the node. */
export function settle<T>(reply: Reply, nodeId: string): T {
  if (reply.ok) return reply.value as T;
  throw new ClusterRequestError(`node ${nodeId}: ${reply.error}`);
}

/** `promise`, or a ClusterRequestError once `timeoutMs` passed without an answer. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, nodeId: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterRequestError(`no answer from node ${nodeId} in ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
