// ui.mjs - the web console's benchmark (issue 10), run by bench/ui.sh.
//
// Starts its own bootherd on loopback (tests/ui/lib.mjs: a temp data dir,
// `bootherd init`, `serve --http 127.0.0.1:0`), loads 10,000 hosts in 100
// rooms with one `bootherd apply -f` of a generated fleet file, adds a job
// on the measured room (some of its hosts reporting progress) and a small
// image, then drives the console in Debian's headless Chromium
// (playwright-core) and prints figures, never pass/fail:
//
//   1. bundle: the console's files gzipped, as the server sends them;
//   2. first useful paint of the dashboard and of a room of 100 hosts,
//      median of RUNS page loads, cold (a new browser context: empty cache)
//      and warm (the same context again), with where the time goes;
//   3. API requests per screen (page.on('request')), in-app and on a full load;
//   4. one event to a visible tile change while host writes stream at RATE/s
//      (real PATCHes through the API), p50/p95/p99, and the achieved rate;
//      agent progress to the tile's progress bar, measured in the same run;
//   5. side by side: a full reload of the room page against one live tile.
//
// Environment: BOOTHERD_BIN, CHROMIUM, RUNS (7), RATE (1000), DURATION (20 s),
// VISIBLE (0.1: share of the writes that hit the room on screen),
// PARTS (bundle,paint,requests,live: what to run), CONC (4 connections of the load generator: the store serialises writes,
// and more writers only queue on its lock).
//
// Owner: the benchmarks (bench/).  See bench/RESULTS.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { BH, startDaemon, stopDaemons, must, api, getBrowser, closeBrowser } from '../tests/ui/lib.mjs';

const RUNS = +(process.env.RUNS || 7);
const RATE = +(process.env.RATE || 1000);
const DURATION = +(process.env.DURATION || 20);
const VISIBLE = +(process.env.VISIBLE || 0.1);
const CONC = +(process.env.CONC || 4);
const PARTS = (process.env.PARTS || 'bundle,paint,requests,live').split(',');
const ROOMS = 100;
const PER_ROOM = 100;
const ROOM = 'r150'; // the room measured
const PROGRESSING = 10; // hosts of ROOM whose agent reports progress
const BUILD_WEB = path.join(path.dirname(BH), 'web');

