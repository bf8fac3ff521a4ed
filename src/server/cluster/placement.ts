// Where a new peer of a room goes (SPEC "Running a cluster"): with the room's other peers while
// that node has room (fewer pipes between nodes), else on the least-loaded node. Capacity only
// steers: when every node is full the least loaded still takes the peer. A draining node takes
// nobody unless every node drains (then the deciding node keeps the peer rather than refuse it).
import type { NodeInfo } from './cluster.js';

export interface PlacementInput {
  /** Live nodes, the deciding one included (Cluster.nodes()). */
  nodes: readonly NodeInfo[];
  /** The room directory for the peer's room: peers each node holds (Cluster.roomNodes()). */
  room: ReadonlyMap<string, number>;
  /** The node deciding. */
  selfId: string;
}

/** The id of the node that should hold the new peer. */
export function placePeer({ nodes, room, selfId }: PlacementInput): string {
  const open = nodes.filter((n) => !n.draining);
  if (open.length === 0) return selfId;
  const inRoom = (n: NodeInfo) => room.get(n.id) ?? 0;
  const withRoom = open.filter((n) => inRoom(n) > 0 && n.peers < n.maxPeers);
  if (withRoom.length > 0) return best(withRoom, (a, b) => inRoom(b) - inRoom(a) || byLoad(a, b), selfId);
  return best(open, byLoad, selfId);
}

const load = (n: NodeInfo) => n.peers / Math.max(1, n.maxPeers);
const byLoad = (a: NodeInfo, b: NodeInfo) => load(a) - load(b) || a.peers - b.peers;

/** The first node by `order`; ties go to the deciding node, then to the smaller id (stable across nodes). */
function best(nodes: NodeInfo[], order: (a: NodeInfo, b: NodeInfo) => number, selfId: string): string {
  const sorted = [...nodes].sort((a, b) => order(a, b) || Number(b.id === selfId) - Number(a.id === selfId) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted[0]!.id;
}
