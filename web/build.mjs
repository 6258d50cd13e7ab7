// build.mjs - bundle the console into OUTDIR (Meson runs it; plain node, no npm scripts).
//
//   node web/build.mjs OUTDIR [--stamp FILE] [--depfile FILE]
//
// Writes OUTDIR/index.html (not hashed: the server sends it with no-cache),
// OUTDIR/ui/app.<hash>.js and OUTDIR/ui/app.<hash>.css (hashed, so the server
// may let browsers keep them for a year), a .gz sibling of each text file
// (zlib level 9, served as Content-Encoding: gzip) and ui/favicon.svg.
// index.html holds no inline script or style, so a strict CSP
// (script-src 'self'; style-src 'self') allows the page.
//
// Before bundling it runs `npm ci` when web/node_modules is missing or was
// installed from another package-lock.json (the lock's hash is kept in
// node_modules/.bootherd-lock).  With --depfile it writes a Make-style
// dependency file naming every source file the bundle read, so Ninja
// rebuilds when any of them changes, new imports included.
//
// Owner: the web console (web/).  See docs/ui.md.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const WEB = path.dirname(fileURLToPath(import.meta.url));
const HASH_LEN = 8; // ui/app.3f9a1c2b.js: hex, as the server's contract names it

function die(msg) {
    process.stderr.write(`web/build.mjs: ${msg}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const o = { out: null, stamp: null, depfile: null };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--stamp') o.stamp = argv[++i];
        else if (a === '--depfile') o.depfile = argv[++i];
        else if (a.startsWith('-')) die(`unknown option ${a}`);
        else if (!o.out) o.out = a;
        else die(`unexpected argument ${a}`);
    }
    if (!o.out) die('usage: node build.mjs OUTDIR [--stamp FILE] [--depfile FILE]');
    return o;
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// npm ci when node_modules is missing or stale against package-lock.json
function ensureModules() {
    const [major] = process.versions.node.split('.').map(Number);
    if (major < 18) die(`node ${process.versions.node} is too old: the console needs node >= 18`);
    const lock = path.join(WEB, 'package-lock.json');
    const mark = path.join(WEB, 'node_modules', '.bootherd-lock');
    const want = sha256(fs.readFileSync(lock));
    let have = null;
    try {
        have = fs.readFileSync(mark, 'utf8').trim();
    } catch {
        /* not installed yet */
    }
    if (have === want && fs.existsSync(path.join(WEB, 'node_modules', 'esbuild'))) return;
    process.stderr.write('web: npm ci (node_modules missing or package-lock.json changed)\n');
    try {
        execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
            cwd: WEB,
            stdio: ['ignore', 'inherit', 'inherit'],
        });
    } catch (e) {
        die(`npm ci failed (${e.message}); is npm installed (Debian: apt-get install npm)?`);
    }
    fs.writeFileSync(mark, want + '\n');
}

function writeWithGz(file, data) {
    fs.writeFileSync(file, data);
    fs.writeFileSync(file + '.gz', zlib.gzipSync(data, { level: 9 }));
}

function indexHtml(js, css) {
    // no inline script or style: everything comes from /ui/
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>bootherd</title>
<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/${css}">
<script type="module" src="/ui/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The bootherd console needs JavaScript. The API is at /api/v1 and the CLI is bootherd.</noscript>
</body>
</html>
`;
}

async function main() {
    const opt = parseArgs(process.argv.slice(2));
    ensureModules();
    const esbuild = await import('esbuild');
    const out = path.resolve(opt.out);
    const ui = path.join(out, 'ui');
    const res = await esbuild.build({
        entryPoints: { app: path.join(WEB, 'src', 'main.js') },
        bundle: true,
        format: 'esm',
        minify: true,
        target: ['es2020'],
        outdir: ui,
        write: false,
        metafile: true,
        legalComments: 'none',
        logLevel: 'warning',
        define: { 'process.env.NODE_ENV': '"production"' },
    });
    let js = null, css = null;
    for (const f of res.outputFiles) {
        if (f.path.endsWith('.js')) js = f.contents;
        else if (f.path.endsWith('.css')) css = f.contents;
    }
    if (!js || !css) die('esbuild gave no app.js or app.css');
    const jsName = `app.${sha256(js).slice(0, HASH_LEN)}.js`;
    const cssName = `app.${sha256(css).slice(0, HASH_LEN)}.css`;

    // a fresh ui/ each time: no stale hashed files left behind
    fs.rmSync(ui, { recursive: true, force: true });
    fs.mkdirSync(ui, { recursive: true });
    writeWithGz(path.join(ui, jsName), js);
    writeWithGz(path.join(ui, cssName), css);
    writeWithGz(path.join(ui, 'favicon.svg'), fs.readFileSync(path.join(WEB, 'src', 'favicon.svg')));
    writeWithGz(path.join(out, 'index.html'), Buffer.from(indexHtml(jsName, cssName)));

    const gz = zlib.gzipSync(js, { level: 9 }).length + zlib.gzipSync(css, { level: 9 }).length;
    process.stderr.write(`web: ${jsName} ${js.length} B, ${cssName} ${css.length} B, ${gz} B gzipped\n`);

    if (opt.depfile) {
        const inputs = Object.keys(res.metafile.inputs).map((p) => path.resolve(p));
        inputs.push(path.join(WEB, 'src', 'favicon.svg'), path.join(WEB, 'build.mjs'));
        const esc = (p) => p.replace(/([ #$])/g, '\\$1');
        const target = opt.stamp ? opt.stamp : path.join(out, 'index.html');
        fs.writeFileSync(opt.depfile, `${esc(target)}: ${inputs.map(esc).join(' \\\n  ')}\n`);
    }
    if (opt.stamp) fs.writeFileSync(opt.stamp, `${jsName} ${cssName}\n`);
}

main().catch((e) => die(e.stack || String(e)));