const log = (...a) => console.log(...a);
const ms = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : `${Math.round(v)} ms`);
const median = (a) => pctl(a, 50);
function pctl(a, p) {
    if (!a.length) return NaN;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const macOf = (i) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const roomOf = (i) => `r${100 + Math.floor(i / PER_ROOM)}`;
const sleep = (t) => new Promise((r) => setTimeout(r, t));
/** CPU seconds: of the whole machine (busy, all cores) and of one process */
function cpuNow(pid) {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const hz = 100; // USER_HZ
    const busy = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / hz;
    let proc = 0;
    try {
        const p = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        proc = (+p[11] + +p[12]) / hz;
    } catch {
        /* gone */
    }
    return { busy, proc, t: performance.now() };
}

const START_CONF = '[LINBO]\nServer = 10.0.0.1\nCache = /dev/sda4\n\n[Partition]\nDev = /dev/sda1\nSize = 50G\nFSType = ntfs\n\n[Partition]\nDev = /dev/sda4\nFSType = ext4\n\n[OS]\nName = Windows 11\nBaseImage = win11.qcow2\nRoot = /dev/sda1\nKernel = auto\nDefaultAction = sync\n';

// ---- the fleet -------------------------------------------------------------------
async function seed(d) {
    const states = ['known', 'known', 'up', 'up', 'up', 'offline', 'booting'];
    const lines = ['profiles:', '  - {name: client, kernel: client/vmlinuz, initrds: [client/initrd.img]}', 'groups:'];
    for (const g of ['win11', 'ubuntu', 'exam'])
        lines.push(`  - name: ${g}`, '    default_profile: client', '    start_conf: |', ...START_CONF.trimEnd().split('\n').map((l) => '      ' + l));
    lines.push('rooms:');
    for (let r = 0; r < ROOMS; r++) lines.push(`  - {name: r${100 + r}, location: "Building ${String.fromCharCode(65 + (r % 4))}"}`);
    lines.push('hosts:');
    for (let i = 0; i < ROOMS * PER_ROOM; i++) {
        const n = String((i % PER_ROOM) + 1).padStart(3, '0');
        lines.push(
            `  - {mac: "${macOf(i)}", name: ${roomOf(i)}-pc${n}, room: ${roomOf(i)}, group: ${['win11', 'ubuntu', 'exam'][i % 3]}, ` +
                `ip: 172.16.${Math.floor(i / 250)}.${(i % 250) + 1}, state: ${states[i % states.length]}, labels: {role: ${i % 3 ? 'desk' : 'kiosk'}}}`
        );
    }
    const file = path.join(d.dir, 'fleet.yaml');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const t0 = performance.now();
    execFileSync(BH, ['--url', d.url, '--token', d.token, 'apply', '-f', file], { stdio: 'ignore' });
    const secs = (performance.now() - t0) / 1000;
    const objs = ROOMS * PER_ROOM + ROOMS + 4;
    log(`load: ${objs} objects (${ROOMS * PER_ROOM} hosts, ${ROOMS} rooms) with one \`bootherd apply -f\`: ${secs.toFixed(1)} s (${Math.round(objs / secs)} writes/s)`);

    // a job on the measured room; some of its hosts report progress
    const job = await must(d, 'POST', '/jobs', { targets: { room: ROOM }, steps: ['sync:1'] });
    const agents = [];
    const first = (+ROOM.slice(1) - 100) * PER_ROOM;
    for (let k = 0; k < PROGRESSING; k++) {
        const mac = macOf(first + k * 7);
        const t = await must(d, 'POST', `/hosts/${mac}/ticket`);
        const hello = await (await fetch(d.url + '/api/v1/agent/hello', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mac, ticket: t.ticket, inventory: { cpus: 4, memory: 8 << 30, firmware: 'uefi' } }) })).json();
        const task = await must(d, 'GET', '/agent/task', undefined, hello.token);
        agents.push({ mac, token: hello.token, task: task.task });
    }
    // an image, so that its screens have something to show
    const img = path.join(d.dir, 'img.raw');
    const buf = Buffer.alloc(2 << 20);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
    fs.writeFileSync(img, buf);
    execFileSync(BH, ['--url', d.url, '--token', d.token, 'image', 'import', 'win11', img, '--kind', 'partition', '--fstype', 'ntfs'], { stdio: 'ignore' });
    return { job: job.id, agents };
}

// ---- in the page: marks for "useful", the event stream, tile changes ---------------
// Runs before the console's script in every document of a benchmark context.
function pageProbe() {
    const bh = (window.__bh = { useful: null, ws: [], dom: [], prog: [], track: false });
    performance.setResourceTimingBufferSize(10000);
    // every event as it arrives, before the console sees it
    const WS = window.WebSocket;
    window.WebSocket = class extends WS {
        constructor(...a) {
            super(...a);
            this.addEventListener('message', (m) => {
                if (bh.track) bh.ws.push([performance.timeOrigin + performance.now(), m.data]);
            });
        }
    };
    const h = location.hash;
    const useful = h.startsWith('#/rooms/')
        ? () => document.querySelectorAll('ul.grid li.tile').length >= 100 && !!document.querySelector('.page .sub .badge')
        : h.startsWith('#/dashboard')
          ? () => {
                const v = document.querySelector('.stats .stat-value');
                return !!v && /\d/.test(v.textContent) && !!document.querySelector('ol.events li');
            }
          : null;
    if (!useful) return;
    const mo = new MutationObserver(() => {
        if (bh.useful || !useful()) return;
        mo.disconnect();
        const dom = performance.now();
        bh.useful = { dom };
        requestAnimationFrame(() => {
            const ch = new MessageChannel();
            ch.port1.onmessage = () => (bh.useful.painted = performance.now());
            ch.port2.postMessage(0);
        });
    });
    mo.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
}

