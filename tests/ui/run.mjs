// run.mjs - the console's browser tests: each scenario starts its own
// bootherd and drives the console in Debian's headless Chromium through
// playwright-core.  TAP lines on stdout; tests/run-all.sh counts them.
// Without /usr/bin/chromium (or playwright-core) every scenario is a SKIP.
//
//   BOOTHERD_BIN=build/bootherd node tests/ui/run.mjs [scenario...]
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, BH, CHROMIUM, tally, scenario, nok, skip, loadPlaywright, stopDaemons, closeBrowser } from './lib.mjs';

const ALL = ['login', 'tls', 'roles', 'room_job', 'startconf', 'forms', 'devices', 'dhcp_devices', 'images', 'tokens', 'german', 'gap', 'screens'];

const want = process.argv.slice(2);
const names = want.length ? ALL.filter((n) => want.includes(n)) : ALL;

function skipAll(why) {
    for (const n of names) {
        scenario(n);
        skip('scenario', why);
    }
}

async function main() {
    if (!fs.existsSync(CHROMIUM)) return skipAll(`${CHROMIUM} is not installed (Debian: apt-get install chromium)`);
    try {
        loadPlaywright();
    } catch {
        return skipAll('playwright-core is not installed (npm ci in web/)');
    }
    if (!fs.existsSync(BH)) {
        scenario('setup');
        return nok(`${BH} exists`);
    }
    const web = path.join(path.dirname(BH), 'web', 'index.html');
    if (!fs.existsSync(web)) {
        scenario('setup');
        return nok(`the console is built (${path.relative(ROOT, web)})`);
    }
    for (const n of names) {
        scenario(n);
        const mod = await import(`./scenarios/${n}.mjs`);
        try {
            await mod.run();
        } catch (e) {
            nok('scenario ran to its end', e && (e.stack || e.message));
        } finally {
            stopDaemons();
        }
    }
}

main()
    .catch((e) => {
        scenario('runner');
        nok('runner', e.stack || e.message);
    })
    .finally(async () => {
        await closeBrowser().catch(() => {});
        console.log(`# ui: ${tally.pass} passed, ${tally.fail} failed, ${tally.skip} skipped`);
        process.exit(tally.fail ? 1 : 0);
    });
