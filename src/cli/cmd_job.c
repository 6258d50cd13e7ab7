/*
 * cmd_job.c - `bootherd job run|ls|show|cancel|retry|watch`.
 *
 *   bootherd job run --room r101 --wake partition format sync:1 start:1
 *
 * A refused job (422 with "errors") is printed one refused host and step a
 * line, on stderr; `job show` prints each host's wake outcome and, while
 * it waits, why (src/api/jobview.c).
 */
#include "cli.h"

#include "core/buf.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void bh_usage_job(FILE *f)
{
    fprintf(f, "usage: bootherd job run [--host H]... [--room R] [--group G] [--selector S]\n"
               "                        [--wake] [--when now|next-boot|at:TIME] [--parallel N]\n"
               "                        STEP...\n"
               "       bootherd job ls [--limit N] [--after CURSOR]\n"
               "       bootherd job show|cancel|retry|watch ID\n"
               "STEP: partition, format[:N], sync:N, new:N, create_image:N[:NOTE], start:N,\n"
               "      postsync:N, initcache, reboot, halt, shell:CMD (admin)\n");
}

static int usage(void)
{
    bh_usage_job(stderr);
    return 2;
}

static int call(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                long want, json_t **out)
{
    long status;
    struct bh_err e;
    *out = NULL;
    if (bh_cli_json(c, method, path, body, &status, out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    if (status != want) {
        int rc = bh_cli_fail_json("job", status, *out);
        size_t i;
        json_t *r;
        const json_t *errs = json_object_get(*out, "errors");
        json_array_foreach(errs, i, r)
        {
            fprintf(stderr, "  refused: %s: %s: %s\n",
                    json_string_value(json_object_get(r, "host")),
                    json_string_value(json_object_get(r, "step")),
                    json_string_value(json_object_get(r, "reason")));
        }
        json_int_t total = json_integer_value(json_object_get(*out, "errors_total"));
        if (total > (json_int_t)json_array_size(errs))
            fprintf(stderr, "  ... and %lld more\n",
                    (long long)(total - (json_int_t)json_array_size(errs)));
        json_decref(*out);
        *out = NULL;
        return rc;
    }
    return 0;
}

/* a host's wake: "queued to ADDR via IF", "sent ...", "failed: ERR", "skipped: WHY" */
static void print_wake(const json_t *w)
{
    const char *st = json_string_value(json_object_get(w, "state"));
    if (!st)
        return;
    const char *why = json_string_value(json_object_get(w, "why"));
    const char *err = json_string_value(json_object_get(w, "error"));
    const char *addr = json_string_value(json_object_get(w, "address"));
    const char *ifc = json_string_value(json_object_get(w, "interface"));
    printf("      wake: %s", st);
    if (why || err)
        printf(": %s", why ? why : err);
    else if (addr)
        printf(" to %s%s%s", addr, ifc ? " via " : "", ifc ? ifc : "");
    printf("\n");
}

static void print_job(const json_t *job)
{
    printf("job %lld: %s  (%s, by %s at %s)\n",
           (long long)json_integer_value(json_object_get(job, "id")),
           json_string_value(json_object_get(job, "state")),
           json_string_value(json_object_get(json_object_get(job, "spec"), "when")),
           json_string_value(json_object_get(job, "created_by")),
           json_string_value(json_object_get(job, "created_at")));
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        const char *name = json_string_value(json_object_get(h, "name"));
        printf("  %-17s %-16s %-10s", json_string_value(json_object_get(h, "mac")),
               name ? name : "", json_string_value(json_object_get(h, "state")));
        size_t k;
        json_t *s;
        const char *err = NULL;
        json_array_foreach(json_object_get(h, "steps"), k, s)
        {
            const char *st = json_string_value(json_object_get(s, "state"));
            char mark = !strcmp(st, "done")        ? '+'
                        : !strcmp(st, "running")   ? '>'
                        : !strcmp(st, "failed")    ? '!'
                        : !strcmp(st, "cancelled") ? 'x'
                                                   : ' ';
            printf(" %c%s", mark, json_string_value(json_object_get(s, "step")));
            if (!err)
                err = json_string_value(json_object_get(s, "error"));
        }
        printf("\n");
        if (err)
            printf("      error: %s\n", err);
        print_wake(json_object_get(h, "wake"));
        const char *why = json_string_value(json_object_get(h, "waiting_reason"));
        if (why)
            printf("      waiting: %s\n", why);
    }
}

static int cmd_run(struct bh_cli *c, int argc, char **argv)
{
    json_t *targets = json_object(), *hosts = json_array(), *steps = json_array();
    json_t *body = json_pack("{s:o, s:o}", "targets", targets, "steps", steps);
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--host") && v) {
            json_array_append_new(hosts, json_string(v));
            i++;
        } else if ((!strcmp(a, "--room") || !strcmp(a, "--group") || !strcmp(a, "--selector")) &&
                   v) {
            json_object_set_new(targets, a + 2, json_string(v));
            i++;
        } else if (!strcmp(a, "--wake")) {
            json_object_set_new(body, "wake", json_true());
        } else if (!strcmp(a, "--when") && v) {
            json_object_set_new(body, "when", json_string(v));
            i++;
        } else if (!strcmp(a, "--parallel") && v) {
            int64_t n;
            if (bh_parse_i64(v, 0, 10000, &n))
                rc = usage();
            json_object_set_new(body, "parallel", json_integer(n));
            i++;
        } else if (bh_cli_is_option(a)) {
            rc = bh_cli_bad_option("job run", a);
        } else {
            json_array_append_new(steps, json_string(a));
        }
    }
    if (json_array_size(hosts))
        json_object_set(targets, "hosts", hosts);
    json_decref(hosts);
    if (!rc && (!json_array_size(steps) || !json_object_size(targets)))
        rc = usage();
    json_t *job = NULL;
    if (!rc)
        rc = call(c, "POST", "/api/v1/jobs", body, 201, &job);
    json_decref(body);
    if (!rc) {
        if (c->json)
            bh_out_json(job);
        else
            print_job(job);
    }
    json_decref(job);
    return rc;
}