/** where a load's time went: from the Navigation and Resource Timing APIs */
function loadBreakdown() {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const js = res.find((r) => /\/ui\/app\.[0-9a-f]+\.js$/.test(r.name));
    const sess = res.find((r) => /\/api\/v1\/session$/.test(r.name));
    const apis = res.filter((r) => /\/api\/v1\//.test(r.name) && !/\/session$/.test(r.name) && r.initiatorType === 'fetch');
    return {
        doc: nav ? nav.responseEnd : null,
        js: js ? js.responseEnd : null,
        session: sess ? sess.responseEnd : null,
        apiStart: apis.length ? Math.min(...apis.map((r) => r.startTime)) : null,
        apiEnd: apis.length ? Math.max(...apis.map((r) => r.responseEnd)) : null,
        apiSlowest: apis.length ? Math.max(...apis.map((r) => r.responseEnd - r.startTime)) : null,
        apiNames: apis.map((r) => new URL(r.name).pathname + new URL(r.name).search),
        reqs: apis.map((r) => [new URL(r.name).pathname, r.startTime, r.responseStart, r.responseEnd]),
        ...window.__bh.useful,
    };
}

async function newContext(d) {
    const b = await getBrowser();
    const ctx = await b.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    await ctx.addInitScript(pageProbe);
    const r = await ctx.request.post(d.url + '/api/v1/session', { data: { token: d.token } });
    if (r.status() !== 201) throw new Error(`login: ${r.status()}`);
    return ctx;
}

async function loadOnce(page, url) {
    await page.goto(url);
    await page.waitForFunction(() => window.__bh && window.__bh.useful && window.__bh.useful.painted, null, { timeout: 30000 });
    return page.evaluate(loadBreakdown);
}

// ---- 1. bundle ------------------------------------------------------------------------
function bundle() {
    const files = [['index.html', path.join(BUILD_WEB, 'index.html')]];
    for (const f of fs.readdirSync(path.join(BUILD_WEB, 'ui'))) if (!f.endsWith('.gz')) files.push(['ui/' + f, path.join(BUILD_WEB, 'ui', f)]);
    let raw = 0;
    let gz = 0;
    log('\n== bundle (every screen is in one bundle) ==');
    for (const [name, f] of files) {
        const r = fs.statSync(f).size;
        const g = fs.existsSync(f + '.gz') ? fs.statSync(f + '.gz').size : r;
        raw += r;
        gz += g;
        log(`  ${name.padEnd(24)} ${kb(r).padStart(10)}  gzipped ${kb(g).padStart(9)}`);
    }
    log(`  total                    ${kb(raw).padStart(10)}  gzipped ${kb(gz).padStart(9)}   (goal < 150 KB gzipped)`);
    return gz;
}

// ---- 2. first useful paint -----------------------------------------------------------------
async function firstPaint(d, name, hash) {
    const url = d.url + '/' + hash;
    const cold = [];
    const warm = [];
    let wire = 0;
    let wireWarm = 0;
    for (let i = 0; i < RUNS; i++) {
        const ctx = await newContext(d);
        const page = await ctx.newPage();
        let bytes = 0;
        const cdp = await ctx.newCDPSession(page);
        await cdp.send('Network.enable');
        cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
        cold.push(await loadOnce(page, url));
        await sleep(200);
        if (i === 0) wire = bytes;
        await page.goto('about:blank');
        bytes = 0;
        warm.push(await loadOnce(page, url));
        await sleep(200);
        if (i === 0) wireWarm = bytes;
        await ctx.close();
    }
    const row = (label, xs) => {
        const m = (k) => median(xs.map((x) => x[k]).filter((v) => v !== null && v !== undefined));
        log(
            `  ${label.padEnd(5)} painted ${ms(m('painted')).padStart(7)} (min ${ms(Math.min(...xs.map((x) => x.painted)))}, max ${ms(Math.max(...xs.map((x) => x.painted)))}); ` +
                `in the DOM ${ms(m('dom'))}; html ${ms(m('doc'))}, bundle ${ms(m('js'))}, session ${ms(m('session'))}, ` +
                `API ${ms(m('apiStart'))} → ${ms(m('apiEnd'))} (slowest request ${ms(m('apiSlowest'))})`
        );
    };
    log(`\n-- ${name} (${hash}), median of ${RUNS}, times from navigation start --`);
    row('cold', cold);
    row('warm', warm);
    const per = new Map();
    for (const x of warm) for (const [p, a, b, c] of x.reqs) per.set(p, [...(per.get(p) || []), [a, b - a, c - a]]);
    log(
        '  warm, each request (median start, wait for the first byte, total): ' +
            [...per].map(([p, v]) => `${p.replace('/api/v1', '')} at ${ms(median(v.map((x) => x[0])))} +${ms(median(v.map((x) => x[1])))} / ${ms(median(v.map((x) => x[2])))}`).join('; ')
    );
    log(`  requests of a load: ${cold[0].apiNames.join(', ')}; bytes received (headers too): cold ${kb(wire)}, warm ${kb(wireWarm)}`);
    return { cold: median(cold.map((x) => x.painted)), warm: median(warm.map((x) => x.painted)), wire, wireWarm };
}

// ---- 3. API requests per screen --------------------------------------------------------------
async function requestsPerScreen(d, seeded) {
    const screens = [
        ['dashboard', '#/dashboard'],
        ['rooms', '#/rooms'],
        ['room (100 hosts)', `#/rooms/${ROOM}`, 'li.tile'],
        ['all hosts', '#/rooms/*', 'li.tile'],
        ['new devices', '#/devices'],
        ['host', `#/hosts/${ROOM}-pc001`],
        ['jobs', '#/jobs'],
        ['job (100 hosts)', `#/jobs/${seeded.job}`, 'table.job-hosts'],
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
    const ctx = await newContext(d);
    const page = await ctx.newPage();
    let seen = [];
    page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith('/api/v1/')) seen.push(u.pathname + u.search);
    });
    const settle = async (sel) => {
        await page.waitForSelector('.page-head h1');
        await page.waitForFunction(() => !document.querySelector('.loading'));
        if (sel) await page.waitForSelector(sel);
        await sleep(400);
    };
    log('\n== API requests per screen (goal ≤ 3) ==');
    log('  screen             in-app  full load  (full load = /session + the stream\'s start + the screen)');
    let worst = 0;
    for (const [name, hash, sel] of screens) {
        // in the app: from another screen, by hash
        await page.goto(d.url + '/#/nowhere');
        await settle();
        seen = [];
        await page.evaluate((h) => (location.hash = h), hash);
        await settle(sel);
        const inApp = seen.filter((p) => p !== '/api/v1/session');
        worst = Math.max(worst, inApp.length);
        const shown = [...inApp];
        // a full load of the same screen
        await page.goto('about:blank');
        seen = [];
        await page.goto(d.url + '/' + hash);
        await settle(sel);
        log(`  ${name.padEnd(18)} ${String(inApp.length).padStart(5)}  ${String(seen.length).padStart(9)}   ${shown.join(' ')}`);
    }
    await ctx.close();
    return worst;
}

