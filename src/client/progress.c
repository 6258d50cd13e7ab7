/*
 * progress.c - progress of long transfers: a bar redrawn in place on a
 * terminal (bytes, rate, ETA), plain lines every few seconds otherwise
 * (logs, CI), so that neither floods nor stays silent.
 */
#include "progress.h"

#include "core/timeutil.h"

#include <stdio.h>
#include <unistd.h>

#define LINE_EVERY_MS 5000
#define BAR_EVERY_MS  200

void bh_progress_start(struct bh_progress *p, const char *what, uint64_t total)
{
    p->what = what;
    p->total = total;
    p->done = 0;
    p->t0 = p->last = bh_mono_ns() / 1000000;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->note[0] = '\0';
}

void bh_progress_human(double v, char *out, size_t cap)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void draw(struct bh_progress *p, uint64_t now, bool last)
{
    double secs = (double)(now - p->t0) / 1000.0;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    char d[32], t[32], r[32];
    bh_progress_human((double)p->done, d, sizeof(d));
    bh_progress_human((double)p->total, t, sizeof(t));
    bh_progress_human(rate, r, sizeof(r));
    double pct = p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
    long eta = rate > 0 && p->total > p->done ? (long)((double)(p->total - p->done) / rate) : 0;
    if (p->tty) {
        int width = 24, fill = (int)(pct / 100.0 * width);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r%-10s [%s] %5.1f%% %s / %s  %s/s  ETA %ld:%02ld %s", p->what, bar, pct,
                d, t, r, eta / 60, eta % 60, p->note);
        if (last)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %.1f%% %s of %s, %s/s, %.1f s%s%s\n", p->what, pct, d, t, r, secs,
                p->note[0] ? ", " : "", p->note);
    }
    fflush(stderr);
}

void bh_progress_update(struct bh_progress *p, uint64_t done)
{
    p->done = done;
    uint64_t now = bh_mono_ns() / 1000000;
    if (now - p->last < (p->tty ? BAR_EVERY_MS : LINE_EVERY_MS))
        return;
    p->last = now;
    draw(p, now, false);
}

void bh_progress_end(struct bh_progress *p)
{
    p->done = p->total;
    draw(p, bh_mono_ns() / 1000000, true);
}

double bh_progress_secs(const struct bh_progress *p)
{
    return (double)(bh_mono_ns() / 1000000 - p->t0) / 1000.0;
}
