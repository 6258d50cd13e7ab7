/*
 * proc.h - running the client OS's tools (sfdisk, mkfs, kexec, a post-sync
 * script, an admin's shell command) without a shell of our own, with
 * their output kept for the operator.
 */
#ifndef BH_AGENT_PROC_H
#define BH_AGENT_PROC_H

#include "core/err.h"

#include <stddef.h>

struct bh_exec {
    char *const *argv;      /* argv[0] is looked up in PATH */
    const char *input;      /* to its standard input; NULL: /dev/null */
    const char *const *env; /* "K=V" added to ours, NULL-terminated; or NULL */
    const char *cwd;        /* or NULL */
    char *out;              /* the end of what it printed (stdout + stderr); or NULL */
    size_t out_cap;
};

/* 0 when it exits 0; else BH_EIO with err's message = the command, how it
 * ended and the end of what it printed (BH_ESYS when it could not be run:
 * pipe, fork, waitpid). */
int bh_exec(const struct bh_exec *x, struct bh_err *err);

#endif
