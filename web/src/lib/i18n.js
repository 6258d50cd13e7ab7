// i18n.js - one string table per language (src/i18n/en.js, de.js, the same
// keys).  The language comes from localStorage (the user's choice), else
// from navigator.languages, else English.  t(key, {n: 3}) fills {n}; reading
// it inside a component subscribes that component to the language signal.
import { signal } from '@preact/signals';
import en from '../i18n/en.js';
import de from '../i18n/de.js';

export const tables = { en, de };
export const LANGS = [
    ['en', 'English'],
    ['de', 'Deutsch'],
];
const KEY = 'bh.lang';

function initial() {
    try {
        const s = localStorage.getItem(KEY);
        if (s && tables[s]) return s;
    } catch {
        /* storage disabled */
    }
    for (const l of navigator.languages || [navigator.language || 'en']) {
        const base = String(l).slice(0, 2).toLowerCase();
        if (tables[base]) return base;
    }
    return 'en';
}

export const lang = signal(initial());
document.documentElement.lang = lang.value;

export function setLang(l) {
    if (!tables[l]) return;
    lang.value = l;
    document.documentElement.lang = l;
    try {
        localStorage.setItem(KEY, l);
    } catch {
        /* storage disabled: the choice lasts for this page */
    }
}

export function t(key, params) {
    const s = tables[lang.value][key] ?? tables.en[key] ?? key;
    if (!params) return s;
    return s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
}
