// forms.mjs - bad input in the console's forms: the server's message next
// to the field it names, and nothing saved.
import { startDaemon, newPage, login, goto, must, check, eq, step } from '../lib.mjs';

export async function run() {
    const d = await startDaemon();
    await must(d, 'POST', '/rooms', { name: 'r101' });
    await must(d, 'POST', '/groups', { name: 'lab' });
    await must(d, 'PUT', '/groups/lab/start.conf', '[OS]\nName = A\n');
    await must(d, 'POST', '/hosts', { mac: '52:54:00:00:50:01', name: 'pc01', room: 'r101', group: 'lab' });
    const page = await newPage(d);
    await login(page, d.token);

    await goto(page, '#/rooms');
    await page.click('.page-head button.primary');
    await page.fill('dialog input[name=name]', 'r102');
    await page.fill('dialog input[name=subnet]', '10.0.0.1/24');
    await page.click('dialog button[type=submit]');
    await step('a room with a host address as subnet: the message under Subnet', () => page.waitForSelector('dialog .field.has-error:has(input[name=subnet]) .field-error'));
    eq('  ... and no room r102', 404, (await fetch(d.url + '/api/v1/rooms/r102', { headers: { Authorization: 'Bearer ' + d.token } })).status);
    await page.fill('dialog input[name=subnet]', '10.0.0.0/24');
    await page.click('dialog button[type=submit]');
    await step('the network itself is taken', () => page.waitForSelector('dialog', { state: 'detached' }));

    await goto(page, '#/hosts/pc01');
    await page.fill('form.host-form input[name=ip]', '10.0.0.300');
    await page.click('form.host-form button[type=submit]');
    await step('a host with a bad IP: the message under IP address', () => page.waitForSelector('.field.has-error:has(input[name=ip]) .field-error'));
    eq('  ... and the host keeps no IP', null, (await must(d, 'GET', '/hosts/pc01')).ip);
    await page.fill('form.host-form input[name=ip]', '10.0.0.30');
    await page.fill('form.host-form textarea[name=labels]', 'role=kiosk\nfloor=2');
    await page.click('form.host-form button[type=submit]');
    await step('a good IP and labels are saved', async () => {
        for (let i = 0; i < 50; i++) {
            const h = await must(d, 'GET', '/hosts/pc01');
            if (h.ip === '10.0.0.30' && h.labels.role === 'kiosk' && h.labels.floor === '2') return;
            await page.waitForTimeout(100);
        }
        throw new Error('not saved');
    });

    await goto(page, '#/jobs');
    await page.click('.page-head button.primary');
    await page.waitForSelector('dialog .steps select');
    await page.fill('dialog textarea[name=hosts]', 'pc01');
    // step 1 start:1 (OS A names no image, so a sync of it would be refused too)
    await page.selectOption('dialog .steps li:nth-child(1) select >> nth=0', 'start');
    await page.selectOption('dialog .steps li:nth-child(1) select >> nth=1', '1');
    await page.click('dialog button:has-text("Add a step")');
    await page.selectOption('dialog .steps li:nth-child(2) select >> nth=0', 'sync');
    // the picker offers only the group's entries; force one the server refuses (sync:99)
    await page.evaluate(() => {
        const s = document.querySelectorAll('dialog .steps li')[1].querySelectorAll('select')[1];
        const o = document.createElement('option');
        o.value = '99';
        o.textContent = '99';
        s.appendChild(o);
    });
    await page.selectOption('dialog .steps li:nth-child(2) select >> nth=1', '99');
    await page.click('dialog button[type=submit]');
    await step('a step the server refuses (sync:99): its message at that step', () => page.waitForSelector('dialog .steps li:nth-child(2).has-error .field-error'));
    // sync:2 is a good step, but the group of pc01 has one OS entry
    await page.evaluate(() => {
        const s = document.querySelectorAll('dialog .steps li')[1].querySelectorAll('select')[1];
        const o = document.createElement('option');
        o.value = '2';
        o.textContent = '2';
        s.appendChild(o);
    });
    await page.selectOption('dialog .steps li:nth-child(2) select >> nth=1', '2');
    await page.click('dialog button[type=submit]');
    await step("an OS entry the hosts' group lacks (sync:2): the server's message at that step", () =>
        page.waitForSelector('dialog .steps li:nth-child(2).has-error .field-error:has-text("group lab has no OS entry 2 (it has 1)")')
    );
    eq('  ... and no job', 0, (await must(d, 'GET', '/jobs')).items.length);
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
