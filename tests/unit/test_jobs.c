/*
 * test_jobs.c - the job and task rules (src/jobs/rules.c), without SQLite:
 * a job is an in-memory table of task rows that the test changes only as
 * the rules decide, the way a backend would.
 */
#include "jobs/rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#define MAXROWS 64

/* The in-memory job: hosts x steps rows, task ids from 1. */
struct mem_job {
    struct bh_task_row rows[MAXROWS];
    size_t n;
    int64_t parallel;
};

static void mem_make(struct mem_job *j, int hosts, int steps, int64_t parallel)
{
    j->n = 0;
    j->parallel = parallel;
    for (int h = 0; h < hosts; h++)
        for (int s = 0; s < steps; s++)
            j->rows[j->n] = (struct bh_task_row){.id = (int64_t)j->n + 1,
                                                 .job = 1,
                                                 .host = h,
                                                 .seq = s,
                                                 .state = BH_TASK_QUEUED},
            j->n++;
}

/* A host's report, applied as a backend applies it: refused unless the
 * rules allow the move and (to start) the parallel limit; a failure
 * cancels the host's later steps.  0 or -1 (refused). */
static int mem_report(struct mem_job *j, int64_t task, enum bh_task_state to)
{
    struct bh_task_row *t = &j->rows[task - 1];
    if (!bh_task_report_ok(t->state, to))
        return -1;
    if (t->state == BH_TASK_QUEUED && to == BH_TASK_RUNNING &&
        !bh_task_may_start(j->rows, j->n, t, j->parallel))
        return -1;
    t->state = to;
    if (to == BH_TASK_FAILED) {
        size_t cancel[MAXROWS];
        size_t k = bh_fail_cascade(j->rows, j->n, t, cancel);
        for (size_t i = 0; i < k; i++)
            j->rows[cancel[i]].state = BH_TASK_CANCELLED;
    }
    return 0;
}

static void mem_cancel(struct mem_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        if (bh_task_cancels(j->rows[i].state))
            j->rows[i].state = BH_TASK_CANCELLED;
}

static void mem_retry(struct mem_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        if (bh_task_retries(j->rows[i].state))
            j->rows[i].state = BH_TASK_QUEUED;
}

static enum bh_run_state mem_host_state(const struct mem_job *j, int host)
{
    enum bh_task_state s[MAXROWS];
    size_t k = 0;
    for (size_t i = 0; i < j->n; i++)
        if (j->rows[i].host == host)
            s[k++] = j->rows[i].state;
    return bh_host_state(s, k);
}

static enum bh_run_state mem_job_state(const struct mem_job *j, int hosts)
{
    enum bh_run_state s[MAXROWS];
    for (int h = 0; h < hosts; h++)
        s[h] = mem_host_state(j, h);
    return bh_job_state(s, (size_t)hosts);
}

static int64_t next_id(const struct mem_job *j, int host)
{
    const struct bh_task_row *t = bh_host_next(j->rows, j->n, host);
    return t ? t->id : 0;
}

