// The demo page: a customer's page as it would use the client. Its token comes from a tiny
// "customer server" route (/demo/connect) that calls the token API the way a customer's server does.
import { createMediaClient, qualityThresholds } from '/media-infra-client.js';

const $ = (sel) => document.querySelector(sel);
const form = $('#join');
const statusEl = $('#status');
const errorEl = $('#error');
const tiles = $('#tiles');
let client = null;
let localStream = null;

form.userId.value ||= `user-${Math.random().toString(36).slice(2, 7)}`;

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = !message;
}

function setStatus(state, detail = '') {
  statusEl.dataset.state = state;
  statusEl.textContent = detail ? `${state}: ${detail}` : state;
}

const closeReasons = {
  client: 'you left',
  unauthorized: 'the server refused the token',
  expired: 'the session expired: join again for a new token',
  failed: 'the server could not be reached (gave up retrying)',
};

function addTile(label, userId, stream, muted) {
  const tile = $('#tile').content.firstElementChild.cloneNode(true);
  const video = tile.querySelector('video');
  video.srcObject = stream;
  video.muted = muted;
  tile.dataset.user = userId;
  tile.querySelector('.who').textContent = label;
  const quality = document.createElement('span');
  quality.className = 'quality';
  tile.querySelector('.who').after(quality);
  tiles.append(tile);
  outlineSpeaker();
  return tile;
}

/** A tile's quality indicator: a level (`null`: not known yet) and what it was read from. */
function showQuality(tile, level, detail) {
  const el = tile.querySelector('.quality');
  el.dataset.level = level ?? '';
  el.textContent = level ?? '…';
  el.title = detail;
}

/** A score (0-10) in the words of connectionQuality, by the client's own thresholds. */
function scoreLevel(score) {
  if (score === null) return null;
  return score >= qualityThresholds.excellent.minScore ? 'excellent' : score >= qualityThresholds.good.minScore ? 'good' : 'poor';
}

/** Outlines the tile of whoever the server hears most (`activespeaker`). */
function outlineSpeaker() {
  const userId = client?.activeSpeaker?.userId;
  for (const tile of tiles.children) tile.toggleAttribute('data-speaking', tile.dataset.user === userId && tile.dataset.closed === undefined);
}

function button(tile, text, onClick) {
  const b = document.createElement('button');
  b.textContent = text;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await onClick(b);
    } catch (e) {
      showError(`${e.code ?? 'ERROR'}: ${e.message}`);
    } finally {
      b.disabled = false;
    }
  });
  tile.querySelector('.controls').append(b);
  return b;
}

/** A pause/resume toggle for a ProduceManager or ConsumeManager. */
function pauseToggle(tile, manager, words) {
  const b = button(tile, manager.paused ? words[1] : words[0], async () => {
    if (manager.paused) await manager.resume();
    else await manager.pause();
    b.textContent = manager.paused ? words[1] : words[0];
  });
}

