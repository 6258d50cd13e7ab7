// Table.js - a plain data table: cols = [{label, render(row), cls}].
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';

export function Table({ cols, rows, rowKey, empty, caption, rowClass }) {
    if (!rows || !rows.length) return html`<p class="empty">${empty || t('nothing')}</p>`;
    return html`<div class="table-wrap">
        <table>
            ${caption ? html`<caption>${caption}</caption>` : null}
            <thead>
                <tr>
                    ${cols.map((c) => html`<th scope="col" class=${c.cls || ''}>${c.label}</th>`)}
                </tr>
            </thead>
            <tbody>
                ${rows.map(
                    (r, i) => html`<tr key=${rowKey ? rowKey(r) : i} class=${rowClass ? rowClass(r) : ''}>
                        ${cols.map((c) => html`<td class=${c.cls || ''}>${c.render(r)}</td>`)}
                    </tr>`
                )}
            </tbody>
        </table>
    </div>`;
}
