// Rooms.js - the list of rooms (#/rooms); each opens its grid of hosts.
// Requests: GET /rooms (paged, with the total), GET /summary.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { href } from '../../lib/router.js';
import { can } from '../../lib/session.js';
import { num } from '../../lib/format.js';
import { Page, Stat, Loading } from '../../components/Bits.js';
import { Pager, usePages } from '../../components/Pager.js';
import { RoomForm } from './RoomForm.js';

export function Rooms() {
    const pages = usePages();
    const [edit, setEdit] = useState(null);
    const st = useLoad(
        async () => {
            const [rooms, sum] = await Promise.all([
                api.get('/rooms' + qs({ limit: 60, after: pages.after, count: true })),
                api.get('/summary').catch(() => ({})),
            ]);
            return { rooms, sum };
        },
        [pages.after],
        { kinds: ['room'] }
    );
    return html`<${Page}
        title=${t('nav.rooms')}
        actions=${can('operator')
            ? html`<button type="button" class="primary" onClick=${() => setEdit({})}>${t('rooms.add')}</button>`
            : null}
    >
        <${Loading} st=${st}>
            ${({ rooms, sum }) => html`
                <p class="sub">${t('rooms.intro', { hosts: num(sum.hosts?.total), rooms: num(sum.rooms) })}</p>
                <ul class="room-cards">
                    ${rooms.items.map(
                        (r) => html`<li key=${r.name} class="card room-card">
                            <h2><a href=${href('rooms', r.name)}>${r.name}</a></h2>
                            ${r.location ? html`<p>${r.location}</p>` : null}
                            ${r.subnet ? html`<p class="mono">${r.subnet}</p>` : null}
                            ${r.description ? html`<p class="muted">${r.description}</p>` : null}
                            ${can('operator')
                                ? html`<button type="button" class="ghost" onClick=${() => setEdit(r)}>
                                      ${t('edit')}<span class="sr-only"> ${r.name}</span>
                                  </button>`
                                : null}
                        </li>`
                    )}
                </ul>
                ${rooms.items.length ? null : html`<p class="empty">${t('rooms.none')}</p>`}
                <${Pager} page=${rooms} pages=${pages} limit=${60} />
                <div class="stats">
                    <${Stat} label=${t('rooms.all')} value=${num(sum.hosts?.total)} href=${href('rooms', '*')} />
                </div>
            `}
        <//>
        ${edit ? html`<${RoomForm} room=${edit} onClose=${() => setEdit(null)} onSaved=${() => st.reload()} />` : null}
    <//>`;
}
