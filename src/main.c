/*
 * main.c - one binary: the daemon (init, serve, ...) and the CLI.
 *
 * Global options (--url, --token, --data, --cacert, --pin, --json) may stand
 * before or after the command.  --help or -h anywhere (before a "--") prints
 * the usage of the command or subcommand it follows on stdout and exits 0;
 * it never runs the command, so nothing is created, changed or contacted.
 */
#include "cli/cli.h"
#include "daemon/daemon.h"

#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "bootherd %s - network boot and fleet imaging\n\n"
        "usage: bootherd [OPTIONS] COMMAND [ARGS]   (COMMAND --help: its usage)\n\n"
        "Server:\n"
        "  bootherd init  [--data DIR] [--reset-admin] [--tls [--tls-name NAME]...]\n"
        "  bootherd serve [--data DIR] [--config FILE] [--http ADDR:PORT] [--log-level L]\n"
        "  bootherd assets install [--data DIR]   iPXE and GRUB loaders into the boot root\n"
        "  bootherd client build [--data DIR]     the netbooted client OS (docs/client-os.md)\n"
        "  bootherd tftpd --root DIR --listen ADDR:PORT   the TFTP server alone\n"
        "  bootherd dhcpd --config FILE           the DHCP/proxyDHCP server alone\n\n"
        "Client (talks to a running server):\n"
        "  bootherd host|room|group|profile|image|token ls|add|show|set|rm ...\n"
        "  bootherd host ticket MAC|NAME          a boot ticket by hand (admin)\n"
        "  bootherd group startconf NAME [-f FILE [--create]]\n"
        "  bootherd image import|export|versions|promote|tag|untag|rmversion|diff|verify|gc|stats\n"
        "  bootherd job run [--room R|--group G|--host H|--selector S] [--wake]\n"
        "                   [--when now|next-boot|at:TIME] [--parallel N] STEP...\n"
        "  bootherd job ls|show|cancel|retry|watch [ID]\n"
        "  bootherd apply -f fleet.yaml|devices.csv [--dry-run] [--prune]\n"
        "  bootherd migrate linbo [--dry-run] [--srv DIR] [--devices FILE]   a LINBO server\n"
        "  bootherd boot log HOST [--limit N]       a host's boot timeline\n"
        "  bootherd wake HOST... | --room R | --group G | --selector S   Wake-on-LAN\n"
        "  bootherd settings show|effective|set FIELD=VALUE ...   run-time boot settings\n"
        "  bootherd audit [--kind K] [--key K] [--actor A] [--limit N]\n"
        "  bootherd events [--since REV] [--follow]\n"
        "  bootherd whoami|routes|version|help\n\n"
        "Client options (before or after the command):\n"
        "  --url URL     server, default $BOOTHERD_URL or DIR/http.addr\n"
        "  --token TOK   token, default $BOOTHERD_TOKEN or DIR/admin.token\n"
        "  --data DIR    data directory of a local server (default ./var)\n"
        "  --cacert FILE check an https server against this CA, default $BOOTHERD_CACERT\n"
        "                or the system's CAs\n"
        "  --pin PIN     check an https server by its key, sha256//... (bootherd init --tls\n"
        "                prints it), default $BOOTHERD_PIN or DIR/tls/cert.pem\n"
        "  --json        print JSON instead of tables and key: value text\n"
        "  --help, -h    the usage of the command it follows; --version the version\n",
        BH_VERSION);
}

static void usage_version(FILE *f)
{
    fprintf(f, "usage: bootherd version   print bootherd's version\n");
}

/* the options every client command takes; with_value: they take one */
static bool global_opt(const char *a, bool *with_value)
{
    static const char *const valued[] = {"--url", "--token", "--data", "--cacert", "--pin", NULL};
    for (size_t i = 0; valued[i]; i++)
        if (!strcmp(a, valued[i])) {
            *with_value = true;
            return true;
        }
    *with_value = false;
    return !strcmp(a, "--json");
}

/* Take --url/--token/--data/--cacert/--pin/--json out of argv, wherever
 * they are. */
static int global_flags(int *argc, char **argv, const char **url, const char **token,
                        const char **data, struct bh_cli *c)
{
    const char *cacert = NULL, *pin = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char **dst = NULL;
        if (!strcmp(argv[i], "--url"))
            dst = url;
        else if (!strcmp(argv[i], "--token"))
            dst = token;
        else if (!strcmp(argv[i], "--data"))
            dst = data;
        else if (!strcmp(argv[i], "--cacert"))
            dst = &cacert;
        else if (!strcmp(argv[i], "--pin"))
            dst = &pin;
        if (dst) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "bootherd: %s needs a value\n", argv[i]);
                return 2;
            }
            *dst = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--json")) {
            c->json = true;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    if (cacert && bh_strlcpy(c->cacert, cacert, sizeof(c->cacert)) >= sizeof(c->cacert)) {
        fprintf(stderr, "bootherd: --cacert: the path is too long\n");
        return 2;
    }
    if (pin && (strlen(pin) >= sizeof(c->pin) || !bh_cli_pin_valid(pin))) {
        fprintf(stderr,
                "bootherd: --pin '%.200s': a pin is sha256// and 44 base64 characters (as "
                "bootherd init --tls prints it), up to %d separated by ';'\n",
                pin, BH_CLI_PINS_MAX);
        return 2;
    }
    if (pin)
        bh_strlcpy(c->pin, pin, sizeof(c->pin));
    return 0;
}

/* Commands that run here rather than talk to a server.  They parse their
 * own options (--data among them). */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *sub; /* their one subcommand, or NULL */
} local_cmds[] = {
    {"init", bh_cmd_init, NULL},          {"serve", bh_cmd_serve, NULL},
    {"assets", bh_cmd_assets, "install"}, {"client", bh_cmd_client, "build"},
    {"tftpd", bh_cmd_tftpd, NULL},        {"dhcpd", bh_cmd_dhcpd, NULL},
};

