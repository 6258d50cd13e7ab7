// Group.js - one group (#/groups/NAME): the start.conf editor (a form for
// [LINBO], partitions and OS entries, and the raw text), the group's boot
// profile and description, and its hosts.
// Requests: GET /groups/{g}, GET /groups/{g}/start.conf, GET /hosts?group=.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { href } from '../../lib/router.js';
import { Page, Badge, Loading } from '../../components/Bits.js';
import { Pager, usePages } from '../../components/Pager.js';
import { useForm, Input, FormError } from '../../components/Form.js';
import { ConfForm } from './ConfForm.js';
import { ConfText } from './ConfText.js';

export function Group({ name }) {
    const [tab, setTab] = useState('form');
    const pages = usePages();
    const [textGen, setTextGen] = useState(0);
    const st = useLoad(async () => {
        const [group, conf, hosts] = await Promise.all([
            api.get('/groups/' + enc(name)),
            api.get(`/groups/${enc(name)}/start.conf`, { etag: true }),
            api.get('/hosts' + qs({ group: name, limit: 100, after: pages.after, count: true, sort: 'name' })),
        ]);
        return { group, text: conf.data, etag: conf.etag, hosts };
    }, [name, pages.after]);
    const [over, setOver] = useState(null); // the group as the last save answered
    const d = st.data;
    const group = over && d && over.rev >= d.group.rev ? over : d && d.group;
    return html`<${Page} title=${t('grp.title', { name })} sub=${group?.description || ''}>
        <${Loading} st=${st}>
            ${() => html`
                <${Props} key=${group.rev} group=${group} onSaved=${setOver} />
                <h2>start.conf</h2>
                <div class="tabs" role="tablist" aria-label="start.conf">
                    <button type="button" role="tab" id="tab-form" aria-controls="panel-conf" aria-selected=${tab === 'form' ? 'true' : 'false'} onClick=${() => setTab('form')}>
                        ${t('grp.form')}
                    </button>
                    <button type="button" role="tab" id="tab-text" aria-controls="panel-conf" aria-selected=${tab === 'text' ? 'true' : 'false'} onClick=${() => setTab('text')}>
                        ${t('grp.text')}
                    </button>
                </div>
                <div role="tabpanel" id="panel-conf" aria-labelledby=${'tab-' + tab}>
                    ${tab === 'form'
                        ? html`<${ConfForm}
                              key=${group.rev}
                              group=${group}
                              onSaved=${(g) => {
                                  setOver(g);
                                  setTextGen(textGen + 1);
                                  st.reload();
                              }}
                          />`
                        : html`<${ConfText}
                              key=${textGen + ':' + d.etag}
                              group=${group}
                              text=${d.text}
                              etag=${over && over.rev > d.group.rev ? `"${over.rev}"` : d.etag}
                              onSaved=${(g) => setOver(g)}
                          />`}
                </div>
                <h2>${t('grp.hosts')}</h2>
                <ul class="host-list">
                    ${d.hosts.items.map((h) => html`<li key=${h.mac}><a href=${href('hosts', h.name || h.mac)}>${h.name || h.mac}</a> <${Badge} state=${h.state} /></li>`)}
                </ul>
                ${d.hosts.items.length ? null : html`<p class="empty">${t('grp.nohosts')}</p>`}
                <${Pager} page=${d.hosts} pages=${pages} limit=${100} />
            `}
        <//>
    <//>`;
}

function Props({ group, onSaved }) {
    const f = useForm({ description: group.description || '', default_profile: group.default_profile || '' });
    const ro = !can('operator');
    async function save(e) {
        e.preventDefault();
        const g = await f.submit((v) =>
            api.patch('/groups/' + enc(group.name), { description: v.description || null, default_profile: v.default_profile || null })
        );
        if (g) onSaved(g);
    }
    return html`<form onSubmit=${save}>
        <fieldset disabled=${ro}>
            <legend>${t('grp.props')}</legend>
            <div class="row">
                <${Input} form=${f} name="default_profile" label=${t('grp.profile')} hint=${t('grp.profile_hint')} />
                <${Input} form=${f} name="description" label=${t('f.description')} />
            </div>
            ${group.boot ? html`<p>${t('grp.boot')}: <code>${JSON.stringify(group.boot)}</code></p>` : null}
            <${FormError} form=${f} />
            ${ro ? null : html`<button type="submit" disabled=${f.busy}>${t('save')}</button>`}
        </fieldset>
    </form>`;
}
