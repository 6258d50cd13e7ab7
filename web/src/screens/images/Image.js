// Image.js - one image (#/images/NAME): versions with state, tags and sizes
// (logical, stored, new bytes), who captured candidates and Promote or
// reject; tags; the diff of two versions; notes; the post-sync script
// (PATCH images {postsync}); verify.
// Requests: GET /images/{name}, GET /images/{name}/versions.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { bytes, num, time } from '../../lib/format.js';
import { Page, Badge, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { useForm, Input, TextArea, FormError } from '../../components/Form.js';

export function Image({ name }) {
    const base = '/images/' + enc(name);
    const [err, setErr] = useState(null);
    const [note, setNote] = useState(null);
    const st = useLoad(
        async () => {
            const [img, vers] = await Promise.all([api.get(base), api.get(base + '/versions')]);
            return { img, versions: vers.items || [] };
        },
        [name],
        { kinds: ['image'], filter: (ev) => ev.key === name }
    );
    async function act(fn, msg) {
        setErr(null);
        try {
            const r = await fn();
            setNote(msg(r));
            st.reload();
        } catch (e) {
            setErr(e);
        }
    }
    return html`<${Page} title=${t('img.title', { name })}>
        <${FormError} error=${err} />
        ${note ? html`<div class="notice" role="status">${note}</div>` : null}
        <${Loading} st=${st}>
            ${({ img, versions }) => html`
                <dl class="facts inline">
                    <dt>${t('img.kind')}</dt>
                    <dd>${[img.kind, img.fstype].filter(Boolean).join(' · ')}</dd>
                    <dt>${t('img.auto_promote')}</dt>
                    <dd>${img.auto_promote ? t('yes') : t('no')}</dd>
                    <dt>${t('f.description')}</dt>
                    <dd>${img.description || '–'}</dd>
                </dl>
                <h2>${t('img.versions')}</h2>
                <${Table}
                    rows=${[...versions].reverse()}
                    rowKey=${(v) => v.version}
                    empty=${t('img.noversions')}
                    rowClass=${(v) => (v.state === 'candidate' ? 'candidate' : '')}
                    cols=${[
                        { label: '#', cls: 'num', render: (v) => v.version },
                        { label: t('f.state'), render: (v) => html`<${Badge} state=${v.state === 'candidate' ? 'booting' : 'up'} label=${t('img.st_' + v.state)} />` },
                        { label: t('img.tags'), render: (v) => (v.tags || []).join(', ') },
                        { label: t('img.logical'), cls: 'num', render: (v) => bytes(v.logical_size) },
                        { label: t('img.stored'), cls: 'num', render: (v) => bytes(v.stored_size) },
                        { label: t('img.new_bytes'), cls: 'num', render: (v) => bytes(v.new_bytes ?? v.added_bytes) },
                        { label: t('img.by'), render: (v) => html`${v.created_by}<br /><small>${time(v.created_at)}</small>` },
                        { label: t('img.note'), render: (v) => v.note || '' },
                        {
                            label: t('actions'),
                            render: (v) =>
                                can('operator')
                                    ? v.state === 'candidate'
                                        ? html`<button type="button" class="primary" onClick=${() => act(() => api.post(`${base}/versions/${v.version}/promote`), () => t('img.promoted', { v: v.version }))}>
                                                  ${t('img.promote')}<span class="sr-only"> ${v.version}</span>
                                              </button>
                                              <button type="button" class="danger" onClick=${() => act(() => api.del(`${base}/versions/${v.version}`), () => t('img.rejected', { v: v.version }))}>
                                                  ${t('img.reject')}<span class="sr-only"> ${v.version}</span>
                                              </button>`
                                        : null
                                    : null,
                        },
                    ]}
                />
                <div class="cols">
                    <div>
                        <${Diff} base=${base} versions=${versions} />
                        ${can('operator') ? html`<${TagForm} base=${base} onDone=${() => st.reload()} />` : null}
                        ${can('operator')
                            ? html`<h2>${t('img.verify')}</h2>
                                  <button type="button" onClick=${() => act(() => api.post('/imagestore/verify' + qs({ image: name })), (r) => (r.ok ? t('img.verify_ok') : t('img.verify_bad')) + ` (${t('img.chunks')} ${num(r.chunks)}, ${t('img.missing')} ${num(r.missing_count)}, ${t('img.corrupt')} ${num(r.corrupt_count)})`)}>
                                      ${t('img.verify_one', { name })}
                                  </button>`
                            : null}
                    </div>
                    <div>
                        <${PostSync} key=${img.rev} base=${base} img=${img} onDone=${() => st.reload()} />
                    </div>
                </div>
            `}
        <//>
    <//>`;
}

function Diff({ base, versions }) {
    const rel = versions.map((v) => String(v.version));
    const [a, setA] = useState(rel.length > 1 ? rel[rel.length - 2] : rel[0] || '');
    const [b, setB] = useState(rel[rel.length - 1] || '');
    const [d, setD] = useState(null);
    const [err, setErr] = useState(null);
    async function go(e) {
        e.preventDefault();
        setErr(null);
        try {
            setD(await api.get(`${base}/diff` + qs({ a, b })));
        } catch (x) {
            setErr(x);
        }
    }
    if (versions.length < 2) return null;
    return html`<form onSubmit=${go} class="diff">
        <h2>${t('img.diff')}</h2>
        <div class="row">
            <label class="inline">${t('img.from')}
                <select value=${a} onChange=${(e) => setA(e.currentTarget.value)}>${rel.map((v) => html`<option value=${v}>${v}</option>`)}</select>
            </label>
            <label class="inline">${t('img.to')}
                <select value=${b} onChange=${(e) => setB(e.currentTarget.value)}>${rel.map((v) => html`<option value=${v}>${v}</option>`)}</select>
            </label>
            <button type="submit">${t('img.compare')}</button>
        </div>
        <${FormError} error=${err} />
        ${d
            ? html`<dl class="facts diff-result">
                  <dt>${t('img.identical')}</dt><dd>${d.identical ? t('yes') : t('no')}</dd>
                  <dt>${t('img.shared')}</dt><dd>${num(d.shared)} ${t('img.chunks')}</dd>
                  <dt>${t('img.only', { v: a })}</dt><dd>${num(d.only_a)} ${t('img.chunks')} · ${bytes(d.bytes_only_a)}</dd>
                  <dt>${t('img.only', { v: b })}</dt><dd>${num(d.only_b)} ${t('img.chunks')} · ${bytes(d.bytes_only_b)}</dd>
                  <dt>${t('img.size')}</dt><dd>${bytes(d.size_a)} → ${bytes(d.size_b)}</dd>
              </dl>`
            : null}
    </form>`;
}

function TagForm({ base, onDone }) {
    const f = useForm({ tag: '', version: '' });
    async function save(e) {
        e.preventDefault();
        const ok = await f.submit((v) => api.put(`${base}/tags/${enc(v.tag)}`, { version: /^\d+$/.test(v.version) ? Number(v.version) : v.version }).then(() => true));
        if (ok) onDone();
    }
    return html`<form onSubmit=${save}>
        <h2>${t('img.tag')}</h2>
        <div class="row">
            <${Input} form=${f} name="tag" label=${t('img.tag_name')} placeholder="stable" required />
            <${Input} form=${f} name="version" label=${t('img.tag_version')} required />
        </div>
        <${FormError} form=${f} />
        <button type="submit" disabled=${f.busy}>${t('img.tag_set')}</button>
    </form>`;
}

function PostSync({ base, img, onDone }) {
    const f = useForm({ postsync: img.postsync || '', description: img.description || '' });
    const [saved, setSaved] = useState(false);
    async function save(e) {
        e.preventDefault();
        setSaved(false);
        const ok = await f.submit((v) => api.patch(base, { postsync: v.postsync || null, description: v.description || null }));
        if (ok) {
            setSaved(true);
            onDone();
        }
    }
    const ro = !can('operator');
    return html`<form onSubmit=${save}>
        <h2>${t('img.postsync')}</h2>
        <fieldset disabled=${ro}>
            <legend class="sr-only">${t('img.postsync')}</legend>
            <${Input} form=${f} name="description" label=${t('f.description')} />
            <${TextArea} form=${f} name="postsync" rows="10" class="mono" label=${t('img.postsync_script')} hint=${t('img.postsync_hint')} />
            <${FormError} form=${f} />
            ${ro ? null : html`<button type="submit" class="primary" disabled=${f.busy}>${t('save')}</button>`}
            ${saved ? html` <span role="status">${t('saved')}</span>` : null}
        </fieldset>
    </form>`;
}