/* --help for a local command: run it with its subcommand and --help only,
 * whatever else was on the line, so its own usage text answers and no
 * other option can act. */
static int local_help(size_t i)
{
    char *a[4];
    int n = 0;
    a[n++] = (char *)local_cmds[i].name;
    if (local_cmds[i].sub)
        a[n++] = (char *)local_cmds[i].sub;
    a[n++] = "--help";
    a[n] = NULL;
    return local_cmds[i].fn(n, a);
}

/* A local command after global options (`bootherd --data X serve`): the
 * options go after the command, where its parser reads them. */
static int local_run(size_t i, int argc, char **argv, int ci)
{
    char **a = calloc((size_t)argc + 1, sizeof(*a));
    if (!a) {
        fprintf(stderr, "bootherd: out of memory\n");
        return 1;
    }
    int n = 0;
    for (int k = ci; k < argc; k++)
        a[n++] = argv[k];
    for (int k = 1; k < ci; k++)
        a[n++] = argv[k];
    a[n] = NULL;
    int rc = local_cmds[i].fn(n, a);
    free(a);
    return rc;
}

static const char *const kinds[] = {"host",  "room",  "group",    "profile",
                                    "image", "token", "settings", NULL};

/* "host" or "hosts" -> index in kinds, else -1 */
static int kind_index(const char *cmd)
{
    for (int i = 0; kinds[i]; i++)
        if (!strcmp(cmd, kinds[i]) ||
            (!strncmp(cmd, kinds[i], strlen(kinds[i])) && !strcmp(cmd + strlen(kinds[i]), "s")))
            return i;
    return -1;
}

static const struct {
    const char *name;
    int (*fn)(struct bh_cli *, int, char **);
    void (*usage)(FILE *);
} cmds[] = {
    {"audit", bh_cmd_audit, bh_usage_audit},    {"events", bh_cmd_events, bh_usage_events},
    {"whoami", bh_cmd_whoami, bh_usage_whoami}, {"apply", bh_cmd_apply, bh_usage_apply},
    {"boot", bh_cmd_boot, bh_usage_boot},       {"wake", bh_cmd_wake, bh_usage_wake},
    {"job", bh_cmd_job, bh_usage_job},          {"migrate", bh_cmd_migrate, bh_usage_migrate},
};

static const char *const image_verbs[] = {"import", "export", "versions",  "promote",
                                          "tag",    "untag",  "rmversion", "diff",
                                          "verify", "gc",     "stats",     NULL};

/* The usage of a client command (argv[0]) and its subcommand (argv[1], if
 * any) on stdout.  False when the command is unknown. */
static bool client_help(int argc, char **argv)
{
    const char *cmd = argv[0], *sub = argc > 1 ? argv[1] : "";
    int k = kind_index(cmd);
    if (k >= 0) {
        bool image_verb = false;
        for (size_t i = 0; image_verbs[i]; i++)
            if (!strcmp(kinds[k], "image") && !strcmp(sub, image_verbs[i]))
                image_verb = true;
        if (image_verb)
            bh_usage_image(stdout);
        else
            bh_usage_resource(kinds[k], stdout);
        return true;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmd, cmds[i].name)) {
            cmds[i].usage(stdout);
            return true;
        }
    if (!strcmp(cmd, "routes")) {
        bh_usage_routes(stdout);
        return true;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        usage_version(stdout);
        return true;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* the command: the first word that is no global option nor its value */
    int ci = 1;
    bool valued;
    while (ci < argc && global_opt(argv[ci], &valued))
        ci += valued ? 2 : 1;
    bool help = bh_cli_help_asked(argc - 1, argv + 1);
    if (ci >= argc) {
        usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    const char *cmd = argv[ci];
    for (size_t i = 0; i < sizeof(local_cmds) / sizeof(local_cmds[0]); i++)
        if (!strcmp(cmd, local_cmds[i].name))
            return help ? local_help(i) : local_run(i, argc, argv, ci);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }

    const char *url = NULL, *token = NULL, *data = NULL;
    struct bh_cli c;
    memset(&c, 0, sizeof(c));
    if (help) {
        /* the usage only: global options are not even checked */
        int n = 0;
        char *words[2];
        for (int i = ci; i < argc && n < 2; i++) {
            if (global_opt(argv[i], &valued)) {
                i += valued ? 1 : 0;
                continue;
            }
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--"))
                break;
            words[n++] = argv[i];
        }
        if (client_help(n, words))
            return 0;
        fprintf(stderr, "bootherd: unknown command '%s' (see bootherd --help)\n", cmd);
        return 2;
    }
    if (global_flags(&argc, argv, &url, &token, &data, &c))
        return 2;
    cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        if (argc > 2) {
            usage_version(stderr);
            return 2;
        }
        printf("bootherd %s\n", BH_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "routes"))
        return bh_cmd_routes(argc - 2, argv + 2);
    int which = kind_index(cmd);
    int (*fn)(struct bh_cli *, int, char **) = NULL;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmd, cmds[i].name))
            fn = cmds[i].fn;
    if (which < 0 && !fn) {
        fprintf(stderr, "bootherd: unknown command '%s'\n\n", cmd);
        usage(stderr);
        return 2;
    }
    struct bh_err e;
    if (bh_cli_setup(&c, url, token, data, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        bh_cli_cleanup(&c);
        return 1;
    }
    int rc = which >= 0 ? bh_cmd_resource(&c, kinds[which], argc - 2, argv + 2)
                        : fn(&c, argc - 2, argv + 2);
    bh_cli_cleanup(&c);
    return rc;
}
