// The producers other nodes hold in one room, by node. Fed by two sources that never cross: a
// node's answer to `room.producers` (its state at that moment) and the events it broadcasts. One
// node's messages arrive in the order it sent them, so an answer replaces everything known of that
// node and later events apply on top of it.
import type { RemoteProducer } from './pipeMessages.js';

export interface RemoteEntry {
  nodeId: string;
  /** Kept current: `paused` changes in place, so a pipe being set up reads the latest state. */
  info: RemoteProducer;
}

export interface Replaced {
  opened: RemoteEntry[];
  closed: RemoteEntry[];
  /** Known before and still open: their `paused` may have changed. */
  kept: RemoteEntry[];
}

export class RemoteProducers {
  private readonly byId = new Map<string, RemoteEntry>();

  get(producerId: string): RemoteEntry | undefined {
    return this.byId.get(producerId);
  }

  all(): RemoteEntry[] {
    return [...this.byId.values()];
  }

  /** A producer of `nodeId` went live; undefined when it was already known (an answer listed it). */
  open(nodeId: string, info: RemoteProducer): RemoteEntry | undefined {
    const known = this.byId.get(info.producerId);
    if (known) {
      known.info.paused = info.paused;
      return undefined;
    }
    const entry = { nodeId, info: { ...info } };
    this.byId.set(info.producerId, entry);
    return entry;
  }

  /** Only the owning node may change its producers: a stray message from another is ignored. */
  setPaused(nodeId: string, producerId: string, paused: boolean): RemoteEntry | undefined {
    const entry = this.byId.get(producerId);
    if (entry?.nodeId !== nodeId) return undefined;
    entry.info.paused = paused;
    return entry;
  }

  close(nodeId: string, producerId: string): RemoteEntry | undefined {
    const entry = this.byId.get(producerId);
    if (entry?.nodeId !== nodeId) return undefined;
    this.byId.delete(producerId);
    return entry;
  }

  /** `nodeId`'s answer: what it holds now, which replaces what was known of it. */
  replace(nodeId: string, producers: RemoteProducer[]): Replaced {
    const out: Replaced = { opened: [], closed: [], kept: [] };
    const now = new Set(producers.map((p) => p.producerId));
    for (const entry of this.ofNode(nodeId)) {
      if (!now.has(entry.info.producerId)) {
        this.byId.delete(entry.info.producerId);
        out.closed.push(entry);
      }
    }
    for (const info of producers) {
      const opened = this.open(nodeId, info);
      if (opened) out.opened.push(opened);
      else out.kept.push(this.byId.get(info.producerId)!);
    }
    return out;
  }

  /** Forgets every producer of `nodeId` (it closed the room or is gone). */
  dropNode(nodeId: string): RemoteEntry[] {
    const gone = this.ofNode(nodeId);
    for (const entry of gone) this.byId.delete(entry.info.producerId);
    return gone;
  }

  private ofNode(nodeId: string): RemoteEntry[] {
    return this.all().filter((e) => e.nodeId === nodeId);
  }
}
