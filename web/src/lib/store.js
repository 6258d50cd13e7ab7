// store.js - the console's one live state, fed by the event stream.
//
// One WebSocket, GET /api/v1/events?since=REV (the session cookie
// authenticates it).  Every event moves `rev` on; after a drop the stream is
// opened again from the last revision seen, with a pause growing from 1 s
// to 30 s, so no change is missed.  When that revision was pruned (close
// code 4410, or a 410 for the handshake) the store bumps `epoch`: every
// screen reloads what it shows, and the stream goes on from now.
//
// Hosts and their current step ("activity") live in one signal per host, so
// a change repaints one tile, not the grid.  A job event about one task
// (progress, running, done, failed) carries that task ({task: {id, host,
// name, step, state, progress, error, eta_s}, host_state}): the store puts
// it straight into the host's activity and the host's row of the job.  Only
// what the event cannot tell makes the store read the job again (at once
// on its first event, then at most every 200 ms per job, and only while
// something on screen shows jobs):
// events without a task (created, cancelled, retried), a failed step (its
// host's later steps were cancelled with it), and a done step of a job not
// loaded (the host's next step is not in the event).  A `woken` event
// changes no step, only the job's wake report: it is read again only while
// a screen shows that job's detail (watchJobs(id)).
import { signal, batch } from '@preact/signals';
import { api } from './api.js';

export const connected = signal(false);
export const epoch = signal(0); // bumped when events were lost: reload
export const recent = signal([]); // the newest events, newest first
const RECENT_MAX = 200;

let rev = 0;
let ws = null;
let stopped = true;
let backoff = 1000;
let retryTimer = null;
const listeners = new Set();

/** the last revision seen */
export const lastRev = () => rev;

/** call fn(event) for every event; returns the function that stops it */
export function onEvent(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
}

// ---- per-host signals -------------------------------------------------------
const hosts = new Map();
const activities = new Map();
const jobs = new Map();

export function hostSig(mac) {
    let s = hosts.get(mac);
    if (!s) hosts.set(mac, (s = signal(null)));
    return s;
}

export function activitySig(mac) {
    let s = activities.get(mac);
    if (!s) activities.set(mac, (s = signal(null)));
    return s;
}

export function jobSig(id) {
    const k = String(id);
    let s = jobs.get(k);
    if (!s) jobs.set(k, (s = signal(null)));
    return s;
}

/** a host object from the API or an event; older revisions never win */
export function putHost(h) {
    if (!h || !h.mac) return;
    const s = hostSig(h.mac);
    if (!s.value || (h.rev ?? 0) >= (s.value.rev ?? 0)) s.value = h;
}

export function putActivity(mac, a) {
    const s = activitySig(mac);
    const old = s.value;
    if (old && a && old.job > a.job) return; // an older job's news
    s.value = a || null;
}

export function etaOf(progress) {
    if (!progress || !progress.rate || !progress.total) return null;
    const left = progress.total - (progress.done || 0);
    return left > 0 ? Math.round(left / progress.rate) : 0;
}

/** a host's current or last step in a job (GET /api/v1/jobs/{id}) */
export function activityIn(job, h) {
    const steps = h.steps || [];
    const pick =
        steps.find((s) => s.state === 'running') ||
        steps.find((s) => s.state === 'failed') ||
        steps.find((s) => s.state === 'queued') ||
        steps[steps.length - 1];
    if (!pick) return null;
    return {
        job: job.id,
        task: pick.task,
        step: pick.step,
        state: pick.state,
        progress: pick.progress || null,
        eta_s: pick.state === 'running' ? h.eta_s ?? etaOf(pick.progress) : null,
        error: pick.error || null,
        updated: pick.finished_at || pick.started_at || job.updated_at,
        host_state: h.state,
    };
}

/** a job as read from the API: its signal, and each host's activity */
export function putJob(job) {
    if (!job || job.id === undefined) return;
    batch(() => {
        jobSig(job.id).value = job;
        for (const h of job.hosts || []) {
            if (activities.has(h.mac)) putActivity(h.mac, activityIn(job, h));
        }
    });
}

/**
 * a job event's news of one task, applied without reading the job: the
 * task's step in the job's signal (when loaded) and its host's activity.
 * false when the event does not carry enough (the caller reads the job).
 */
export function applyTaskNews(ev) {
    const d = ev.data || {};
    const tk = d.task;
    if (!tk || !tk.host || tk.id === undefined) return false;
    const id = d.id ?? Number(ev.key);
    const s = jobs.get(String(id));
    const job = s && s.value;
    const host = job && (job.hosts || []).find((h) => h.mac === tk.host);
    const known = host && (host.steps || []).some((x) => x.task === tk.id);
    let enough = ev.type !== 'failed'; // a failure cancels the host's later steps
    batch(() => {
        if (known) {
            const steps = host.steps.map((x) =>
                x.task === tk.id ? { ...x, state: tk.state, progress: tk.progress ?? x.progress, error: tk.error ?? null } : x
            );
            const h = { ...host, steps, state: d.host_state || host.state, eta_s: tk.state === 'running' ? tk.eta_s ?? null : null };
            const next = { ...job, state: d.state || job.state, hosts: job.hosts.map((x) => (x === host ? h : x)) };
            s.value = next;
            if (activities.has(h.mac)) putActivity(h.mac, activityIn(next, h));
        } else if (tk.state === 'running' || tk.state === 'failed') {
            // the host's current step is this one: its activity, from the event
            if (activities.has(tk.host))
                putActivity(tk.host, {
                    job: id,
                    task: tk.id,
                    step: tk.step,
                    state: tk.state,
                    progress: tk.progress || null,
                    eta_s: tk.eta_s ?? null,
                    error: tk.error || null,
                    updated: ev.ts,
                    host_state: d.host_state,
                });
        } else {
            enough = false; // done: which step comes next is not in the event
        }
    });
    return enough;
}

