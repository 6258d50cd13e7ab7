// devices.mjs - New devices: machines in state new are listed; registering
// 3 of them by a name pattern gives the right names (in MAC order), room
// and group; a bad pattern is refused at its field and writes nothing;
// pasted MACs are named in the order given.  A LINBO devices.csv uploads:
// a bad file is refused with every error at its line (the line shown),
// nothing written; a check reports without writing; the import creates and
// registers hosts (the new device it names leaves the list, live).
import { startDaemon, newPage, login, goto, must, api, check, eq, step, shot } from '../lib.mjs';

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

    // ---- devices.csv ----
    await must(d, 'POST', '/hosts', { mac: '52:54:00:00:80:06', state: 'new' });
    await step('another new machine shows up, live', () => page.waitForSelector('tr[data-mac="52:54:00:00:80:06"]'));
    const bad = '# LINBO devices.csv\nr301;r301-pc40;lab;52:54:00:00:80:40;DHCP;;;;;;1\nr301;r301_pc41;lab;52:54:00:00:80:zz;DHCP\n';
    await page.setInputFiles('#import-file', { name: 'devices.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.click('form.import button[type=submit]');
    await step('a bad devices.csv is refused, each error at its line', () => page.waitForSelector('.import-errors li[data-line="3"][data-field="hostname"]'));
    check('  ... the line itself is shown', (await page.textContent('.import-errors li[data-field="mac"]')).includes('r301_pc41;lab;52:54:00:00:80:zz'));
    eq('  ... and nothing is written', 404, (await api(d, 'GET', '/hosts/r301-pc40')).status);
    const good =
        '\uFEFF# LINBO devices.csv\r\nr301;r301-pc40;lab;52:54:00:00:80:40;10.3.1.40;;;;classroom-studentcomputer;;1;;;;;\r\n' +
        'r302;r302-pc01;lab;52:54:00:00:80:06;DHCP;;;;;;1;;;;;\r\n';
    await page.setInputFiles('#import-file', { name: 'devices.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
    await page.click('form.import button.check');
    await step('a room the file names that does not exist is an error at its line', () => page.waitForSelector('.import-errors li[data-line="3"][data-field="room"]'));
    await page.check('#import-rooms');
    await page.click('form.import button.check');
    await step('a check reports what would happen', () => page.waitForSelector('.import-report tr[data-line="2"][data-result="created"]'));
    eq('  ... and writes nothing', 404, (await api(d, 'GET', '/rooms/r302')).status);
    await shot(page, 'devices-import');
    await page.click('form.import button[type=submit]');
    await step('the import creates and registers', () => page.waitForSelector('.import-report tr[data-line="3"][data-result="updated"]'));
    const h = await must(d, 'GET', '/hosts/52:54:00:00:80:06');
    eq('  ... the new machine is named, filed and known', ['r302-pc01', 'r302', 'lab', 'known'], [h.name, h.room, h.group, h.state]);
    eq('  ... the other host as its line says', ['r301', '10.3.1.40', 'classroom-studentcomputer'], await must(d, 'GET', '/hosts/r301-pc40').then((x) => [x.room, x.ip, x.labels['linbo/role']]));
    await step('  ... and the registered machine leaves the list, live', () => page.waitForFunction(() => !document.querySelector('tr[data-mac="52:54:00:00:80:06"]')));
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
