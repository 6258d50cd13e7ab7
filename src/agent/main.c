/*
 * main.c - bootherd-agent, the program that runs in a netbooted client OS
 * and does the disk work a job asks for.  Each subcommand is one row of
 * the table below: add a row (and its file) to add one.
 */
#include "deploy.h"
#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;
};

static const struct command commands[] = {
    {"deploy", bh_agent_cmd_deploy,
     "write an image version onto a disk or partition (sync, or --full: new)"},
    {"run", bh_agent_cmd_run, "in the client OS: hello with the boot ticket, then do the jobs"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "bootherd-agent %s - the bootherd client agent\n\nusage: bootherd-agent COMMAND "
            "[ARGS...]   (COMMAND --help for its options)\n\ncommands:\n",
            BH_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    signal(SIGPIPE,
           SIG_IGN); /* a tool that exits before reading its input is an error, not a kill */
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("bootherd-agent %s\n", BH_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "bootherd-agent: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
