// Dialog.js - a modal on the native <dialog> element (focus trap, Escape and
// the backdrop come from the browser).  Rendered only while open.
import { useEffect, useRef, useId } from 'preact/hooks';
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';

export function Dialog({ title, onClose, children, wide }) {
    const ref = useRef(null);
    const id = useId();
    useEffect(() => {
        const d = ref.current;
        if (d && !d.open) d.showModal();
        return () => d && d.open && d.close();
    }, []);
    return html`<dialog
        ref=${ref}
        class=${wide ? 'wide' : ''}
        aria-labelledby=${id}
        onCancel=${(e) => {
            e.preventDefault();
            onClose();
        }}
    >
        <header class="dialog-head">
            <h2 id=${id}>${title}</h2>
            <button type="button" class="ghost" onClick=${onClose}>${t('close')}</button>
        </header>
        <div class="dialog-body">${children}</div>
    </dialog>`;
}
