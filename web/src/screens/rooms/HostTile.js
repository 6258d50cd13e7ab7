// HostTile.js - one host in a room grid.  It reads its own host and
// activity signals, so an event repaints this tile alone.
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { hostSig, activitySig } from '../../lib/store.js';
import { href } from '../../lib/router.js';
import { Progress } from '../../components/Bits.js';

/** what a tile shows: a running or failed step wins over the host's state */
export function tileState(h, a) {
    if (a && a.state === 'running') return 'running';
    if (a && a.state === 'failed') return 'failed';
    return h.state;
}

export function HostTile({ mac, index, sel, onPick }) {
    const h = hostSig(mac).value;
    const a = activitySig(mac).value;
    if (!h || h.deleted) return null;
    const state = tileState(h, a);
    const on = sel.value;
    const name = h.name || h.mac;
    const id = 'tile-' + mac.replace(/:/g, '');
    return html`<li
        class=${'tile st-' + state + (on ? ' selected' : '')}
        data-mac=${mac}
        data-state=${state}
        onClick=${(e) => {
            if (e.target.closest('a,input')) return;
            onPick(index, e);
        }}
    >
        <div class="tile-head">
            <input
                type="checkbox"
                id=${id}
                checked=${on}
                aria-label=${t('rooms.select_host', { name })}
                onClick=${(e) => {
                    e.preventDefault();
                    onPick(index, e);
                }}
            />
            <a href=${href('hosts', h.name || h.mac)} class="tile-name" translate=${false}>${name}</a>
        </div>
        <div class="tile-state">${t('state.' + state)}</div>
        ${a && (a.state === 'running' || a.state === 'queued' || a.state === 'failed')
            ? html`<div class="tile-step">
                  <a href=${href('jobs', a.job)}>${a.step}</a>
                  ${a.state === 'queued' ? html` · ${t('task.queued')}` : null}
              </div>`
            : null}
        ${a && a.state === 'running' ? html`<${Progress} progress=${a.progress} eta=${a.eta_s} compact />` : null}
        ${a && a.state === 'failed' && a.error ? html`<div class="tile-error" title=${a.error}>${a.error}</div>` : null}
        <div class="tile-meta" translate=${false}>${h.ip || h.mac}</div>
    </li>`;
}
