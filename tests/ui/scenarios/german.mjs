// german.mjs - the string tables: en.js and de.js have the same keys and
// no German value left in English (but for words that are the same in
// both); the room page in German shows no English string.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, startDaemon, newPage, login, goto, must, check, eq, shot } from '../lib.mjs';

// words that are spelled the same in German
const SAME = new Set(['Name', 'Firmware', 'ID', 'Tags', 'MAC', 'Status', 'Version', 'UUID', 'start.conf']);

export async function run() {
    const en = (await import(pathToFileURL(path.join(ROOT, 'web/src/i18n/en.js')))).default;
    const de = (await import(pathToFileURL(path.join(ROOT, 'web/src/i18n/de.js')))).default;
    const ek = Object.keys(en).sort();
    const dk = Object.keys(de).sort();
    eq('en.js and de.js have the same keys', [], ek.filter((k) => !(k in de)).concat(dk.filter((k) => !(k in en))));
    const same = ek.filter((k) => de[k] === en[k] && !SAME.has(en[k]) && /[a-z]{3}/i.test(en[k]));
    eq('no German string is the English one (but the allowed words)', [], same.map((k) => `${k}: ${en[k]}`));
    const params = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
    eq('each German string has the same {placeholders}', [], ek.filter((k) => params(en[k]) !== params(de[k])));

    const d = await startDaemon();
    await must(d, 'POST', '/rooms', { name: 'r101' });
    await must(d, 'POST', '/groups', { name: 'lab' });
    for (let i = 1; i <= 4; i++) await must(d, 'POST', '/hosts', { mac: `52:54:00:00:60:0${i}`, name: `pc0${i}`, room: 'r101', group: 'lab' });
    const page = await newPage(d, { lang: 'de', locale: 'de-DE' });
    await login(page, d.token);
    await goto(page, '#/rooms/r101');
    await page.waitForSelector('li.tile');
    await page.click('li.tile >> nth=0');
    const english = new Set(ek.filter((k) => en[k] !== de[k]).map((k) => en[k].replace(/\{\w+\}/g, '').trim()).filter((s) => s.length > 2));
    const found = await page.evaluate((words) => {
        const seen = [];
        // names (the user's, hosts') are marked translate="no"
        const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const texts = [];
        while (w.nextNode()) if (!w.currentNode.parentElement.closest('[translate="no"]')) texts.push(w.currentNode.nodeValue.trim());
        for (const el of document.querySelectorAll('[aria-label],[placeholder],[title]'))
            for (const a of ['aria-label', 'placeholder', 'title']) if (el.getAttribute(a)) texts.push(el.getAttribute(a).trim());
        for (const t of texts) if (t && words.includes(t)) seen.push(t);
        return seen;
    }, [...english]);
    eq('the room page in German has no English string', [], found);
    check('  ... and is German (Alle auswählen, Synchronisieren)', (await page.textContent('main')).includes('Alle auswählen') && (await page.textContent('main')).includes('Synchronisieren'));
    eq('the page says lang=de', 'de', await page.getAttribute('html', 'lang'));
    await shot(page, 'room-de');
    await page.selectOption('header.top select', 'en');
    check('switching to English on the page', (await page.textContent('main')).includes('Select all'));
    // (the test's init script sets German on every load, so ask the storage)
    eq('  ... is remembered for the next visit', 'en', await page.evaluate(() => localStorage.getItem('bh.lang')));
    await page.context().close();
}
