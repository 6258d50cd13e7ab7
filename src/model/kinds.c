/*
 * kinds.c - the field tables of every resource kind.
 */
#include "model.h"

#include "core/fsutil.h"
#include "core/mac.h"
#include "core/str.h"
#include "startconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_CHARS "._-"
#define HOST_CHARS "-"

static const char *const arch_values[] = {"", "x86_64", "i386", "arm64", "arm32", NULL};
static const char *const profile_arch_values[] = {"any", "x86_64", "i386", "arm64", "arm32", NULL};
static const char *const host_states[] = {"new", "known", "booting", "up", "offline", NULL};
static const char *const role_values[] = {"viewer", "operator", "admin", NULL};
static const char *const image_kinds[] = {"partition", "disk", NULL};
static const char *const fs_values[] = {"",     "ext4",  "ext3", "ext2", "ntfs",
                                        "vfat", "btrfs", "xfs",  "swap", NULL};

static int check_uuid(const json_t *v, struct bh_err *err)
{
    const char *s = json_string_value(v);
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        goto bad;
    for (int i = 0; i < 36; i++) {
        bool is_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
        if (is_dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            goto bad;
    }
    return 0;
bad:
    return bh_err_set(err, BH_EINVAL, NULL,
                      "expected a UUID like 4c4c4544-0042-3510-8052-b4c04f4e4b31");
}

/* four dotted decimal octets 0..255, no signs, no leading zeros */
static bool ipv4_ok(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n && parts < 4) {
        size_t st = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - st < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == st || v > 255 || (i - st > 1 && s[st] == '0'))
            return false;
        parts++;
        if (parts < 4 && (i >= n || s[i++] != '.'))
            return false;
    }
    return parts == 4 && i == n;
}

static int check_ipv4(const json_t *v, struct bh_err *err)
{
    const char *s = json_string_value(v);
    if (ipv4_ok(s, strlen(s)))
        return 0;
    return bh_err_set(err, BH_EINVAL, NULL, "expected an IPv4 address like 192.0.2.10");
}

static int check_cidr(const json_t *v, struct bh_err *err)
{
    const char *s = json_string_value(v);
    const char *slash = strchr(s, '/');
    size_t bits_len = slash ? strlen(slash + 1) : 0;
    if (slash && ipv4_ok(s, (size_t)(slash - s)) && bits_len >= 1 && bits_len <= 2 &&
        strspn(slash + 1, "0123456789") == bits_len && (bits_len == 1 || slash[1] != '0')) {
        int bits = bits_len == 1 ? slash[1] - '0' : (slash[1] - '0') * 10 + slash[2] - '0';
        char addr[16];
        struct in_addr a;
        snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
        if (bits <= 32 && inet_pton(AF_INET, addr, &a) == 1) {
            /* RFC 4632 3.1: the prefix is the network; its host bits are zero */
            uint32_t mask = bits ? ~(uint32_t)0 << (32 - bits) : 0;
            uint32_t host = ntohl(a.s_addr);
            if ((host & ~mask) == 0)
                return 0;
            char net[INET_ADDRSTRLEN];
            a.s_addr = htonl(host & mask);
            inet_ntop(AF_INET, &a, net, sizeof(net));
            return bh_err_set(err, BH_EINVAL, NULL,
                              "'%s' has host bits set: the network is %s/%d (or give a host its "
                              "address in the host's ip field)",
                              s, net, bits);
        }
    }
    return bh_err_set(err, BH_EINVAL, NULL, "expected a subnet like 192.0.2.0/24");
}

/* A host is named in URLs by MAC or name, so a name must not read as a MAC. */
static int check_hostname(const json_t *v, struct bh_err *err)
{
    uint8_t mac[6];
    if (bh_mac_parse(json_string_value(v), mac) == 0)
        return bh_err_set(err, BH_EINVAL, NULL, "'%s' reads as a MAC address; host names must not",
                          json_string_value(v));
    return 0;
}

/* Tokens are named in URLs by id or name: a name must not look like an id. */
static int check_token_name(const json_t *v, struct bh_err *err)
{
    const char *s = json_string_value(v);
    if (strlen(s) == 12 && strspn(s, "0123456789abcdef") == 12)
        return bh_err_set(err, BH_EINVAL, NULL,
                          "'%s' looks like a token id (12 hex digits); choose another name", s);
    return 0;
}

