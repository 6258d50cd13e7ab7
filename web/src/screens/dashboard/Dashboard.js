// Dashboard.js - the fleet at a glance: hosts by state, rooms, groups,
// images, jobs; boot services; the image store; the last events, live.
// Requests: GET /summary, then GET /events since a little before its rev.
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { recent } from '../../lib/store.js';
import { num, bytes } from '../../lib/format.js';
import { Page, Stat, Loading } from '../../components/Bits.js';
import { EventList } from '../../components/Events.js';

const STATES = ['new', 'known', 'booting', 'up', 'offline'];

async function load() {
    const sum = await api.get('/summary');
    const since = Math.max(0, (sum.rev || 0) - 40);
    const ev = await api.get(`/events?since=${since}`);
    return { sum, events: ev.items.reverse() };
}

export function Dashboard() {
    const st = useLoad(load, [], { kinds: ['host', 'job', 'room', 'group', 'image', 'profile'], delay: 1500 });
    return html`<${Page} title=${t('nav.dashboard')}>
        <${Loading} st=${st}>
            ${({ sum, events }) => {
                const hs = sum.hosts || {};
                const by = hs.by_state || {};
                const live = recent.value;
                const seen = new Set(live.map((e) => e.rev));
                const all = live.concat(events.filter((e) => !seen.has(e.rev))).slice(0, 30);
                const boot = sum.boot || {};
                const store = sum.store || {};
                return html`
                    <h2>${t('dash.hosts')}</h2>
                    <div class="stats">
                        <${Stat} label=${t('dash.total')} value=${num(hs.total)} href="#/rooms" />
                        ${STATES.map(
                            (s) => html`<${Stat}
                                label=${t('state.' + s)}
                                value=${num(by[s] || 0)}
                                tone=${'st-' + s}
                                href=${s === 'new' ? '#/devices' : '#/rooms'}
                            />`
                        )}
                        <${Stat} label=${t('dash.busy')} value=${num(hs.busy || 0)} tone="st-running" href="#/jobs" />
                        <${Stat} label=${t('dash.failed')} value=${num(hs.failed || 0)} tone="st-failed" href="#/jobs" />
                    </div>
                    <div class="cols">
                        <div>
                            <h2>${t('dash.fleet')}</h2>
                            <div class="stats">
                                <${Stat} label=${t('nav.rooms')} value=${num(sum.rooms)} href="#/rooms" />
                                <${Stat} label=${t('nav.groups')} value=${num(sum.groups)} href="#/groups" />
                                <${Stat} label=${t('nav.profiles')} value=${num(sum.profiles)} href="#/profiles" />
                                <${Stat} label=${t('nav.images')} value=${num(sum.images)} href="#/images" />
                                <${Stat}
                                    label=${t('dash.jobs')}
                                    value=${num(sum.jobs?.running || 0)}
                                    detail=${t('dash.waiting', { n: num(sum.jobs?.waiting || 0) })}
                                    href="#/jobs"
                                />
                            </div>
                            <h2>${t('dash.boot')}</h2>
                            <dl class="facts">
                                <dt>${t('dash.dhcp')}</dt>
                                <dd>${boot.dhcp_mode ? t('dhcp.' + boot.dhcp_mode) : '–'}</dd>
                                <dt>${t('dash.ifaces')}</dt>
                                <dd>${(boot.interfaces || []).map((i) => (typeof i === 'string' ? i : i.name || JSON.stringify(i))).join(', ') || '–'}</dd>
                                <dt>${t('dash.leases')}</dt>
                                <dd>${num(boot.leases)}</dd>
                                <dt>${t('dash.tftp')}</dt>
                                <dd>${num(boot.tftp_transfers)}</dd>
                                <dt>${t('dash.http')}</dt>
                                <dd>${num(boot.http_connections)}</dd>
                            </dl>
                            <h2>${t('dash.store')}</h2>
                            <dl class="facts">
                                <dt>${t('img.chunks')}</dt>
                                <dd>${num(store.chunks)}</dd>
                                <dt>${t('img.stored')}</dt>
                                <dd>${bytes(store.stored_bytes)}</dd>
                                <dt>${t('img.logical')}</dt>
                                <dd>${bytes(store.logical_bytes)}</dd>
                                <dt>${t('img.dedup')}</dt>
                                <dd>${store.dedup_ratio ? num(store.dedup_ratio, 2) + ' : 1' : '–'}</dd>
                            </dl>
                        </div>
                        <div>
                            <h2>${t('dash.events')}</h2>
                            <${EventList} events=${all} />
                        </div>
                    </div>
                `;
            }}
        <//>
    <//>`;
}
