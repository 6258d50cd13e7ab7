// devices.mjs - New devices: machines in state new are listed; registering
// 3 of them by a name pattern gives the right names (in MAC order), room
// and group; a bad pattern is refused at its field and writes nothing;
// pasted MACs are named in the order given.
import { startDaemon, newPage, login, goto, must, check, eq, step, shot } from '../lib.mjs';

const NEW = ['52:54:00:00:80:03', '52:54:00:00:80:01', '52:54:00:00:80:02', '52:54:00:00:80:04', '52:54:00:00:80:05'];

export async function run() {
    const d = await startDaemon();
    await must(d, 'POST', '/rooms', { name: 'r301' });
    await must(d, 'POST', '/groups', { name: 'lab' });
    for (const m of NEW) await must(d, 'POST', '/hosts', { mac: m, state: 'new', hardware: { firmware: 'uefi', cpus: 4 } });
    const page = await newPage(d);
    await login(page, d.token);
    await goto(page, '#/devices');
    await page.waitForSelector('tbody tr[data-mac]');
    eq('the five new machines are listed', 5, await page.locator('tbody tr[data-mac]').count());
    check('  ... with their firmware', (await page.textContent(`tr[data-mac="${NEW[0]}"]`)).includes('UEFI'));
    await shot(page, 'devices');
    for (const m of NEW.slice(0, 3)) await page.check(`tr[data-mac="${m}"] input[type=checkbox]`);
    await page.fill('input[name=pattern]', 'r301-pc');
    await page.selectOption('select[name=room]', 'r301');
    await page.selectOption('select[name=group]', 'lab');
    await page.click('form.register button[type=submit]');
    await step('a pattern without a {A..B} range is refused at the field', () => page.waitForSelector('.field.has-error:has(input[name=pattern]) .field-error'));
    eq('  ... and nothing is written', 5, (await must(d, 'GET', '/hosts?state=new')).items.length);
    await page.fill('input[name=pattern]', 'r301-pc{01..30}');
    check('the names are previewed', (await page.textContent('form.register')).includes('r301-pc01, r301-pc02, r301-pc03'));
    await page.click('form.register button[type=submit]');
    await step('registering 3 devices says so', () => page.waitForSelector('.notice:has-text("3")'));
    const got = [];
    for (const m of NEW.slice(0, 3)) {
        const h = await must(d, 'GET', '/hosts/' + m);
        got.push([h.mac, h.name, h.room, h.group, h.state === 'new']);
    }
    got.sort();
    eq('they are named in MAC order, in room r301 and group lab, and no longer new', [
        ['52:54:00:00:80:01', 'r301-pc01', 'r301', 'lab', false],
        ['52:54:00:00:80:02', 'r301-pc02', 'r301', 'lab', false],
        ['52:54:00:00:80:03', 'r301-pc03', 'r301', 'lab', false],
    ], got);
    await step('the list now shows the other two', () => page.waitForFunction(() => document.querySelectorAll('tbody tr[data-mac]').length === 2));

    await page.click('button[role=tab]:has-text("Paste")');
    await page.fill('textarea[name=hosts]', `${NEW[4]}\n${NEW[3]}`);
    await page.fill('input[name=pattern]', 'r301-pc{31..32}');
    await page.click('form.register button[type=submit]');
    await step('pasted MACs register', () => page.waitForSelector('.notice:has-text("2")'));
    eq('  ... named in the order given', ['r301-pc31', 'r301-pc32'], [(await must(d, 'GET', '/hosts/' + NEW[4])).name, (await must(d, 'GET', '/hosts/' + NEW[3])).name]);
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
