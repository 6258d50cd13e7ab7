// Events.js - a list of events (dashboard, events screen, host timeline):
// when, what, which object, who.
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { time } from '../lib/format.js';
import { href } from '../lib/router.js';

export function objectHref(kind, key) {
    switch (kind) {
        case 'host':
            return href('hosts', key);
        case 'job':
            return href('jobs', key);
        case 'image':
            return href('images', key);
        case 'group':
            return href('groups', key);
        case 'room':
            return href('rooms', key);
        case 'profile':
            return href('profiles');
        default:
            return null;
    }
}

function summary(ev) {
    const d = ev.data || {};
    if (ev.kind === 'job') return [d.state, d.hosts !== undefined ? t('events.hosts', { n: d.hosts }) : ''].filter(Boolean).join(' · ');
    if (d.why) return d.why;
    if (d.file) return d.file;
    if (d.error) return d.error;
    if (d.state && ev.kind === 'host') return t('state.' + d.state);
    return '';
}

export function EventList({ events, showKey = true }) {
    if (!events || !events.length) return html`<p class="empty">${t('events.none')}</p>`;
    return html`<ol class="events">
        ${events.map((ev) => {
            const h = objectHref(ev.kind, ev.key);
            const name = (ev.data && ev.kind === 'host' && ev.data.name) || ev.key;
            return html`<li key=${ev.rev}>
                <time datetime=${ev.ts}>${time(ev.ts)}</time>
                <span class="ev-kind">${t('kind.' + ev.kind)}</span>
                ${showKey ? (h ? html`<a href=${h}>${name}</a>` : html`<span>${name}</span>`) : null}
                <span class="ev-type">${ev.type}</span>
                <span class="ev-sum">${summary(ev)}</span>
                ${ev.actor ? html`<span class="ev-actor">${ev.actor}</span>` : null}
            </li>`;
        })}
    </ol>`;
}
