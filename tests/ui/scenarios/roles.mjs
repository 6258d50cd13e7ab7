// roles.mjs - a viewer sees no write controls, no admin screens, and a
// write forged from its session (with its CSRF token) gets 403.
import { startDaemon, newPage, login, goto, must, mkToken, check, eq } from '../lib.mjs';

export async function run() {
    const d = await startDaemon();
    await must(d, 'POST', '/rooms', { name: 'r101' });
    await must(d, 'POST', '/groups', { name: 'lab' });
    await must(d, 'POST', '/hosts', { mac: '52:54:00:00:30:01', name: 'pc01', room: 'r101', group: 'lab' });
    const viewer = await mkToken(d, 'view1', 'viewer');
    const page = await newPage(d);
    await login(page, viewer);
    const nav = await page.$$eval('header.top nav a', (as) => as.map((a) => a.getAttribute('href')));
    check('a viewer has no Tokens, Settings or Audit in the menu', !nav.some((h) => /tokens|settings|audit/.test(h)), nav.join(' '));
    await goto(page, '#/rooms/r101');
    await page.waitForSelector('li.tile');
    eq('the room grid has no action buttons for a viewer', 0, await page.locator('.act-buttons button').count());
    await goto(page, '#/hosts/pc01');
    eq('the host page has no save or action buttons', 0, await page.locator('main button.primary, main .act-buttons button').count());
    check('  ... and its fields are read-only', await page.locator('form.host-form fieldset[disabled]').count() === 1);
    await goto(page, '#/jobs');
    eq('no New job button', 0, await page.locator('.page-head button.primary').count());
    await goto(page, '#/groups/lab');
    eq('the start.conf editor offers no save', 0, await page.locator('main button[type=submit]').count());
    await goto(page, '#/tokens');
    check('the tokens screen is refused', (await page.textContent('.page-head h1')).trim() === 'Not allowed');
    const forged = await page.evaluate(async () => {
        const s = await (await fetch('/api/v1/session')).json();
        const r = await fetch('/api/v1/jobs', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
            body: JSON.stringify({ targets: { room: 'r101' }, steps: ['reboot'] }),
        });
        return [s.role, r.status];
    });
    eq('a job forged from the viewer session (with its CSRF token): 403', ['viewer', 403], forged);
    const jobs = await must(d, 'GET', '/jobs');
    eq('  ... and no job was made', 0, jobs.items.length);
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
