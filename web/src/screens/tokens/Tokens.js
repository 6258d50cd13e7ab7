// Tokens.js - API tokens (#/tokens, admin): create one (its secret is
// shown once, here, and never again), revoke.  Requests: GET /tokens.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { time } from '../../lib/format.js';
import { Page, Loading } from '../../components/Bits.js';
import { Table } from '../../components/Table.js';
import { Pager, usePages } from '../../components/Pager.js';
import { Dialog } from '../../components/Dialog.js';
import { useForm, Input, Select, FormError } from '../../components/Form.js';

export function Tokens() {
    const pages = usePages();
    const [adding, setAdding] = useState(false);
    const [secret, setSecret] = useState(null);
    const [err, setErr] = useState(null);
    const st = useLoad(() => api.get('/tokens' + qs({ limit: 100, after: pages.after, count: true })), [pages.after], { kinds: ['token'] });
    async function revoke(tk) {
        setErr(null);
        try {
            await api.del('/tokens/' + enc(tk.id));
            st.reload();
        } catch (e) {
            setErr(e);
        }
    }
    return html`<${Page}
        title=${t('nav.tokens')}
        actions=${html`<button type="button" class="primary" onClick=${() => setAdding(true)}>${t('tok.add')}</button>`}
    >
        ${secret
            ? html`<div class="notice" role="status">
                  <p><strong>${t('tok.once', { name: secret.name })}</strong></p>
                  <p><code class="secret" data-testid="secret">${secret.token}</code></p>
                  <button type="button" onClick=${() => setSecret(null)}>${t('tok.copied')}</button>
              </div>`
            : null}
        <${FormError} error=${err} />
        <${Loading} st=${st}>
            ${(page) => html`<${Table}
                    rows=${page.items}
                    rowKey=${(x) => x.id}
                    cols=${[
                        { label: t('f.name'), render: (x) => x.name },
                        { label: t('tok.role'), render: (x) => t('role.' + x.role) },
                        { label: 'ID', render: (x) => html`<code>${x.id}</code>` },
                        { label: t('tok.expires'), render: (x) => (x.expires_at ? time(x.expires_at) : t('never')) },
                        { label: t('f.created'), render: (x) => `${time(x.created_at)} · ${x.created_by || ''}` },
                        { label: t('f.description'), render: (x) => x.description || '' },
                        {
                            label: t('actions'),
                            render: (x) => html`<button type="button" class="danger" onClick=${() => revoke(x)}>
                                ${t('tok.revoke')}<span class="sr-only"> ${x.name}</span>
                            </button>`,
                        },
                    ]}
                />
                <${Pager} page=${page} pages=${pages} limit=${100} />`}
        <//>
        ${adding
            ? html`<${AddToken}
                  onClose=${() => setAdding(false)}
                  onMade=${(x) => {
                      setAdding(false);
                      setSecret(x);
                      st.reload();
                  }}
              />`
            : null}
    <//>`;
}

function AddToken({ onClose, onMade }) {
    const f = useForm({ name: '', role: 'viewer', description: '', expires_at: '' });
    async function save(e) {
        e.preventDefault();
        const x = await f.submit((v) =>
            api.post('/tokens', {
                name: v.name,
                role: v.role,
                description: v.description || undefined,
                expires_at: v.expires_at ? new Date(v.expires_at).toISOString() : undefined,
            })
        );
        if (x) onMade(x);
    }
    return html`<${Dialog} title=${t('tok.add')} onClose=${onClose}>
        <form onSubmit=${save}>
            <${Input} form=${f} name="name" label=${t('f.name')} required />
            <${Select} form=${f} name="role" label=${t('tok.role')} options=${['viewer', 'operator', 'admin'].map((r) => [r, t('role.' + r)])} />
            <${Input} form=${f} name="description" label=${t('f.description')} />
            <${Input} form=${f} name="expires_at" type="datetime-local" label=${t('tok.expires')} hint=${t('tok.expires_hint')} />
            <${FormError} form=${f} />
            <div class="buttons"><button type="submit" class="primary" disabled=${f.busy}>${t('tok.create')}</button></div>
        </form>
    <//>`;
}
