// Bits.js - small pieces every screen uses: page frame, stat tile, state
// badge, progress, loading and error states.
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { pct, rate, duration } from '../lib/format.js';
import { FormError } from './Form.js';

export function Page({ title, actions, children, sub }) {
    return html`<section class="page">
        <header class="page-head">
            <div>
                <h1>${title}</h1>
                ${sub ? html`<p class="sub">${sub}</p>` : null}
            </div>
            ${actions ? html`<div class="actions">${actions}</div>` : null}
        </header>
        ${children}
    </section>`;
}

export function Stat({ label, value, href, tone, detail }) {
    const body = html`<span class="stat-value">${value}</span><span class="stat-label">${label}</span>
        ${detail ? html`<span class="stat-detail">${detail}</span>` : null}`;
    return href
        ? html`<a class=${'stat ' + (tone || '')} href=${href}>${body}</a>`
        : html`<div class=${'stat ' + (tone || '')}>${body}</div>`;
}

export function Badge({ state, label }) {
    return html`<span class=${'badge st-' + state}>${label || t('state.' + state)}</span>`;
}

/** a step's progress: <progress> (no inline style), percent, rate, ETA */
export function Progress({ progress, eta, compact }) {
    if (!progress) return null;
    const p = pct(progress.done, progress.total);
    return html`<div class=${'prog' + (compact ? ' compact' : '')}>
        <progress max="100" value=${p ?? undefined} aria-label=${t('progress')}>${p ?? ''}%</progress>
        <span class="prog-text">
            ${p !== null ? `${p} %` : progress.phase || ''}
            ${progress.rate ? html` · ${rate(progress.rate)}` : null}
            ${eta !== null && eta !== undefined ? html` · ${t('eta')} ${duration(eta)}` : null}
        </span>
    </div>`;
}

export function Loading({ st, children }) {
    if (st.error && st.data === undefined) return html`<${FormError} error=${st.error} />`;
    if (st.data === undefined) return html`<p class="loading" aria-busy="true">${t('loading')}</p>`;
    return html`${st.error ? html`<${FormError} error=${st.error} />` : null}${children(st.data)}`;
}
