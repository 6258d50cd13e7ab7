// session.js - who is logged in.  The API token typed into the login form
// is sent once to POST /api/v1/session and then forgotten: the browser keeps
// only the HttpOnly cookie the server sets, and this module keeps the
// session's name, role and CSRF token in memory.  After a reload the console
// asks GET /api/v1/session again.
import { signal } from '@preact/signals';
import { api, request, setCsrf, onUnauthorized } from './api.js';

/** undefined while asking the server, null when logged out, else the session */
export const session = signal(undefined);

const RANK = { viewer: 1, operator: 2, admin: 3 };

/** true when the session's role is at least role */
export function can(role) {
    const s = session.value;
    return !!s && (RANK[s.role] || 0) >= RANK[role];
}

function adopt(s) {
    setCsrf(s.csrf);
    session.value = s;
}

function drop() {
    setCsrf(null);
    session.value = null;
}

onUnauthorized(drop);

export async function restore() {
    try {
        adopt(await request('GET', '/session', undefined, { quiet401: true }));
    } catch {
        drop();
    }
}

export async function login(token) {
    adopt(await request('POST', '/session', { token }, { quiet401: true }));
}

export async function logout() {
    try {
        await api.del('/session');
    } catch {
        /* gone already: logged out either way */
    }
    drop();
}
