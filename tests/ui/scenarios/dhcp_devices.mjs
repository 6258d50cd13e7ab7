// dhcp_devices.mjs - New devices from real DHCP: machines in network
// namespaces made here send DISCOVERs (busybox udhcpc, two of them with
// DHCP option 93, RFC 4578; one with tests/lib/pxeclient.py, without it) to
// the daemon's DHCP server in full mode on a bridge; the console's New
// devices screen, open all along, shows each MAC as it comes (no reload),
// with its firmware when option 93 said it; then the three are registered
// by a name pattern, and get the right names, room and group.
//
// Needs root (namespaces): without it, a SKIP.  Everything is inside
// namespaces this scenario makes (192.0.2.0/24 only): the daemon, the
// browser and this scenario's checks run in namespace "srv" (a child node
// process: its loopback is the daemon's), the clients in c1..c3 on veths
// into srv's bridge.  The namespaces are removed at the end, and every
// process left in them is killed by PID, even when the scenario fails.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
    ROOT,
    tally,
    scenario,
    nok,
    skip,
    startDaemon,
    newPage,
    login,
    goto,
    must,
    check,
    eq,
    step,
    shot,
    stopDaemons,
    closeBrowser,
} from '../lib.mjs';

const THIS = fileURLToPath(import.meta.url);
const CLIENTS = ['c1', 'c2', 'c3'];
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 }).toString();

// ---- the parent: namespaces, then the child inside "srv" ------------------------

function nsName(prefix, n) {
    return `${prefix}-${n}`;
}

function cleanup(prefix) {
    for (const n of ['srv', ...CLIENTS]) {
        const ns = nsName(prefix, n);
        let pids = [];
        try {
            pids = ip('netns', 'pids', ns).split(/\s+/).filter(Boolean);
        } catch {
            continue; // not made
        }
        for (const p of pids) {
            try {
                process.kill(Number(p), 'SIGKILL');
            } catch {
                /* gone */
            }
        }
        try {
            ip('netns', 'del', ns);
        } catch {
            /* gone */
        }
    }
}

