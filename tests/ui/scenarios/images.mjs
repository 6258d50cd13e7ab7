// images.mjs - an image's versions, tags, sizes and diff show what the API
// says; a tag set in the console and the post-sync script saved there are
// what the API then reads; the CLI import command is shown.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BH, startDaemon, newPage, login, goto, must, check, eq, step } from '../lib.mjs';

export async function run() {
    const d = await startDaemon();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-img-'));
    const img = path.join(dir, 'a.img');
    const buf = Buffer.alloc(3 << 20);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
    fs.writeFileSync(img, buf);
    const cli = (...a) => execFileSync(BH, ['--url', d.url, '--token', d.token, ...a], { stdio: 'ignore' });
    cli('image', 'import', 'deb12', img, '--kind', 'partition', '--fstype', 'ext4', '--note', 'base');
    buf.fill(1, 1 << 20, (1 << 20) + 300000);
    fs.writeFileSync(img, buf);
    cli('image', 'import', 'deb12', img, '--note', 'security updates');
    fs.rmSync(dir, { recursive: true, force: true });
    const vers = (await must(d, 'GET', '/images/deb12/versions')).items;

    const page = await newPage(d);
    await login(page, d.token);
    await goto(page, '#/images');
    await page.waitForSelector('a[href="#/images/deb12"]');
    check('the import command is shown', (await page.textContent('pre.cli')).includes('bootherd image import'));
    await goto(page, '#/images/deb12');
    const rows = await page.$$eval('main table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
    eq('two versions, newest first', ['2', '1'], rows.map((r) => r[0]));
    eq('  ... with their notes', ['security updates', 'base'], rows.map((r) => r[7]));
    eq('  ... and tags (latest on 2)', ['latest', ''], rows.map((r) => r[2]));
    const v2 = vers.find((v) => v.version === 2);
    const nb = v2.new_bytes ?? v2.added_bytes;
    const fmt = (n) => {
        const u = ['B', 'KiB', 'MiB', 'GiB'];
        let i = 0;
        while (n >= 1024 && i < 3) {
            n /= 1024;
            i++;
        }
        return `${n.toLocaleString('en-GB', { maximumFractionDigits: i ? 1 : 0 })} ${u[i]}`;
    };
    eq('logical, stored and new bytes of version 2 are what the API says', [fmt(v2.logical_size), fmt(v2.stored_size), fmt(nb)], [rows[0][3], rows[0][4], rows[0][5]]);
    check('  ... and version 2 brought less than its size', nb < v2.logical_size, JSON.stringify(v2));
    await page.click('form.diff button[type=submit]');
    await page.waitForSelector('.diff-result');
    const diff = await must(d, 'GET', '/images/deb12/diff?a=1&b=2');
    const dt = await page.textContent('.diff-result');
    check('the diff shows the shared and changed chunks the API counts', dt.includes(`${diff.shared} `) && dt.includes(`${diff.only_b} `), dt + ' / ' + JSON.stringify(diff));
    await page.fill('input[name=tag]', 'stable');
    await page.fill('input[name=version]', '1');
    await page.click('form:has(input[name=tag]) button[type=submit]');
    await step('a tag set in the console shows on its version', () => page.waitForSelector('main table tbody tr:last-child td:has-text("stable")'));
    eq('  ... and the API has it', ['stable'], (await must(d, 'GET', '/images/deb12/versions')).items.find((v) => v.version === 1).tags);
    await page.fill('textarea[name=postsync]', '#!/bin/sh\necho hostname > "$BH_ROOT/etc/hostname"\n');
    await page.click('form:has(textarea[name=postsync]) button[type=submit]');
    await step('the post-sync script saves', async () => {
        for (let i = 0; i < 50; i++) {
            if (((await must(d, 'GET', '/images/deb12')).postsync || '').includes('BH_ROOT')) return;
            await page.waitForTimeout(100);
        }
        throw new Error('not saved');
    });
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
