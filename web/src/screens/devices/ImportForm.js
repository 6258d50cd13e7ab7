// ImportForm.js - import a LINBO devices.csv: the file is read in the
// browser (File.text(), nothing leaves but the POST) and sent as text/csv to
// POST /hosts/import, first as a check (?dry_run=1) if the operator wants,
// with ?create=rooms,groups when asked.  The answer is a report: hosts
// created, updated, unchanged (line by line); or every error at its line,
// shown with that line of the file, and nothing written.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { request, qs } from '../../lib/api.js';
import { FormError } from '../../components/Form.js';

const SHOWN = 200; // report lines and errors listed at most

/** the import's query: dry run, and what to create */
export function importQuery({ dry, rooms, groups }) {
    const create = [rooms ? 'rooms' : null, groups ? 'groups' : null].filter(Boolean).join(',');
    return qs({ dry_run: dry ? 1 : undefined, create });
}

function Report({ r }) {
    const rest = r.hosts.length - SHOWN;
    return html`<div class="import-report" role="status">
        <p class="notice">
            ${r.dry_run ? html`<strong>${t('imp.dry')}</strong> ` : null}
            ${t('imp.result', { created: r.created, updated: r.updated, unchanged: r.unchanged })}
            ${r.rooms_created.length ? html` ${t('imp.rooms_created', { list: r.rooms_created.join(', ') })}` : null}
            ${r.groups_created.length ? html` ${t('imp.groups_created', { list: r.groups_created.join(', ') })}` : null}
        </p>
        <div class="table-wrap">
            <table class="import-hosts">
                <thead>
                    <tr>
                        <th scope="col">${t('imp.col.line')}</th>
                        <th scope="col">${t('f.name')}</th>
                        <th scope="col">MAC</th>
                        <th scope="col">${t('imp.col.result')}</th>
                    </tr>
                </thead>
                <tbody>
                    ${r.hosts.slice(0, SHOWN).map(
                        (h) => html`<tr data-line=${h.line} data-result=${h.result}>
                            <td>${h.line}</td>
                            <td translate="no">${h.name}</td>
                            <td class="mono">${h.mac}</td>
                            <td>${t('imp.res.' + h.result)}</td>
                        </tr>`
                    )}
                </tbody>
            </table>
        </div>
        ${rest > 0 ? html`<p class="note">${t('imp.more', { n: rest })}</p>` : null}
    </div>`;
}

function Errors({ problem, lines }) {
    const errs = problem.errors || [];
    return html`<div class="import-errors">
        <p role="alert"><strong>${t('imp.errors', { n: problem.errors_total ?? errs.length })}</strong></p>
        <ul class="line-msgs">
            ${errs.slice(0, SHOWN).map(
                (e) => html`<li data-line=${e.line} data-field=${e.field || ''}>
                    <strong>${t('imp.line', { n: e.line })}</strong>${e.field ? html` · <code>${e.field}</code>` : null}: ${e.message}
                    ${lines[e.line - 1] !== undefined ? html`<br /><code class="import-line" translate="no">${lines[e.line - 1]}</code>` : null}
                </li>`
            )}
        </ul>
    </div>`;
}

export function ImportForm({ onDone }) {
    const [file, setFile] = useState(null); // {name, text}
    const [rooms, setRooms] = useState(false);
    const [groups, setGroups] = useState(false);
    const [busy, setBusy] = useState(false);
    const [report, setReport] = useState(null);
    const [err, setErr] = useState(null);
    async function pick(e) {
        const f = e.currentTarget.files && e.currentTarget.files[0];
        setReport(null);
        setErr(null);
        setFile(f ? { name: f.name, text: await f.text() } : null);
    }
    async function send(dry) {
        if (!file) return;
        setBusy(true);
        setErr(null);
        setReport(null);
        try {
            const r = await request('POST', '/hosts/import' + importQuery({ dry, rooms, groups }), file.text, { type: 'text/csv; charset=utf-8' });
            setReport(r);
            if (!dry) onDone(r);
        } catch (x) {
            setErr(x);
        } finally {
            setBusy(false);
        }
    }
    const lines = file ? file.text.replace(/^\uFEFF/, '').split(/\r?\n/) : [];
    const nlines = lines.length && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
    const lineErrors = err && err.problem && Array.isArray(err.problem.errors) && err.problem.errors.length;
    return html`<form
        class="card import"
        onSubmit=${(e) => {
            e.preventDefault();
            send(false);
        }}
    >
        <h2>${t('imp.title')}</h2>
        <p class="note">${t('imp.intro')}</p>
        <div class="row">
            <div class="field">
                <label for="import-file">${t('imp.file')}</label>
                <input id="import-file" type="file" name="csv" accept=".csv,text/csv,text/plain" onChange=${pick} />
                ${file ? html`<small class="hint">${t('imp.lines', { n: nlines, name: file.name })}</small>` : null}
            </div>
            <div class="field">
                <label for="import-rooms">${t('imp.create_rooms')}</label>
                <input id="import-rooms" type="checkbox" name="create_rooms" checked=${rooms} onChange=${(e) => setRooms(e.currentTarget.checked)} />
            </div>
            <div class="field">
                <label for="import-groups">${t('imp.create_groups')}</label>
                <input id="import-groups" type="checkbox" name="create_groups" checked=${groups} onChange=${(e) => setGroups(e.currentTarget.checked)} />
            </div>
        </div>
        <div class="buttons">
            <button type="button" class="check" disabled=${busy || !file} onClick=${() => send(true)}>${t('imp.check')}</button>
            <button type="submit" class="primary" disabled=${busy || !file}>${t('imp.run')}</button>
        </div>
        ${lineErrors ? html`<${Errors} problem=${err.problem} lines=${lines} />` : err ? html`<${FormError} error=${err} />` : null}
        ${report ? html`<${Report} r=${report} />` : null}
    </form>`;
}
