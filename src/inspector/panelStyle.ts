// The state panel's look: one <style> in the page, shared by every panel.
import { el } from './panelDom.js';

const STYLE = `
.mi-panel{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#ddd;background:#15171c;border-left:1px solid #333;display:flex;flex-direction:column;box-sizing:border-box;overflow:hidden}
.mi-panel.mi-floating{position:fixed;top:0;right:0;width:min(480px,100vw);height:100vh;z-index:2147483000;box-shadow:-4px 0 16px #0008}
.mi-panel *{box-sizing:border-box}
.mi-panel header{display:flex;gap:4px;align-items:center;padding:6px 8px;background:#1e2129;border-bottom:1px solid #333;flex-wrap:wrap}
.mi-panel header strong{margin-right:auto;font-size:12px;color:#fff}
.mi-panel button,.mi-panel label.mi-load{font:inherit;background:#2a2f3a;color:#ddd;border:1px solid #444;border-radius:3px;padding:2px 7px;cursor:pointer}
.mi-panel button[aria-pressed=true]{background:#3b6ea8;color:#fff;border-color:#3b6ea8}
.mi-panel button:disabled{opacity:.4;cursor:default}
.mi-panel .mi-replay{display:none;gap:4px;align-items:center;padding:6px 8px;border-bottom:1px solid #333;flex-wrap:wrap}
.mi-panel[data-mode=replay] .mi-replay{display:flex}
.mi-panel .mi-replay input[type=range]{flex:1;min-width:120px}
.mi-panel .mi-step{width:100%;color:#9ab}
.mi-panel section{padding:6px 8px;border-bottom:1px solid #2a2a2a;overflow:auto}
.mi-panel h3{margin:0 0 4px;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#889}
.mi-panel .mi-actors{flex:0 0 auto;max-height:34vh}
.mi-panel .mi-diagram{flex:0 0 auto;max-height:30vh}
.mi-panel .mi-events{flex:1 1 auto;min-height:80px}
.mi-panel .mi-actor{display:flex;flex-wrap:wrap;gap:0 8px;padding:1px 4px;border-radius:3px;cursor:pointer;white-space:nowrap}
.mi-panel .mi-actor:hover{background:#222733}
.mi-panel .mi-actor[aria-selected=true]{background:#263349}
.mi-panel .mi-actor .mi-name{color:#8cf;flex:0 0 auto}
.mi-panel .mi-actor .mi-state{color:#dfd;overflow:hidden;text-overflow:ellipsis;flex:1 1 0;min-width:0}
.mi-panel .mi-actor[data-status=stopped],.mi-panel .mi-actor[data-status=done],.mi-panel .mi-actor[data-status=error]{opacity:.5}
.mi-panel .mi-actor.mi-changed .mi-state{color:#ff6}
.mi-panel .mi-actor .mi-health{color:#9ab;flex-basis:100%;padding-left:1.5em;overflow:hidden;text-overflow:ellipsis}
.mi-panel .mi-speaker{color:#fc6;padding:0 4px 4px}
.mi-panel .mi-node{border:1px solid #3a3f4b;border-radius:5px;padding:2px 5px;margin:2px;display:inline-flex;flex-direction:column;vertical-align:top;color:#99a}
.mi-panel .mi-node>.mi-children{display:flex;flex-wrap:wrap}
.mi-panel .mi-node.mi-parallel>.mi-children>.mi-node{border-style:dashed}
.mi-panel .mi-node.mi-final>.mi-label::after{content:" ◉"}
.mi-panel .mi-node.mi-active{border-color:#4caf50;color:#fff;background:#1d2b1f}
.mi-panel .mi-node.mi-active>.mi-label{font-weight:bold;color:#8f8}
.mi-panel .mi-event{white-space:pre-wrap;word-break:break-all;padding:2px 0;border-bottom:1px dotted #2a2a2a}
.mi-panel .mi-event.mi-current{background:#3a3320}
.mi-panel .mi-event .mi-type{color:#fc6}
.mi-panel .mi-event .mi-payload{color:#889}
`;

export function installStyle(): void {
  if (document.getElementById('mi-panel-style')) return;
  document.head.append(el('style', { id: 'mi-panel-style' }, STYLE));
}
