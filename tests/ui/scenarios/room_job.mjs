// room_job.mjs - a room of 30 hosts: select all, start a sync job from the
// grid; the agent API (driven here, as a client agent would) reports
// progress; the tiles and the job page show it without a reload, and
// straight from the events (which carry the task): no read of the job for
// a progress report; a failure (its later steps cancelled) is read again;
// a host whose agent never came says why it waits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BH, startDaemon, newPage, login, goto, must, api, check, eq, step, shot } from '../lib.mjs';

const CONF = `[LINBO]
Server = 10.0.0.1
Cache = /dev/sda4

[Partition]
Dev = /dev/sda1
Size = 50G
FSType = ntfs

[OS]
Name = Windows 11
BaseImage = win11.qcow2
Root = /dev/sda1
Kernel = auto
`;

const mac = (i) => `52:54:00:00:40:${String(i).padStart(2, '0')}`;

async function agent(d, m) {
    const t = await must(d, 'POST', `/hosts/${m}/ticket`);
    const r = await fetch(d.url + '/api/v1/agent/hello', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ mac: m, ticket: t.ticket, inventory: { cpus: 4, memory: 8589934592, firmware: 'uefi', secure_boot: true } }),
    });
    const hello = await r.json();
    const tok = hello.token;
    const task = await must(d, 'GET', '/agent/task', undefined, tok);
    return {
        task,
        report: (body) => api(d, 'POST', `/agent/tasks/${task.task}`, body, tok),
    };
}

export async function run() {
    const d = await startDaemon();
    await must(d, 'POST', '/rooms', { name: 'r201', subnet: '10.2.1.0/24' });
    await must(d, 'POST', '/groups', { name: 'win' });
    await must(d, 'PUT', '/groups/win/start.conf', CONF);
    // sync:1 deploys win11: a job for an image with no version is refused
    const img = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bh-img-')), 'win11.img');
    fs.writeFileSync(img, Buffer.alloc(65536, 7));
    execFileSync(BH, ['--url', d.url, '--token', d.token, 'image', 'import', 'win11', img], { stdio: 'ignore' });
    for (let i = 1; i <= 30; i++) await must(d, 'POST', '/hosts', { mac: mac(i), name: `r201-pc${String(i).padStart(2, '0')}`, room: 'r201', group: 'win' });
    const page = await newPage(d);
    await login(page, d.token);
    await goto(page, '#/rooms/r201');
    await page.waitForSelector('li.tile');
    eq('the room shows 30 tiles', 30, await page.locator('li.tile').count());
    await page.evaluate(() => {
        window.__noReload = 1;
    });
    await page.click('text=Select all');
    check('select all selects 30', (await page.textContent('.selcount')).includes('30 of 30'));
    await page.click('.act-sync');
    await page.waitForSelector('dialog[open]');
    check('the sync dialog offers the group\'s OS entry', (await page.textContent('dialog select')).includes('Windows 11'));
    // the job's created event carries no task: the grid reads the job once
    const firstRead = page.waitForResponse((r) => /\/api\/v1\/jobs\/\d+$/.test(r.url()));
    await page.click('dialog button.primary');
    await page.waitForSelector('.notice a[href^="#/jobs/"]');
    await firstRead;
    let jobReads = 0;
    page.on('request', (r) => {
        if (r.method() === 'GET' && /\/api\/v1\/jobs\/\d+$/.test(r.url())) jobReads++;
    });
    const jobs = (await must(d, 'GET', '/jobs')).items;
    eq('one job for 30 hosts', [1, 30], [jobs.length, jobs[0]?.host_count]);
    eq('  ... with sync:1 then start:1', ['sync:1', 'start:1'], jobs[0]?.spec.steps);

    const a1 = await agent(d, mac(1));
    const a2 = await agent(d, mac(2));
    eq('the agents get sync:1', ['sync:1', 'sync:1'], [a1.task.step, a2.task.step]);
    await a1.report({ state: 'running', progress: { phase: 'sync', done: 500, total: 1000, rate: 1048576 } });
    await a2.report({ state: 'running', progress: { phase: 'sync', done: 250, total: 1000, rate: 1048576 } });
    await step('tile 1 shows the running step at 50 %', () => page.waitForSelector(`li.tile[data-mac="${mac(1)}"][data-state="running"] progress[value="50"]`));
    await step('tile 2 at 25 %', () => page.waitForSelector(`li.tile[data-mac="${mac(2)}"] progress[value="25"]`));
    const pt = await page.textContent(`li.tile[data-mac="${mac(2)}"] .prog-text`);
    check("  ... with rate and ETA", /1 MiB\/s · ETA \d/.test(pt), pt);
    eq('  ... straight from the progress events: the job was not read again', 0, jobReads);
    await shot(page, 'room');
    await page.click('.notice a[href^="#/jobs/"]');
    await page.waitForSelector('table.job-hosts');
    await step('the job page shows host 1 at 50 %', () => page.waitForSelector(`tr[data-mac="${mac(1)}"] progress[value="50"]`));
    await step('a host whose agent never came says why it waits', () =>
        page.waitForSelector(`tr[data-mac="${mac(3)}"][data-state="waiting-for-host"] >> text=waiting: no boot profile: profile 'bootherd-client' does not exist`)
    );
    jobReads = 0;
    await a1.report({ state: 'running', progress: { phase: 'sync', done: 900, total: 1000, rate: 2097152 } });
    await step('  ... and follows its progress to 90 %', () => page.waitForSelector(`tr[data-mac="${mac(1)}"] progress[value="90"]`));
    eq('  ... from the event alone', 0, jobReads);
    await a2.report({ state: 'failed', error: 'disk /dev/sda too small' });
    await step('a failed host shows its error', () => page.waitForSelector(`tr[data-mac="${mac(2)}"][data-state="failed"] >> text=disk /dev/sda too small`));
    await step('  ... and its later step cancelled (the job read again for it)', () =>
        page.waitForSelector(`tr[data-mac="${mac(2)}"] .chip.st-cancelled`)
    );
    await shot(page, 'job');
    await a1.report({ state: 'done' });
    await step('a finished step shows done', () => page.waitForSelector(`tr[data-mac="${mac(1)}"] .chip.st-done`));
    check('all of it without a reload of the page', await page.evaluate(() => window.__noReload === 1));
    await page.goBack();
    await page.waitForSelector('li.tile');
    await step('back in the room, tile 2 is failed', () => page.waitForSelector(`li.tile[data-mac="${mac(2)}"][data-state="failed"]`));
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
