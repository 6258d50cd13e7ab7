// Form.js - forms that show the server's problem next to the field it names.
//
// useForm(initial) keeps the values and the last ApiError.  A problem whose
// `field` is one of the form's fields ("name", or "config.os[1].name" under
// "config") is shown under that input (aria-invalid, aria-describedby);
// any other problem is shown by <FormError> at the bottom of the form.
import { useState, useId } from 'preact/hooks';
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';

export function fieldMatches(field, name) {
    if (!field) return false;
    return field === name || field.startsWith(name + '.') || field.startsWith(name + '[');
}

export function useForm(initial) {
    const [values, setValues] = useState(initial);
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const names = Object.keys(initial);
    const form = {
        values,
        error,
        busy,
        setError,
        setValues,
        set: (name, v) => setValues((old) => ({ ...old, [name]: v })),
        /** the server's message for this field, if it named it */
        errorFor: (name) => (error && fieldMatches(error.field, name) ? error.message : null),
        /** an error no field of the form claims */
        general: () => (error && !names.some((n) => fieldMatches(error.field, n)) ? error : null),
        /** run fn (an API call); keeps its ApiError for the fields */
        async submit(fn) {
            setBusy(true);
            setError(null);
            try {
                return await fn(values);
            } catch (e) {
                setError(e);
                return undefined;
            } finally {
                setBusy(false);
            }
        },
    };
    return form;
}

function Control({ form, name, label, hint, children }) {
    const id = useId();
    const err = form.errorFor(name);
    return html`<div class=${'field' + (err ? ' has-error' : '')}>
        <label for=${id}>${label}</label>
        ${children({
            id,
            'aria-invalid': err ? 'true' : undefined,
            'aria-describedby': err ? id + '-err' : hint ? id + '-hint' : undefined,
        })}
        ${hint && !err ? html`<small id=${id + '-hint'} class="hint">${hint}</small>` : null}
        ${err ? html`<small id=${id + '-err'} class="field-error" role="alert">${err}</small>` : null}
    </div>`;
}

export function Input({ form, name, label, hint, type = 'text', ...rest }) {
    return html`<${Control} form=${form} name=${name} label=${label} hint=${hint}>
        ${(a) =>
            type === 'checkbox'
                ? html`<input
                      ...${a}
                      ...${rest}
                      type="checkbox"
                      name=${name}
                      checked=${!!form.values[name]}
                      onChange=${(e) => form.set(name, e.currentTarget.checked)}
                  />`
                : html`<input
                      ...${a}
                      ...${rest}
                      type=${type}
                      name=${name}
                      value=${form.values[name] ?? ''}
                      onInput=${(e) => form.set(name, e.currentTarget.value)}
                  />`}
    <//>`;
}

export function Select({ form, name, label, hint, options, ...rest }) {
    return html`<${Control} form=${form} name=${name} label=${label} hint=${hint}>
        ${(a) => html`<select
            ...${a}
            ...${rest}
            name=${name}
            value=${form.values[name] ?? ''}
            onChange=${(e) => form.set(name, e.currentTarget.value)}
        >
            ${options.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select>`}
    <//>`;
}

export function TextArea({ form, name, label, hint, rows = 6, ...rest }) {
    return html`<${Control} form=${form} name=${name} label=${label} hint=${hint}>
        ${(a) => html`<textarea
            ...${a}
            ...${rest}
            name=${name}
            rows=${rows}
            value=${form.values[name] ?? ''}
            onInput=${(e) => form.set(name, e.currentTarget.value)}
        ></textarea>`}
    <//>`;
}

/** the problem no field claimed (or any error, given as error=) */
export function FormError({ form, error }) {
    const e = error || (form && form.general());
    if (!e) return null;
    return html`<div class="form-error" role="alert">
        <strong>${t('error')}${e.status ? ` ${e.status}` : ''}:</strong> ${e.message}
        ${e.field ? html` <code>${e.field}</code>` : null}
    </div>`;
}
