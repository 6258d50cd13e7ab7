// RegisterForm.js - register the picked (or pasted) MACs by a name pattern,
// with a room and a group: POST /hosts/register.  The names are previewed
// here; the server decides and refuses the whole batch with the MAC or
// field at fault.  (A LINBO devices.csv, one row per host with its own
// name, is imported by ImportForm.js instead.)
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api } from '../../lib/api.js';
import { useForm, Input, Select, TextArea, FormError } from '../../components/Form.js';

/** r101-pc{01..30} -> the first n names (a preview; the server names) */
export function expandPattern(p, n) {
    const m = /\{(\d+)\.\.(\d+)\}/.exec(p || '');
    if (!m) return [];
    const a = Number(m[1]);
    const b = Number(m[2]);
    const w = m[1].length > 1 && m[1].startsWith('0') ? m[1].length : 0;
    const out = [];
    for (let i = a; i <= b && out.length < n; i++) out.push(p.slice(0, m.index) + String(i).padStart(w, '0') + p.slice(m.index + m[0].length));
    return out;
}

export function splitMacs(text) {
    return String(text)
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean);
}

export function RegisterForm({ picked, rooms, groups, onDone }) {
    const [mode, setMode] = useState('picked');
    const f = useForm({ hosts: '', pattern: '', order: 'mac', room: '', group: '' });
    const macs = mode === 'picked' ? picked : splitMacs(f.values.hosts);
    const preview = expandPattern(f.values.pattern, Math.min(macs.length, 8));
    async function submit(e) {
        e.preventDefault();
        const list = await f.submit((v) =>
            api.post('/hosts/register', {
                hosts: macs,
                pattern: v.pattern,
                order: mode === 'paste' ? 'given' : v.order,
                room: v.room || undefined,
                group: v.group || undefined,
            })
        );
        if (list) onDone(Array.isArray(list) ? list : list.items || list.hosts || []);
    }
    return html`<form class="card register" onSubmit=${submit}>
        <h2>${t('dev.register')}</h2>
        <div class="tabs" role="tablist">
            <button type="button" role="tab" aria-selected=${mode === 'picked' ? 'true' : 'false'} onClick=${() => setMode('picked')}>
                ${t('dev.from_list', { n: picked.length })}
            </button>
            <button type="button" role="tab" aria-selected=${mode === 'paste' ? 'true' : 'false'} onClick=${() => setMode('paste')}>${t('dev.paste')}</button>
        </div>
        ${mode === 'paste'
            ? html`<${TextArea} form=${f} name="hosts" rows="5" class="mono" label=${t('dev.macs')} hint=${t('dev.macs_hint')} />`
            : f.errorFor('hosts')
              ? html`<p class="field-error" role="alert">${f.errorFor('hosts')}</p>`
              : null}
        <div class="row">
            <${Input} form=${f} name="pattern" label=${t('dev.pattern')} placeholder="r101-pc{01..30}" hint=${t('dev.pattern_hint')} required />
            ${mode === 'picked'
                ? html`<${Select}
                      form=${f}
                      name="order"
                      label=${t('dev.order')}
                      options=${[
                          ['mac', t('dev.order_mac')],
                          ['first_seen', t('dev.order_seen')],
                          ['given', t('dev.order_given')],
                      ]}
                  />`
                : null}
            <${Select} form=${f} name="room" label=${t('f.room')} options=${[['', '–'], ...rooms.map((r) => [r.name, r.name])]} />
            <${Select} form=${f} name="group" label=${t('f.group')} options=${[['', '–'], ...groups.map((g) => [g.name, g.name])]} />
        </div>
        ${preview.length
            ? html`<p class="note">${t('dev.preview')} ${preview.join(', ')}${macs.length > preview.length ? ' …' : ''}</p>`
            : null}
        <${FormError} form=${f} />
        <button type="submit" class="primary" disabled=${f.busy || !macs.length}>${t('dev.register_n', { n: macs.length })}</button>
    </form>`;
}
