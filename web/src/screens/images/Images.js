// Images.js - the images (#/images): sizes (logical, stored), versions,
// the groups that use them, the store's figures, verify and gc, and the
// CLI command that imports a new image.
// Requests: GET /images?include=usage, GET /imagestore.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, ApiError } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { href } from '../../lib/router.js';
import { bytes, num } from '../../lib/format.js';
import { Page, Stat, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { FormError } from '../../components/Form.js';

async function loadImages() {
    try {
        return await api.get('/images?include=usage&limit=1000');
    } catch (e) {
        if (e instanceof ApiError && e.status === 400) return api.get('/images?limit=1000');
        throw e;
    }
}

export function Images() {
    const [res, setRes] = useState(null);
    const [err, setErr] = useState(null);
    const [busy, setBusy] = useState(false);
    const st = useLoad(
        async () => {
            const [images, store] = await Promise.all([loadImages(), api.get('/imagestore')]);
            return { images: images.items, store };
        },
        [],
        { kinds: ['image'], delay: 1000 }
    );
    async function run(what, path) {
        setBusy(true);
        setErr(null);
        try {
            setRes({ what, data: await api.post(path) });
        } catch (e) {
            setErr(e);
        } finally {
            setBusy(false);
        }
    }
    return html`<${Page}
        title=${t('nav.images')}
        actions=${html`${can('operator') ? html`<button type="button" disabled=${busy} onClick=${() => run('verify', '/imagestore/verify')}>${t('img.verify_all')}</button>` : null}
        ${can('admin')
            ? html`<button type="button" disabled=${busy} onClick=${() => run('gc_dry', '/imagestore/gc?dry_run=1')}>${t('img.gc_dry')}</button>
                  <button type="button" class="danger" disabled=${busy} onClick=${() => run('gc', '/imagestore/gc')}>${t('img.gc')}</button>`
            : null}`}
    >
        <${FormError} error=${err} />
        ${res ? html`<div class="notice" role="status"><strong>${t('img.' + res.what)}:</strong> <${StoreResult} r=${res} /></div>` : null}
        <${Loading} st=${st}>
            ${({ images, store }) => {
                const per = Object.fromEntries((store.images || []).map((s) => [s.image, s]));
                return html`
                    <div class="stats">
                        <${Stat} label=${t('img.chunks')} value=${num(store.chunks)} />
                        <${Stat} label=${t('img.stored')} value=${bytes(store.stored_bytes)} />
                        <${Stat} label=${t('img.dedup')} value=${store.dedup_ratio ? num(store.dedup_ratio, 2) + ' : 1' : '–'} />
                    </div>
                    <${Table}
                        rows=${images}
                        rowKey=${(i) => i.name}
                        empty=${t('img.none')}
                        cols=${[
                            { label: t('f.name'), render: (i) => html`<a href=${href('images', i.name)}>${i.name}</a>` },
                            { label: t('img.kind'), render: (i) => [i.kind, i.fstype].filter(Boolean).join(' · ') },
                            { label: t('img.versions'), cls: 'num', render: (i) => num(i.usage?.versions ?? per[i.name]?.versions ?? 0) },
                            { label: t('img.logical'), cls: 'num', render: (i) => bytes(i.usage?.logical_bytes ?? per[i.name]?.logical_bytes) },
                            { label: t('img.stored'), cls: 'num', render: (i) => bytes(i.usage?.stored_bytes ?? per[i.name]?.stored_bytes) },
                            { label: t('img.groups'), render: (i) => (i.usage?.groups || []).map((g) => html`<a href=${href('groups', g)}>${g}</a> `) },
                            { label: t('f.description'), render: (i) => i.description || '' },
                        ]}
                    />
                    <h2>${t('img.import')}</h2>
                    <p>${t('img.import_text')}</p>
                    <pre class="cli">bootherd image import NAME /path/to/NAME.img --kind partition --fstype ntfs --note "…"
bootherd image import NAME /path/to/NAME.qcow2</pre>
                `;
            }}
        <//>
    <//>`;
}

function StoreResult({ r }) {
    const d = r.data || {};
    if (r.what === 'verify')
        return html`${d.ok ? t('img.verify_ok') : t('img.verify_bad')} · ${t('img.chunks')} ${num(d.chunks)} · ${t('img.missing')} ${num(d.missing_count)} ·
        ${t('img.corrupt')} ${num(d.corrupt_count)}`;
    return html`${t('img.swept', { n: num(d.swept), b: bytes(d.swept_bytes) })} · ${t('img.kept', { n: num(d.kept) })}`;
}