function makeLab(prefix) {
    const srv = nsName(prefix, 'srv');
    ip('netns', 'add', srv);
    ip('-n', srv, 'link', 'set', 'lo', 'up');
    ip('-n', srv, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0');
    ip('-n', srv, 'addr', 'add', '192.0.2.1/24', 'dev', 'br0');
    ip('-n', srv, 'link', 'set', 'br0', 'up');
    for (const c of CLIENTS) {
        const ns = nsName(prefix, c);
        ip('netns', 'add', ns);
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('link', 'add', `p-${c}`, 'netns', srv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        ip('-n', srv, 'link', 'set', `p-${c}`, 'master', 'br0', 'up');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
    }
}

/** the child's TAP lines, counted here as if they were this process's */
function relay(line) {
    if (/^not ok /.test(line)) tally.fail++;
    else if (/^ok .* # SKIP /.test(line)) tally.skip++;
    else if (/^ok /.test(line)) tally.pass++;
    console.log(line);
}

export async function run() {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) return skip('scenario', 'needs root for network namespaces');
    for (const tool of ['/usr/sbin/udhcpc', '/usr/bin/python3']) {
        if (!fs.existsSync(tool)) return nok(`${tool} is installed (Debian: udhcpc, python3)`);
    }
    const prefix = `bhui${process.pid}`;
    const bye = () => cleanup(prefix);
    process.once('exit', bye);
    try {
        makeLab(prefix);
        const child = spawn('ip', ['netns', 'exec', nsName(prefix, 'srv'), process.execPath, THIS], {
            env: { ...process.env, BH_UI_NETNS_CHILD: '1', BH_UI_NS_PREFIX: prefix },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let rest = '';
        let err = '';
        let lines = 0;
        child.stdout.on('data', (b) => {
            rest += b.toString();
            let i;
            while ((i = rest.indexOf('\n')) >= 0) {
                const l = rest.slice(0, i);
                rest = rest.slice(i + 1);
                if (/^(not )?ok /.test(l)) lines++;
                relay(l);
            }
        });
        child.stderr.on('data', (b) => {
            err = (err + b.toString()).slice(-4000);
        });
        const code = await new Promise((resolve) => child.on('close', resolve));
        if (rest) relay(rest);
        if (code !== 0 && tally.fail === 0) nok('the scenario inside the namespace ran to its end', `exit ${code}\n${err}`);
        if (!lines) nok('the scenario inside the namespace said something', err);
    } finally {
        bye();
        process.removeListener('exit', bye);
    }
}

// ---- the child: inside "srv" -----------------------------------------------------

const CONF = `[dhcp]
interfaces = br0
mode = full
commit_ms = 2
[subnet]
network = 192.0.2.0/24
range = 192.0.2.50-192.0.2.60
router = 192.0.2.1
lease_time = 600
`;

function macOf(ns) {
    return execFileSync('ip', ['netns', 'exec', ns, 'cat', '/sys/class/net/eth0/address']).toString().trim();
}

/** a real DHCP client's exchange from namespace ns; its output for a diagnosis */
function discover(ns, how) {
    const args =
        how === 'pxeclient'
            ? ['netns', 'exec', ns, 'python3', path.join(ROOT, 'tests/lib/pxeclient.py'), '--iface', 'eth0', '--timeout', '6']
            : ['netns', 'exec', ns, 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', '/bin/true', '-V', `PXEClient:Arch:${how.arch5}:UNDI:003016`, '-x', `0x5d:${how.opt93}`];
    try {
        return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 }).toString();
    } catch (e) {
        return `exit ${e.status}: ${e.stdout || ''}${e.stderr || ''}`;
    }
}

async function child() {
    scenario('dhcp_devices');
    const prefix = process.env.BH_UI_NS_PREFIX;
    const d = await startDaemon(CONF);
    await must(d, 'POST', '/rooms', { name: 'r401' });
    await must(d, 'POST', '/groups', { name: 'lab' });
    const page = await newPage(d);
    await login(page, d.token);
    await goto(page, '#/devices');
    await page.waitForSelector('p.empty');
    await page.evaluate(() => {
        window.__noReload = 1;
    });
    const macs = {};
    for (const c of CLIENTS) macs[c] = macOf(nsName(prefix, c));

    // c1: UEFI x64 (option 93 = 7), c2: BIOS (0), c3: no option 93
    const out1 = discover(nsName(prefix, 'c1'), { arch5: '00007', opt93: '0007' });
    await step(`c1's DISCOVER (udhcpc, option 93 = 7): ${macs.c1} appears under New devices, live`, () =>
        page.waitForSelector(`tr[data-mac="${macs.c1}"]`)
    );
    const row1 = (await page.textContent(`tr[data-mac="${macs.c1}"]`)) || '';
    check('  ... with its firmware, UEFI x86_64', row1.includes('UEFI') && row1.includes('x86_64'), row1 + '\n' + out1);
    const out2 = discover(nsName(prefix, 'c2'), { arch5: '00000', opt93: '0000' });
    await step(`c2's DISCOVER (option 93 = 0): ${macs.c2} appears too`, () => page.waitForSelector(`tr[data-mac="${macs.c2}"]`));
    const row2 = (await page.textContent(`tr[data-mac="${macs.c2}"]`)) || '';
    check('  ... with its firmware, BIOS', row2.includes('BIOS') && !row2.includes('UEFI'), row2 + '\n' + out2);
    const out3 = discover(nsName(prefix, 'c3'), 'pxeclient');
    await step(`c3's DISCOVER (pxeclient.py, no option 93): ${macs.c3} appears`, () => page.waitForSelector(`tr[data-mac="${macs.c3}"]`));
    const row3 = (await page.textContent(`tr[data-mac="${macs.c3}"] td:nth-child(5)`)) || '';
    eq('  ... with no firmware: its request did not say', '–', row3.trim() || out3);
    const h1 = await must(d, 'GET', '/hosts/' + macs.c1);
    eq('the API agrees: new, firmware from DHCP, client_arch 7', ['new', 'uefi', 'dhcp', 7], [h1.state, h1.hardware?.firmware, h1.hardware?.source, h1.hardware?.client_arch]);
    await shot(page, 'devices-dhcp');

    for (const c of CLIENTS) await page.check(`tr[data-mac="${macs[c]}"] input[type=checkbox]`);
    await page.fill('input[name=pattern]', 'r401-pc{01..30}');
    await page.selectOption('select[name=order]', 'mac');
    await page.selectOption('select[name=room]', 'r401');
    await page.selectOption('select[name=group]', 'lab');
    await page.click('form.register button[type=submit]');
    await step('registering the 3 by pattern says so', () => page.waitForSelector('.notice:has-text("3")'));
    const want = Object.values(macs)
        .sort()
        .map((m, i) => [m, `r401-pc0${i + 1}`, 'r401', 'lab', 'known']);
    const got = [];
    for (const m of Object.values(macs).sort()) {
        const h = await must(d, 'GET', '/hosts/' + m);
        got.push([h.mac, h.name, h.room, h.group, h.state]);
    }
    eq('they are named in MAC order, in room r401 and group lab, and known', want, got);
    await step('the list is empty again', () => page.waitForSelector('p.empty'));
    check('all of it without a reload of the page', await page.evaluate(() => window.__noReload === 1));
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}

if (process.env.BH_UI_NETNS_CHILD === '1' && process.argv[1] === THIS) {
    child()
        .catch((e) => nok('scenario ran to its end', e && (e.stack || e.message)))
        .finally(async () => {
            await closeBrowser().catch(() => {});
            stopDaemons();
            process.exit(tally.fail ? 1 : 0);
        });
}
