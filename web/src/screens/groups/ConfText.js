// ConfText.js - the start.conf as text, with line numbers.  PUT
// /groups/{g}/start.conf (If-Match its ETag); the server's 422
// invalid-startconf names the line in `field` ("start.conf:12"), and the
// warnings of a save say "line 12: ...": both are marked at their line.
import { useState, useRef } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc } from '../../lib/api.js';
import { can } from '../../lib/session.js';
import { FormError } from '../../components/Form.js';

/** [{line, text, level}] from a problem and the warnings of a save */
export function lineMessages(err, warnings) {
    const out = [];
    if (err) {
        const m = /^start\.conf:(\d+)$/.exec(err.field || '');
        if (m) out.push({ line: Number(m[1]), text: err.message.replace(/^start\.conf:\d+:\s*/, ''), level: 'error' });
    }
    for (const w of warnings || []) {
        const m = /^line (\d+):\s*(.*)$/.exec(w);
        out.push(m ? { line: Number(m[1]), text: m[2], level: 'warn' } : { line: 0, text: w, level: 'warn' });
    }
    return out;
}

export function ConfText({ group, text, etag, onSaved }) {
    const [value, setValue] = useState(text);
    const [err, setErr] = useState(null);
    const [warnings, setWarnings] = useState([]);
    const [busy, setBusy] = useState(false);
    const [saved, setSaved] = useState(false);
    const ta = useRef(null);
    const gutter = useRef(null);
    const ro = !can('operator');
    const msgs = lineMessages(err, warnings);
    const byLine = new Map(msgs.map((m) => [m.line, m.level]));
    const lines = value.split('\n').length;
    async function save(e) {
        e.preventDefault();
        setBusy(true);
        setErr(null);
        setSaved(false);
        try {
            const r = await api.put(`/groups/${enc(group.name)}/start.conf`, value, { ifMatch: etag });
            setWarnings(r.warnings || []);
            setSaved(true);
            onSaved(r);
        } catch (x) {
            setErr(x);
            setWarnings([]);
        } finally {
            setBusy(false);
        }
    }
    function jump(line) {
        const el = ta.current;
        if (!el || !line) return;
        const all = el.value.split('\n');
        const start = all.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
        el.focus();
        el.setSelectionRange(start, start + (all[line - 1] || '').length);
    }
    const lineErr = msgs.length && err && msgs[0].level === 'error';
    return html`<form onSubmit=${save} class="conf-text">
        <label for="startconf-text">${t('grp.raw')}</label>
        <div class="editor">
            <ol class="gutter" ref=${gutter} aria-hidden="true">
                ${Array.from({ length: lines }, (_, i) => html`<li class=${byLine.get(i + 1) === 'error' ? 'bad' : byLine.get(i + 1) || ''} data-line=${i + 1}>${i + 1}</li>`)}
            </ol>
            <textarea
                id="startconf-text"
                ref=${ta}
                class="mono"
                rows=${Math.min(40, Math.max(12, lines + 1))}
                spellcheck="false"
                readonly=${ro}
                aria-invalid=${lineErr ? 'true' : undefined}
                aria-describedby=${msgs.length ? 'startconf-msgs' : undefined}
                value=${value}
                onInput=${(e) => setValue(e.currentTarget.value)}
                onScroll=${(e) => {
                    if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
                }}
            ></textarea>
        </div>
        ${msgs.length
            ? html`<ul class="line-msgs" id="startconf-msgs">
                  ${msgs.map(
                      (m) => html`<li class=${m.level} data-line=${m.line} role=${m.level === 'error' ? 'alert' : undefined}>
                          ${m.line ? html`<button type="button" class="ghost" onClick=${() => jump(m.line)}>${t('grp.line', { n: m.line })}</button>` : null}
                          ${m.level === 'error' ? t('error') : t('warning')}: ${m.text}
                      </li>`
                  )}
              </ul>`
            : null}
        ${err && !lineErr ? html`<${FormError} error=${err} />` : null}
        ${ro
            ? null
            : html`<div class="buttons">
                  <button type="submit" class="primary" disabled=${busy}>${t('save')}</button>
                  ${saved ? html`<span role="status">${t('saved')}</span>` : null}
              </div>`}
    </form>`;
}
