// placePeer: where a new peer of a room goes (SPEC "Running a cluster").
import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../src/server/cluster/cluster.js';
import { placePeer } from '../../src/server/cluster/placement.js';

const node = (id: string, peers: number, maxPeers = 10, draining = false): NodeInfo => ({ id, url: `http://${id}`, peers, maxPeers, draining, seenAt: 0 });
const room = (entries: Record<string, number> = {}) => new Map(Object.entries(entries));

describe('placePeer', () => {
  it('joins the node already holding peers of the room while it has room, even if another is emptier', () => {
    expect(placePeer({ nodes: [node('a', 0), node('b', 5)], room: room({ b: 2 }), selfId: 'a' })).toBe('b');
  });

  it('prefers the node holding most of the room', () => {
    expect(placePeer({ nodes: [node('a', 3), node('b', 6), node('c', 0)], room: room({ a: 1, b: 4 }), selfId: 'c' })).toBe('b');
  });

  it('leaves a full room node for the least-loaded node, by peers/maxPeers', () => {
    // b holds the room but is full; c is less loaded than a relative to its capacity.
    const nodes = [node('a', 2, 4), node('b', 10, 10), node('c', 3, 10)];
    expect(placePeer({ nodes, room: room({ b: 10 }), selfId: 'a' })).toBe('c');
  });

  it('still places on the least loaded when every node is full (capacity only steers)', () => {
    const nodes = [node('a', 12, 10), node('b', 11, 10)];
    expect(placePeer({ nodes, room: room({ a: 12 }), selfId: 'a' })).toBe('b');
  });

  it('never chooses a draining node, even one holding the room', () => {
    const nodes = [node('a', 1, 10, true), node('b', 8, 10)];
    expect(placePeer({ nodes, room: room({ a: 1 }), selfId: 'a' })).toBe('b');
  });

  it('keeps the peer on the deciding node when every node drains', () => {
    const nodes = [node('a', 0, 10, true), node('b', 0, 10, true)];
    expect(placePeer({ nodes, room: room(), selfId: 'b' })).toBe('b');
  });

  it('ignores directory entries of nodes that are not live', () => {
    expect(placePeer({ nodes: [node('a', 4), node('b', 1)], room: room({ gone: 3 }), selfId: 'a' })).toBe('b');
  });

  it('breaks ties for the deciding node, then by id', () => {
    expect(placePeer({ nodes: [node('a', 1), node('b', 1), node('c', 1)], room: room(), selfId: 'c' })).toBe('c');
    expect(placePeer({ nodes: [node('c', 1), node('b', 1)], room: room(), selfId: 'x' })).toBe('b');
  });
});
