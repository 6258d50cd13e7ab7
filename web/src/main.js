// main.js - the console's entry: styles, session check, the event stream
// while logged in, and the hash router that picks a screen.
//
// Routes: #/dashboard, #/rooms, #/rooms/NAME (NAME "*" = all hosts),
// #/devices, #/hosts/KEY, #/jobs, #/jobs/ID, #/images, #/images/NAME,
// #/groups, #/groups/NAME, #/profiles, #/settings, #/tokens, #/audit, #/events.
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import './styles/screens.css';
import { render } from 'preact';
import { effect } from '@preact/signals';
import { html } from './lib/html.js';
import { t } from './lib/i18n.js';
import { session, restore, can } from './lib/session.js';
import { route } from './lib/router.js';
import * as store from './lib/store.js';
import { Layout } from './components/Layout.js';
import { Page } from './components/Bits.js';
import { Login } from './screens/login/Login.js';
import { Dashboard } from './screens/dashboard/Dashboard.js';
import { Rooms } from './screens/rooms/Rooms.js';
import { RoomGrid } from './screens/rooms/RoomGrid.js';
import { Jobs } from './screens/jobs/Jobs.js';
import { JobPage } from './screens/jobs/JobPage.js';
import { screens } from './screens/index.js';

function NotFound() {
    return html`<${Page} title=${t('notfound')}><p><a href="#/dashboard">${t('nav.dashboard')}</a></p><//>`;
}

function Forbidden() {
    return html`<${Page} title=${t('forbidden')}><p>${t('forbidden.text')}</p><//>`;
}

function Screen() {
    const [top = 'dashboard', a] = route.value.parts;
    switch (top) {
        case 'dashboard':
            return html`<${Dashboard} />`;
        case 'rooms':
            return a ? html`<${RoomGrid} key=${a} room=${a} />` : html`<${Rooms} />`;
        case 'jobs':
            return a ? html`<${JobPage} key=${a} id=${a} />` : html`<${Jobs} />`;
        default: {
            const s = screens[top];
            if (!s) return html`<${NotFound} />`;
            if (s.role && !can(s.role)) return html`<${Forbidden} />`;
            const C = a && s.detail ? s.detail : s.list;
            return html`<${C} key=${a || ''} name=${a} />`;
        }
    }
}

function App() {
    const s = session.value;
    if (s === undefined) return html`<p class="loading" aria-busy="true">${t('loading')}</p>`;
    if (!s) return html`<${Login} />`;
    return html`<${Layout}><${Screen} /><//>`;
}

// the stream runs while someone is logged in
effect(() => {
    if (session.value) store.start();
    else store.stop();
});

// the page title follows the screen
effect(() => {
    const top = route.value.parts[0] || 'dashboard';
    document.title = `${t('nav.' + top) !== 'nav.' + top ? t('nav.' + top) : 'bootherd'} · bootherd`;
});

restore();
render(html`<${App} />`, document.getElementById('app'));
