// ConfForm.js - the start.conf as a form: [LINBO], the partitions and the
// OS entries.  Saved as the group's `config` (PATCH, a merge patch: a
// cleared [LINBO] key is sent as null, partitions and OS entries whole).
// The server's message appears at the key its `field` names
// (config.os[1].default_action).
import { useState, useId } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc } from '../../lib/api.js';
import { can } from '../../lib/session.js';
import { FormError } from '../../components/Form.js';
import { LINBO_KEYS, PART_KEYS, OS_KEYS, confName } from './keys.js';

function toInput(type, v) {
    if (v === undefined || v === null || v === '') return ''; // '' : "Key =" in the file
    if (type === 'bool') return v ? 'true' : 'false';
    return String(v);
}

/** '' means "not set" (left out of the JSON) except for str keys */
function fromInput(type, s, keepEmpty) {
    if (type === 'bool') return s === '' ? undefined : s === 'true';
    if (type === 'int') return s === '' ? undefined : /^\d+$/.test(s) ? Number(s) : s;
    if (s === '' && !keepEmpty) return undefined;
    return s;
}

function KeyInput({ path, k, type, values, value, onChange, err }) {
    const id = useId();
    const bad = err && err.field === path;
    const a = { id, 'aria-invalid': bad ? 'true' : undefined, 'aria-describedby': bad ? id + '-e' : undefined };
    const set = (e) => onChange(e.currentTarget.value);
    return html`<div class=${'field' + (bad ? ' has-error' : '')}>
        <label for=${id}>${confName(k)}</label>
        ${type === 'bool'
            ? html`<select ...${a} value=${value} onChange=${set}>
                  <option value="">–</option>
                  <option value="true">${t('yes')}</option>
                  <option value="false">${t('no')}</option>
              </select>`
            : type === 'enum'
              ? html`<select ...${a} value=${value} onChange=${set}>
                    ${values.includes('') ? null : html`<option value="">–</option>`}
                    ${values.map((v) => html`<option value=${v}>${v || '(' + t('none') + ')'}</option>`)}
                </select>`
              : html`<input ...${a} type=${type === 'int' ? 'number' : 'text'} min="0" value=${value} onInput=${set} />`}
        ${bad ? html`<small id=${id + '-e'} class="field-error" role="alert">${err.message}</small>` : null}
    </div>`;
}

function Section({ keys, obj, path, onChange, err }) {
    return html`<div class="conf-keys">
        ${keys.map(
            ([k, type, values]) => html`<${KeyInput}
                key=${k}
                path=${`${path}.${k}`}
                k=${k}
                type=${type}
                values=${values || []}
                value=${toInput(type, obj[k])}
                err=${err}
                onChange=${(s) => {
                    const v = fromInput(type, s, type === 'str' && k in obj);
                    const next = { ...obj };
                    if (v === undefined) delete next[k];
                    else next[k] = v;
                    onChange(next);
                }}
            />`
        )}
    </div>`;
}

export function ConfForm({ group, onSaved }) {
    const orig = group.config || {};
    const [conf, setConf] = useState(() => JSON.parse(JSON.stringify({ partitions: [], os: [], ...orig })));
    const [err, setErr] = useState(null);
    const [busy, setBusy] = useState(false);
    const ro = !can('operator');
    const set = (k, v) => setConf({ ...conf, [k]: v });
    const setAt = (k, i, v) => set(k, conf[k].map((x, j) => (j === i ? v : x)));
    async function save(e) {
        e.preventDefault();
        setBusy(true);
        setErr(null);
        const patch = { partitions: conf.partitions, os: conf.os };
        if (conf.linbo) {
            patch.linbo = { ...conf.linbo };
            for (const k of Object.keys(orig.linbo || {})) if (!(k in conf.linbo)) patch.linbo[k] = null;
        } else if (orig.linbo) patch.linbo = null;
        try {
            onSaved(await api.patch('/groups/' + enc(group.name), { config: patch }));
        } catch (x) {
            setErr(x);
        } finally {
            setBusy(false);
        }
    }
    const claimed = err && /^config\.(linbo|partitions\[\d+\]|os\[\d+\])\.\w+$/.test(err.field || '');
    return html`<form onSubmit=${save} class="conf-form">
        <fieldset disabled=${ro}>
            <legend>[LINBO]</legend>
            ${conf.linbo
                ? html`<${Section} keys=${LINBO_KEYS} obj=${conf.linbo} path="config.linbo" err=${err} onChange=${(v) => set('linbo', v)} />`
                : html`<button type="button" onClick=${() => set('linbo', {})}>${t('grp.add_linbo')}</button>`}
        </fieldset>
        ${conf.partitions.map(
            (p, i) => html`<fieldset key=${'p' + i} disabled=${ro}>
                <legend>[Partition] ${i + 1}</legend>
                <${Section} keys=${PART_KEYS} obj=${p} path=${`config.partitions[${i}]`} err=${err} onChange=${(v) => setAt('partitions', i, v)} />
                <button type="button" class="ghost" onClick=${() => set('partitions', conf.partitions.filter((_, j) => j !== i))}>
                    ${t('grp.remove_part', { n: i + 1 })}
                </button>
            </fieldset>`
        )}
        ${ro ? null : html`<button type="button" onClick=${() => set('partitions', [...conf.partitions, { dev: '' }])}>${t('grp.add_part')}</button>`}
        ${conf.os.map(
            (o, i) => html`<fieldset key=${'o' + i} disabled=${ro}>
                <legend>[OS] ${i + 1}: ${o.name || ''}</legend>
                <${Section} keys=${OS_KEYS} obj=${o} path=${`config.os[${i}]`} err=${err} onChange=${(v) => setAt('os', i, v)} />
                <button type="button" class="ghost" onClick=${() => set('os', conf.os.filter((_, j) => j !== i))}>${t('grp.remove_os', { n: i + 1 })}</button>
            </fieldset>`
        )}
        ${ro
            ? null
            : html`<button type="button" onClick=${() => set('os', [...conf.os, { name: '' }])}>${t('grp.add_os')}</button>
                  ${claimed ? null : html`<${FormError} error=${err} />`}
                  ${claimed ? html`<p class="field-error" role="alert">${t('grp.see_field')}</p>` : null}
                  <div class="buttons"><button type="submit" class="primary" disabled=${busy}>${t('save')}</button></div>`}
    </form>`;
}
