// The panel's controls: each button, the slider, the file input and the actor rows call the panel.
import type { InspectorPanel } from './panel.js';
import { el, type PanelDom } from './panelDom.js';
import type { PanelState } from './panelState.js';
import { traceToJson } from './trace.js';

type Actions = Pick<InspectorPanel, 'live' | 'close' | 'step' | 'loadTrace' | 'trace'>;

export function wireControls(dom: PanelDom, panel: Actions, state: PanelState, render: () => void): void {
  if (!state.live) dom.liveBtn.disabled = true;
  dom.liveBtn.addEventListener('click', () => panel.live());
  dom.closeBtn.addEventListener('click', () => panel.close());
  dom.first.addEventListener('click', () => panel.step(0));
  dom.prev.addEventListener('click', () => panel.step(state.step - 1));
  dom.next.addEventListener('click', () => panel.step(state.step + 1));
  dom.last.addEventListener('click', () => panel.step(Number.MAX_SAFE_INTEGER));
  dom.slider.addEventListener('input', () => panel.step(Number(dom.slider.value)));
  dom.exportBtn.addEventListener('click', () => download(traceToJson(panel.trace(), state.live?.secrets ?? [])));
  dom.fileInput.addEventListener('change', () => void loadFile(dom, panel));
  // one listener for every row: rows are rebuilt on each render
  dom.actorList.addEventListener('click', (event) => {
    const actor = (event.target as Element).closest<HTMLElement>('[data-actor]')?.dataset.actor;
    if (actor === undefined) return;
    state.select(actor);
    render();
  });
}

/** Saves a trace's text as a file, through a link clicked once. */
function download(text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = el('a', { href: url, download: `media-infra-trace-${new Date().toISOString().replace(/[:.]/g, '-')}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}

async function loadFile({ fileInput, stepLabel }: PanelDom, panel: Actions): Promise<void> {
  const file = fileInput.files?.[0];
  if (!file) return;
  try {
    panel.loadTrace(await file.text());
  } catch (error) {
    stepLabel.textContent = `could not load ${file.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
  fileInput.value = '';
}
