// tls.mjs - the same login over HTTPS, with the certificate `bootherd init
// --tls` made: the session cookie is Secure, the answer carries HSTS, and
// plain HTTP on that port is redirected.  (Chromium is told to accept the
// self-signed certificate; the CLI pins it instead.)
import { execFileSync } from 'node:child_process';
import { BH, startDaemon, newPage, login, check, eq, step, skip } from '../lib.mjs';

export async function run() {
    let help = '';
    try {
        help = execFileSync(BH, ['init', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
        help = String(e.stdout || '') + String(e.stderr || '');
    }
    if (!help.includes('--tls')) return skip('login over HTTPS', 'this bootherd has no `init --tls`');
    const d = await startDaemon(null, { tls: true });
    if (!d.url.startsWith('https:')) return check('bootherd init --tls serves HTTPS', false, d.url);
    const page = await newPage(d, { insecure: true });
    const res = await page.goto(d.url + '/');
    check('the console over HTTPS carries Strict-Transport-Security', /max-age=\d+/.test((await res.allHeaders())['strict-transport-security'] || ''));
    await login(page, d.token);
    const c = (await page.context().cookies()).find((x) => x.name === '__Host-bh_session');
    check('the session cookie is __Host-bh_session: Secure, HttpOnly, SameSite=Strict, Path=/, no Domain', c && c.secure && c.httpOnly && c.sameSite === 'Strict' && c.path === '/' && !c.domain.startsWith('.'), JSON.stringify(c));
    await step('the live stream runs over wss://', () => page.waitForSelector('.live.on'));
    const plain = d.url.replace(/^https:/, 'http:');
    const r = await fetch(plain + '/', { redirect: 'manual' }).catch((e) => ({ status: 'error ' + e.message }));
    eq('plain HTTP on the TLS port is redirected (308)', 308, r.status);
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
