// Host.js - one host (#/hosts/KEY): properties and labels (editable),
// inventory, the boot timeline (live), its current or last job with each
// step's state and error, and the actions.
// Requests: GET /hosts?q=KEY&include=activity, GET /hosts/{k}/events,
// then GET /jobs/{id} of its activity.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs, enc } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { hostSig, activitySig, jobSig, putHost, putActivity, putJob, watchJobs, onEvent } from '../../lib/store.js';
import { can } from '../../lib/session.js';
import { href, go } from '../../lib/router.js';
import { time, ago } from '../../lib/format.js';
import { Page, Badge, Loading, Progress } from '../../components/Bits.js';
import { EventList } from '../../components/Events.js';
import { FormError } from '../../components/Form.js';
import { tileState } from '../rooms/HostTile.js';
import { ACTIONS, ActionDialog, ActionResult } from '../rooms/Actions.js';
import { StepChips } from '../jobs/JobPage.js';
import { Inventory } from './Inventory.js';
import { HostForm } from './HostForm.js';

async function findHost(key) {
    try {
        const page = await api.get('/hosts' + qs({ q: key, include: 'activity', limit: 50 }));
        const k = key.toLowerCase();
        const h = page.items.find((x) => x.mac === k || (x.name || '').toLowerCase() === k);
        if (h) return h;
    } catch (e) {
        if (e.status !== 400) throw e;
    }
    return api.get('/hosts/' + enc(key)); // a server without ?q= and activity
}

export function Host({ name: key }) {
    const [action, setAction] = useState(null);
    const [result, setResult] = useState(null);
    const [live, setLive] = useState([]);
    const [err, setErr] = useState(null);
    useEffect(() => watchJobs(), []);
    const st = useLoad(async () => {
        const [host, ev] = await Promise.all([findHost(key), api.get(`/hosts/${enc(key)}/events?limit=100`)]);
        putHost(host);
        if ('activity' in host) putActivity(host.mac, host.activity);
        if (host.activity && host.activity.job) {
            try {
                putJob(await api.get('/jobs/' + enc(host.activity.job)));
            } catch {
                /* the job was deleted */
            }
        }
        setLive([]);
        return { mac: host.mac, events: ev.items || [] };
    }, [key]);
    const mac = st.data && st.data.mac;
    useEffect(
        () => (mac ? onEvent((ev) => ev.kind === 'host' && ev.key === mac && setLive((l) => [ev, ...l].slice(0, 100))) : undefined),
        [mac]
    );
    const h = mac ? hostSig(mac).value : null;
    const a = mac ? activitySig(mac).value : null;
    const job = a && a.job ? jobSig(a.job).value : null;
    const mine = job && (job.hosts || []).find((x) => x.mac === mac);
    async function remove() {
        if (!confirm(t('host.confirm_delete', { name: h.name || h.mac }))) return;
        try {
            await api.del('/hosts/' + enc(h.mac));
            go('#/rooms');
        } catch (e) {
            setErr(e);
        }
    }
    return html`<${Page}
        title=${h ? h.name || h.mac : key}
        sub=${h ? html`<span class="mono">${h.mac}</span> · ${t('host.last_seen')} ${ago(h.last_seen)}` : null}
        actions=${h ? html`<${Badge} state=${tileState(h, a)} />` : null}
    >
        <${Loading} st=${st}>
            ${() =>
                !h
                    ? null
                    : html`
                          ${can('operator')
                              ? html`<div class="act-buttons" role="group" aria-label=${t('host.actions')}>
                                    ${ACTIONS.map(([x]) => html`<button type="button" onClick=${() => setAction(x)}>${t('act.' + x)}</button>`)}
                                    <button type="button" class="danger" onClick=${remove}>${t('delete')}</button>
                                </div>`
                              : null}
                          <${ActionResult} res=${result} onClose=${() => setResult(null)} />
                          <${FormError} error=${err} />
                          <div class="cols">
                              <div>
                                  <${HostForm} key=${h.rev} host=${h} onSaved=${(x) => x.name && x.name !== key && x.mac !== key && go(href('hosts', x.name))} />
                                  <h2>${t('host.job')}</h2>
                                  ${a && mine
                                      ? html`<p>
                                                <a href=${href('jobs', a.job)}>${t('job.title', { id: a.job })}</a>
                                                <${Badge} state=${mine.state} label=${t('task.' + mine.state)} />
                                            </p>
                                            <${StepChips} steps=${mine.steps || []} />
                                            ${a.state === 'running' ? html`<${Progress} progress=${a.progress} eta=${a.eta_s} />` : null}
                                            <ul class="step-list">
                                                ${(mine.steps || []).map(
                                                    (s) => html`<li>
                                                        <strong>${s.step}</strong> ${t('task.' + s.state)}
                                                        ${s.started_at ? ` · ${time(s.started_at)}` : ''}
                                                        ${s.finished_at ? ` → ${time(s.finished_at)}` : ''}
                                                        ${s.error ? html`<div class="field-error">${s.error}</div>` : null}
                                                        ${s.output ? html`<pre>${s.output}</pre>` : null}
                                                    </li>`
                                                )}
                                            </ul>`
                                      : html`<p class="empty">${t('host.nojob')}</p>`}
                                  <h2>${t('host.inventory')}</h2>
                                  <${Inventory} hw=${h.hardware} />
                              </div>
                              <div>
                                  <h2>${t('host.timeline')}</h2>
                                  <${EventList} events=${live.concat(st.data.events)} showKey=${false} />
                              </div>
                          </div>
                      `}
        <//>
        ${action && h
            ? html`<${ActionDialog}
                  action=${action}
                  hosts=${[h]}
                  groups=${null}
                  onClose=${() => setAction(null)}
                  onDone=${(r) => {
                      setAction(null);
                      setResult(r);
                  }}
              />`
            : null}
    <//>`;
}
