// Groups.js - placeholder until the screen is written.
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { Page } from '../../components/Bits.js';

export function Groups() {
    return html`<${Page} title=${t('nav.groups')}><p>…</p><//>`;
}