static void test_names(void **state)
{
    (void)state;
    enum bh_task_state s;
    for (int i = BH_TASK_QUEUED; i <= BH_TASK_CANCELLED; i++) {
        assert_int_equal(bh_task_state_parse(bh_task_state_name((enum bh_task_state)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(bh_task_state_parse("paused", &s), -1);
    assert_int_equal(bh_task_state_parse(NULL, &s), -1);
    assert_null(bh_task_state_name((enum bh_task_state)99));
    assert_string_equal(bh_run_state_name(BH_RUN_FAILED), "failed");
}

/* every (from, to) pair of a host's report */
static void test_transitions(void **state)
{
    (void)state;
    static const bool ok[5][5] = {
        /* to: queued running done failed cancelled */
        [BH_TASK_QUEUED] = {false, true, true, true, false},
        [BH_TASK_RUNNING] = {false, true, true, true, false},
        [BH_TASK_DONE] = {false, false, false, false, false},
        [BH_TASK_FAILED] = {false, false, false, false, false},
        [BH_TASK_CANCELLED] = {false, false, false, false, false},
    };
    for (int f = 0; f < 5; f++)
        for (int t = 0; t < 5; t++)
            assert_int_equal(bh_task_report_ok((enum bh_task_state)f, (enum bh_task_state)t),
                             ok[f][t]);
    assert_true(bh_task_cancels(BH_TASK_QUEUED));
    assert_true(bh_task_cancels(BH_TASK_RUNNING));
    assert_false(bh_task_cancels(BH_TASK_DONE));
    assert_false(bh_task_cancels(BH_TASK_FAILED));
    assert_true(bh_task_retries(BH_TASK_FAILED));
    assert_true(bh_task_retries(BH_TASK_CANCELLED));
    assert_false(bh_task_retries(BH_TASK_DONE));
    assert_false(bh_task_retries(BH_TASK_RUNNING));
}

/* steps run in order; the job is done when every host is */
static void test_run_to_done(void **state)
{
    (void)state;
    struct mem_job j;
    mem_make(&j, 2, 2, 0);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_QUEUED);
    assert_int_equal(next_id(&j, 0), 1);
    assert_int_equal(mem_report(&j, 1, BH_TASK_RUNNING), 0);
    assert_int_equal(mem_host_state(&j, 0), BH_RUN_RUNNING);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_RUNNING);
    assert_int_equal(next_id(&j, 0), 1); /* a running step is still the next */
    assert_int_equal(mem_report(&j, 1, BH_TASK_DONE), 0);
    assert_int_equal(next_id(&j, 0), 2);
    assert_int_equal(mem_host_state(&j, 0), BH_RUN_RUNNING); /* done one, one to go */
    assert_int_equal(mem_report(&j, 2, BH_TASK_DONE), 0);
    assert_int_equal(next_id(&j, 0), 0);
    assert_int_equal(mem_host_state(&j, 0), BH_RUN_DONE);
    assert_int_equal(mem_report(&j, 2, BH_TASK_RUNNING), -1); /* nothing leaves done */
    assert_int_equal(mem_report(&j, 3, BH_TASK_DONE), 0);
    assert_int_equal(mem_report(&j, 4, BH_TASK_DONE), 0);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_DONE);
    assert_int_equal(bh_job_state(NULL, 0), BH_RUN_DONE); /* no hosts: nothing to do */
}

/* parallel 1: a second host waits until the first is through */
static void test_parallel(void **state)
{
    (void)state;
    struct mem_job j;
    mem_make(&j, 3, 2, 1);
    assert_int_equal(mem_report(&j, 1, BH_TASK_RUNNING), 0);  /* host 0 begins */
    assert_int_equal(mem_report(&j, 3, BH_TASK_RUNNING), -1); /* host 1 must wait */
    assert_int_equal(mem_report(&j, 1, BH_TASK_DONE), 0);
    /* host 0 is in the middle (done one, one queued): still counts */
    assert_true(bh_host_busy(j.rows, j.n, 0));
    assert_int_equal(mem_report(&j, 3, BH_TASK_RUNNING), -1);
    assert_int_equal(mem_report(&j, 2, BH_TASK_RUNNING), 0); /* its own later step may */
    assert_int_equal(mem_report(&j, 2, BH_TASK_DONE), 0);
    assert_false(bh_host_busy(j.rows, j.n, 0));
    assert_int_equal(mem_report(&j, 3, BH_TASK_RUNNING), 0);
    assert_int_equal(mem_report(&j, 5, BH_TASK_RUNNING), -1);
    /* parallel 2 lets two at once; 0 has no limit */
    mem_make(&j, 3, 1, 2);
    assert_int_equal(mem_report(&j, 1, BH_TASK_RUNNING), 0);
    assert_int_equal(mem_report(&j, 2, BH_TASK_RUNNING), 0);
    assert_int_equal(mem_report(&j, 3, BH_TASK_RUNNING), -1);
    mem_make(&j, 3, 1, 0);
    for (int64_t t = 1; t <= 3; t++)
        assert_int_equal(mem_report(&j, t, BH_TASK_RUNNING), 0);
    /* the one-pass count agrees with asking each host, for every mix of
     * states over 4 hosts x 3 steps (states from a small generator) */
    for (unsigned seed = 1; seed < 400; seed++) {
        mem_make(&j, 4, 3, 0);
        unsigned x = seed;
        for (size_t i = 0; i < j.n; i++, x = x * 1103515245u + 12345u)
            j.rows[i].state = (enum bh_task_state)((x >> 16) % 5);
        int64_t busy = 0;
        for (int h = 1; h < 4; h++)
            busy += bh_host_busy(j.rows, j.n, h);
        struct bh_task_row t = j.rows[0];
        t.state = BH_TASK_QUEUED; /* host 0's first step, to start */
        for (int64_t par = 1; par <= 4; par++)
            assert_int_equal(bh_task_may_start(j.rows, j.n, &t, par), busy < par);
    }
}

/* a failed step cancels that host's later steps, not the others' */
static void test_fail_cascade(void **state)
{
    (void)state;
    struct mem_job j;
    mem_make(&j, 2, 3, 0);
    assert_int_equal(mem_report(&j, 1, BH_TASK_RUNNING), 0);
    assert_int_equal(mem_report(&j, 1, BH_TASK_FAILED), 0);
    assert_int_equal(j.rows[1].state, BH_TASK_CANCELLED);
    assert_int_equal(j.rows[2].state, BH_TASK_CANCELLED);
    assert_int_equal(j.rows[3].state, BH_TASK_QUEUED);
    assert_int_equal(next_id(&j, 0), 0); /* the host is stopped */
    assert_int_equal(next_id(&j, 1), 4);
    assert_int_equal(mem_host_state(&j, 0), BH_RUN_FAILED);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_RUNNING);
    for (int64_t t = 4; t <= 6; t++)
        assert_int_equal(mem_report(&j, t, BH_TASK_DONE), 0);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_FAILED);
    /* retry queues the failed and cancelled steps again */
    mem_retry(&j);
    assert_int_equal(next_id(&j, 0), 1);
    assert_int_equal(j.rows[4].state, BH_TASK_DONE);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_RUNNING);
    for (int64_t t = 1; t <= 3; t++)
        assert_int_equal(mem_report(&j, t, BH_TASK_DONE), 0);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_DONE);
}

