// RoomForm.js - create or edit a room (name, location, subnet, description).
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { api, enc } from '../../lib/api.js';
import { useForm, Input, FormError } from '../../components/Form.js';
import { Dialog } from '../../components/Dialog.js';

export function RoomForm({ room, onClose, onSaved }) {
    const isNew = !room.name;
    const f = useForm({
        name: room.name || '',
        location: room.location || '',
        subnet: room.subnet || '',
        description: room.description || '',
    });
    async function save(e) {
        e.preventDefault();
        const ok = await f.submit((v) => {
            const body = { location: v.location || null, subnet: v.subnet || null, description: v.description || null };
            return isNew ? api.post('/rooms', { name: v.name, ...body }) : api.patch('/rooms/' + enc(room.name), body);
        });
        if (ok) {
            onSaved();
            onClose();
        }
    }
    async function remove() {
        const ok = await f.submit(() => api.del('/rooms/' + enc(room.name)).then(() => true));
        if (ok) {
            onSaved();
            onClose();
        }
    }
    return html`<${Dialog} title=${isNew ? t('rooms.add') : t('rooms.edit', { name: room.name })} onClose=${onClose}>
        <form onSubmit=${save}>
            ${isNew ? html`<${Input} form=${f} name="name" label=${t('f.name')} required />` : null}
            <${Input} form=${f} name="location" label=${t('f.location')} />
            <${Input} form=${f} name="subnet" label=${t('f.subnet')} hint=${t('rooms.subnet_hint')} />
            <${Input} form=${f} name="description" label=${t('f.description')} />
            <${FormError} form=${f} />
            <div class="buttons">
                <button type="submit" class="primary" disabled=${f.busy}>${t('save')}</button>
                ${isNew ? null : html`<button type="button" class="danger" onClick=${remove}>${t('delete')}</button>`}
            </div>
        </form>
    <//>`;
}
