// RoomGrid.js - a room as a grid of host tiles (#/rooms/NAME; "*" is every
// host).  Filter by group, state and label selector, search name/MAC/IP
// (all on the server); select by click, shift-click for a range, or all;
// then act on the selection.  Tiles change from the event stream, never by
// reloading the list.  Requests: GET /hosts?room=&include=activity,
// GET /groups, GET /summary?room=.
import { Component } from 'preact';
import { useState, useRef, useEffect, useMemo, useCallback } from 'preact/hooks';
import { signal, batch } from '@preact/signals';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs, ApiError } from '../../lib/api.js';
import { useLoad, useDebounced } from '../../lib/hooks.js';
import { putHost, putActivity, watchJobs, onEvent } from '../../lib/store.js';
import { can } from '../../lib/session.js';
import { num } from '../../lib/format.js';
import { Page, Loading } from '../../components/Bits.js';
import { Pager, usePages } from '../../components/Pager.js';
import { HostTile } from './HostTile.js';
import { ACTIONS, ActionDialog, ActionResult } from './Actions.js';

const STATES = ['new', 'known', 'booting', 'up', 'offline'];
const LIMIT = 500;

async function loadHosts(params) {
    try {
        return await api.get('/hosts' + qs({ ...params, include: 'activity' }));
    } catch (e) {
        // a server without the console's API additions: no activity, no q
        if (e instanceof ApiError && e.status === 400 && /include|q\b/.test(e.message)) {
            const { q, ...rest } = params;
            return api.get('/hosts' + qs(rest));
        }
        throw e;
    }
}

