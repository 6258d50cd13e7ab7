// Layout.js - the frame around every screen: navigation (only what the
// session's role may open), the live indicator, language and logout.
import { html } from '../lib/html.js';
import { t, lang, setLang, LANGS } from '../lib/i18n.js';
import { session, can, logout } from '../lib/session.js';
import { connected } from '../lib/store.js';
import { route } from '../lib/router.js';

export const NAV = [
    ['dashboard', 'viewer'],
    ['rooms', 'viewer'],
    ['devices', 'viewer'],
    ['jobs', 'viewer'],
    ['images', 'viewer'],
    ['groups', 'viewer'],
    ['profiles', 'viewer'],
    ['settings', 'admin'],
    ['tokens', 'admin'],
    ['audit', 'operator'],
    ['events', 'viewer'],
];

export function Layout({ children }) {
    const s = session.value;
    const here = route.value.parts[0] || 'dashboard';
    return html`<div class="shell">
        <a class="skip" href="#main" onClick=${(e) => {
            e.preventDefault();
            document.getElementById('main')?.focus();
        }}>${t('skip')}</a>
        <header class="top">
            <a class="brand" href="#/dashboard">bootherd</a>
            <nav aria-label=${t('nav.label')}>
                <ul>
                    ${NAV.filter(([, role]) => can(role)).map(
                        ([k]) => html`<li>
                            <a href=${'#/' + k} aria-current=${here === k ? 'page' : undefined}>${t('nav.' + k)}</a>
                        </li>`
                    )}
                </ul>
            </nav>
            <div class="who">
                <span class=${'live ' + (connected.value ? 'on' : 'off')} role="status">
                    ${connected.value ? t('live.on') : t('live.off')}
                </span>
                <label class="lang">
                    <span class="sr-only">${t('language')}</span>
                    <select value=${lang.value} onChange=${(e) => setLang(e.currentTarget.value)}>
                        ${LANGS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
                    </select>
                </label>
                <span class="user"><span translate=${false}>${s.name}</span> <span class="role">(${t('role.' + s.role)})</span></span>
                <button type="button" class="ghost" onClick=${logout}>${t('logout')}</button>
            </div>
        </header>
        <main id="main" tabindex="-1">${children}</main>
    </div>`;
}
