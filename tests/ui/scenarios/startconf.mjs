// startconf.mjs - the start.conf editor: a file with an error shows the
// server's message at its line and saves nothing; a valid one saves, with
// its warnings at their lines, and the group and the form show it.
import { startDaemon, newPage, login, goto, must, check, eq, step, shot } from '../lib.mjs';

const BAD = `[LINBO]
Server = 10.0.0.1
Cache = /dev/sda4

[OS]
Name = Ubuntu
Root = /dev/sda2
DefaultAction = boot
`;

const GOOD = `[LINBO]
Server = 10.0.0.1
Cache = /dev/sda4

[Partition]
Dev = /dev/sda1
Size = 200M
FSType = vfat

[OS]
Name = Ubuntu 24.04
BaseImage = ubuntu.qcow2
Root = /dev/sda2
DefaultAction = sync
Autostrat = yes
`;

export async function run() {
    const d = await startDaemon();
    await must(d, 'POST', '/groups', { name: 'lab' });
    const page = await newPage(d);
    await login(page, d.token);
    await goto(page, '#/groups/lab');
    await page.click('#tab-text');
    await page.fill('#startconf-text', BAD);
    await page.click('form.conf-text button[type=submit]');
    await step('an error is shown at its line (8)', () => page.waitForSelector('.line-msgs li.error[data-line="8"]'));
    check('  ... with the server\'s message', /DefaultAction.*boot/.test(await page.textContent('.line-msgs li.error')));
    check('  ... and line 8 is marked in the gutter', (await page.locator('.gutter li.bad').getAttribute('data-line')) === '8');
    await shot(page, 'group');
    const g1 = await must(d, 'GET', '/groups/lab');
    eq('nothing was saved', null, g1.config);

    await page.fill('#startconf-text', GOOD);
    await page.click('form.conf-text button[type=submit]');
    await step('a valid start.conf saves', () => page.waitForSelector('form.conf-text [role=status]'));
    await step('  ... its warning is shown at its line (15)', () => page.waitForSelector('.line-msgs li.warn[data-line="15"]'));
    const g2 = await must(d, 'GET', '/groups/lab');
    eq('the group holds it', ['Ubuntu 24.04', 'sync', '/dev/sda1'], [g2.config?.os?.[0]?.name, g2.config?.os?.[0]?.default_action, g2.config?.partitions?.[0]?.dev]);
    await page.click('#tab-form');
    await step('the form shows the OS entry', () => page.waitForSelector('legend:has-text("[OS] 1: Ubuntu 24.04")'));

    // the form: a bad value is refused at its field
    const sel = page.locator('fieldset:has(legend:has-text("[Partition] 1")) .field:has(label:text-is("Id")) input');
    await sel.fill('XYZ');
    await page.click('form.conf-form button[type=submit]');
    await step('a bad partition id in the form: the message at that field', () => page.waitForSelector('fieldset:has(legend:has-text("[Partition] 1")) .field.has-error .field-error'));
    const g3 = await must(d, 'GET', '/groups/lab');
    eq('  ... and nothing saved', undefined, g3.config?.partitions?.[0]?.id);
    await sel.fill('ef');
    await page.click('form.conf-form button[type=submit]');
    await step('a good id saves', async () => {
        for (let i = 0; i < 50; i++) {
            if ((await must(d, 'GET', '/groups/lab')).config?.partitions?.[0]?.id === 'ef') return;
            await page.waitForTimeout(100);
        }
        throw new Error('not saved');
    });
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
