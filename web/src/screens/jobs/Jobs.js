// Jobs.js - the jobs, newest first (#/jobs), paged by job id.
// Requests: GET /jobs?limit=&before=.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { href } from '../../lib/router.js';
import { time, num } from '../../lib/format.js';
import { Page, Badge, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { JobCreate } from './JobCreate.js';

const LIMIT = 50;

export function Jobs() {
    const [before, setBefore] = useState([]); // stack of cursors
    const [creating, setCreating] = useState(false);
    const cur = before[before.length - 1];
    const st = useLoad(() => api.get('/jobs' + qs({ limit: LIMIT, after: cur })), [cur], {
        kinds: ['job'],
        delay: 1000,
    });
    return html`<${Page}
        title=${t('nav.jobs')}
        actions=${can('operator')
            ? html`<button type="button" class="primary" onClick=${() => setCreating(true)}>${t('job.new')}</button>`
            : null}
    >
        <${Loading} st=${st}>
            ${(d) => {
                const jobs = d.items || [];
                return html`<${Table}
                        rows=${jobs}
                        rowKey=${(j) => j.id}
                        empty=${t('job.none')}
                        cols=${[
                            { label: '#', render: (j) => html`<a href=${href('jobs', j.id)}>${t('job.title', { id: j.id })}</a>` },
                            { label: t('f.state'), render: (j) => html`<${Badge} state=${j.state} label=${t('task.' + j.state)} />` },
                            { label: t('job.steps'), render: (j) => (j.spec?.steps || []).join(' → ') },
                            { label: t('job.targets'), render: (j) => targetsText(j.spec?.targets) },
                            {
                                label: t('job.hosts'),
                                render: (j) =>
                                    html`${num(j.host_count)} ${Object.entries(j.host_states || {}).map(
                                        ([s, n]) => html` <${Badge} state=${s} label=${`${t('task.' + s)} ${n}`} />`
                                    )}`,
                            },
                            { label: t('f.created'), render: (j) => `${time(j.created_at)} · ${j.created_by}` },
                        ]}
                    />
                    <nav class="pager" aria-label=${t('pager.label')}>
                        <button type="button" disabled=${!before.length} onClick=${() => setBefore(before.slice(0, -1))}>${t('pager.newer')}</button>
                        <button type="button" disabled=${d.next == null} onClick=${() => setBefore([...before, d.next])}>
                            ${t('pager.older')}
                        </button>
                    </nav>`;
            }}
        <//>
        ${creating ? html`<${JobCreate} onClose=${() => setCreating(false)} />` : null}
    <//>`;
}

export function targetsText(tg) {
    if (!tg) return '';
    const out = [];
    if (tg.room) out.push(`${t('f.room')} ${tg.room}`);
    if (tg.group) out.push(`${t('f.group')} ${tg.group}`);
    if (tg.selector) out.push(tg.selector);
    if (tg.hosts) out.push(tg.hosts.length > 3 ? t('events.hosts', { n: tg.hosts.length }) : tg.hosts.join(', '));
    return out.join(' · ');
}
