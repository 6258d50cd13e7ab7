/*
 * args.c - what every subcommand does with its arguments alike: --help and
 * -h print its usage (exit 0), and an option it does not know is refused,
 * never taken as a name (`bootherd token add --help` must not make a token
 * called "--help").
 */
#include "cli.h"

#include <string.h>

bool bh_cli_help_asked(int argc, char *const *argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false; /* what follows is not an option */
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    }
    return false;
}

bool bh_cli_is_option(const char *a)
{
    return a[0] == '-' && a[1] != '\0';
}

int bh_cli_bad_option(const char *cmd, const char *a)
{
    fprintf(stderr, "bootherd %s: unknown option '%s' (see bootherd %s --help)\n", cmd, a, cmd);
    return 2;
}