static int cmd_ls(struct bh_cli *c, int argc, char **argv)
{
    char path[640] = "/api/v1/jobs?", esc[256];
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc || (strcmp(argv[i], "--limit") && strcmp(argv[i], "--after")))
            return usage();
        bh_cli_escape(argv[i + 1], esc, sizeof(esc));
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "&%s=%s", argv[i] + 2, esc);
    }
    json_t *out;
    int rc = call(c, "GET", path, NULL, 200, &out);
    if (rc)
        return rc;
    if (c->json) {
        bh_out_json(out);
    } else {
        printf("%-6s %-10s %-6s %-24s %-10s %s\n", "ID", "STATE", "HOSTS", "CREATED", "BY",
               "STEPS");
        size_t i;
        json_t *j;
        json_array_foreach(json_object_get(out, "items"), i, j)
        {
            struct bh_buf steps;
            bh_buf_init(&steps, 4096);
            size_t k;
            json_t *s;
            json_array_foreach(json_object_get(json_object_get(j, "spec"), "steps"), k, s)
            {
                bh_buf_printf(&steps, "%s%s", k ? " " : "", json_string_value(s));
            }
            printf("%-6lld %-10s %-6lld %-24s %-10s %s\n",
                   (long long)json_integer_value(json_object_get(j, "id")),
                   json_string_value(json_object_get(j, "state")),
                   (long long)json_integer_value(json_object_get(j, "host_count")),
                   json_string_value(json_object_get(j, "created_at")),
                   json_string_value(json_object_get(j, "created_by")), steps.p ? steps.p : "");
            bh_buf_free(&steps);
        }
    }
    json_decref(out);
    return 0;
}

static bool finished(const char *state)
{
    return !strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "cancelled");
}

