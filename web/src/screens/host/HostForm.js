// HostForm.js - a host's properties and labels, saved with PATCH (a merge
// patch: only what changed, a cleared field as null).
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc } from '../../lib/api.js';
import { putHost } from '../../lib/store.js';
import { can } from '../../lib/session.js';
import { useForm, Input, Select, TextArea, FormError } from '../../components/Form.js';
import { labelsText, labelsPatch } from '../../components/Labels.js';

const FIELDS = ['name', 'description', 'room', 'group', 'profile', 'ip', 'serial'];
const ARCHES = ['', 'x86_64', 'i386', 'arm64', 'arm32'];

export function HostForm({ host, onSaved }) {
    const init = { arch: host.arch || '', labels: labelsText(host.labels) };
    for (const k of FIELDS) init[k] = host[k] ?? '';
    const f = useForm(init);
    const ro = !can('operator');
    async function save(e) {
        e.preventDefault();
        const saved = await f.submit((v) => {
            const patch = {};
            for (const k of FIELDS) if ((v[k] || '') !== (host[k] || '')) patch[k] = v[k] === '' ? null : v[k];
            if (v.arch !== (host.arch || '')) patch.arch = v.arch;
            const lp = labelsPatch(v.labels, host.labels);
            const changed = Object.entries(lp).filter(([k, x]) => (host.labels || {})[k] !== x);
            if (changed.length) patch.labels = Object.fromEntries(changed);
            if (!Object.keys(patch).length) return host;
            return api.patch('/hosts/' + enc(host.mac), patch);
        });
        if (saved) {
            putHost(saved);
            onSaved(saved);
        }
    }
    return html`<form onSubmit=${save} class="host-form">
        <fieldset disabled=${ro}>
            <legend>${t('host.props')}</legend>
            <div class="row">
                <${Input} form=${f} name="name" label=${t('f.name')} />
                <${Input} form=${f} name="room" label=${t('f.room')} />
                <${Input} form=${f} name="group" label=${t('f.group')} />
                <${Input} form=${f} name="profile" label=${t('f.profile')} />
            </div>
            <div class="row">
                <${Input} form=${f} name="ip" label=${t('f.ip')} />
                <${Select} form=${f} name="arch" label=${t('f.arch')} options=${ARCHES.map((a) => [a, a || '–'])} />
                <${Input} form=${f} name="serial" label=${t('inv.serial')} />
            </div>
            <${Input} form=${f} name="description" label=${t('f.description')} />
            <${TextArea} form=${f} name="labels" rows="3" class="mono" label=${t('f.labels')} hint=${t('labels.hint')} />
            <${FormError} form=${f} />
            ${ro ? null : html`<button type="submit" class="primary" disabled=${f.busy}>${t('save')}</button>`}
        </fieldset>
    </form>`;
}