export function RoomGrid({ room }) {
    const all = room === '*';
    const [group, setGroup] = useState('');
    const [state, setState] = useState('');
    const [selector, setSelector] = useState('');
    const [q, setQ] = useState('');
    const pages = usePages();
    const [action, setAction] = useState(null);
    const [result, setResult] = useState(null);
    const dq = useDebounced(q);
    const dsel = useDebounced(selector);
    const sels = useRef(new Map()).current; // mac -> signal(bool)
    const count = useMemo(() => signal(0), []);
    const last = useRef(-1);
    const rl = useRef(null);

    useEffect(() => watchJobs(), []);
    useEffect(() => pages.reset(), [room, group, state, dsel, dq]);

    const st = useLoad(
        async () => {
            const params = { room: all ? '' : room, group, state, selector: dsel, q: dq, limit: LIMIT, after: pages.after, count: true, sort: 'name' };
            const [hosts, groups, sum] = await Promise.all([
                loadHosts(params),
                api.get('/groups?limit=1000'),
                api.get('/summary' + qs({ room: all ? '' : room })).catch(() => ({})), // counts are extra
            ]);
            batch(() => {
                for (const h of hosts.items) {
                    putHost(h);
                    if ('activity' in h) putActivity(h.mac, h.activity);
                }
            });
            return { hosts, groups: groups.items, sum };
        },
        [room, group, state, dsel, dq, pages.after]
    );

    // hosts that join or leave this room: read the list again (tiles of the
    // hosts already shown change by themselves)
    useEffect(
        () =>
            onEvent((ev) => {
                if (ev.kind !== 'host' || !st.data) return;
                const inList = st.data.hosts.items.some((h) => h.mac === ev.key);
                const d = ev.data || {};
                if ((ev.type === 'created' && (all || d.room === room)) || ev.type === 'deleted' ||
                    (ev.type === 'updated' && (inList ? !all && d.room !== room : !all && d.room === room))) {
                    clearTimeout(rl.current);
                    rl.current = setTimeout(st.reload, 500);
                }
            }),
        [st.data, room]
    );

    const items = st.data ? st.data.hosts.items : [];
    const macs = items.map((h) => h.mac);
    const selOf = (mac) => {
        let s = sels.get(mac);
        if (!s) sels.set(mac, (s = signal(false)));
        return s;
    };
    const recount = () => {
        count.value = macs.filter((m) => selOf(m).peek()).length;
    };
    const pick = useCallback(
        (i, e) => {
            batch(() => {
                if (e.shiftKey && last.current >= 0) {
                    const [a, b] = [Math.min(last.current, i), Math.max(last.current, i)];
                    for (let k = a; k <= b; k++) selOf(macs[k]).value = true;
                } else {
                    const s = selOf(macs[i]);
                    s.value = !s.peek();
                }
                last.current = i;
                recount();
            });
        },
        [macs.join(',')]
    );
    const selectAll = (on) =>
        batch(() => {
            for (const m of macs) selOf(m).value = on;
            recount();
        });
    const selected = () => items.filter((h) => selOf(h.mac).peek());
    const groups = st.data ? st.data.groups : [];

    return html`<${Page} title=${all ? t('rooms.all') : t('rooms.room', { name: room })}>
        <form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
            <label>${t('f.group')}
                <select value=${group} onChange=${(e) => setGroup(e.currentTarget.value)}>
                    <option value="">${t('all')}</option>
                    ${groups.map((g) => html`<option value=${g.name}>${g.name}</option>`)}
                </select>
            </label>
            <label>${t('f.state')}
                <select value=${state} onChange=${(e) => setState(e.currentTarget.value)}>
                    <option value="">${t('all')}</option>
                    ${STATES.map((s) => html`<option value=${s}>${t('state.' + s)}</option>`)}
                </select>
            </label>
            <label>${t('f.labels')}
                <input type="text" value=${selector} placeholder="role=kiosk" onInput=${(e) => setSelector(e.currentTarget.value)} />
            </label>
            <label>${t('rooms.search')}
                <input type="search" value=${q} placeholder=${t('rooms.search_ph')} onInput=${(e) => setQ(e.currentTarget.value)} />
            </label>
        </form>
        <${Loading} st=${st}>
            ${({ hosts, sum }) => html`
                <p class="sub">
                    ${t('rooms.counts', { n: num(sum.hosts?.total) })}
                    ${STATES.map((s) => html` <span class=${'badge st-' + s}>${t('state.' + s)} ${num(sum.hosts?.by_state?.[s] || 0)}</span>`)}
                    ${sum.hosts?.busy ? html` <span class="badge st-running">${t('dash.busy')} ${num(sum.hosts.busy)}</span>` : null}
                    ${sum.hosts?.failed ? html` <span class="badge st-failed">${t('dash.failed')} ${num(sum.hosts.failed)}</span>` : null}
                </p>
                <${SelBar} count=${count} total=${hosts.items.length} onAll=${selectAll} onAction=${setAction} />
                <${ActionResult} res=${result} onClose=${() => setResult(null)} />
                <${TileList} items=${hosts.items} selOf=${selOf} pick=${pick} />
                <${Pager} page=${hosts} pages=${pages} limit=${LIMIT} />
            `}
        <//>
        ${action
            ? html`<${ActionDialog}
                  action=${action}
                  hosts=${selected()}
                  groups=${groups}
                  onClose=${() => setAction(null)}
                  onDone=${(r) => {
                      setAction(null);
                      setResult(r);
                  }}
              />`
            : null}
    <//>`;
}

/** the selection bar: the only part that follows the selection count */
function SelBar({ count, total, onAll, onAction }) {
    const n = count.value;
    return html`<div class="selbar">
        <span class="selcount" role="status">${t('rooms.selected', { n, of: total })}</span>
        <button type="button" onClick=${() => onAll(true)}>${t('rooms.select_all')}</button>
        <button type="button" onClick=${() => onAll(false)} disabled=${!n}>${t('rooms.select_none')}</button>
        ${can('operator')
            ? html`<span class="act-buttons" role="group" aria-label=${t('rooms.actions')}>
                  ${ACTIONS.map(
                      ([a]) => html`<button type="button" class=${'act act-' + a} disabled=${!n} onClick=${() => onAction(a)}>
                          ${t('act.' + a)}
                      </button>`
                  )}
              </span>`
            : null}
    </div>`;
}

/** the tiles; rendered again only when the list itself changes */
class TileList extends Component {
    shouldComponentUpdate(next) {
        return next.items !== this.props.items || next.pick !== this.props.pick;
    }
    render({ items, selOf, pick }) {
        if (!items.length) return html`<p class="empty">${t('rooms.nohosts')}</p>`;
        return html`<ul class="grid" aria-label=${t('rooms.hosts')}>
            ${items.map((h, i) => html`<${HostTile} key=${h.mac} mac=${h.mac} index=${i} sel=${selOf(h.mac)} onPick=${pick} />`)}
        </ul>`;
    }
}
