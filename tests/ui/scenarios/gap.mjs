// gap.mjs - the live stream after a drop: while the test holds the stream cut the
// server writes more than it keeps ([store] events_keep), so the revision
// the console saw is gone; back in touch it learns so (410), reloads what it
// shows and goes on live, without a reload of the page.
import { startDaemon, newPage, login, goto, must, check, step } from '../lib.mjs';

export async function run() {
    const d = await startDaemon('[store]\nevents_keep = 1000\n');
    await must(d, 'POST', '/rooms', { name: 'r1' });
    await must(d, 'POST', '/hosts', { mac: '52:54:00:00:90:01', name: 'gap-pc01', room: 'r1' });
    const page = await newPage(d);
    // the event stream through Playwright, so the test can cut it
    let cut = false;
    const socks = [];
    await page.routeWebSocket(/\/api\/v1\/events/, (ws) => {
        if (cut) return ws.close({ code: 1011, reason: 'cut by the test' });
        ws.connectToServer();
        socks.push(ws);
    });
    await page.reload(); // the route takes effect from the next load on
    await login(page, d.token);
    await goto(page, '#/rooms/r1');
    await page.waitForSelector('li.tile');
    await page.waitForSelector('.live.on');
    await page.evaluate(() => {
        window.__noReload = 1;
    });
    const gone = [];
    page.on('response', (r) => {
        if (r.url().includes('/api/v1/events') && r.status() === 410) gone.push(r.url());
    });
    cut = true;
    for (const ws of socks.splice(0)) await ws.close({ code: 1011, reason: 'cut by the test' });
    await step('cut off: the console says it is reconnecting', () => page.waitForSelector('.live.off'));
    await must(d, 'POST', '/hosts', { mac: '52:54:00:00:90:02', name: 'gap-pc02', room: 'r1' });
    for (let i = 0; i < 1300; i++) await must(d, 'PATCH', '/rooms/r1', { description: `write ${i}` });
    cut = false;
    await step('back in touch, the host made meanwhile is in the grid', () => page.waitForSelector('li.tile[data-mac="52:54:00:00:90:02"]', { timeout: 60000 }));
    check('  ... after the server said the old revision was gone (410)', gone.length > 0, 'no 410 seen');
    await step('  ... and the stream is live again', () => page.waitForSelector('.live.on', { timeout: 60000 }));
    await must(d, 'PATCH', '/hosts/gap-pc01', { ip: '10.9.9.9' });
    await step('a change after that reaches its tile', () => page.waitForSelector('li.tile[data-mac="52:54:00:00:90:01"] .tile-meta:has-text("10.9.9.9")'));
    check('all without a reload of the page', await page.evaluate(() => window.__noReload === 1));
    check('no CSP violation or script error', page.problems.length === 0, page.problems.join('\n'));
    await page.context().close();
}
