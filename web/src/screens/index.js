// index.js - the screens reached by #/NAME[/KEY]: list and detail
// component, and the least role that may open them (the server refuses
// the same requests anyway).
import { Devices } from './devices/Devices.js';
import { Host } from './host/Host.js';
import { Images } from './images/Images.js';
import { Image } from './images/Image.js';
import { Groups } from './groups/Groups.js';
import { Group } from './groups/Group.js';
import { Profiles } from './profiles/Profiles.js';
import { Settings } from './settings/Settings.js';
import { Tokens } from './tokens/Tokens.js';
import { Audit } from './audit/Audit.js';
import { Events } from './events/Events.js';

export const screens = {
    devices: { list: Devices },
    hosts: { list: Devices, detail: Host },
    images: { list: Images, detail: Image },
    groups: { list: Groups, detail: Group },
    profiles: { list: Profiles },
    settings: { list: Settings, role: 'admin' },
    tokens: { list: Tokens, role: 'admin' },
    audit: { list: Audit, role: 'operator' },
    events: { list: Events },
};
