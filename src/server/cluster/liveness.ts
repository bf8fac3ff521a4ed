// Which other nodes are dead, judged by this node from its own observations (local monotonic
// time, never another machine's clock). A node is dead once its heartbeats have been silent for
// `deadMs` while this node's own path through Redis was working all that time. That path is
// proven end to end by this node's own heartbeat coming back on its subscription: a Redis
// restart, a cut connection, a frozen Redis or this process stalling all break that run, and
// silence is then counted only from when the run began again. So a survivor never declares a
// node dead for silence it could not have heard.
//
// A node judged dead may not be: its own process stalled longer than `deadMs` (a long GC pause, a
// frozen VM, SIGSTOP) or it alone lost Redis for that long. So the incarnations judged dead are
// remembered, and a heartbeat of one of them later is a node "back", not a new node.

export interface LostNode {
  nodeId: string;
  /** The process (incarnation) that is gone: a node restarted under the same id is another one. */
  incarnation: string;
  /** How long it had been silent when judged dead. */
  silentMs?: number;
}

interface Seen {
  incarnation: string;
  heardAt: number;
}

/**
 * What a heartbeat says of its node: `new` (not watched: first heard, or a new process after one
 * judged dead), `alive` (watched, same process), `restarted` (watched, but another process: the
 * one it replaces is gone, before it was judged dead) or `back` (the very process judged dead:
 * it was alive all along, and whatever was dropped with it is stale at both ends).
 */
export type Heard = { kind: 'new' | 'alive' | 'back' } | { kind: 'restarted'; replaced: string };

export class Liveness {
  readonly #seen = new Map<string, Seen>();
  /** The incarnation last judged dead, by node: one entry per node id ever judged dead (a few bytes each). */
  readonly #judgedDead = new Map<string, string>();
  /** Start of the current unbroken run of this node's own heartbeats coming back. */
  #healthySince: number | undefined;
  #ownHeardAt: number | undefined;

  /**
   * @param deadMs silence after which a node is dead
   * @param maxOwnGap longest gap between two of this node's own heartbeats still counted as one run
   */
  constructor(
    private readonly deadMs: number,
    private readonly maxOwnGap: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** This node's own heartbeat came back through Redis. */
  ownHeartbeat(): void {
    const now = this.now();
    if (this.#ownHeardAt === undefined || now - this.#ownHeardAt > this.maxOwnGap) this.#healthySince = now;
    this.#ownHeardAt = now;
  }

  /** A connection to Redis dropped: nothing heard until the next run of own heartbeats counts. */
  disconnected(): void {
    this.#healthySince = undefined;
    this.#ownHeardAt = undefined;
  }

  /** How long this node's path through Redis has been proven healthy (0 when it is not now). */
  healthyFor(): number {
    const now = this.now();
    if (this.#healthySince === undefined || this.#ownHeardAt === undefined || now - this.#ownHeardAt > this.maxOwnGap) return 0;
    return now - this.#healthySince;
  }

  /** A heartbeat of `nodeId` from its process `incarnation`: what it says (see Heard). */
  heard(nodeId: string, incarnation: string): Heard {
    const before = this.#seen.get(nodeId);
    this.#seen.set(nodeId, { incarnation, heardAt: this.now() });
    if (before) return before.incarnation === incarnation ? { kind: 'alive' } : { kind: 'restarted', replaced: before.incarnation };
    const judged = this.#judgedDead.get(nodeId);
    // Heard again, or another process under its id: either way that judgement is settled.
    this.#judgedDead.delete(nodeId);
    return { kind: judged === incarnation ? 'back' : 'new' };
  }

  /** A node `back` could not be told so (not listening yet): judged dead again, so its next heartbeat is `back` again. */
  untold(nodeId: string, incarnation: string): void {
    if (this.#seen.get(nodeId)?.incarnation !== incarnation) return;
    this.#seen.delete(nodeId);
    this.#judgedDead.set(nodeId, incarnation);
  }

  /** A node listed in the registry and not heard yet: its silence is counted from now. */
  listed(nodeId: string, incarnation: string): void {
    if (!this.#seen.has(nodeId)) this.#seen.set(nodeId, { incarnation, heardAt: this.now() });
  }

  /** The node left cleanly (or was judged dead): no longer watched. Returns what was watched. */
  forget(nodeId: string): LostNode | undefined {
    const seen = this.#seen.get(nodeId);
    this.#seen.delete(nodeId);
    return seen && { nodeId, incarnation: seen.incarnation };
  }

  /** Nodes dead as of now; each is returned once (then no longer watched). */
  dead(): LostNode[] {
    if (this.healthyFor() < this.deadMs) return [];
    const now = this.now();
    const lost: LostNode[] = [];
    for (const [nodeId, seen] of this.#seen) {
      // healthyFor() ≥ deadMs, so the run began at least deadMs ago: silence before it is not counted.
      if (now - seen.heardAt >= this.deadMs) lost.push({ nodeId, incarnation: seen.incarnation, silentMs: now - seen.heardAt });
    }
    for (const { nodeId, incarnation } of lost) {
      this.#seen.delete(nodeId);
      this.#judgedDead.set(nodeId, incarnation);
    }
    return lost;
  }

  /** How long `nodeId` has been silent (for logs), or undefined if not watched. */
  silence(nodeId: string): number | undefined {
    const seen = this.#seen.get(nodeId);
    return seen && this.now() - seen.heardAt;
  }
}
