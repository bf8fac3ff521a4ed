// Which node a client should use: where the token API sends a new peer, and the order in which a
// `welcome` lists the other nodes for the client's reconnects. Both read the same registry and
// room directory (Cluster) and rank nodes with the same rule (cluster/placement.ts), so a client
// that loses its node tries first where a new peer of its room would be placed.
import type { Cluster, NodeInfo } from '../cluster/cluster.js';
import { placePeer } from '../cluster/placement.js';
import { MAX_WELCOME_NODES } from '../../protocol/messages.js';

/** `ws(s)://host/base/v1/ws` of a node's http(s) PUBLIC_URL. */
export function socketUrl(publicUrl: URL): string {
  const base = publicUrl.pathname.replace(/\/+$/, '');
  return `${publicUrl.protocol === 'https:' ? 'wss:' : 'ws:'}//${publicUrl.host}${base}/v1/ws`;
}

/** The live node that should hold a new peer of `roomId` (this node when the registry cannot be read). */
export async function placeNewPeer(cluster: Cluster, roomId: string): Promise<NodeInfo> {
  const [nodes, room] = await Promise.all([cluster.nodes(), cluster.roomNodes(roomId)]);
  const chosen = placePeer({ nodes, room, selfId: cluster.nodeId });
  return nodes.find((n) => n.id === chosen) ?? nodes.find((n) => n.id === cluster.nodeId)!;
}

/**
 * The other live, non-draining nodes' socket URLs, best first for a peer of `roomId`: each is the
 * node placement would choose if the ones before it were gone. Empty on a single node.
 */
export async function otherNodeUrls(cluster: Cluster, roomId: string): Promise<string[]> {
  if (!cluster.multiNode) return [];
  const [all, room] = await Promise.all([cluster.nodes(), cluster.roomNodes(roomId)]);
  let left = all.filter((n) => n.id !== cluster.nodeId && !n.draining);
  const ordered: NodeInfo[] = [];
  while (left.length > 0) {
    const next = placePeer({ nodes: left, room, selfId: '' });
    ordered.push(left.find((n) => n.id === next)!);
    left = left.filter((n) => n.id !== next);
  }
  return ordered.slice(0, MAX_WELCOME_NODES).map((n) => socketUrl(new URL(n.url)));
}
