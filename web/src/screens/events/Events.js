// Events.js - placeholder until the screen is written.
import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { Page } from '../../components/Bits.js';

export function Events() {
    return html`<${Page} title=${t('nav.events')}><p>…</p><//>`;
}
