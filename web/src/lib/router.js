// router.js - the hash router.  The server serves only "/", so every screen
// lives behind "#/": #/rooms/r101, #/hosts/pc01, #/jobs/7.  route is a signal;
// reading route.value in a component re-renders it on navigation.
import { signal } from '@preact/signals';

function parse() {
    const raw = location.hash.replace(/^#\/?/, '');
    const q = raw.indexOf('?');
    const p = q < 0 ? raw : raw.slice(0, q);
    const parts = p.split('/').filter(Boolean).map((s) => {
        try {
            return decodeURIComponent(s);
        } catch {
            return s;
        }
    });
    return { parts, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export const route = signal(parse());
window.addEventListener('hashchange', () => {
    route.value = parse();
});

/** "#/a/b" from parts, each part encoded */
export const href = (...parts) => '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');

export function go(hash) {
    if (location.hash !== hash) location.hash = hash;
}
