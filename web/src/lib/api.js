// api.js - the one way the console talks to the server: fetch with the
// session cookie (credentials same-origin), the CSRF token on every write,
// and RFC 9457 problems turned into ApiError (status, type, field, detail)
// so a form can show the server's message next to the field it names.
// A 401 anywhere (but the login itself) sends the console back to login.

let csrf = null;
let unauthorized = () => {};
let counter = null;

export function setCsrf(token) {
    csrf = token || null;
}

export function onUnauthorized(fn) {
    unauthorized = fn;
}

/** tests and the benchmark count requests per screen */
export function countRequests(fn) {
    counter = fn;
}

export class ApiError extends Error {
    constructor(status, problem) {
        const p = problem && typeof problem === 'object' ? problem : {};
        super(p.detail || p.title || (status ? `HTTP ${status}` : 'network error'));
        this.status = status;
        this.problem = p;
        this.type = String(p.type || '').replace(/^urn:bootherd:problem:/, '');
        this.field = p.field || null;
    }
}

/**
 * request(method, path, body?, opts?) -> parsed JSON, text or null (204).
 * path is below /api/v1.  body: an object (JSON; PATCH as merge patch) or a
 * string (sent as opts.type, default text/plain).  opts.ifMatch sets If-Match,
 * opts.etag makes the answer {data, etag}, opts.quiet401 keeps a 401 from
 * logging out (the login form itself).
 */
export async function request(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json, application/problem+json, text/plain' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined && body !== null) {
        if (typeof body === 'string') {
            headers['Content-Type'] = opts.type || 'text/plain; charset=utf-8';
            init.body = body;
        } else {
            headers['Content-Type'] =
                method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
            init.body = JSON.stringify(body);
        }
    }
    if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
    if (counter) counter(method, path);
    let res;
    try {
        res = await fetch('/api/v1' + path, init);
    } catch (e) {
        throw new ApiError(0, { title: 'network', detail: String(e.message || e) });
    }
    const ct = res.headers.get('Content-Type') || '';
    let data = null;
    if (res.status !== 204 && res.status !== 304) {
        data = ct.includes('json') ? await res.json().catch(() => null) : await res.text();
    }
    if (!res.ok) {
        if (res.status === 401 && !opts.quiet401) unauthorized();
        throw new ApiError(res.status, data);
    }
    return opts.etag ? { data, etag: res.headers.get('ETag') } : data;
}

export const api = {
    get: (p, o) => request('GET', p, undefined, o),
    post: (p, b, o) => request('POST', p, b === undefined ? {} : b, o),
    put: (p, b, o) => request('PUT', p, b, o),
    patch: (p, b, o) => request('PATCH', p, b, o),
    del: (p, o) => request('DELETE', p, undefined, o),
};

/** "?a=1&b=x" from an object, leaving out empty values */
export function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
    }
    const s = u.toString();
    return s ? '?' + s : '';
}

export const enc = encodeURIComponent;