static const char *const boot_actions[] = {"menu", "profile", "local", NULL};
static const char *const boot_file_keys[] = {"bios", "efi32", "efi64", "arm64", "http", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

#define BOOT_FILE_MAX    255  /* a loader's name (DHCP option 67, the BOOTP file field) */
#define PROFILE_FILE_MAX 1024 /* a kernel's or initrd's path or URL */

/* boot path or URL: printable, no spaces or quotes (it lands in scripts) */
static bool boot_path_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == '\\' || s[i] == 0x7f)
            return false;
    return true;
}

/*
 * Where a boot file (a profile's kernel and initrds, a boot.files loader)
 * comes from: a file of the boot root, named by a relative path with no
 * "..", "." or empty part (bootherd serves it, and only from there), or a
 * URL the firmware fetches as it is: http://, https:// or tftp://
 * (docs/boot.md).  Anything else, "/etc/passwd", "../../etc/shadow",
 * "file:///etc/passwd", is refused when it is written, not only when it
 * would be served.  NULL if s is one, else why not.
 */
static const char *boot_file_why(const char *s, size_t max)
{
    static const char *const schemes[] = {"http://", "https://", "tftp://", NULL};
    if (!boot_path_ok(s, max))
        return "must be printable, without spaces or quotes, and not too long";
    for (size_t i = 0; schemes[i]; i++) {
        size_t n = strlen(schemes[i]);
        if (!strncasecmp(s, schemes[i], n))
            return s[n] && s[n] != '/' ? NULL : "is a URL without a server";
    }
    if (s[0] == '/')
        return "is an absolute path: name a file of the boot root by a relative path "
               "(vmlinuz, client/vmlinuz)";
    size_t first = strcspn(s, "/");
    if (memchr(s, ':', first))
        return "is a URL bootherd does not fetch: use http://, https:// or tftp://, or a path "
               "inside the boot root";
    if (!bh_path_ok(s, max))
        return "leaves the boot root or has an empty part: no '..', '.' or '//' in a path";
    return NULL;
}

static int check_boot_file(const json_t *v, struct bh_err *err)
{
    const char *why = boot_file_why(json_string_value(v), PROFILE_FILE_MAX);
    if (why)
        return bh_err_set(err, BH_EINVAL, NULL, "'%.64s' %s", json_string_value(v), why);
    return 0;
}

static int check_boot_files(const json_t *v, struct bh_err *err)
{
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x)
    {
        const char *why = boot_file_why(json_string_value(x), PROFILE_FILE_MAX);
        if (why)
            return bh_err_set(err, BH_EINVAL, NULL, "entry %zu, '%.64s', %s", i,
                              json_string_value(x), why);
    }
    return 0;
}

/*
 * The "boot" object of a group or host (the host's keys win):
 *   {"action": "menu"|"profile"|"local", "menu_timeout": 10,
 *    "menu_default": "local"|"profile"|"os:N",
 *    "files": {"bios": "...", "efi32": "...", "efi64": "...", "arm64": "...", "http": "..."}}
 */
static int check_boot(const json_t *v, struct bh_err *err)
{
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        char path[BH_ERR_FIELD_MAX];
        snprintf(path, sizeof(path), "boot.%.64s", k);
        if (!strcmp(k, "action")) {
            if (!json_is_string(x) || !in_list(json_string_value(x), boot_actions))
                return bh_err_set(err, BH_EINVAL, path,
                                  "boot.action must be menu, profile or local");
        } else if (!strcmp(k, "menu_timeout")) {
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 3600)
                return bh_err_set(err, BH_EINVAL, path,
                                  "boot.menu_timeout must be 0..3600 seconds");
        } else if (!strcmp(k, "menu_default")) {
            const char *d = json_string_value(x);
            int64_t n;
            if (!d || (strcmp(d, "local") && strcmp(d, "profile") &&
                       (strncmp(d, "os:", 3) || bh_parse_i64(d + 3, 1, 64, &n))))
                return bh_err_set(err, BH_EINVAL, path,
                                  "boot.menu_default must be local, profile or os:N");
        } else if (!strcmp(k, "files")) {
            const char *fk;
            const json_t *fv;
            if (!json_is_object(x))
                return bh_err_set(err, BH_EINVAL, path, "boot.files must be an object");
            json_object_foreach((json_t *)x, fk, fv)
            {
                snprintf(path, sizeof(path), "boot.files.%.64s", fk);
                if (!in_list(fk, boot_file_keys))
                    return bh_err_set(err, BH_EINVAL, path,
                                      "boot.files keys are bios, efi32, efi64, arm64 and http");
                if (!json_is_string(fv))
                    return bh_err_set(err, BH_EINVAL, path,
                                      "a boot file is a path inside the boot root or a URL");
                const char *why = boot_file_why(json_string_value(fv), BOOT_FILE_MAX);
                if (why)
                    return bh_err_set(err, BH_EINVAL, path, "boot file '%.64s' %s",
                                      json_string_value(fv), why);
            }
        } else {
            return bh_err_set(err, BH_EINVAL, path,
                              "unknown key '%.64s' in boot (known: action, menu_timeout, "
                              "menu_default, files)",
                              k);
        }
    }
    return 0;
}

