// JobCreate.js - a job by hand: targets (hosts, room, group, selector),
// steps picked from the group's start.conf (only OS entries that exist),
// when (now, next boot, at a time), wake and parallel.  The server checks
// it (POST /jobs); its message lands at the step or field it names.
// Requests when opened: GET /rooms, GET /groups.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { go, href } from '../../lib/router.js';
import { useForm, Input, Select, TextArea, FormError, fieldMatches } from '../../components/Form.js';
import { Dialog } from '../../components/Dialog.js';
import { osOptions } from '../rooms/Actions.js';

const KINDS = ['partition', 'format', 'sync', 'new', 'start', 'postsync', 'create_image', 'initcache', 'reboot', 'halt', 'shell'];
const WITH_OS = new Set(['sync', 'new', 'start', 'postsync', 'create_image']);

export function stepText(s) {
    if (s.kind === 'shell') return `shell:${s.arg || ''}`;
    if (s.kind === 'format') return s.os ? `format:${s.os}` : 'format';
    if (s.kind === 'create_image') return `create_image:${s.os}${s.arg ? ':' + s.arg : ''}`;
    return WITH_OS.has(s.kind) ? `${s.kind}:${s.os}` : s.kind;
}

/** which step row the server's message is about: steps[i] names it, or
 * the message quotes the step */
function stepIndexOf(err, steps) {
    if (!err || !fieldMatches(err.field, 'steps')) return -1;
    const at = /^steps\[(\d+)\]$/.exec(err.field);
    if (at && Number(at[1]) < steps.length) return Number(at[1]);
    const texts = steps.map(stepText);
    const m = String(err.message).match(/'([^']+)'/);
    let i = m ? texts.indexOf(m[1]) : -1;
    if (i < 0) {
        const n = String(err.message).match(/step (\d+)/);
        if (n) i = Number(n[1]) - 1;
    }
    return i;
}

