// tokens.mjs - a new token's secret is shown once (and works); revoking
// it ends it; the audit screen shows what this test did.
import { startDaemon, newPage, login, goto, api, check, eq, step, shot } from '../lib.mjs';

export async function run() {
    const d = await startDaemon();
    const page = await newPage(d);
    await login(page, d.token);
    await goto(page, '#/tokens');
    await page.click('.page-head button.primary');
    await page.fill('dialog input[name=name]', 'ops-laptop');
    await page.selectOption('dialog select[name=role]', 'operator');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('[data-testid=secret]');
    const secret = (await page.textContent('[data-testid=secret]')).trim();
    check('the secret is shown', /^bh_[0-9a-f]{12}_\S+$/.test(secret), secret);
    eq('  ... and it works (whoami as ops-laptop, operator)', [200, 'ops-laptop', 'operator'], await (async () => {
        const r = await api(d, 'GET', '/whoami', undefined, secret);
        return [r.status, r.body.name, r.body.role];
    })());
    await shot(page, 'tokens');
    await page.click('text=I have copied it');
    await goto(page, '#/dashboard');
    await goto(page, '#/tokens');
    await page.waitForSelector('td:has-text("ops-laptop")');
    check('once dismissed, the secret is nowhere on the page', !(await page.content()).includes(secret.slice(16)));
    await page.click('tr:has(td:text-is("ops-laptop")) button.danger');
    await step('revoke removes it from the list', () => page.waitForSelector('td:text-is("ops-laptop")', { state: 'detached' }));
    eq('  ... and the token no longer works', 401, (await api(d, 'GET', '/whoami', undefined, secret)).status);
    await goto(page, '#/audit');
    await page.waitForSelector('table');
    const text = await page.textContent('main');
    check('the audit screen shows the token made and revoked by admin', /created/.test(text) && /deleted/.test(text) && text.includes('admin'), text.slice(0, 500));
    await page.selectOption('form.filters select', 'token');
    await step('  ... and filters by kind', async () => {
        await page.waitForFunction(() => [...document.querySelectorAll('main tbody tr')].every((tr) => /Token/.test(tr.textContent)));
    });
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
