// Labels.js - labels as "key=value" lines in a textarea, and back into the
// merge patch the API takes (a removed label becomes null).
export function labelsText(labels) {
    return Object.entries(labels || {})
        .map(([k, v]) => `${k}=${v}`)
        .join('\n');
}

/** the labels of text, with null for each old label no longer there */
export function labelsPatch(text, old) {
    const out = {};
    for (const line of String(text).split('\n')) {
        const s = line.trim();
        if (!s) continue;
        const i = s.indexOf('=');
        if (i < 0) out[s] = '';
        else out[s.slice(0, i).trim()] = s.slice(i + 1).trim();
    }
    for (const k of Object.keys(old || {})) if (!(k in out)) out[k] = null;
    return out;
}
