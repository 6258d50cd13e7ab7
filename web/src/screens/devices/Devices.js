// Devices.js - New devices (#/devices): machines that network-booted and
// are not registered yet (state=new), with MAC, first seen, firmware and
// inventory.  Register many at once: a name pattern (r101-pc{01..30}) in
// the order given, by MAC or by first seen, a room and a group
// (POST /hosts/register, all or nothing).  MACs can also be pasted, or a
// LINBO devices.csv imported (POST /hosts/import: ImportForm.js).  The list
// follows host events, so a machine that boots shows up without a reload.
// Requests: GET /hosts?state=new, GET /rooms, GET /groups.
import { useState } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, qs } from '../../lib/api.js';
import { useLoad } from '../../lib/hooks.js';
import { can } from '../../lib/session.js';
import { href } from '../../lib/router.js';
import { time, bytes } from '../../lib/format.js';
import { Page, Loading } from '../../components/Bits.js';
import { Pager, usePages } from '../../components/Pager.js';
import { RegisterForm } from './RegisterForm.js';
import { ImportForm } from './ImportForm.js';

export function Devices() {
    const pages = usePages();
    const [picked, setPicked] = useState(new Set());
    const [done, setDone] = useState(null);
    const st = useLoad(
        async () => {
            const [hosts, rooms, groups] = await Promise.all([
                api.get('/hosts' + qs({ state: 'new', sort: 'created_at', limit: 200, after: pages.after, count: true })),
                api.get('/rooms?limit=1000'),
                api.get('/groups?limit=1000'),
            ]);
            return { hosts, rooms: rooms.items, groups: groups.items };
        },
        [pages.after],
        { kinds: ['host'], filter: (ev) => ['created', 'deleted', 'updated'].includes(ev.type) }
    );
    const toggle = (mac) => {
        const n = new Set(picked);
        if (n.has(mac)) n.delete(mac);
        else n.add(mac);
        setPicked(n);
    };
    return html`<${Page} title=${t('nav.devices')} sub=${t('dev.intro')}>
        ${done
            ? html`<div class="notice" role="status">
                  ${t('dev.done', { n: done.length })}
                  ${done.slice(0, 30).map((h) => html` <a href=${href('hosts', h.name || h.mac)}>${h.name || h.mac}</a>`)}
                  <button type="button" class="ghost" onClick=${() => setDone(null)}>${t('close')}</button>
              </div>`
            : null}
        <${Loading} st=${st}>
            ${({ hosts, rooms, groups }) => html`
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">
                                    <input
                                        type="checkbox"
                                        aria-label=${t('dev.pick_all')}
                                        checked=${hosts.items.length > 0 && hosts.items.every((h) => picked.has(h.mac))}
                                        onChange=${(e) => setPicked(e.currentTarget.checked ? new Set(hosts.items.map((h) => h.mac)) : new Set())}
                                    />
                                </th>
                                <th scope="col">MAC</th>
                                <th scope="col">${t('dev.first_seen')}</th>
                                <th scope="col">${t('dev.last_seen')}</th>
                                <th scope="col">${t('inv.firmware')}</th>
                                <th scope="col">${t('f.ip')}</th>
                                <th scope="col">${t('host.inventory')}</th>
                            </tr>
                        </thead>
                        <tbody>
                            ${hosts.items.map((h) => {
                                const hw = h.hardware || {};
                                return html`<tr key=${h.mac} data-mac=${h.mac}>
                                    <td>
                                        <input type="checkbox" aria-label=${t('rooms.select_host', { name: h.mac })} checked=${picked.has(h.mac)} onChange=${() => toggle(h.mac)} />
                                    </td>
                                    <td><a class="mono" href=${href('hosts', h.mac)}>${h.mac}</a></td>
                                    <td>${time(h.created_at)}</td>
                                    <td>${time(h.last_seen)}</td>
                                    <td>${[hw.firmware ? hw.firmware.toUpperCase() : null, h.arch || null].filter(Boolean).join(' · ') || '–'}</td>
                                    <td>${h.ip || ''}</td>
                                    <td>
                                        ${[hw.dmi?.vendor, hw.dmi?.product, hw.cpus ? hw.cpus + ' CPU' : null, hw.memory ? bytes(hw.memory) : null]
                                            .filter(Boolean)
                                            .join(' · ') || '–'}
                                    </td>
                                </tr>`;
                            })}
                        </tbody>
                    </table>
                </div>
                ${hosts.items.length ? null : html`<p class="empty">${t('dev.none')}</p>`}
                <${Pager} page=${hosts} pages=${pages} limit=${200} />
                ${can('operator')
                    ? html`<${RegisterForm}
                          picked=${hosts.items.filter((h) => picked.has(h.mac)).map((h) => h.mac)}
                          rooms=${rooms}
                          groups=${groups}
                          onDone=${(list) => {
                              setPicked(new Set());
                              setDone(list);
                              st.reload();
                          }}
                      />`
                    : null}
                ${can('operator') ? html`<${ImportForm} onDone=${() => st.reload()} />` : null}
            `}
        <//>
    <//>`;
}
