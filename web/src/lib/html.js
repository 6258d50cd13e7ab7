// html.js - htm bound to Preact's h: components are written as tagged
// templates (html`<div>...</div>`), so no JSX compile step is needed.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