/* cancel ends what is unfinished; the job is cancelled, not failed */
static void test_cancel(void **state)
{
    (void)state;
    struct mem_job j;
    mem_make(&j, 2, 2, 0);
    assert_int_equal(mem_report(&j, 1, BH_TASK_RUNNING), 0);
    assert_int_equal(mem_report(&j, 3, BH_TASK_DONE), 0);
    mem_cancel(&j);
    assert_int_equal(j.rows[0].state, BH_TASK_CANCELLED);
    assert_int_equal(j.rows[2].state, BH_TASK_DONE);
    assert_int_equal(mem_report(&j, 1, BH_TASK_DONE), -1); /* a cancelled task stays so */
    assert_int_equal(mem_host_state(&j, 0), BH_RUN_CANCELLED);
    assert_int_equal(mem_job_state(&j, 2), BH_RUN_CANCELLED);
    assert_int_equal(next_id(&j, 0), 0);
    mem_retry(&j);
    assert_int_equal(next_id(&j, 0), 1);
    assert_int_equal(next_id(&j, 1), 4);
}

/* the claim rule: the holder may report; another session only takes over
 * a task whose holder has ended, and only by reporting it running */
static void test_claim(void **state)
{
    (void)state;
    struct bh_task_row t = {.id = 1, .state = BH_TASK_RUNNING};
    assert_true(bh_task_claim_ok(&t, "s1", BH_TASK_DONE)); /* unclaimed */
    snprintf(t.claim, sizeof(t.claim), "s1");
    t.claim_live = true;
    assert_true(bh_task_claim_ok(&t, NULL, BH_TASK_DONE)); /* no rule asked */
    assert_true(bh_task_claim_ok(&t, "s1", BH_TASK_DONE));
    assert_false(bh_task_claim_ok(&t, "s2", BH_TASK_RUNNING));
    assert_false(bh_task_claim_ok(&t, "s2", BH_TASK_DONE));
    t.claim_live = false; /* the holder's host booted again */
    assert_true(bh_task_claim_ok(&t, "s2", BH_TASK_RUNNING));
    assert_false(bh_task_claim_ok(&t, "s2", BH_TASK_FAILED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_run_to_done),  cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_fail_cascade), cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
