// JobPage.js - one job (#/jobs/ID): a row per host with its progress bar,
// phase, rate, ETA and error, live from the event stream; cancel and retry.
// A host the server could not wake, or that waits, says why in the error
// column (hosts[].wake, hosts[].waiting_reason: docs/api.md, Jobs).
// Requests: GET /jobs/{id}; its task events update the rows by themselves
// (lib/store.js), and only events that do not say enough make it read the
// job again (throttled).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc } from '../../lib/api.js';
import { jobSig, putJob, watchJobs, activityIn, epoch } from '../../lib/store.js';
import { can } from '../../lib/session.js';
import { href } from '../../lib/router.js';
import { time, rate, duration, num } from '../../lib/format.js';
import { Page, Badge, Progress } from '../../components/Bits.js';
import { FormError } from '../../components/Form.js';

export function StepChips({ steps }) {
    return html`<ol class="chips">
        ${steps.map(
            (s) => html`<li class=${'chip st-' + s.state} title=${s.error || ''}>
                ${s.step} <span class="sr-only">${t('task.' + s.state)}</span>
            </li>`
        )}
    </ol>`;
}

/** why a host has no progress: its wake went wrong, or it waits */
function hostNote(h) {
    const w = h.wake;
    const notes = [];
    if (w && (w.state === 'skipped' || w.state === 'failed')) notes.push(t('job.wake_' + w.state, { why: w.why || w.error || '' }));
    if (h.state === 'waiting-for-host' && h.waiting_reason) notes.push(t('job.waiting_why', { why: h.waiting_reason }));
    return notes.join(' · ');
}

export function JobHostRow({ job, h }) {
    const a = activityIn(job, h) || {};
    const p = a.state === 'running' ? a.progress : null;
    return html`<tr data-mac=${h.mac} data-state=${h.state}>
        <th scope="row"><a href=${href('hosts', h.name || h.mac)}>${h.name || h.mac}</a></th>
        <td><${Badge} state=${h.state} label=${t('task.' + h.state)} /></td>
        <td><${StepChips} steps=${h.steps || []} /></td>
        <td class="w-prog">${p ? html`<${Progress} progress=${p} />` : a.state === 'done' ? '✓' : ''}</td>
        <td>${p?.phase || ''}</td>
        <td class="num">${p ? rate(p.rate) : ''}</td>
        <td class="num">${p && a.eta_s !== null && a.eta_s !== undefined ? duration(a.eta_s) : ''}</td>
        <td class="err">${a.error || hostNote(h)}</td>
    </tr>`;
}

export function JobPage({ id }) {
    const sig = jobSig(id);
    const [err, setErr] = useState(null);
    const [busy, setBusy] = useState(false);
    const ep = epoch.value;
    useEffect(() => watchJobs(id), [id]);
    useEffect(() => {
        setErr(null);
        api.get('/jobs/' + enc(id)).then(putJob, setErr);
    }, [id, ep]);
    const job = sig.value;
    async function act(what) {
        setBusy(true);
        setErr(null);
        try {
            putJob(await api.post(`/jobs/${enc(id)}/${what}`));
        } catch (e) {
            setErr(e);
        } finally {
            setBusy(false);
        }
    }
    if (!job) return html`<${Page} title=${t('job.title', { id })}>
        ${err ? html`<${FormError} error=${err} />` : html`<p class="loading">${t('loading')}</p>`}
    <//>`;
    const hs = job.hosts || [];
    const counts = {};
    for (const h of hs) counts[h.state] = (counts[h.state] || 0) + 1;
    const finished = ['done', 'failed', 'cancelled'].includes(job.state);
    return html`<${Page}
        title=${t('job.title', { id: job.id })}
        sub=${(job.spec?.steps || []).join(' → ')}
        actions=${can('operator')
            ? html`<button type="button" disabled=${busy || finished} onClick=${() => act('cancel')}>${t('job.cancel')}</button>
                  <button type="button" disabled=${busy || !(counts.failed || counts.cancelled || job.state === 'failed' || job.state === 'cancelled')} onClick=${() => act('retry')}>
                      ${t('job.retry')}
                  </button>`
            : null}
    >
        <dl class="facts inline">
            <dt>${t('f.state')}</dt>
            <dd><${Badge} state=${job.state} label=${t('task.' + job.state)} /></dd>
            <dt>${t('job.hosts')}</dt>
            <dd>${num(hs.length)} ${Object.entries(counts).map(([s, n]) => html` <${Badge} state=${s} label=${`${t('task.' + s)} ${n}`} />`)}</dd>
            <dt>${t('job.when')}</dt>
            <dd>${job.spec?.when ? t('when.' + String(job.spec.when).split(':')[0]) + (String(job.spec.when).startsWith('at:') ? ' ' + time(job.spec.when.slice(3)) : '') : '–'}</dd>
            <dt>${t('job.wake')}</dt>
            <dd>${job.spec?.wake ? t('yes') : t('no')}</dd>
            <dt>${t('job.parallel')}</dt>
            <dd>${job.spec?.parallel ? num(job.spec.parallel) : t('job.unlimited')}</dd>
            <dt>${t('f.created')}</dt>
            <dd>${time(job.created_at)} · ${job.created_by}</dd>
        </dl>
        <${FormError} error=${err} />
        <div class="table-wrap">
            <table class="job-hosts">
                <thead>
                    <tr>
                        <th scope="col">${t('f.host')}</th>
                        <th scope="col">${t('f.state')}</th>
                        <th scope="col">${t('job.steps')}</th>
                        <th scope="col">${t('progress')}</th>
                        <th scope="col">${t('job.phase')}</th>
                        <th scope="col">${t('job.rate')}</th>
                        <th scope="col">${t('eta')}</th>
                        <th scope="col">${t('error')}</th>
                    </tr>
                </thead>
                <tbody>
                    ${hs.map((h) => html`<${JobHostRow} key=${h.mac} job=${job} h=${h} />`)}
                </tbody>
            </table>
        </div>
    <//>`;
}
