// Login.js - one field for an API token.  The token goes to POST
// /api/v1/session once and is cleared from the field; the browser keeps
// only the server's HttpOnly cookie (no localStorage, no URL).
import { useState, useRef } from 'preact/hooks';
import { html } from '../../lib/html.js';
import { t, lang, setLang, LANGS } from '../../lib/i18n.js';
import { login } from '../../lib/session.js';

export function Login() {
    const [err, setErr] = useState(null);
    const [busy, setBusy] = useState(false);
    const input = useRef(null);
    async function submit(e) {
        e.preventDefault();
        const el = input.current;
        const token = el.value.trim();
        el.value = ''; // never kept, not even in the field
        if (!token) {
            setErr(t('login.empty'));
            return;
        }
        setBusy(true);
        setErr(null);
        try {
            await login(token);
        } catch (ex) {
            setErr(ex.status === 401 ? t('login.bad') : ex.status === 403 ? t('login.host') : ex.message);
        } finally {
            setBusy(false);
        }
    }
    return html`<main class="login" id="main">
        <form class="card login-card" onSubmit=${submit} autocomplete="off">
            <h1>bootherd</h1>
            <p>${t('login.intro')}</p>
            <div class=${'field' + (err ? ' has-error' : '')}>
                <label for="login-token">${t('login.token')}</label>
                <input
                    id="login-token"
                    ref=${input}
                    type="password"
                    name="token"
                    autocomplete="off"
                    spellcheck="false"
                    aria-invalid=${err ? 'true' : undefined}
                    aria-describedby=${err ? 'login-err' : 'login-hint'}
                />
                ${err
                    ? html`<small id="login-err" class="field-error" role="alert">${err}</small>`
                    : html`<small id="login-hint" class="hint">${t('login.hint')}</small>`}
            </div>
            <button type="submit" class="primary" disabled=${busy}>${t('login.submit')}</button>
            <label class="lang">
                ${t('language')}
                <select value=${lang.value} onChange=${(e) => setLang(e.currentTarget.value)}>
                    ${LANGS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
                </select>
            </label>
        </form>
    </main>`;
}
