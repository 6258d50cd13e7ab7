// Pager.js - server-side paging: the list answer's offset, limit,
// next_offset and total (count=true).
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { num } from '../lib/format.js';

export function Pager({ page, onOffset }) {
    if (!page) return null;
    const { offset = 0, limit = 0, total, next_offset } = page;
    const n = (page.items || []).length;
    if (!offset && next_offset === undefined) {
        return total !== undefined ? html`<p class="pager">${t('pager.total', { n: num(total) })}</p>` : null;
    }
    return html`<nav class="pager" aria-label=${t('pager.label')}>
        <button type="button" disabled=${offset <= 0} onClick=${() => onOffset(Math.max(0, offset - limit))}>
            ${t('pager.prev')}
        </button>
        <span>
            ${t('pager.range', { from: num(n ? offset + 1 : 0), to: num(offset + n) })}
            ${total !== undefined ? ' ' + t('pager.of', { n: num(total) }) : ''}
        </span>
        <button type="button" disabled=${next_offset === undefined} onClick=${() => onOffset(next_offset)}>
            ${t('pager.next')}
        </button>
    </nav>`;
}
