// Events.js - the live event stream (#/events): the last events, then
// every new one as it happens; filter by kind, pause.
// Requests: GET /events (the page before now).
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { recent, lastRev } from '../../lib/store.js';
import { Page, Loading } from '../../components/Bits.js';
import { EventList } from '../../components/Events.js';

const KINDS = ['', 'room', 'group', 'host', 'profile', 'image', 'job', 'token', 'settings'];

export function Events() {
    const [kind, setKind] = useState('');
    const [frozen, setFrozen] = useState(null);
    const st = useLoad(async () => {
        const page = await api.get(`/events?since=${Math.max(0, lastRev() - 100)}`);
        return page.items.reverse();
    }, []);
    return html`<${Page}
        title=${t('nav.events')}
        actions=${html`<button type="button" onClick=${() => setFrozen(frozen ? null : recent.value)}>${frozen ? t('ev.resume') : t('ev.pause')}</button>`}
    >
        <form class="filters" onSubmit=${(e) => e.preventDefault()}>
            <label>${t('audit.kind')}
                <select value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
                    ${KINDS.map((k) => html`<option value=${k}>${k ? t('kind.' + k) : t('all')}</option>`)}
                </select>
            </label>
        </form>
        <${Loading} st=${st}>
            ${(old) => {
                const live = frozen || recent.value;
                const seen = new Set(live.map((e) => e.rev));
                const all = live.concat(old.filter((e) => !seen.has(e.rev)));
                return html`<${EventList} events=${(kind ? all.filter((e) => e.kind === kind) : all).slice(0, 300)} />`;
            }}
        <//>
    <//>`;
}