static int check_dhcp_modes(const json_t *v, struct bh_err *err)
{
    static const char *const modes[] = {"proxy", "full", "off", NULL};
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        char path[BH_ERR_FIELD_MAX];
        snprintf(path, sizeof(path), "dhcp_modes.%.64s", k);
        if (!*k || strlen(k) > 15 || !json_is_string(x) || !in_list(json_string_value(x), modes))
            return bh_err_set(err, BH_EINVAL, path,
                              "dhcp_modes maps an interface name to proxy, full or off");
    }
    return 0;
}

static int check_http_base(const json_t *v, struct bh_err *err)
{
    const char *s = json_string_value(v);
    if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) || !boot_path_ok(s, BOOT_FILE_MAX))
        return bh_err_set(err, BH_EINVAL, NULL, "expected an http:// or https:// URL");
    return 0;
}

static int check_startconf(const json_t *v, struct bh_err *err)
{
    return bh_startconf_validate(v, err);
}

#define TIMESTAMPS                                                                                 \
    {.name = "created_at",                                                                         \
     .column = "created_at",                                                                       \
     .type = BH_F_TIME,                                                                            \
     .flags = BH_FF_RO | BH_FF_SORT,                                                               \
     .doc = "when the object was created"},                                                        \
    {                                                                                              \
        .name = "updated_at", .column = "updated_at", .type = BH_F_TIME,                           \
        .flags = BH_FF_RO | BH_FF_SORT, .doc = "when the object last changed"                      \
    }

#define NAME_FIELD(what)                                                                           \
    {                                                                                              \
        .name = "name", .column = "name", .type = BH_F_STR,                                        \
        .flags = BH_FF_REQUIRED | BH_FF_UNIQUE | BH_FF_KEY | BH_FF_SORT, .max_len = 63,            \
        .charset = NAME_CHARS, .doc = "unique name of the " what                                   \
    }

#define DESC_FIELD                                                                                 \
    {                                                                                              \
        .name = "description", .column = "description", .type = BH_F_STR, .max_len = 1024,         \
        .doc = "free text"                                                                         \
    }

#define LABELS_FIELD                                                                               \
    {                                                                                              \
        .name = "labels", .column = "labels", .type = BH_F_LABELS,                                 \
        .doc = "key=value labels for selectors"                                                    \
    }

static const struct bh_field room_fields[] = {
    NAME_FIELD("room"),
    DESC_FIELD,
    {.name = "location",
     .column = "location",
     .type = BH_F_STR,
     .max_len = 256,
     .doc = "where the room is"},
    {.name = "subnet",
     .column = "subnet",
     .type = BH_F_STR,
     .max_len = 18,
     .check = check_cidr,
     .doc = "IPv4 subnet of the room's hosts (used for Wake-on-LAN)"},
    LABELS_FIELD,
    TIMESTAMPS,
};

static const struct bh_field group_fields[] = {
    NAME_FIELD("group"),
    DESC_FIELD,
    {.name = "config",
     .column = "config",
     .type = BH_F_OBJECT,
     .check = check_startconf,
     .normalize = bh_startconf_normalize,
     .doc = "partition layout and OS entries (the start.conf of the group); \"text\": the "
            "start.conf file it came from, kept with its comments"},
    {.name = "default_profile",
     .column = "profile_id",
     .type = BH_F_REF,
     .ref_kind = BH_KIND_PROFILE,
     .flags = BH_FF_FILTER,
     .doc = "boot profile for hosts of the group"},
    {.name = "boot",
     .column = "boot",
     .type = BH_F_OBJECT,
     .check = check_boot,
     .doc = "what the group's hosts boot: action (menu, profile, local), menu_timeout, "
            "menu_default, files (boot-file overrides)"},
    LABELS_FIELD,
    TIMESTAMPS,
};