// ---- who wants job detail ----------------------------------------------------
let jobWatchers = 0;
const detail = new Map(); // job id -> screens showing its detail
/** a screen that shows job progress calls this while mounted; one that
 * shows a job's detail (its wake report too) passes the job's id */
export function watchJobs(id) {
    const k = id === undefined ? null : String(id);
    jobWatchers++;
    if (k !== null) detail.set(k, (detail.get(k) || 0) + 1);
    return () => {
        jobWatchers--;
        if (k === null) return;
        const n = detail.get(k) - 1;
        if (n > 0) detail.set(k, n);
        else detail.delete(k);
    };
}

// A job's first event is read at once; while events keep coming, a job is
// read again at most every JOB_EVERY ms, never twice at the same time.
// (A trailing 400 ms wait put p95 of agent progress -> tile at ~500 ms.)
const JOB_EVERY = 200;
const jobReads = new Map(); // id -> {last, timer, busy, again}
function refreshJob(id) {
    if (jobWatchers <= 0) return;
    let r = jobReads.get(id);
    if (!r) jobReads.set(id, (r = { last: -Infinity, timer: null, busy: false, again: false }));
    if (r.busy) r.again = true;
    else if (!r.timer) r.timer = setTimeout(() => readJob(id, r), Math.max(0, r.last + JOB_EVERY - performance.now()));
}

async function readJob(id, r) {
    r.timer = null;
    r.busy = true;
    r.last = performance.now();
    try {
        putJob(await api.get(`/jobs/${encodeURIComponent(id)}`));
    } catch {
        /* deleted, or logged out: the next event tries again */
    }
    r.busy = false;
    if (r.again) {
        r.again = false;
        refreshJob(id);
    } else if (jobReads.size > 64) jobReads.delete(id);
}

// ---- the stream ----------------------------------------------------------------
let pending = [];
let flushQueued = false;
function flushRecent() {
    flushQueued = false;
    const next = pending.reverse().concat(recent.value);
    pending = [];
    recent.value = next.length > RECENT_MAX ? next.slice(0, RECENT_MAX) : next;
}

function dispatch(ev) {
    if (ev.kind === 'host' && ev.data && (ev.type === 'created' || ev.type === 'updated')) {
        putHost(ev.data);
    } else if (ev.kind === 'host' && ev.type === 'deleted') {
        const s = hosts.get(ev.key);
        if (s && s.value) s.value = { ...s.value, deleted: true };
    } else if (ev.kind === 'job' && ev.type === 'woken') {
        if (detail.has(String(ev.key))) refreshJob(ev.key);
    } else if (ev.kind === 'job') {
        if (!applyTaskNews(ev)) refreshJob(ev.key); // the fallback: read the job
    }
    pending.push(ev);
    if (!flushQueued) {
        flushQueued = true;
        setTimeout(flushRecent, 100);
    }
    for (const fn of listeners) {
        try {
            fn(ev);
        } catch (e) {
            console.error(e);
        }
    }
}

function schedule(ms) {
    clearTimeout(retryTimer);
    if (stopped) return;
    retryTimer = setTimeout(connect, ms ?? backoff);
    backoff = Math.min(backoff * 2, 30000);
}

async function resync() {
    // the revision we had is gone: read the objects again, go on from now
    try {
        const page = await api.get('/events?limit=1');
        rev = Number(page.next); // the events' cursor is a revision
    } catch {
        /* the retry asks again */
    }
    epoch.value++;
    schedule(0);
}

async function probe() {
    // the handshake failed; a page of events says why
    try {
        await api.get(`/events?since=${rev}&limit=1`);
        schedule();
    } catch (e) {
        if (e.status === 410) resync();
        else if (e.status !== 401) schedule();
    }
}

function connect() {
    if (stopped) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(`${proto}//${location.host}/api/v1/events?since=${rev}`);
    let opened = false;
    ws = sock;
    sock.onopen = () => {
        opened = true;
        backoff = 1000;
        connected.value = true;
    };
    sock.onmessage = (m) => {
        let ev;
        try {
            ev = JSON.parse(m.data);
        } catch {
            return;
        }
        if (typeof ev.rev === 'number') {
            if (ev.rev <= rev) return;
            rev = ev.rev;
        }
        dispatch(ev);
    };
    sock.onclose = (c) => {
        if (ws === sock) ws = null;
        connected.value = false;
        if (stopped) return;
        if (c.code === 4410) resync();
        else if (!opened || c.code === 1008) probe(); // 1008: logged out, revoked, role changed
        else schedule();
    };
}

/** start the stream after login: from the current revision on */
export async function start() {
    if (!stopped) return;
    stopped = false;
    backoff = 1000;
    try {
        const page = await api.get('/events?limit=1');
        rev = Number(page.next); // the events' cursor is a revision
    } catch {
        /* connect from 0 is wrong; from the server's now is the best left */
    }
    connect();
}

export function stop() {
    stopped = true;
    clearTimeout(retryTimer);
    if (ws) ws.close();
    ws = null;
    connected.value = false;
    recent.value = [];
}