// ---- 4. events to tiles under load --------------------------------------------------------------
/** PATCH hosts at RATE/s for warmup+DURATION seconds; VISIBLE of them in ROOM */
async function loadGen(d, secs, onTick) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });
    const u = new URL(d.url);
    const first = (+ROOM.slice(1) - 100) * PER_ROOM;
    const writes = [];
    let seq = 0;
    let ok = 0;
    let bad = 0;
    const t0 = performance.now();
    const total = Math.round(RATE * secs);
    const patch = (mac, ip) =>
        new Promise((resolve) => {
            const body = JSON.stringify({ ip });
            const req = http.request(
                { host: u.hostname, port: u.port, path: `/api/v1/hosts/${mac}`, method: 'PATCH', agent, headers: { Authorization: 'Bearer ' + d.token, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
                (res) => {
                    res.resume();
                    res.on('end', () => resolve(res.statusCode));
                }
            );
            req.on('error', () => resolve(0));
            req.end(body);
        });
    async function worker() {
        for (;;) {
            const i = seq++;
            if (i >= total) return;
            const due = t0 + (i * 1000) / RATE;
            const now = performance.now();
            if (due > now) await sleep(due - now);
            const vis = (i * 7919) % 1000 < VISIBLE * 1000;
            const host = vis ? first + ((i * 31) % PER_ROOM) : (first + PER_ROOM + ((i * 7919) % (ROOMS * PER_ROOM - PER_ROOM))) % (ROOMS * PER_ROOM);
            const mac = macOf(host);
            const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
            const sent = Date.now();
            const st = await patch(mac, ip);
            if (st === 200) ok++;
            else bad++;
            if (vis) writes.push({ mac, ip, sent, answered: Date.now(), st });
            if (onTick) onTick(i);
        }
    }
    await Promise.all(Array.from({ length: CONC }, worker));
    const secsDone = (performance.now() - t0) / 1000;
    agent.destroy();
    return { writes, ok, bad, secs: secsDone };
}

/**
 * a bare WebSocket client of the event stream (RFC 6455) on a connection of
 * its own (node's fetch-based WebSocket would send the handshake on a
 * kept-alive connection, which the server refuses); onText(message)
 */
function rawWatch(d, onText) {
    const u = new URL(d.url);
    const sock = net.connect(+u.port, u.hostname);
    const frame = (op, payload) => {
        const mask = crypto.randomBytes(4);
        const out = Buffer.from(payload).map((b, i) => b ^ mask[i & 3]);
        sock.write(Buffer.concat([Buffer.from([0x80 | op, 0x80 | out.length]), mask, out]));
    };
    sock.write(
        `GET /api/v1/events?access_token=${encodeURIComponent(d.token)} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
    );
    let buf = Buffer.alloc(0);
    let open = false;
    let parts = [];
    return new Promise((resolve) => {
        sock.on('error', () => resolve(null));
        setTimeout(() => open || (sock.destroy(), resolve(null)), 3000);
        sock.on('data', (chunk) => {
            buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
            if (!open) {
                const i = buf.indexOf('\r\n\r\n');
                if (i < 0) return;
                if (!/^HTTP\/1\.1 101/.test(buf.subarray(0, i).toString())) return sock.destroy(), resolve(null);
                open = true;
                buf = buf.subarray(i + 4);
                resolve(sock);
            }
            for (;;) {
                if (buf.length < 2) return;
                let len = buf[1] & 127;
                let off = 2;
                if (len === 126) {
                    if (buf.length < 4) return;
                    len = buf.readUInt16BE(2);
                    off = 4;
                } else if (len === 127) {
                    if (buf.length < 10) return;
                    len = Number(buf.readBigUInt64BE(2));
                    off = 10;
                }
                if (buf.length < off + len) return;
                const op = buf[0] & 15;
                const fin = buf[0] & 0x80;
                const payload = buf.subarray(off, off + len);
                buf = buf.subarray(off + len);
                if (op === 9) frame(10, payload); // ping: pong
                else if (op === 8) sock.end();
                else if (op === 1 || op === 0) {
                    parts.push(payload);
                    if (fin) {
                        onText(Buffer.concat(parts).toString());
                        parts = [];
                    }
                }
            }
        });
    });
}

async function liveTiles(d, seeded) {
    const ctx = await newContext(d);
    const page = await ctx.newPage();
    await page.goto(`${d.url}/#/rooms/${ROOM}`);
    await page.waitForFunction(() => window.__bh.useful && window.__bh.useful.painted, null, { timeout: 30000 });
    await sleep(1000); // the stream is open
    // watch the tiles: the address line (.tile-meta) and the progress bars
    await page.evaluate(() => {
        const bh = window.__bh;
        const last = new Map();
        const lastP = new Map();
        const grid = document.querySelector('ul.grid');
        for (const li of grid.querySelectorAll('li.tile')) last.set(li.dataset.mac, li.querySelector('.tile-meta').textContent);
        new MutationObserver((muts) => {
            const now = performance.timeOrigin + performance.now();
            const rec = [];
            const tiles = new Set();
            for (const m of muts) {
                const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
                const li = el && el.closest('li.tile');
                if (li) tiles.add(li);
            }
            for (const li of tiles) {
                const mac = li.dataset.mac;
                const meta = li.querySelector('.tile-meta');
                const text = meta ? meta.textContent : '';
                if (text !== last.get(mac)) {
                    last.set(mac, text);
                    const r = [mac, text, now, 0];
                    bh.dom.push(r);
                    rec.push(r);
                }
                const p = li.querySelector('progress');
                const v = p ? p.getAttribute('value') : null;
                if (v !== null && v !== lastP.get(mac)) {
                    lastP.set(mac, v);
                    const r = [mac, v, now, 0];
                    bh.prog.push(r);
                    rec.push(r);
                }
            }
            // the frame that shows it
            if (rec.length)
                requestAnimationFrame(() => {
                    const ch = new MessageChannel();
                    ch.port1.onmessage = () => {
                        const t = performance.timeOrigin + performance.now();
                        for (const r of rec) r[3] = t;
                    };
                    ch.port2.postMessage(0);
                });
        }).observe(grid, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['value', 'class'] });
    });

    // a second watcher outside the browser, on a connection of its own: when
    // the server's fan-out reaches a client that does nothing else
    const nodeSeen = new Map();
    const nodeWs = await rawWatch(d, (text) => {
        const now = Date.now();
        try {
            const ev = JSON.parse(text);
            if (ev.kind === 'host' && ev.data && ev.data.ip && ev.data.ip.startsWith('10.')) nodeSeen.set(ev.key + '|' + ev.data.ip, now);
        } catch {
            /* not JSON */
        }
    });
    if (!nodeWs) log('  (the second watcher did not connect; left out)');
    // agents of ROOM report 1 % more every 500 ms each, during the stream
    const warmup = 3;
    const reports = [];
    let stopAgents = false;
    const agentLoop = async (a, k) => {
        await sleep(k * 50);
        for (let pct = 1; !stopAgents && pct < 100; pct++) {
            const total = 100 * 2 ** 30;
            const done = pct * 2 ** 30;
            const sent = Date.now();
            const r = await api(d, 'POST', `/agent/tasks/${a.task}`, { state: 'running', progress: { phase: 'sync', done, total, rate: 100 * 2 ** 20 } }, a.token);
            reports.push({ mac: a.mac, v: String(pct), sent, answered: Date.now(), st: r.status });
            await sleep(500);
        }
    };
    const agentsDone = Promise.all(seeded.agents.map(agentLoop));
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const pm0 = await metrics();
    const cpu0 = cpuNow(d.proc.pid);
    const me0 = process.cpuUsage();
    const tTrack = Date.now() + warmup * 1000;
    setTimeout(() => page.evaluate(() => (window.__bh.track = true)), warmup * 1000);
    const load = await loadGen(d, warmup + DURATION);
    const cpu1 = cpuNow(d.proc.pid);
    const me1 = process.cpuUsage(me0);
    const pm1 = await metrics();
    stopAgents = true;
    await agentsDone;
    await sleep(2000); // the last ones arrive
    if (nodeWs) nodeWs.destroy();
    const res = await page.evaluate(() => ({
        ws: window.__bh.ws,
        dom: window.__bh.dom,
        prog: window.__bh.prog,
        jobReads: performance
            .getEntriesByType('resource')
            .filter((r) => /\/api\/v1\/jobs\/\d+$/.test(r.name))
            .map((r) => [r.startTime, r.responseEnd - r.startTime]),
    }));
    const probs = await page.evaluate(() => document.querySelectorAll('ul.grid li.tile').length);
    await ctx.close();

    // the events the page received: when committed (ts), when they arrived
    const evs = new Map();
    let evCount = 0;
    let evFirst = Infinity;
    let evLast = 0;
    let evBytes = 0;
    for (const [recv, text] of res.ws) {
        evBytes += Buffer.byteLength(text);
        let ev;
        try {
            ev = JSON.parse(text);
        } catch {
            continue;
        }
        evCount++;
        evFirst = Math.min(evFirst, recv);
        evLast = Math.max(evLast, recv);
        if (ev.kind === 'host' && ev.data && ev.data.ip) evs.set(ev.key + '|' + ev.data.ip, { ts: Date.parse(ev.ts), recv });
    }
    const dom = new Map(res.dom.map(([mac, text, t, painted]) => [mac + '|' + text, { t, painted }]));
    const lat = { commit: [], answered: [], wire: [], page: [], painted: [], node: [] };
    let missing = 0;
    let superseded = 0;
    const byMac = new Map();
    for (const w of load.writes.filter((w) => w.sent >= tTrack && w.st === 200)) {
        const e = evs.get(w.mac + '|' + w.ip);
        const m = dom.get(w.mac + '|' + w.ip);
        if (!m) {
            missing++;
            continue;
        }
        byMac.set(w.mac, (byMac.get(w.mac) || 0) + 1);
        lat.answered.push(m.t - w.answered);
        if (e) {
            lat.commit.push(m.t - e.ts);
            lat.wire.push(e.recv - e.ts);
            if (nodeSeen.has(w.mac + '|' + w.ip)) lat.node.push(nodeSeen.get(w.mac + '|' + w.ip) - e.ts);
            lat.page.push(m.t - e.recv);
            if (m.painted) lat.painted.push(m.painted - e.ts);
        }
    }
    // a write not shown because a newer one to the same host came first
    for (const w of load.writes.filter((w) => w.sent >= tTrack && w.st === 200 && !dom.has(w.mac + '|' + w.ip))) {
        if (load.writes.some((x) => x.mac === w.mac && x.sent > w.sent && x.sent - w.sent < 1000)) superseded++;
    }
    const rate = load.ok / load.secs;
    const evRate = evCount / ((evLast - evFirst) / 1000);
    log(`\n== one event to a visible tile change (room of ${PER_ROOM} on screen, ${CONC} writers) ==`);
    log(`  asked ${RATE} writes/s for ${warmup} + ${DURATION} s: ${load.ok} PATCH /hosts answered 200 in ${load.secs.toFixed(1)} s = ${Math.round(rate)} writes/s (${load.bad} failed)`);
    log(`  events the page received while measured: ${evCount} = ${Math.round(evRate)} events/s`);
    log(`  writes to the room on screen: ${lat.commit.length} measured, ${missing} never shown (${superseded} of them overwritten within 1 s by a newer write to the same host)`);
    const line = (label, xs) => log(`  ${label.padEnd(44)} p50 ${ms(pctl(xs, 50)).padStart(7)}  p95 ${ms(pctl(xs, 95)).padStart(7)}  p99 ${ms(pctl(xs, 99)).padStart(7)}  (n=${xs.length})`);
    line('commit (event ts) → tile changed in the DOM', lat.commit);
    line('commit → the frame that shows it', lat.painted);
    line('write answered → tile changed in the DOM', lat.answered);
    line('  of which: commit → event in the page', lat.wire);
    line('  of which: event in the page → tile changed', lat.page);
    if (lat.node.length) line('commit → event at a bare client (for comparison)', lat.node);
    const secs = (cpu1.t - cpu0.t) / 1000;
    log(`  CPU while streaming: the machine ${Math.round(((cpu1.busy - cpu0.busy) / secs) * 100)} % busy of ${os.cpus().length * 100} %, bootherd ${Math.round(((cpu1.proc - cpu0.proc) / secs) * 100)} %, this load generator ${Math.round(((me1.user + me1.system) / 1e6 / secs) * 100)} %; the rest is Chromium and whatever else runs`);

    // progress: agent report answered → the tile's <progress> value
    const pdom = new Map(res.prog.map(([mac, v, t]) => [mac + '|' + v, t]));
    const plat = [];
    let pmiss = 0;
    for (const r of reports.filter((r) => r.sent >= tTrack && r.st === 200)) {
        const t = pdom.get(r.mac + '|' + r.v);
        if (t) plat.push(t - r.answered);
        else pmiss++;
    }
    const busy = (k) => Math.round(((pm1[k] - pm0[k]) / secs) * 100);
    log(`  the page's main thread while streaming: busy ${busy('TaskDuration')} % of a core (script ${busy('ScriptDuration')} %, style ${busy('RecalcStyleDuration')} %, layout ${busy('LayoutDuration')} %)`);
    log(`  agent progress (${seeded.agents.length} hosts, one report each 500 ms, ${reports.length} reports):`);
    line('report answered → tile progress bar moved', plat);
    log(`  (${pmiss} reports never shown: a newer one came before the console read the job again)`);
    const jr = res.jobReads.map((x) => x[1]);
    log(`  the console read the job (GET /jobs/{id}, ${PER_ROOM} hosts) ${jr.length} times: p50 ${ms(pctl(jr, 50))}, p95 ${ms(pctl(jr, 95))} each`);
    if (probs !== PER_ROOM) log(`  note: ${probs} tiles at the end`);
    return { evSize: evCount ? evBytes / evCount : 0, p50: pctl(lat.commit, 50), p95: pctl(lat.commit, 95), p99: pctl(lat.commit, 99), rate, evRate, prog95: pctl(plat, 95), prog50: pctl(plat, 50) };
}

// ---- main ----------------------------------------------------------------------------------------------
async function main() {
    log(`bootherd console benchmark: ${os.cpus().length} cores (${os.cpus()[0].model}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    log(`chromium: ${(await getBrowser()).version()}, headless; runs=${RUNS}, rate=${RATE}/s, duration=${DURATION} s`);
    const d = await startDaemon('[log]\nlevel = warn\n');
    const fs_ = execFileSync('df', ['--output=fstype', d.dir], { encoding: 'utf8' }).trim().split('\n').pop();
    log(`daemon: ${d.url}, data in ${d.dir} (${fs_}: ${fs_ === 'tmpfs' ? 'no fsync cost' : 'every write fsynced before its answer'})`);
    const seeded = await seed(d);
    const gz = PARTS.includes('bundle') ? bundle() : NaN;
    let dash = {};
    let room = {};
    if (PARTS.includes('paint')) {
        log('\n== first useful paint ==');
        log('  dashboard: useful = the host counts (first stat tile) and the latest events are in the DOM;');
        log(`  room: useful = all ${PER_ROOM} host tiles and the room's state counts are in the DOM;`);
        log('  "painted" = the end of the first frame after that (requestAnimationFrame, then a message).');
        log('  cold = a new browser context (empty HTTP cache); warm = the same context again.');
        dash = await firstPaint(d, 'dashboard', '#/dashboard');
        room = await firstPaint(d, `room of ${PER_ROOM} hosts`, `#/rooms/${ROOM}`);
    }
    const worst = PARTS.includes('requests') ? await requestsPerScreen(d, seeded) : NaN;
    const live = PARTS.includes('live') ? await liveTiles(d, seeded) : {};

    if (room.warm && live.p50) {
        log('\n== side by side: the room of 100 hosts ==');
        log(`  FOG/MAAS way, a full reload of the room page (navigation → tiles usable): warm ${ms(room.warm)}, cold ${ms(room.cold)}`);
        log(`  ours, one tile changing live (commit → tile, p50 under ${Math.round(live.rate)} writes/s): ${ms(live.p50)}`);
        log(`  ratio reload / live tile: ${(room.warm / live.p50).toFixed(1)}× warm, ${(room.cold / live.p50).toFixed(1)}× cold`);
        log(`  bytes: a reload receives ${kb(room.wireWarm)} warm (${kb(room.wire)} cold); one event is ${Math.round(live.evSize)} bytes (a WebSocket text frame, unmasked, uncompressed)`);
    }

    log('\n== summary (goal) ==');
    if (dash.cold) {
        log(`  first useful paint, dashboard: cold ${ms(dash.cold)}, warm ${ms(dash.warm)}   (< 1 s)`);
        log(`  first useful paint, room of ${PER_ROOM}: cold ${ms(room.cold)}, warm ${ms(room.warm)}   (< 1 s)`);
    }
    if (live.p50 !== undefined) {
        log(`  event → tile at ${Math.round(live.rate)} writes/s (${Math.round(live.evRate)} events/s seen): p50 ${ms(live.p50)}, p95 ${ms(live.p95)}, p99 ${ms(live.p99)}   (p95 < 300 ms at 1,000/s)`);
        log(`  agent progress → tile: p50 ${ms(live.prog50)}, p95 ${ms(live.prog95)}`);
    }
    if (!Number.isNaN(gz)) log(`  bundle: ${kb(gz)} gzipped   (< 150 KB)`);
    if (!Number.isNaN(worst)) log(`  API requests per screen: at most ${worst}   (≤ 3)`);
    log(`  load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main()
    .catch((e) => {
        console.error(e.stack || e.message);
        process.exitCode = 1;
    })
    .finally(async () => {
        await closeBrowser().catch(() => {});
        stopDaemons();
    });