static const struct bh_field host_fields[] = {
    {.name = "mac",
     .column = "mac",
     .type = BH_F_MAC,
     .flags = BH_FF_REQUIRED | BH_FF_UNIQUE | BH_FF_KEY | BH_FF_SORT | BH_FF_SEARCH,
     .doc = "MAC address of the boot NIC (the host's identity)"},
    {.name = "name",
     .column = "name",
     .type = BH_F_STR,
     .flags = BH_FF_UNIQUE | BH_FF_KEY | BH_FF_SORT | BH_FF_SEARCH,
     .max_len = 63,
     .charset = HOST_CHARS,
     .check = check_hostname,
     .doc = "host name (letters, digits and '-')"},
    DESC_FIELD,
    {.name = "room",
     .column = "room_id",
     .type = BH_F_REF,
     .ref_kind = BH_KIND_ROOM,
     .flags = BH_FF_FILTER | BH_FF_SORT,
     .doc = "room the host stands in"},
    {.name = "group",
     .column = "group_id",
     .type = BH_F_REF,
     .ref_kind = BH_KIND_GROUP,
     .flags = BH_FF_FILTER | BH_FF_SORT,
     .doc = "host group (layout and OS entries)"},
    {.name = "profile",
     .column = "profile_id",
     .type = BH_F_REF,
     .ref_kind = BH_KIND_PROFILE,
     .flags = BH_FF_FILTER,
     .doc = "boot profile override for this host"},
    {.name = "arch",
     .column = "arch",
     .type = BH_F_ENUM,
     .enum_values = arch_values,
     .flags = BH_FF_FILTER | BH_FF_SORT,
     .defval = "\"\"",
     .doc = "CPU architecture"},
    {.name = "uuid",
     .column = "uuid",
     .type = BH_F_STR,
     .max_len = 36,
     .check = check_uuid,
     .flags = BH_FF_FILTER,
     .doc = "SMBIOS system UUID"},
    {.name = "serial",
     .column = "serial",
     .type = BH_F_STR,
     .max_len = 128,
     .charset = "._-:/ ",
     .flags = BH_FF_FILTER,
     .doc = "serial number (Raspberry Pi: board serial)"},
    {.name = "ip",
     .column = "ip",
     .type = BH_F_STR,
     .max_len = 15,
     .check = check_ipv4,
     .flags = BH_FF_FILTER | BH_FF_UNIQUE | BH_FF_SEARCH,
     .doc = "fixed IPv4 address (full DHCP mode)"},
    LABELS_FIELD,
    {.name = "state",
     .column = "state",
     .type = BH_F_ENUM,
     .enum_values = host_states,
     .flags = BH_FF_FILTER | BH_FF_SORT,
     .defval = "\"known\"",
     .doc = "new, known, booting, up or offline"},
    {.name = "last_seen",
     .column = "last_seen",
     .type = BH_F_TIME,
     .flags = BH_FF_RO | BH_FF_SORT,
     .doc = "when the host was last heard from"},
    {.name = "hardware",
     .column = "hardware",
     .type = BH_F_OBJECT,
     .doc = "hardware inventory reported by the agent"},
    {.name = "boot",
     .column = "boot",
     .type = BH_F_OBJECT,
     .check = check_boot,
     .doc = "boot overrides for this host (as the group's boot; the host's keys win)"},
    TIMESTAMPS,
};

static const struct bh_field profile_fields[] = {
    NAME_FIELD("boot profile"),
    DESC_FIELD,
    {.name = "arch",
     .column = "arch",
     .type = BH_F_ENUM,
     .enum_values = profile_arch_values,
     .flags = BH_FF_FILTER,
     .defval = "\"any\"",
     .doc = "architecture the profile boots"},
    {.name = "kernel",
     .column = "kernel",
     .type = BH_F_STR,
     .max_len = PROFILE_FILE_MAX,
     .flags = BH_FF_REQUIRED,
     .check = check_boot_file,
     .doc = "kernel: a path inside the boot root, or an http(s):// or tftp:// URL"},
    {.name = "initrds",
     .column = "initrds",
     .type = BH_F_STRLIST,
     .max_len = PROFILE_FILE_MAX,
     .check = check_boot_files,
     .doc = "initrds in load order: paths inside the boot root, or URLs"},
    {.name = "cmdline",
     .column = "cmdline",
     .type = BH_F_STR,
     .max_len = 4096,
     .doc = "kernel command line template ({{host.name}}, {{server}}, ...)"},
    LABELS_FIELD,
    TIMESTAMPS,
};