/* one line per host: its steps and the running step's progress */
static void draw(const json_t *job, bool tty, int *lines)
{
    const char *clr = tty ? "\033[K" : ""; /* clear to the end of the line */
    if (tty && *lines)
        printf("\033[%dA", *lines);
    *lines = 0;
    printf("job %lld: %-10s%s\n", (long long)json_integer_value(json_object_get(job, "id")),
           json_string_value(json_object_get(job, "state")), clr);
    (*lines)++;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        const char *name = json_string_value(json_object_get(h, "name"));
        const json_t *cur = NULL;
        size_t k, done = 0, n = json_array_size(json_object_get(h, "steps"));
        json_t *s;
        json_array_foreach(json_object_get(h, "steps"), k, s)
        {
            const char *st = json_string_value(json_object_get(s, "state"));
            if (!strcmp(st, "done"))
                done++;
            else if (!cur && (!strcmp(st, "running") || !strcmp(st, "failed")))
                cur = s;
        }
        const json_t *p = cur ? json_object_get(cur, "progress") : NULL;
        double total = (double)json_integer_value(json_object_get(p, "total"));
        double pct =
            total > 0 ? 100.0 * (double)json_integer_value(json_object_get(p, "done")) / total : 0;
        char bar[21];
        for (int b = 0; b < 20; b++)
            bar[b] = b < (int)(pct / 5) ? '#' : '.';
        bar[20] = '\0';
        const char *err = cur ? json_string_value(json_object_get(cur, "error")) : NULL;
        const char *phase = json_string_value(json_object_get(p, "phase"));
        char speed[48] = ""; /* " 45.2 MB/s, 0:12 left" */
        json_int_t rate = json_integer_value(json_object_get(p, "rate"));
        const json_t *eta = json_object_get(p, "eta_s");
        if (!err && rate > 0 && cur &&
            !strcmp(json_string_value(json_object_get(cur, "state")), "running"))
            snprintf(speed, sizeof(speed), " %.1f MB/s", (double)rate / 1e6);
        if (speed[0] && eta)
            snprintf(speed + strlen(speed), sizeof(speed) - strlen(speed), ", %lld:%02lld left",
                     (long long)json_integer_value(eta) / 60,
                     (long long)json_integer_value(eta) % 60);
        printf("  %-16s %-16s %zu/%zu %-16s [%s] %5.1f%% %s%s%s\n",
               name ? name : json_string_value(json_object_get(h, "mac")),
               json_string_value(json_object_get(h, "state")), done, n,
               cur ? json_string_value(json_object_get(cur, "step")) : "", bar, pct,
               err     ? err
               : phase ? phase
                       : "",
               speed, clr);
        (*lines)++;
    }
    fflush(stdout);
}

static int cmd_watch(struct bh_cli *c, const char *id)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/jobs/%.20s", id);
    bool tty = isatty(STDOUT_FILENO) == 1;
    int lines = 0;
    char last[64] = "";
    for (;;) {
        json_t *job;
        int rc = call(c, "GET", path, NULL, 200, &job);
        if (rc)
            return rc;
        const char *state = json_string_value(json_object_get(job, "state"));
        char sig[64];
        snprintf(sig, sizeof(sig), "%s %lld", state,
                 (long long)json_integer_value(json_object_get(job, "rev")));
        if (tty || strcmp(sig, last)) /* without a terminal: print on change only */
            draw(job, tty, &lines);
        bh_strlcpy(last, sig, sizeof(last));
        bool end = finished(state);
        rc = end && strcmp(state, "done") ? 1 : 0;
        json_decref(job);
        if (end)
            return rc;
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int bh_cmd_job(struct bh_cli *c, int argc, char **argv)
{
    if (argc < 1)
        return usage();
    const char *verb = argv[0];
    if (!strcmp(verb, "run"))
        return cmd_run(c, argc, argv);
    if (!strcmp(verb, "ls"))
        return cmd_ls(c, argc, argv);
    if (argc != 2)
        return usage();
    int64_t id;
    if (bh_parse_i64(argv[1], 1, INT64_MAX, &id)) {
        fprintf(stderr, "bootherd: a job id is a positive number\n");
        return 2;
    }
    char path[96];
    json_t *job = NULL;
    int rc;
    if (!strcmp(verb, "watch"))
        return cmd_watch(c, argv[1]);
    if (!strcmp(verb, "show")) {
        snprintf(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id);
        rc = call(c, "GET", path, NULL, 200, &job);
    } else if (!strcmp(verb, "cancel") || !strcmp(verb, "retry")) {
        snprintf(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, verb);
        rc = call(c, "POST", path, NULL, 200, &job);
    } else {
        return usage();
    }
    if (!rc) {
        if (c->json)
            bh_out_json(job);
        else
            print_job(job);
    }
    json_decref(job);
    return rc;
}
