/*
 * progress.h - progress display for long CLI operations (import, export).
 */
#ifndef BH_CLIENT_PROGRESS_H
#define BH_CLIENT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bh_progress {
    const char *what;
    uint64_t total, done;
    uint64_t t0, last; /* ms, monotonic */
    bool tty;          /* stderr is a terminal: redraw one line */
    char note[48];     /* shown after the figures when set, e.g. "fetched 12.0 MiB" */
};

void bh_progress_start(struct bh_progress *p, const char *what, uint64_t total);
void bh_progress_update(struct bh_progress *p, uint64_t done);
void bh_progress_end(struct bh_progress *p);
double bh_progress_secs(const struct bh_progress *p);
/* 1536 -> "1.5 KiB" */
void bh_progress_human(double v, char *out, size_t cap);

#endif
