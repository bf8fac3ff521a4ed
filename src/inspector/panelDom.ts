// The state panel's elements, built once; rendering (panelRender.ts) only updates their contents.
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The elements that rendering and the controls touch. */
export interface PanelDom {
  root: HTMLElement;
  liveBtn: HTMLButtonElement;
  exportBtn: HTMLButtonElement;
  fileInput: HTMLInputElement;
  closeBtn: HTMLButtonElement;
  first: HTMLButtonElement;
  prev: HTMLButtonElement;
  slider: HTMLInputElement;
  next: HTMLButtonElement;
  last: HTMLButtonElement;
  stepLabel: HTMLDivElement;
  /** Who speaks now (call health), above the actors. */
  speaker: HTMLDivElement;
  actorList: HTMLDivElement;
  diagramTitle: HTMLHeadingElement;
  diagram: HTMLDivElement;
  eventList: HTMLDivElement;
}

/** The panel, not yet in the page: `floating` when no container was given. */
export function buildPanelDom(floating: boolean): PanelDom {
  const root = el('aside', { class: 'mi-panel', 'aria-label': 'media-infra state panel', 'data-mode': 'live' });
  if (floating) root.classList.add('mi-floating');
  const { element: header, ...headerParts } = buildHeader();
  const { element: replayBar, ...replayParts } = buildReplayBar();
  const speaker = el('div', { class: 'mi-speaker', 'data-speaker': '' });
  const actorList = el('div', { role: 'listbox', 'aria-label': 'Actors' });
  const diagramTitle = el('h3', {}, 'State diagram');
  const diagram = el('div', { 'data-diagram': '' });
  const eventList = el('div', { 'data-events': '' });
  root.append(
    header,
    replayBar,
    section('mi-actors', el('h3', {}, 'Actors'), speaker, actorList),
    section('mi-diagram', diagramTitle, diagram),
    section('mi-events', el('h3', {}, 'Recent events (redacted)'), eventList),
  );
  return { root, ...headerParts, ...replayParts, speaker, actorList, diagramTitle, diagram, eventList };
}

function buildHeader() {
  const element = el('header');
  const liveBtn = el('button', { type: 'button', 'data-action': 'live', 'aria-pressed': 'true' }, 'Live');
  const exportBtn = el('button', { type: 'button', 'data-action': 'export', title: 'Save the session as a redacted JSON trace' }, 'Export');
  const loadLabel = el('label', { class: 'mi-load', title: 'Replay a trace file' }, 'Load…');
  const fileInput = el('input', { type: 'file', accept: '.json,application/json', hidden: '', 'data-action': 'load' });
  loadLabel.append(fileInput);
  const closeBtn = el('button', { type: 'button', 'data-action': 'close', 'aria-label': 'Close the panel' }, '×');
  element.append(el('strong', {}, 'media-infra state'), liveBtn, exportBtn, loadLabel, closeBtn);
  return { element, liveBtn, exportBtn, fileInput, closeBtn };
}

/** Shown in replay only (the stylesheet hides it in live mode). */
function buildReplayBar() {
  const element = el('div', { class: 'mi-replay' });
  const first = el('button', { type: 'button', 'data-action': 'first', 'aria-label': 'First step' }, '⏮');
  const prev = el('button', { type: 'button', 'data-action': 'prev', 'aria-label': 'Previous step' }, '◀');
  const slider = el('input', { type: 'range', min: '0', max: '0', value: '0', 'aria-label': 'Step' });
  const next = el('button', { type: 'button', 'data-action': 'next', 'aria-label': 'Next step' }, '▶');
  const last = el('button', { type: 'button', 'data-action': 'last', 'aria-label': 'Last step' }, '⏭');
  const stepLabel = el('div', { class: 'mi-step', 'data-step': '' });
  element.append(first, prev, slider, next, last, stepLabel);
  return { element, first, prev, slider, next, last, stepLabel };
}

function section(className: string, title: HTMLElement, ...body: HTMLElement[]): HTMLElement {
  const element = el('section', { class: className });
  element.append(title, ...body);
  return element;
}
