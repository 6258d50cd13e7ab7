/*
 * main.c - one binary: the daemon (init, serve) and the CLI.
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
        "Server:\n"
        "  bootherd init  [--data DIR] [--reset-admin] [--tls [--tls-name NAME]...]\n"
        "  bootherd serve [--data DIR] [--config FILE] [--http ADDR:PORT]\n"
        "  bootherd assets install [--data DIR]   iPXE and GRUB loaders into the boot root\n"
        "  bootherd client build [--data DIR]     the netbooted client OS (docs/client-os.md)\n\n"
        "Client (talks to a running server):\n"
        "  bootherd host|room|group|profile|image|token ls|add|show|set|rm ...\n"
        "  bootherd group startconf NAME [-f FILE [--create]]\n"
        "  bootherd image import|export|versions|promote|tag|untag|rmversion|diff|verify|gc|stats\n"
        "  bootherd job run [--room R|--group G|--host H|--selector S] [--wake] STEP...\n"
        "  bootherd job ls | show|cancel|retry|watch ID\n"
        "  bootherd apply -f fleet.yaml|devices.csv [--dry-run] [--prune]\n"
        "  bootherd migrate linbo [--dry-run] [--srv DIR] [--devices FILE]   a LINBO server\n"
        "  bootherd boot log HOST [--limit N]       a host's boot timeline\n"
        "  bootherd wake HOST... | --room R | --group G | --selector S   Wake-on-LAN\n"
        "  bootherd settings [set FIELD=VALUE ...]  run-time boot settings (admin)\n"
        "  bootherd settings effective              the boot settings in force\n"
        "  bootherd audit [--kind K] [--key K] [--actor A] [--limit N]\n"
        "  bootherd events [--since REV] [--follow]\n"
        "  bootherd whoami | routes | version\n\n"
        "Client options (before or after the command):\n"
        "  --url URL     server, default $BOOTHERD_URL or DIR/http.addr\n"
        "  --token TOK   token, default $BOOTHERD_TOKEN or DIR/admin.token\n"
        "  --data DIR    data directory of a local server (default ./var)\n"
        "  --cacert FILE check an https server against this CA, default $BOOTHERD_CACERT\n"
        "                or the system's CAs\n"
        "  --pin PIN     check an https server by its key, sha256//... (bootherd init --tls\n"
        "                prints it), default $BOOTHERD_PIN or DIR/tls/cert.pem\n"
        "  --json        print JSON instead of tables\n",
        BH_VERSION);
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "init"))
        return bh_cmd_init(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return bh_cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "assets"))
        return bh_cmd_assets(argc - 1, argv + 1);
    if (!strcmp(cmd, "client"))
        return bh_cmd_client(argc - 1, argv + 1);
    if (!strcmp(cmd, "tftpd"))
        return bh_cmd_tftpd(argc - 1, argv + 1);
    if (!strcmp(cmd, "dhcpd"))
        return bh_cmd_dhcpd(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("bootherd %s\n", BH_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "routes")) {
        if (bh_cli_help_asked(argc - 2, argv + 2)) {
            bh_usage_routes(stdout);
            return 0;
        }
        return bh_cmd_routes(argc - 2, argv + 2);
    }

    const char *url = NULL, *token = NULL, *data = NULL;
    struct bh_cli c;
    memset(&c, 0, sizeof(c));
    if (global_flags(&argc, argv, &url, &token, &data, &c))
        return 2;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    static const char *const kinds[] = {"host",  "room",  "group",    "profile",
                                        "image", "token", "settings", NULL};
    int which = -1;
    for (int i = 0; kinds[i]; i++)
        if (!strcmp(cmd, kinds[i]) ||
            (!strncmp(cmd, kinds[i], strlen(kinds[i])) && !strcmp(cmd + strlen(kinds[i]), "s")))
            which = i;
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
    int (*fn)(struct bh_cli *, int, char **) = NULL;
    void (*cmd_usage)(FILE *) = NULL;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmd, cmds[i].name)) {
            fn = cmds[i].fn;
            cmd_usage = cmds[i].usage;
        }
    if (which < 0 && !fn) {
        fprintf(stderr, "bootherd: unknown command '%s'\n\n", cmd);
        usage(stderr);
        return 2;
    }
    /* --help anywhere after the command: its usage, and nothing else */
    if (bh_cli_help_asked(argc - 2, argv + 2)) {
        if (which >= 0)
            bh_usage_resource(kinds[which], stdout);
        else
            cmd_usage(stdout);
        return 0;
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
