// hooks.js - loading what a screen shows, and keeping it current.
//
// useLoad(loader, deps, opts) runs loader() (which makes the screen's API
// requests) and gives {data, error, loading, reload}.  It runs again when
// deps change, when the store's epoch moves (events were lost), and, with
// opts.kinds, a moment after an event of one of those kinds (opts.filter(ev)
// may narrow it), so a list follows changes without a reload of the page.
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { onEvent, epoch } from './store.js';

export function useLoad(loader, deps, opts = {}) {
    const [st, setSt] = useState({ data: undefined, error: null, loading: true });
    const seq = useRef(0);
    const ref = useRef(loader);
    ref.current = loader;
    const run = useCallback(() => {
        const my = ++seq.current;
        setSt((s) => ({ ...s, loading: true }));
        Promise.resolve()
            .then(() => ref.current())
            .then(
                (data) => my === seq.current && setSt({ data, error: null, loading: false }),
                (error) => my === seq.current && setSt((s) => ({ data: s.data, error, loading: false }))
            );
    }, []);
    useEffect(() => {
        run();
        return () => {
            seq.current++;
        };
    }, deps);
    useEffect(() => {
        let timer = null;
        const e0 = epoch.peek();
        const offEpoch = epoch.subscribe((v) => v !== e0 && run());
        const off = opts.kinds
            ? onEvent((ev) => {
                  if (!opts.kinds.includes(ev.kind) || (opts.filter && !opts.filter(ev))) return;
                  if (!timer)
                      timer = setTimeout(() => {
                          timer = null;
                          run();
                      }, opts.delay ?? 500);
              })
            : null;
        return () => {
            offEpoch();
            if (off) off();
            clearTimeout(timer);
        };
    }, deps);
    return { ...st, reload: run };
}

/** a value that follows v after ms of quiet (search boxes) */
export function useDebounced(v, ms = 300) {
    const [d, setD] = useState(v);
    useEffect(() => {
        const t = setTimeout(() => setD(v), ms);
        return () => clearTimeout(t);
    }, [v, ms]);
    return d;
}