async function join(roomId, userId) {
  showError('');
  const res = await fetch('/demo/connect', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ roomId, userId }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error?.message ?? `token request failed (${res.status})`);

  // `trace: true`: the state panel (and its Export button) show the session from its start.
  client = createMediaClient(body.url, body.token, { trace: true });
  if (panelToggle.checked) await showPanel(true, true);
  setStatus(client.state);
  client.on('state', (state) => {
    setStatus(state, state === 'closed' ? closeReasons[client.closeReason] ?? '' : '');
    form.querySelector('[type=submit]').disabled = state !== 'closed';
    $('#leave').disabled = state === 'closed';
  });
  client.on('activespeaker', outlineSpeaker);
  form.querySelector('[type=submit]').disabled = true;
  $('#leave').disabled = false;

  // 720p where the camera has it: sent as simulcast (three sizes), each receiver gets the one its tile needs.
  localStream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true });
  const tile = addTile(`${userId} (you)`, userId, localStream, true);
  const state = tile.querySelector('.state');
  const ownQuality = (q) => showQuality(tile, q, 'your connection (client.connectionQuality)');
  ownQuality(client.connectionQuality);
  client.on('connectionquality', ownQuality);
  for (const track of localStream.getTracks()) {
    const pm = await client.produceTrack(track);
    pauseToggle(tile, pm, pm.kind === 'audio' ? ['Mute', 'Unmute'] : ['Stop video', 'Start video']);
    pm.on('closed', () => (state.textContent = `${pm.kind} closed`));
  }
  state.textContent = 'sending';

  // One tile per remote user; a user's audio and video share it.
  const remote = new Map();
  client.listenTrack((cm) => {
    let entry = remote.get(cm.userId);
    if (!entry || entry.tile.dataset.closed !== undefined) {
      entry = { stream: new MediaStream(), tile: null, live: 0, scores: new Map() };
      entry.tile = addTile(cm.userId, cm.userId, entry.stream, false);
      remote.set(cm.userId, entry);
    }
    const { stream, tile } = entry;
    const label = tile.querySelector('.state');
    stream.addTrack(cm.track);
    entry.live++;
    const layer = () => (cm.layers && cm.spatialLayers > 1 ? ` (size ${cm.layers.spatialLayer + 1} of ${cm.spatialLayers})` : '');
    const describe = () => (label.textContent = cm.producerPaused ? `${cm.kind} paused by ${cm.userId}` : `receiving${layer()}`);
    describe();
    cm.on('producerpaused', describe);
    cm.on('producerresumed', describe);
    cm.on('layerschange', describe);
    // The tile's indicator: the worst score of its tracks (what reaches us of this user).
    const rescore = () => {
      entry.scores.set(cm, cm.score);
      const known = [...entry.scores].filter(([, s]) => s !== null);
      const worst = known.length ? Math.min(...known.map(([, s]) => s)) : null;
      showQuality(tile, scoreLevel(worst), known.map(([m, s]) => `${m.kind} ${s}/10`).join(', ') || 'no score yet');
    };
    rescore();
    cm.on('scorechange', rescore);
    // The video's size follows its tile, and a tile scrolled out of view receives nothing.
    if (cm.kind === 'video') cm.adaptTo(tile.querySelector('video'));
    pauseToggle(tile, cm, cm.kind === 'audio' ? ['Mute', 'Unmute'] : ['Hide', 'Show']);
    cm.on('closed', () => {
      stream.removeTrack(cm.track);
      entry.scores.delete(cm);
      if (--entry.live === 0) {
        tile.dataset.closed = '';
        label.textContent = 'left';
        outlineSpeaker();
      }
    });
    tile.querySelector('video').play().catch(() => {});
  });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  tiles.replaceChildren();
  join(form.roomId.value, form.userId.value).catch((err) => {
    showError(`${err.code ?? 'ERROR'}: ${err.message}`);
    form.querySelector('[type=submit]').disabled = false;
  });
});

// The built-in state panel, loaded only when the toggle is switched on. Without a client it can
// still replay a trace file (its Load… button).
const panelToggle = $('#panel-toggle');
let panel = null;

async function showPanel(on, replace = false) {
  if (panel && (!on || replace || !panel.element.isConnected)) {
    const old = panel;
    panel = null;
    old.close();
  }
  document.body.classList.toggle('with-panel', on);
  if (!on || panel) return;
  const current = client ? await client.showPanel() : (await import('/media-infra-inspector.js')).mountPanel();
  panel = current;
  // its own × button closes it: keep the toggle in step
  new MutationObserver((_, observer) => {
    if (current.element.isConnected) return;
    observer.disconnect();
    if (panel !== current) return;
    panel = null;
    panelToggle.checked = false;
    document.body.classList.remove('with-panel');
  }).observe(current.element.parentElement, { childList: true });
}

panelToggle.addEventListener('change', () => {
  showPanel(panelToggle.checked).catch((err) => showError(`state panel: ${err.message}`));
});

$('#leave').addEventListener('click', async () => {
  await client?.close();
  localStream?.getTracks().forEach((t) => t.stop());
  tiles.replaceChildren();
});
