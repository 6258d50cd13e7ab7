// screens.mjs - every screen: axe-core finds no serious or critical
// violation, the screen loads with at most 3 API requests, and its
// screenshot is saved to tests/out/ui/<screen>.png (docs/ui.md shows them).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BH, startDaemon, newPage, login, goto, must, api, axeSource, check, eq, shot } from '../lib.mjs';

const CONF = '[LINBO]\nServer = 10.0.0.1\nCache = /dev/sda4\n\n[Partition]\nDev = /dev/sda1\nSize = 50G\nFSType = ntfs\n\n[Partition]\nDev = /dev/sda4\nFSType = ext4\n\n[OS]\nName = Windows 11\nBaseImage = win11.qcow2\nRoot = /dev/sda1\nKernel = auto\nDefaultAction = sync\n';

async function seed(d) {
    await must(d, 'POST', '/rooms', { name: 'r101', location: 'Building A, first floor', subnet: '10.1.1.0/24' });
    await must(d, 'POST', '/rooms', { name: 'r102', location: 'Building A, first floor' });
    await must(d, 'POST', '/profiles', { name: 'client', kernel: 'client/vmlinuz', initrds: ['client/initrd.img'], cmdline: 'bootherd.server={{http_base}} bootherd.ticket={{ticket}}' });
    await must(d, 'POST', '/groups', { name: 'win11', description: 'Windows 11 classroom', default_profile: 'client' });
    await must(d, 'PUT', '/groups/win11/start.conf', CONF);
    for (let i = 1; i <= 12; i++) {
        const n = String(i).padStart(2, '0');
        await must(d, 'POST', '/hosts', { mac: `52:54:00:00:70:${n}`, name: `r101-pc${n}`, room: 'r101', group: 'win11', ip: `10.1.1.${i + 10}` });
    }
    for (let i = 1; i <= 3; i++) await must(d, 'POST', '/hosts', { mac: `52:54:00:00:71:0${i}`, state: 'new' });
    const img = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bh-img-')), 'win11.img');
    const buf = Buffer.alloc(4 << 20);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24; // no run of equal bytes
    fs.writeFileSync(img, buf);
    execFileSync(BH, ['--url', d.url, '--token', d.token, 'image', 'import', 'win11', img, '--kind', 'partition', '--fstype', 'ntfs', '--note', 'first'], { stdio: 'ignore' });
    buf.fill(1, 1 << 20, (1 << 20) + 400000); // a change in the second MiB
    fs.writeFileSync(img, buf);
    execFileSync(BH, ['--url', d.url, '--token', d.token, 'image', 'import', 'win11', img, '--note', 'updates'], { stdio: 'ignore' });
    fs.rmSync(path.dirname(img), { recursive: true, force: true });
    const job = await must(d, 'POST', '/jobs', { targets: { room: 'r101' }, steps: ['sync:1', 'start:1'] });
    // one host reports progress, another fails
    for (const [m, body] of [
        ['52:54:00:00:70:01', { state: 'running', progress: { phase: 'sync', done: 3 * 2 ** 30, total: 8 * 2 ** 30, rate: 95 * 2 ** 20 } }],
        ['52:54:00:00:70:02', { state: 'failed', error: 'no disk /dev/sda' }],
    ]) {
        const t = await must(d, 'POST', `/hosts/${m}/ticket`);
        const hello = await (await fetch(d.url + '/api/v1/agent/hello', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mac: m, ticket: t.ticket, inventory: { cpus: 8, cpu_model: 'Intel Core i5-12500', memory: 17179869184, firmware: 'uefi', secure_boot: true, dmi: { vendor: 'Fujitsu', product: 'ESPRIMO D7012', serial: 'YM4X012345' }, disks: [{ name: 'nvme0n1', model: 'Samsung PM9A1', size: 512110190592, rotational: false }], nics: [{ name: 'eno1', mac: m, driver: 'e1000e', speed: 1000 }] } }) })).json();
        const task = await must(d, 'GET', '/agent/task', undefined, hello.token);
        await api(d, 'POST', `/agent/tasks/${task.task}`, body, hello.token);
    }
    await must(d, 'POST', '/tokens', { name: 'monitor', role: 'viewer', description: 'wall display' });
    return job.id;
}

export async function run() {
    const d = await startDaemon();
    const jobId = await seed(d);
    const page = await newPage(d, { bypassCSP: true });
    const axe = axeSource();
    let count = 0;
    page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith('/api/v1/') && u.pathname !== '/api/v1/session') count++;
    });
    async function audit(name) {
        await page.evaluate(axe);
        const res = await page.evaluate(async () => {
            const r = await window.axe.run(document, { resultTypes: ['violations'] });
            return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        });
        eq(`${name}: axe-core finds no serious or critical violation`, [], res);
    }
    await page.waitForSelector('#login-token');
    await audit('login');
    await shot(page, 'login');
    await login(page, d.token);
    await page.waitForTimeout(500);
    const screens = [
        ['dashboard', '#/dashboard'],
        ['rooms', '#/rooms'],
        ['room', '#/rooms/r101', 'li.tile'],
        ['devices', '#/devices'],
        ['host', '#/hosts/r101-pc01', '.events li'],
        ['jobs', '#/jobs'],
        ['job', `#/jobs/${jobId}`, 'table.job-hosts'],
        ['images', '#/images'],
        ['image', '#/images/win11'],
        ['groups', '#/groups'],
        ['group', '#/groups/win11'],
        ['profiles', '#/profiles'],
        ['settings', '#/settings'],
        ['tokens', '#/tokens'],
        ['audit', '#/audit'],
        ['events', '#/events'],
    ];
    for (const [name, hash, sel] of screens) {
        await goto(page, '#/nowhere');
        await page.waitForTimeout(300);
        count = 0;
        await goto(page, hash);
        if (sel) await page.waitForSelector(sel);
        await page.waitForTimeout(300);
        const n = count;
        check(`${name}: loads with at most 3 API requests`, n <= 3, `${n} requests`);
        await audit(name);
        await shot(page, name);
    }
    // the dialogs too
    await goto(page, '#/rooms/r101');
    await page.click('text=Select all');
    await page.click('.act-sync');
    await page.waitForSelector('dialog[open]');
    await audit('sync dialog');
    await shot(page, 'room-action');
    await page.keyboard.press('Escape');
    await goto(page, '#/jobs');
    await page.click('.page-head button.primary');
    await page.waitForSelector('dialog[open] .steps');
    await audit('new job dialog');
    await shot(page, 'job-new');
    await page.keyboard.press('Escape');
    await goto(page, '#/groups/win11');
    await page.click('#tab-text');
    await audit('start.conf text');
    await shot(page, 'group-text');
    check('no script error', page.problems.filter((p) => !p.startsWith('csp')).length === 0, page.problems.join('\n'));
    await page.context().close();
}
