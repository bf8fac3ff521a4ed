// The actors as the panel lists them: each parent followed by its children, with its depth.
import type { ActorView } from './trace.js';

const ENDED = new Set(['stopped', 'done', 'error']);

export interface TreeRow {
  actor: ActorView;
  depth: number;
}

export function actorTree(actors: Map<string, ActorView>): TreeRow[] {
  // ended helper actors (a finished request, an old socket) would only clutter the tree
  const shown = [...actors.values()].filter((a) => a.machine || !ENDED.has(a.status));
  const names = new Set(shown.map((a) => a.name));
  const byParent = new Map<string | undefined, ActorView[]>();
  for (const a of shown) {
    const parent = a.parent && names.has(a.parent) ? a.parent : undefined;
    byParent.set(parent, [...(byParent.get(parent) ?? []), a]);
  }
  const rows: TreeRow[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const actor of byParent.get(parent) ?? []) {
      rows.push({ actor, depth });
      walk(actor.name, depth + 1);
    }
  };
  walk(undefined, 0);
  return rows;
}
