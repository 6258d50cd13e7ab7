// Actions.js - what an operator does to the selected hosts: wake
// (POST /wake), or a job (POST /jobs with targets.hosts and steps).  Steps
// that name an OS entry (sync, new, start, capture) take N from the OS
// entries of the hosts' group (its start.conf).
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { href } from '../../lib/router.js';
import { useForm, Select, Input, FormError } from '../../components/Form.js';
import { Dialog } from '../../components/Dialog.js';

export const ACTIONS = [
    ['wake', null],
    ['partition', 'partition'],
    ['format', 'format'],
    ['sync', 'sync'],
    ['new', 'new'],
    ['start', 'start'],
    ['capture', 'create_image'],
    ['reboot', 'reboot'],
    ['halt', 'halt'],
];
const NEEDS_OS = new Set(['sync', 'new', 'start', 'create_image']);

export function osOptions(group) {
    const os = (group && group.config && group.config.os) || [];
    return os.map((o, i) => [String(i + 1), `${i + 1}: ${o.name || '?'}${o.base_image ? ' (' + o.base_image + ')' : ''}`]);
}

export function ActionDialog({ action, hosts, groups, onClose, onDone }) {
    const step = ACTIONS.find(([a]) => a === action)[1];
    const groupNames = [...new Set(hosts.map((h) => h.group).filter(Boolean))];
    // the room grid passes the groups it read; elsewhere read the one needed
    const fetched = useLoad(
        () => (groups || !groupNames[0] ? null : api.get('/groups/' + enc(groupNames[0]))),
        [groupNames[0]]
    );
    const group = groups ? groups.find((g) => g.name === groupNames[0]) : fetched.data;
    const opts = osOptions(group);
    const f = useForm({ os: '1', wake: action !== 'wake', when: 'now', then_start: action === 'sync' || action === 'new' });
    const needsOs = NEEDS_OS.has(step);
    async function go(e) {
        e.preventDefault();
        const macs = hosts.map((h) => h.mac);
        const res = await f.submit(async (v) => {
            if (action === 'wake') return { wake: await api.post('/wake', { hosts: macs }) };
            const steps = [needsOs ? `${step}:${v.os}` : step];
            if (v.then_start && (step === 'sync' || step === 'new')) steps.push(`start:${v.os}`);
            return { job: await api.post('/jobs', { targets: { hosts: macs }, steps, when: v.when, wake: !!v.wake }) };
        });
        if (res) onDone(res);
    }
    return html`<${Dialog} title=${t('act.title', { what: t('act.' + action), n: hosts.length })} onClose=${onClose}>
        <form onSubmit=${go}>
            <p>${hosts.slice(0, 12).map((h) => h.name || h.mac).join(', ')}${hosts.length > 12 ? ' …' : ''}</p>
            ${groupNames.length > 1 ? html`<p class="note">${t('act.groups', { groups: groupNames.join(', ') })}</p>` : null}
            ${needsOs
                ? opts.length
                    ? html`<${Select} form=${f} name="os" label=${t('act.os')} options=${opts} />`
                    : html`<p class="note">${t('act.noos')}</p>
                          <${Input} form=${f} name="os" label=${t('act.osn')} type="number" min="1" />`
                : null}
            ${step === 'sync' || step === 'new'
                ? html`<${Input} form=${f} name="then_start" type="checkbox" label=${t('act.then_start')} />`
                : null}
            ${action !== 'wake'
                ? html`<${Select}
                          form=${f}
                          name="when"
                          label=${t('job.when')}
                          options=${[
                              ['now', t('when.now')],
                              ['next-boot', t('when.next-boot')],
                          ]}
                      />
                      <${Input} form=${f} name="wake" type="checkbox" label=${t('job.wake')} />`
                : null}
            <${FormError} form=${f} />
            <div class="buttons">
                <button type="submit" class="primary" disabled=${f.busy}>${t('act.' + action)}</button>
                <button type="button" onClick=${onClose}>${t('cancel')}</button>
            </div>
        </form>
    <//>`;
}

export function ActionResult({ res, onClose }) {
    if (!res) return null;
    if (res.job)
        return html`<div class="notice" role="status">
            ${t('act.job_made')} <a href=${href('jobs', res.job.id)}>${t('job.title', { id: res.job.id })}</a>
            <button type="button" class="ghost" onClick=${onClose}>${t('close')}</button>
        </div>`;
    return html`<div class="notice" role="status">
        ${t('act.woken')}
        <button type="button" class="ghost" onClick=${onClose}>${t('close')}</button>
    </div>`;
}
