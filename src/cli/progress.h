/*
 * progress.h - progress display for long CLI operations (import, export).
 */
#ifndef BH_CLI_PROGRESS_H
#define BH_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct bh_progress {
    const char *what;
    uint64_t total, done;
    uint64_t t0, last; /* ms, monotonic */
    bool tty;          /* stderr is a terminal: redraw one line */
};

void bh_progress_start(struct bh_progress *p, const char *what, uint64_t total);
void bh_progress_update(struct bh_progress *p, uint64_t done);
void bh_progress_end(struct bh_progress *p);
double bh_progress_secs(const struct bh_progress *p);

#endif