export function JobCreate({ onClose, preset = {} }) {
    const st = useLoad(async () => {
        const [rooms, groups] = await Promise.all([api.get('/rooms?limit=1000'), api.get('/groups?limit=1000')]);
        return { rooms: rooms.items, groups: groups.items };
    }, []);
    const f = useForm({
        hosts: preset.hosts || '',
        room: preset.room || '',
        group: preset.group || '',
        selector: '',
        when: 'now',
        at: '',
        wake: true,
        parallel: '0',
        steps: null,
        targets: null,
    });
    const [steps, setSteps] = useState([{ kind: 'sync', os: '1', arg: '' }]);
    const [osGroup, setOsGroup] = useState(preset.group || '');
    const groups = st.data ? st.data.groups : [];
    const g = groups.find((x) => x.name === (osGroup || f.values.group)) || groups.find((x) => x.config?.os?.length);
    const osOpts = osOptions(g);
    const badStep = stepIndexOf(f.error, steps);
    const setStep = (i, k, v) => setSteps(steps.map((s, j) => (j === i ? { ...s, [k]: v } : s)));

    async function submit(e) {
        e.preventDefault();
        const job = await f.submit(async (v) => {
            const targets = {};
            const hosts = v.hosts.split(/[\s,;]+/).filter(Boolean);
            if (hosts.length) targets.hosts = hosts;
            if (v.room) targets.room = v.room;
            if (v.group) targets.group = v.group;
            if (v.selector.trim()) targets.selector = v.selector.trim();
            let when = v.when;
            if (when === 'at') when = v.at ? 'at:' + new Date(v.at).toISOString().replace(/\.\d+Z$/, 'Z') : 'at:';
            return api.post('/jobs', {
                targets,
                steps: steps.map(stepText),
                when,
                wake: !!v.wake,
                parallel: Number(v.parallel) || 0,
            });
        });
        if (job) {
            onClose();
            go(href('jobs', job.id));
        }
    }
    const kinds = KINDS.filter((k) => k !== 'shell' || can('admin'));
    return html`<${Dialog} title=${t('job.new')} onClose=${onClose} wide>
        <form onSubmit=${submit} class="job-form">
            <fieldset>
                <legend>${t('job.targets')}</legend>
                <${TextArea} form=${f} name="hosts" rows="2" label=${t('job.t_hosts')} hint=${t('job.t_hosts_hint')} />
                <div class="row">
                    <${Select} form=${f} name="room" label=${t('f.room')} options=${[['', '–'], ...(st.data?.rooms || []).map((r) => [r.name, r.name])]} />
                    <${Select} form=${f} name="group" label=${t('f.group')} options=${[['', '–'], ...groups.map((x) => [x.name, x.name])]} />
                    <${Input} form=${f} name="selector" label=${t('f.labels')} placeholder="role=kiosk" />
                </div>
                ${f.errorFor('targets') ? html`<p class="field-error" role="alert">${f.errorFor('targets')}</p>` : null}
            </fieldset>
            <fieldset class=${fieldMatches(f.error?.field, 'steps') && badStep < 0 ? 'has-error' : ''}>
                <legend>${t('job.steps')}</legend>
                <label class="inline">
                    ${t('job.os_from')}
                    <select value=${g?.name || ''} onChange=${(e) => setOsGroup(e.currentTarget.value)}>
                        ${groups.map((x) => html`<option value=${x.name}>${x.name}</option>`)}
                    </select>
                </label>
                <ol class="steps">
                    ${steps.map(
                        (s, i) => html`<li key=${i} class=${badStep === i ? 'has-error' : ''}>
                            <label>${t('job.step_n', { n: i + 1 })}
                                <select value=${s.kind} onChange=${(e) => setStep(i, 'kind', e.currentTarget.value)}>
                                    ${kinds.map((k) => html`<option value=${k}>${t('step.' + k)}</option>`)}
                                </select>
                            </label>
                            ${WITH_OS.has(s.kind) || s.kind === 'format'
                                ? html`<label>${t('act.os')}
                                      <select value=${s.os} onChange=${(e) => setStep(i, 'os', e.currentTarget.value)}>
                                          ${s.kind === 'format' ? html`<option value="">${t('job.all_parts')}</option>` : null}
                                          ${osOpts.length
                                              ? osOpts.map(([v, l]) => html`<option value=${v}>${l}</option>`)
                                              : html`<option value="1">1</option>`}
                                      </select>
                                  </label>`
                                : null}
                            ${s.kind === 'shell' || s.kind === 'create_image'
                                ? html`<label>${s.kind === 'shell' ? t('job.command') : t('job.note')}
                                      <input type="text" value=${s.arg} onInput=${(e) => setStep(i, 'arg', e.currentTarget.value)} />
                                  </label>`
                                : null}
                            <button type="button" class="ghost" disabled=${steps.length < 2} onClick=${() => setSteps(steps.filter((_, j) => j !== i))}>
                                ${t('remove')}<span class="sr-only"> ${t('job.step_n', { n: i + 1 })}</span>
                            </button>
                            ${badStep === i ? html`<p class="field-error" role="alert">${f.error.message}</p>` : null}
                        </li>`
                    )}
                </ol>
                <button type="button" onClick=${() => setSteps([...steps, { kind: 'start', os: osOpts[0]?.[0] || '1', arg: '' }])}>${t('job.add_step')}</button>
                ${fieldMatches(f.error?.field, 'steps') && badStep < 0 ? html`<p class="field-error" role="alert">${f.error.message}</p>` : null}
            </fieldset>
            <div class="row">
                <${Select}
                    form=${f}
                    name="when"
                    label=${t('job.when')}
                    options=${[
                        ['now', t('when.now')],
                        ['next-boot', t('when.next-boot')],
                        ['at', t('when.at')],
                    ]}
                />
                ${f.values.when === 'at' ? html`<${Input} form=${f} name="at" type="datetime-local" label=${t('job.at')} />` : null}
                <${Input} form=${f} name="parallel" type="number" min="0" label=${t('job.parallel')} hint=${t('job.parallel_hint')} />
                <${Input} form=${f} name="wake" type="checkbox" label=${t('job.wake')} />
            </div>
            <${FormError} form=${f} />
            <div class="buttons">
                <button type="submit" class="primary" disabled=${f.busy}>${t('job.create')}</button>
                <button type="button" onClick=${onClose}>${t('cancel')}</button>
            </div>
        </form>
    <//>`;
}
