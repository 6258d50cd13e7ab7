// Inventory.js - what the client agent reported about the machine
// (the host's `hardware`): DMI, CPU, memory, disks, NICs, firmware.
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { bytes, num } from '../../lib/format.js';
import { Table } from '../../components/Table.js';

export function Inventory({ hw }) {
    if (!hw || !Object.keys(hw).length) return html`<p class="empty">${t('host.noinv')}</p>`;
    const dmi = hw.dmi || {};
    return html`<dl class="facts">
            ${dmi.vendor || dmi.product ? html`<dt>${t('inv.model')}</dt><dd>${[dmi.vendor, dmi.product].filter(Boolean).join(' ')}</dd>` : null}
            ${dmi.serial ? html`<dt>${t('inv.serial')}</dt><dd class="mono">${dmi.serial}</dd>` : null}
            ${dmi.uuid ? html`<dt>UUID</dt><dd class="mono">${dmi.uuid}</dd>` : null}
            ${dmi.bios_version ? html`<dt>${t('inv.bios')}</dt><dd>${dmi.bios_version}</dd>` : null}
            <dt>${t('inv.cpu')}</dt>
            <dd>${hw.cpu_model || '–'}${hw.cpus ? ` (${t('inv.cores', { n: num(hw.cpus) })})` : ''}</dd>
            <dt>${t('inv.memory')}</dt>
            <dd>${hw.memory ? bytes(hw.memory) : '–'}</dd>
            <dt>${t('inv.firmware')}</dt>
            <dd>${hw.firmware ? hw.firmware.toUpperCase() : '–'}</dd>
            ${hw.firmware === 'uefi'
                ? html`<dt>${t('inv.secure_boot')}</dt><dd>${hw.secure_boot === undefined ? '–' : hw.secure_boot ? t('yes') : t('no')}</dd>`
                : null}
        </dl>
        <h3>${t('inv.disks')}</h3>
        <${Table}
            rows=${hw.disks || []}
            empty=${t('inv.nodisks')}
            cols=${[
                { label: t('f.name'), render: (d) => d.name },
                { label: t('inv.model'), render: (d) => d.model || '' },
                { label: t('inv.serial'), render: (d) => d.serial || '' },
                { label: t('inv.size'), cls: 'num', render: (d) => bytes(d.size) },
                { label: t('inv.kind'), render: (d) => (d.rotational ? 'HDD' : 'SSD') },
            ]}
        />
        <h3>${t('inv.nics')}</h3>
        <${Table}
            rows=${hw.nics || []}
            empty=${t('inv.nonics')}
            cols=${[
                { label: t('f.name'), render: (n) => n.name },
                { label: 'MAC', render: (n) => html`<span class="mono">${n.mac || ''}</span>` },
                { label: t('inv.driver'), render: (n) => n.driver || '' },
                { label: t('inv.speed'), cls: 'num', render: (n) => (n.speed ? `${num(n.speed)} Mbit/s` : '') },
            ]}
        />`;
}
