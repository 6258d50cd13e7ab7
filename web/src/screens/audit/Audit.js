// Audit.js - who changed what, when, from where (#/audit, operator):
// filter by kind, key and actor; paged backwards by record id.
// Requests: GET /audit?kind=&key=&actor=&before=&limit=.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs } from '../../lib/api.js';
import { useLoad, useDebounced } from '../../lib/hooks.js';
import { time } from '../../lib/format.js';
import { Page, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { objectHref } from '../../components/Events.js';

const KINDS = ['', 'room', 'group', 'host', 'profile', 'image', 'job', 'token', 'settings'];
const LIMIT = 50;

function changed(r) {
    const b = r.before || {};
    const a = r.after || {};
    if (!r.before || !r.after) return '';
    return Object.keys({ ...a, ...b })
        .filter((k) => !['rev', 'updated_at'].includes(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
        .join(', ');
}

export function Audit() {
    const [kind, setKind] = useState('');
    const [key, setKey] = useState('');
    const [actor, setActor] = useState('');
    const [before, setBefore] = useState([]);
    const dk = useDebounced(key);
    const da = useDebounced(actor);
    const cur = before[before.length - 1];
    const st = useLoad(() => api.get('/audit' + qs({ kind, key: dk, actor: da, after: cur, limit: LIMIT })), [kind, dk, da, cur]);
    const reset = (fn) => (e) => {
        setBefore([]);
        fn(e.currentTarget.value);
    };
    return html`<${Page} title=${t('nav.audit')}>
        <form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
            <label>${t('audit.kind')}
                <select value=${kind} onChange=${reset(setKind)}>
                    ${KINDS.map((k) => html`<option value=${k}>${k ? t('kind.' + k) : t('all')}</option>`)}
                </select>
            </label>
            <label>${t('audit.key')}<input type="text" value=${key} onInput=${reset(setKey)} /></label>
            <label>${t('audit.actor')}<input type="text" value=${actor} onInput=${reset(setActor)} /></label>
        </form>
        <${Loading} st=${st}>
            ${(d) => html`<${Table}
                    rows=${d.items}
                    rowKey=${(r) => r.id}
                    empty=${t('audit.none')}
                    cols=${[
                        { label: t('audit.when'), render: (r) => time(r.ts) },
                        { label: t('audit.actor'), render: (r) => r.actor },
                        { label: t('audit.action'), render: (r) => html`<code>${r.action}</code>` },
                        {
                            label: t('audit.object'),
                            render: (r) => {
                                const h = objectHref(r.kind, r.key);
                                return html`${t('kind.' + r.kind)} ${h ? html`<a href=${h}>${r.key}</a>` : r.key}`;
                            },
                        },
                        { label: t('audit.changed'), render: changed },
                        { label: t('audit.from'), render: (r) => r.remote || '' },
                    ]}
                />
                <nav class="pager" aria-label=${t('pager.label')}>
                    <button type="button" disabled=${!before.length} onClick=${() => setBefore(before.slice(0, -1))}>${t('pager.newer')}</button>
                    <button type="button" disabled=${d.next == null} onClick=${() => setBefore([...before, d.next])}>${t('pager.older')}</button>
                </nav>`}
        <//>
    <//>`;
}