static const struct bh_field image_fields[] = {
    NAME_FIELD("image"),
    DESC_FIELD,
    {.name = "kind",
     .column = "kind",
     .type = BH_F_ENUM,
     .enum_values = image_kinds,
     .flags = BH_FF_FILTER,
     .defval = "\"partition\"",
     .doc = "partition or whole-disk image"},
    {.name = "fstype",
     .column = "fstype",
     .type = BH_F_ENUM,
     .enum_values = fs_values,
     .flags = BH_FF_FILTER,
     .defval = "\"\"",
     .doc = "filesystem of a partition image"},
    {.name = "postsync",
     .column = "postsync",
     .type = BH_F_STR,
     .flags = BH_FF_TEXT,
     .max_len = 65536,
     .doc = "script that postsync:N runs on the client, the synced partition mounted at "
            "$BH_ROOT (docs/images.md)"},
    {.name = "auto_promote",
     .column = "auto_promote",
     .type = BH_F_BOOL,
     .defval = "false",
     .doc = "versions captured by client agents (create_image:N) are released at once instead "
            "of waiting as candidates for an operator's promote (docs/images.md)"},
    LABELS_FIELD,
    TIMESTAMPS,
};

static const char *const unknown_policies[] = {"register", "ignore", "boot-default", NULL};

static const struct bh_field settings_fields[] = {
    {.name = "name",
     .column = "name",
     .type = BH_F_STR,
     .flags = BH_FF_RO | BH_FF_KEY,
     .max_len = 63,
     .doc = "always 'boot'"},
    {.name = "unknown_hosts",
     .column = "unknown_hosts",
     .type = BH_F_ENUM,
     .enum_values = unknown_policies,
     .doc = "what to do with a MAC bootherd does not know: register, ignore or boot-default"},
    {.name = "default_profile",
     .column = "profile_id",
     .type = BH_F_REF,
     .ref_kind = BH_KIND_PROFILE,
     .doc = "boot profile for hosts whose host and group name none"},
    {.name = "offline_after",
     .column = "offline_after",
     .type = BH_F_INT,
     .min = BH_OFFLINE_AFTER_MIN,
     .max = BH_OFFLINE_AFTER_MAX,
     .doc = "seconds without a sign of life before a host is offline"},
    {.name = "snponly",
     .column = "snponly",
     .type = BH_F_BOOL,
     .doc = "UEFI x64 boots snponly.efi instead of ipxe.efi"},
    {.name = "server_ip",
     .column = "server_ip",
     .type = BH_F_STR,
     .max_len = 15,
     .check = check_ipv4,
     .doc = "address clients are told to fetch from (default: the receiving interface's)"},
    {.name = "http_base",
     .column = "http_base",
     .type = BH_F_STR,
     .max_len = 255,
     .check = check_http_base,
     .doc = "base URL of the HTTP boot endpoints (default: from the request or server_ip)"},
    {.name = "dhcp_modes",
     .column = "dhcp_modes",
     .type = BH_F_OBJECT,
     .check = check_dhcp_modes,
     .doc = "DHCP mode per configured interface: proxy, full or off"},
    TIMESTAMPS,
};

static const struct bh_field token_fields[] = {
    {.name = "id",
     .column = "tid",
     .type = BH_F_STR,
     .flags = BH_FF_RO | BH_FF_KEY | BH_FF_UNIQUE | BH_FF_GENERATE,
     .max_len = 32,
     .doc = "public token id (the part before the secret)"},
    {.name = "name",
     .column = "name",
     .type = BH_F_STR,
     .flags = BH_FF_REQUIRED | BH_FF_UNIQUE | BH_FF_KEY | BH_FF_SORT,
     .max_len = 63,
     .charset = NAME_CHARS,
     .check = check_token_name,
     .doc = "unique name of the token"},
    DESC_FIELD,
    {.name = "role",
     .column = "role",
     .type = BH_F_ENUM,
     .enum_values = role_values,
     .flags = BH_FF_REQUIRED | BH_FF_FILTER,
     .doc = "viewer, operator or admin"},
    {.name = "expires_at",
     .column = "expires_at",
     .type = BH_F_TIME,
     .doc = "the token stops working at this time"},
    {.name = "created_by",
     .column = "created_by",
     .type = BH_F_STR,
     .flags = BH_FF_RO,
     .doc = "who created the token"},
    {.name = "hash", .column = "hash", .type = BH_F_STR, .flags = BH_FF_INTERNAL, .max_len = 64},
    TIMESTAMPS,
};

