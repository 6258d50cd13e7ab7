// login.mjs - a bad token is refused; login; the token is kept nowhere in
// the browser; a reload keeps the session; a write without the CSRF header
// is refused; logout ends the session; an idle session expires.
import { startDaemon, newPage, login, check, step, eq, shot } from '../lib.mjs';

export async function run() {
    const d = await startDaemon();
    const page = await newPage(d);
    await page.waitForSelector('#login-token');
    await shot(page, 'login');
    await page.fill('#login-token', 'bh_000000000000_notavalidsecretatallnotavalidsecretatall12');
    await page.click('form.login-card button[type=submit]');
    await step('a bad token is refused with a message at the field', () => page.waitForSelector('#login-err'));
    eq('  ... and no session cookie is set', [], (await page.context().cookies()).filter((c) => c.name === 'bh_session'));

    await login(page, d.token);
    check('login shows the console', await page.isVisible('nav a[href="#/dashboard"]'));
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === 'bh_session');
    check('the session cookie is HttpOnly and SameSite=Strict', c && c.httpOnly && c.sameSite === 'Strict', JSON.stringify(cookies));
    const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, u: location.href, f: document.getElementById('login-token')?.value || '' }));
    check('the token is not in localStorage, sessionStorage, the URL or a field', !stored.includes(d.token) && !stored.includes(d.token.slice(16)), stored);
    await page.reload();
    await step('a reload keeps the session (GET /session)', () => page.waitForSelector('header.top'));

    const noCsrf = await page.evaluate(async () => (await fetch('/api/v1/rooms', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"x1"}' })).status);
    eq('a write with the cookie but no CSRF header: 403', 403, noCsrf);
    const withCsrf = await page.evaluate(async () => {
        const s = await (await fetch('/api/v1/session')).json();
        return (await fetch('/api/v1/rooms', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: '{"name":"x2"}' })).status;
    });
    eq('  ... with it: 201', 201, withCsrf);

    await page.click('header.top .who button');
    await step('logout goes back to the login page', () => page.waitForSelector('#login-token'));
    const after = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
    eq('  ... and the session is gone (GET /session: 401)', 401, after);
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();

    // idle expiry: a session left alone longer than [http] session_idle
    const d2 = await startDaemon('[http]\nsession_idle = 2\n');
    const p2 = await newPage(d2);
    await login(p2, d2.token);
    await p2.waitForTimeout(3500);
    await p2.evaluate(() => {
        location.hash = '#/rooms';
    });
    await step('an idle session expires: the next request goes back to login', () => p2.waitForSelector('#login-token'));
    await p2.context().close();
}
