// keys.js - the start.conf keys the form edits, by section: [json key,
// type, allowed values].  Same table as docs/startconf.md; the server's
// src/model/startconf.c is the judge.
export const LINBO_KEYS = [
    ['server', 'str'],
    ['group', 'str'],
    ['cache', 'dev'],
    ['root_timeout', 'int'],
    ['auto_partition', 'bool'],
    ['auto_format', 'bool'],
    ['auto_init_cache', 'bool'],
    ['download_type', 'enum', ['rsync', 'multicast', 'torrent']],
    ['gui_disabled', 'bool'],
    ['use_minimal_layout', 'bool'],
    ['locale', 'str'],
    ['system_type', 'enum', ['bios', 'bios64', 'efi32', 'efi64']],
    ['kernel_options', 'str'],
    ['background_color', 'str'],
    ['background_font_color', 'str'],
    ['console_font_color_stdout', 'str'],
    ['console_font_color_stderr', 'str'],
];

export const PART_KEYS = [
    ['dev', 'dev'],
    ['label', 'str'],
    ['size', 'str'],
    ['id', 'str'],
    ['fstype', 'enum', ['', 'vfat', 'fat32', 'ntfs', 'ext2', 'ext3', 'ext4', 'btrfs', 'xfs', 'swap']],
    ['bootable', 'bool'],
];

export const OS_KEYS = [
    ['name', 'str'],
    ['version', 'str'],
    ['description', 'str'],
    ['icon_name', 'str'],
    ['image', 'str'],
    ['base_image', 'str'],
    ['boot', 'dev'],
    ['root', 'dev'],
    ['kernel', 'str'],
    ['initrd', 'str'],
    ['append', 'str'],
    ['start_enabled', 'bool'],
    ['sync_enabled', 'bool'],
    ['new_enabled', 'bool'],
    ['autostart', 'bool'],
    ['autostart_timeout', 'int'],
    ['default_action', 'enum', ['start', 'sync', 'new']],
    ['restore_opsi_state', 'bool'],
    ['force_opsi_setup', 'str'], // opsi product ids, comma-separated
    ['hidden', 'bool'],
];

/** start.conf spelling of a JSON key: root_timeout -> RootTimeout */
export function confName(k) {
    if (k === 'fstype') return 'FSType';
    if (k === 'id') return 'Id';
    return k
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join('');
}