#define KIND(k, n, p, f, sort, w, r)                                                               \
    {                                                                                              \
        .kind = k, .name = n, .plural = p, .fields = f, .nfields = sizeof(f) / sizeof(f[0]),       \
        .default_sort = sort, .write_role = w, .read_role = r                                      \
    }

const struct bh_kind_desc bh_kinds[BH_KIND__COUNT] = {
    KIND(BH_KIND_ROOM, "room", "rooms", room_fields, "name", BH_ROLE_OPERATOR, BH_ROLE_VIEWER),
    KIND(BH_KIND_GROUP, "group", "groups", group_fields, "name", BH_ROLE_OPERATOR, BH_ROLE_VIEWER),
    KIND(BH_KIND_HOST, "host", "hosts", host_fields, "mac", BH_ROLE_OPERATOR, BH_ROLE_VIEWER),
    KIND(BH_KIND_PROFILE, "profile", "profiles", profile_fields, "name", BH_ROLE_OPERATOR,
         BH_ROLE_VIEWER),
    KIND(BH_KIND_IMAGE, "image", "images", image_fields, "name", BH_ROLE_OPERATOR, BH_ROLE_VIEWER),
    KIND(BH_KIND_TOKEN, "token", "tokens", token_fields, "name", BH_ROLE_ADMIN, BH_ROLE_ADMIN),
    KIND(BH_KIND_SETTINGS, "settings", "settings", settings_fields, "name", BH_ROLE_ADMIN,
         BH_ROLE_ADMIN),
};

const struct bh_kind_desc *bh_kind_get(enum bh_kind k)
{
    return (unsigned)k < BH_KIND__COUNT ? &bh_kinds[k] : NULL;
}

const struct bh_kind_desc *bh_kind_by_plural(const char *plural)
{
    for (size_t i = 0; i < BH_KIND__COUNT; i++)
        if (strcmp(bh_kinds[i].plural, plural) == 0)
            return &bh_kinds[i];
    return NULL;
}

const struct bh_kind_desc *bh_kind_by_name(const char *name)
{
    for (size_t i = 0; i < BH_KIND__COUNT; i++)
        if (strcmp(bh_kinds[i].name, name) == 0 || strcmp(bh_kinds[i].plural, name) == 0)
            return &bh_kinds[i];
    return NULL;
}

const struct bh_field *bh_kind_field(const struct bh_kind_desc *k, const char *name)
{
    for (size_t i = 0; i < k->nfields; i++)
        if (strcmp(k->fields[i].name, name) == 0)
            return &k->fields[i];
    return NULL;
}

/* events that are not about an object of a kind (sqlite_jobs.c) */
#define JOB_EVENTS      "job"
#define JOB_EVENTS_ROLE BH_ROLE_VIEWER /* as GET /api/v1/jobs */

const char *const bh_event_kinds[] = {"room",  "group",    "host",     "profile", "image",
                                      "token", "settings", JOB_EVENTS, NULL};
_Static_assert(sizeof(bh_event_kinds) / sizeof(bh_event_kinds[0]) == BH_KIND__COUNT + 2,
               "a kind is missing from bh_event_kinds");

enum bh_role bh_event_read_role(const char *kind)
{
    if (!kind)
        return BH_ROLE_ADMIN;
    if (!strcmp(kind, JOB_EVENTS))
        return JOB_EVENTS_ROLE;
    for (size_t i = 0; i < BH_KIND__COUNT; i++)
        if (!strcmp(bh_kinds[i].name, kind))
            return bh_kinds[i].read_role;
    return BH_ROLE_ADMIN;
}

const char *bh_role_name(enum bh_role r)
{
    switch (r) {
    case BH_ROLE_VIEWER: return "viewer";
    case BH_ROLE_OPERATOR: return "operator";
    case BH_ROLE_ADMIN: return "admin";
    case BH_ROLE_NONE: break;
    }
    return "none";
}

int bh_role_parse(const char *s, enum bh_role *out)
{
    for (enum bh_role r = BH_ROLE_VIEWER; r <= BH_ROLE_ADMIN; r++) {
        if (strcasecmp(s, bh_role_name(r)) == 0) {
            *out = r;
            return 0;
        }
    }
    return BH_EINVAL;
}

const char *bh_model_key_of(const struct bh_kind_desc *k, const json_t *obj)
{
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        if (!(f->flags & BH_FF_KEY))
            continue;
        const char *s = json_string_value(json_object_get(obj, f->name));
        if (s && *s)
            return s;
    }
    return "";
}
