// Pager.js - server-side paging.  Every list answers {items, next} (and
// total with count=true); next is an opaque cursor the list takes back as
// ?after=.  usePages keeps the cursors of the pages walked through, so
// "previous" goes back one and the range counts whole pages of `limit`.
import { html } from '../lib/html.js';
import { useState } from 'preact/hooks';
import { t } from '../lib/i18n.js';
import { num } from '../lib/format.js';

/** the screen's paging state: after (the cursor to ask with), back, more, reset */
export function usePages() {
    const [trail, setTrail] = useState([]);
    return {
        after: trail.length ? trail[trail.length - 1] : undefined,
        depth: trail.length,
        back: () => setTrail(trail.slice(0, -1)),
        more: (next) => setTrail([...trail, next]),
        reset: () => setTrail([]),
    };
}

export function Pager({ page, pages, limit }) {
    if (!page) return null;
    const { total, next } = page;
    const n = (page.items || []).length;
    const offset = pages.depth * limit;
    if (!pages.depth && next == null) {
        return total !== undefined ? html`<p class="pager">${t('pager.total', { n: num(total) })}</p>` : null;
    }
    return html`<nav class="pager" aria-label=${t('pager.label')}>
        <button type="button" disabled=${pages.depth <= 0} onClick=${() => pages.back()}>
            ${t('pager.prev')}
        </button>
        <span>
            ${t('pager.range', { from: num(n ? offset + 1 : 0), to: num(offset + n) })}
            ${total !== undefined ? ' ' + t('pager.of', { n: num(total) }) : ''}
        </span>
        <button type="button" disabled=${next == null} onClick=${() => pages.more(next)}>
            ${t('pager.next')}
        </button>
    </nav>`;
}
