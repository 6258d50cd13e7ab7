// Profiles.js - boot profiles (#/profiles): kernel, initrds, command line
// template, architecture; create, edit, delete.  Requests: GET /profiles.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { Page, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { Pager, usePages } from '../../components/Pager.js';
import { Dialog } from '../../components/Dialog.js';
import { useForm, Input, Select, TextArea, FormError } from '../../components/Form.js';

const ARCHES = ['any', 'x86_64', 'i386', 'arm64', 'arm32'];

export function Profiles() {
    const pages = usePages();
    const [edit, setEdit] = useState(null);
    const st = useLoad(() => api.get('/profiles' + qs({ limit: 100, after: pages.after, count: true })), [pages.after], { kinds: ['profile'] });
    const w = can('operator');
    return html`<${Page}
        title=${t('nav.profiles')}
        actions=${w ? html`<button type="button" class="primary" onClick=${() => setEdit({})}>${t('prof.add')}</button>` : null}
    >
        <${Loading} st=${st}>
            ${(page) => html`<${Table}
                    rows=${page.items}
                    rowKey=${(p) => p.name}
                    empty=${t('prof.none')}
                    cols=${[
                        { label: t('f.name'), render: (p) => p.name },
                        { label: t('f.arch'), render: (p) => p.arch },
                        { label: t('prof.kernel'), render: (p) => html`<code>${p.kernel}</code>` },
                        { label: t('prof.initrds'), render: (p) => (p.initrds || []).map((i) => html`<code>${i}</code> `) },
                        { label: t('prof.cmdline'), render: (p) => html`<code>${p.cmdline || ''}</code>` },
                        {
                            label: t('actions'),
                            render: (p) =>
                                w ? html`<button type="button" onClick=${() => setEdit(p)}>${t('edit')}<span class="sr-only"> ${p.name}</span></button>` : null,
                        },
                    ]}
                />
                <${Pager} page=${page} pages=${pages} limit=${100} />`}
        <//>
        ${edit ? html`<${ProfileForm} p=${edit} onClose=${() => setEdit(null)} onSaved=${st.reload} />` : null}
    <//>`;
}

function ProfileForm({ p, onClose, onSaved }) {
    const isNew = !p.name;
    const f = useForm({
        name: p.name || '',
        description: p.description || '',
        arch: p.arch || 'any',
        kernel: p.kernel || '',
        initrds: (p.initrds || []).join('\n'),
        cmdline: p.cmdline || '',
    });
    const done = (x) => {
        if (x) {
            onSaved();
            onClose();
        }
    };
    async function save(e) {
        e.preventDefault();
        done(
            await f.submit((v) => {
                const body = {
                    description: v.description || null,
                    arch: v.arch,
                    kernel: v.kernel,
                    initrds: v.initrds.split('\n').map((s) => s.trim()).filter(Boolean),
                    cmdline: v.cmdline || null,
                };
                return isNew ? api.post('/profiles', { name: v.name, ...body }) : api.patch('/profiles/' + enc(p.name), body);
            })
        );
    }
    return html`<${Dialog} title=${isNew ? t('prof.add') : t('prof.edit', { name: p.name })} onClose=${onClose} wide>
        <form onSubmit=${save}>
            ${isNew ? html`<${Input} form=${f} name="name" label=${t('f.name')} required />` : null}
            <div class="row">
                <${Select} form=${f} name="arch" label=${t('f.arch')} options=${ARCHES.map((a) => [a, a])} />
                <${Input} form=${f} name="kernel" label=${t('prof.kernel')} hint=${t('prof.file_hint')} required />
            </div>
            <${TextArea} form=${f} name="initrds" rows="3" class="mono" label=${t('prof.initrds')} hint=${t('prof.initrds_hint')} />
            <${Input} form=${f} name="cmdline" class="mono wide" label=${t('prof.cmdline')} hint=${t('prof.cmdline_hint')} />
            <${Input} form=${f} name="description" label=${t('f.description')} />
            <${FormError} form=${f} />
            <div class="buttons">
                <button type="submit" class="primary" disabled=${f.busy}>${t('save')}</button>
                ${isNew ? null : html`<button type="button" class="danger" onClick=${async () => done(await f.submit(() => api.del('/profiles/' + enc(p.name)).then(() => true)))}>${t('delete')}</button>`}
            </div>
        </form>
    <//>`;
}
