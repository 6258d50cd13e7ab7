// Settings.js - the run-time settings (#/settings, admin): the unknown-host
// policy, default profile, offline timeout, snponly, server address, HTTP
// base and the DHCP mode per interface (PATCH /settings), next to what is
// in force (GET /settings/effective: the config file fills what is unset).
// Requests: GET /settings, GET /settings/effective.
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { Page, Loading } from '../../components/Bits.js';
import { useForm, Input, Select, TextArea, FormError } from '../../components/Form.js';

export function Settings() {
    const st = useLoad(async () => {
        const [s, eff] = await Promise.all([api.get('/settings'), api.get('/settings/effective')]);
        return { s, eff };
    }, []);
    return html`<${Page} title=${t('nav.settings')} sub=${t('set.intro')}>
        <${Loading} st=${st}>
            ${({ s, eff }) => html`<div class="cols">
                <${SettingsForm} key=${s.rev} s=${s} onSaved=${st.reload} />
                <div>
                    <h2>${t('set.effective')}</h2>
                    <dl class="facts">
                        ${Object.entries(eff).map(
                            ([k, v]) => html`<dt>${k}</dt><dd class="mono">${typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>`
                        )}
                    </dl>
                </div>
            </div>`}
        <//>
    <//>`;
}

function SettingsForm({ s, onSaved }) {
    const f = useForm({
        unknown_hosts: s.unknown_hosts || '',
        default_profile: s.default_profile || '',
        offline_after: s.offline_after ?? '',
        snponly: s.snponly === null ? '' : String(s.snponly),
        server_ip: s.server_ip || '',
        http_base: s.http_base || '',
        dhcp_modes: Object.entries(s.dhcp_modes || {})
            .map(([k, v]) => `${k}=${v}`)
            .join('\n'),
    });
    async function save(e) {
        e.preventDefault();
        const r = await f.submit((v) => {
            const modes = {};
            for (const line of v.dhcp_modes.split('\n')) {
                const [k, m] = line.split('=').map((x) => x.trim());
                if (k) modes[k] = m ?? '';
            }
            for (const k of Object.keys(s.dhcp_modes || {})) if (!(k in modes)) modes[k] = null;
            const off = String(v.offline_after).trim();
            return api.patch('/settings', {
                unknown_hosts: v.unknown_hosts || null,
                default_profile: v.default_profile || null,
                offline_after: off === '' ? null : /^\d+$/.test(off) ? Number(off) : off,
                snponly: v.snponly === '' ? null : v.snponly === 'true',
                server_ip: v.server_ip || null,
                http_base: v.http_base || null,
                dhcp_modes: Object.keys(modes).length ? modes : null,
            });
        });
        if (r) onSaved();
    }
    const unset = ['', t('set.unset')];
    return html`<form onSubmit=${save}>
        <h2>${t('set.boot')}</h2>
        <${Select}
            form=${f}
            name="unknown_hosts"
            label=${t('set.unknown')}
            options=${[unset, ['register', t('set.u_register')], ['ignore', t('set.u_ignore')], ['boot-default', t('set.u_default')]]}
        />
        <${Input} form=${f} name="default_profile" label=${t('grp.profile')} />
        <${Input} form=${f} name="offline_after" type="number" label=${t('set.offline')} hint=${t('set.offline_hint')} />
        <${Select} form=${f} name="snponly" label=${t('set.snponly')} options=${[unset, ['true', t('yes')], ['false', t('no')]]} />
        <${Input} form=${f} name="server_ip" label=${t('set.server_ip')} />
        <${Input} form=${f} name="http_base" label=${t('set.http_base')} placeholder="http://10.0.0.1:8080" />
        <${TextArea} form=${f} name="dhcp_modes" rows="3" class="mono" label=${t('set.dhcp_modes')} hint=${t('set.dhcp_hint')} />
        <${FormError} form=${f} />
        <button type="submit" class="primary" disabled=${f.busy}>${t('save')}</button>
    </form>`;
}
