// Groups.js - the groups (#/groups): their OS entries and boot profile;
// a new group.  Requests: GET /groups.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { href, go } from '../../lib/router.js';
import { Page, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { Pager, usePages } from '../../components/Pager.js';
import { Dialog } from '../../components/Dialog.js';
import { useForm, Input, FormError } from '../../components/Form.js';

export function Groups() {
    const pages = usePages();
    const [adding, setAdding] = useState(false);
    const st = useLoad(() => api.get('/groups' + qs({ limit: 100, after: pages.after, count: true })), [pages.after], { kinds: ['group'] });
    return html`<${Page}
        title=${t('nav.groups')}
        actions=${can('operator') ? html`<button type="button" class="primary" onClick=${() => setAdding(true)}>${t('grp.add')}</button>` : null}
    >
        <${Loading} st=${st}>
            ${(page) => html`<${Table}
                    rows=${page.items}
                    rowKey=${(g) => g.name}
                    empty=${t('grp.none')}
                    cols=${[
                        { label: t('f.name'), render: (g) => html`<a href=${href('groups', g.name)}>${g.name}</a>` },
                        { label: t('grp.os'), render: (g) => (g.config?.os || []).map((o, i) => `${i + 1}: ${o.name}`).join(' · ') },
                        { label: t('grp.parts'), cls: 'num', render: (g) => (g.config?.partitions || []).length },
                        { label: t('grp.profile'), render: (g) => g.default_profile || '–' },
                        { label: t('f.description'), render: (g) => g.description || '' },
                    ]}
                />
                <${Pager} page=${page} pages=${pages} limit=${100} />`}
        <//>
        ${adding ? html`<${AddGroup} onClose=${() => setAdding(false)} />` : null}
    <//>`;
}

function AddGroup({ onClose }) {
    const f = useForm({ name: '', description: '' });
    async function save(e) {
        e.preventDefault();
        const g = await f.submit((v) => api.post('/groups', { name: v.name, description: v.description || null }));
        if (g) {
            onClose();
            go(href('groups', g.name));
        }
    }
    return html`<${Dialog} title=${t('grp.add')} onClose=${onClose}>
        <form onSubmit=${save}>
            <${Input} form=${f} name="name" label=${t('f.name')} required />
            <${Input} form=${f} name="description" label=${t('f.description')} />
            <${FormError} form=${f} />
            <div class="buttons"><button type="submit" class="primary" disabled=${f.busy}>${t('save')}</button></div>
        </form>
    <//>`;
}
