// lib.mjs - what every browser scenario uses: a daemon of its own (a temp
// data dir, `bootherd init`, `bootherd serve --http 127.0.0.1:0`), the API
// with the admin token, headless Chromium (Debian's, through
// playwright-core), login, and TAP lines ("ok - ui: ...").
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BH = process.env.BOOTHERD_BIN || path.join(ROOT, 'build/bootherd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'tests/out/ui');
const require = createRequire(path.join(ROOT, 'web/package.json'));

export function loadPlaywright() {
    return require('playwright-core');
}

export function axeSource() {
    return fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
}

// ---- TAP ---------------------------------------------------------------------
export const tally = { pass: 0, fail: 0, skip: 0 };
let prefix = 'ui';
export function scenario(name) {
    prefix = `ui ${name}`;
}
export function ok(name) {
    tally.pass++;
    console.log(`ok - ${prefix}: ${name}`);
}
export function nok(name, why) {
    tally.fail++;
    console.log(`not ok - ${prefix}: ${name}`);
    if (why) for (const l of String(why).split('\n').slice(0, 30)) console.log(`#   ${l}`);
}
export function skip(name, why) {
    tally.skip++;
    console.log(`ok - ${prefix}: ${name} # SKIP ${why}`);
}
export function check(name, cond, why) {
    if (cond) ok(name);
    else nok(name, why);
    return !!cond;
}
/** passes when fn() resolves; its error is the diagnosis */
export async function step(name, fn) {
    try {
        await fn();
        ok(name);
        return true;
    } catch (e) {
        nok(name, e && (e.stack || e.message || String(e)));
        return false;
    }
}
export function eq(name, want, got) {
    return check(name, JSON.stringify(want) === JSON.stringify(got), `want: ${JSON.stringify(want)}\ngot:  ${JSON.stringify(got)}`);
}

// ---- the daemon ----------------------------------------------------------------
const daemons = [];
/** confText: a config file for serve; opts.tls: `bootherd init --tls` */
export async function startDaemon(confText, opts = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-ui-'));
    const data = path.join(dir, 'data');
    execFileSync(BH, ['init', '--data', data, ...(opts.tls ? ['--tls'] : [])], { stdio: 'ignore' });
    const args = ['serve', '--data', data, '--http', '127.0.0.1:0'];
    if (confText) {
        fs.writeFileSync(path.join(dir, 'bootherd.conf'), confText);
        args.push('--config', path.join(dir, 'bootherd.conf'));
    }
    const log = fs.openSync(path.join(dir, 'serve.log'), 'a');
    const proc = spawn(BH, args, { stdio: ['ignore', log, log] });
    const d = { dir, data, proc, url: null, token: fs.readFileSync(path.join(data, 'admin.token'), 'utf8').trim() };
    daemons.push(d);
    const addr = path.join(data, 'http.addr');
    for (let i = 0; i < 400; i++) {
        if (proc.exitCode !== null) throw new Error('bootherd exited: ' + fs.readFileSync(path.join(dir, 'serve.log'), 'utf8').slice(-2000));
        if (fs.existsSync(addr) && fs.readFileSync(addr, 'utf8').trim()) {
            d.url = 'http://' + fs.readFileSync(addr, 'utf8').trim();
            const u = path.join(data, 'http.url'); // the scheme, with TLS
            if (fs.existsSync(u) && fs.readFileSync(u, 'utf8').trim()) d.url = fs.readFileSync(u, 'utf8').trim().replace(/\/$/, '');
            if (d.url.startsWith('https:')) return d; // node's fetch would not trust its certificate
            try {
                if ((await fetch(d.url + '/health')).ok) return d;
            } catch {
                /* not yet */
            }
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('bootherd did not come up');
}

export function stopDaemons() {
    while (daemons.length) {
        const d = daemons.pop();
        try {
            d.proc.kill('SIGKILL');
        } catch {
            /* gone */
        }
        fs.rmSync(d.dir, { recursive: true, force: true });
    }
}
process.on('exit', stopDaemons);

/** the API with a bearer token: {status, body, headers} */
export async function api(d, method, p, body, token) {
    const headers = { Authorization: 'Bearer ' + (token || d.token) };
    let b;
    if (body !== undefined) {
        b = typeof body === 'string' ? body : JSON.stringify(body);
        headers['Content-Type'] = typeof body === 'string' ? 'text/plain' : 'application/json';
    }
    const r = await fetch(d.url + '/api/v1' + p, { method, headers, body: b });
    const text = await r.text();
    let json = null;
    try {
        json = JSON.parse(text);
    } catch {
        /* text */
    }
    return { status: r.status, body: json ?? text, headers: r.headers };
}

export async function must(d, method, p, body, token) {
    const r = await api(d, method, p, body, token);
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
}

export async function mkToken(d, name, role) {
    return (await must(d, 'POST', '/tokens', { name, role })).token;
}

// ---- the browser ----------------------------------------------------------------
let browser = null;
export async function getBrowser() {
    if (!browser) {
        const { chromium } = loadPlaywright();
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    }
    return browser;
}
export async function closeBrowser() {
    if (browser) await browser.close();
    browser = null;
}

/**
 * a fresh context and page at the daemon; records CSP violations and page
 * errors in page.problems.  opts.lang sets the console's language.
 */
export async function newPage(d, opts = {}) {
    const b = await getBrowser();
    const ctx = await b.newContext({
        viewport: { width: 1280, height: 900 },
        bypassCSP: !!opts.bypassCSP,
        locale: opts.locale || 'en-US',
        ignoreHTTPSErrors: !!opts.insecure,
    });
    if (opts.lang) await ctx.addInitScript((l) => localStorage.setItem('bh.lang', l), opts.lang);
    const page = await ctx.newPage();
    page.problems = [];
    page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
    page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) page.problems.push('csp: ' + m.text());
    });
    page.setDefaultTimeout(opts.timeout || 10000);
    await page.goto(d.url + '/');
    return page;
}

export async function login(page, token) {
    await page.waitForSelector('#login-token');
    await page.fill('#login-token', token);
    await page.click('form.login-card button[type=submit]');
    await page.waitForSelector('header.top');
}

/** navigate by hash (no reload) and wait for the screen's heading */
export async function goto(page, hash) {
    await page.evaluate((h) => {
        location.hash = h;
    }, hash);
    await page.waitForSelector('.page-head h1');
    await page.waitForFunction(() => !document.querySelector('.loading'));
}

export async function shot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}
