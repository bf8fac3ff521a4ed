// An actor's machine drawn as nested boxes, its current states highlighted (`.mi-active`).
import { el, type PanelDom } from './panelDom.js';
import { describeState, statePaths, type ActorView, type StateShape } from './trace.js';

/** Draws `chosen`'s machine, or just its state when it has none (or `—` without any actor). */
export function renderDiagram(dom: Pick<PanelDom, 'diagramTitle' | 'diagram'>, chosen: ActorView | undefined, machines: Record<string, StateShape>): void {
  const shape = chosen?.machine ? machines[chosen.machine] : undefined;
  dom.diagramTitle.textContent = chosen ? `State diagram: ${chosen.name}${chosen.machine ? ` (${chosen.machine})` : ''}` : 'State diagram';
  dom.diagram.replaceChildren(...(shape && chosen ? [drawShape(shape, activeSet(chosen), '')] : [el('span', {}, chosen ? describeState(chosen) : '—')]));
  dom.diagram.dataset.diagramActor = chosen?.name ?? '';
}

/** Every active state path and its ancestors: `active`, `active.media`, `active.media.paused`. */
function activeSet(view: ActorView): Set<string> {
  const out = new Set<string>();
  for (const path of statePaths(view.value)) {
    const parts = path.split('.');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
  }
  return out;
}

function drawShape(shape: StateShape, active: Set<string>, path: string): HTMLElement {
  const box = el('div', { class: `mi-node mi-${shape.type}`, 'data-node': path || '(root)' });
  if (path && active.has(path)) box.classList.add('mi-active');
  box.append(el('span', { class: 'mi-label' }, path ? shape.key : `${shape.key} (machine)`));
  if (shape.states?.length) {
    const children = el('div', { class: 'mi-children' });
    for (const child of shape.states) children.append(drawShape(child, active, path ? `${path}.${child.key}` : child.key));
    box.append(children);
  }
  return box;
}
