// format.js - numbers, sizes, durations and times in the chosen language.
import { lang, t } from './i18n.js';

const loc = () => (lang.value === 'de' ? 'de-DE' : 'en-GB');

export function num(n, digits = 0) {
    if (n === null || n === undefined || Number.isNaN(n)) return '–';
    return Number(n).toLocaleString(loc(), { maximumFractionDigits: digits });
}

export function bytes(n) {
    if (n === null || n === undefined) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < u.length - 1) {
        v /= 1024;
        i++;
    }
    return `${num(v, i ? 1 : 0)} ${u[i]}`;
}

export function rate(bps) {
    return bps ? `${bytes(bps)}/s` : '–';
}

export function duration(s) {
    if (s === null || s === undefined) return '–';
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
    if (m) return `${m} min ${String(sec).padStart(2, '0')} s`;
    return `${sec} s`;
}

export function time(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleString(loc(), { dateStyle: 'short', timeStyle: 'medium' });
}

export function ago(iso) {
    if (!iso) return t('never');
    const s = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!(s >= 0)) return time(iso);
    if (s < 60) return t('ago.s', { n: Math.round(s) });
    if (s < 3600) return t('ago.m', { n: Math.round(s / 60) });
    if (s < 86400) return t('ago.h', { n: Math.round(s / 3600) });
    return time(iso);
}

export function pct(done, total) {
    if (!total) return null;
    return Math.min(100, Math.max(0, Math.round((100 * (done || 0)) / total)));
}
