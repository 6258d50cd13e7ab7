/*
 * test_steps.c - a job's steps (src/model/steps.c): their syntax, and
 * whether they fit the groups of the hosts they are to run on (an OS entry
 * or partition the group's start.conf has, refused at steps[i] otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "model/steps.h"

#include <stdio.h>
#include <string.h>

static void test_parse(void **state)
{
    (void)state;
    struct bh_step s;
    struct bh_err e;
    assert_int_equal(bh_step_parse("sync:2", &s, &e), 0);
    assert_int_equal(s.kind, BH_STEP_SYNC);
    assert_int_equal(s.os, 2);
    assert_int_equal(bh_step_parse("format", &s, &e), 0);
    assert_int_equal(s.os, 0);
    assert_int_equal(bh_step_parse("create_image:1:a note", &s, &e), 0);
    assert_string_equal(s.arg, "a note");
    assert_int_equal(bh_step_parse("sync", &s, &e), BH_EINVAL);
    assert_int_equal(bh_step_parse("sync:0", &s, &e), BH_EINVAL);
    assert_int_equal(bh_step_parse("sync:65", &s, &e), BH_EINVAL);
    assert_int_equal(bh_step_parse("reboot:1", &s, &e), BH_EINVAL);
    assert_int_equal(bh_step_parse("explode", &s, &e), BH_EINVAL);
}

/* "ok", or "FIELD: message" */
static const char *fit(const char *steps, const char *hosts, const char *groups)
{
    static char out[BH_ERR_FIELD_MAX + BH_ERR_MSG_MAX + 4];
    json_t *s = J(steps), *h = J(hosts), *g = J(groups);
    struct bh_err e;
    bh_err_clear(&e);
    int rc = bh_steps_fit_hosts(s, h, g, &e);
    if (rc)
        snprintf(out, sizeof(out), "%s: %s", e.field, e.msg);
    else
        snprintf(out, sizeof(out), "ok");
    json_decref(s);
    json_decref(h);
    json_decref(g);
    return out;
}

#define ONE_OS "{'partitions':[{'dev':'/dev/sda1'},{'dev':'/dev/sda2'}],'os':[{'name':'A'}]}"
#define TWO_OS "{'partitions':[{'dev':'/dev/sda1'}],'os':[{'name':'A'},{'name':'B'}]}"

static void test_fit(void **state)
{
    (void)state;
    const char *g = "{'win':" ONE_OS ",'lab':" TWO_OS ",'bare':null}";
    const char *win = "[{'name':'pc01','mac':'52:54:00:00:00:01','group':'win'}]";
    const char *both = "[{'name':'pc01','mac':'52:54:00:00:00:01','group':'win'},"
                       "{'name':'pc02','mac':'52:54:00:00:00:02','group':'lab'}]";
    assert_string_equal(fit("['partition','format','sync:1','start:1','reboot']", win, g), "ok");
    assert_string_equal(fit("['format:2','format:1']", win, g), "ok");
    assert_string_equal(fit("['sync:2']", "[{'name':'pc02','group':'lab'}]", g), "ok");
    assert_string_equal(fit("['reboot','sync:9']", win, g),
                        "steps[1]: 'sync:9' names OS entry 9, but group 'win' (of host pc01) has "
                        "1 OS entry");
    /* one group of two lacks it */
    assert_string_equal(fit("['start:2']", both, g),
                        "steps[0]: 'start:2' names OS entry 2, but group 'win' (of host pc01) has "
                        "1 OS entry");
    assert_string_equal(fit("['new:1','postsync:2']", both, g),
                        "steps[1]: 'postsync:2' names OS entry 2, but group 'win' (of host pc01) "
                        "has 1 OS entry");
    assert_string_equal(fit("['create_image:3:x']", "[{'name':'pc02','group':'lab'}]", g),
                        "steps[0]: 'create_image:3:x' names OS entry 3, but group 'lab' (of host "
                        "pc02) has 2 OS entries");
    /* format:N counts partitions */
    assert_string_equal(fit("['format:2']", "[{'name':'pc02','group':'lab'}]", g),
                        "steps[0]: 'format:2' names partition 2, but group 'lab' (of host pc02) "
                        "has 1 partition");
    /* no group, a group without start.conf: no OS entries at all */
    assert_string_equal(fit("['sync:1']", "[{'mac':'52:54:00:00:00:09','group':null}]", g),
                        "steps[0]: 'sync:1' needs OS entry 1 of the host's group, but host "
                        "52:54:00:00:00:09 is in no group (so it has no start.conf)");
    assert_string_equal(fit("['sync:1']", "[{'name':'pc05','group':'bare'}]", g),
                        "steps[0]: 'sync:1' needs OS entry 1, but group 'bare' (of host pc05) has "
                        "no start.conf, so no OS entries");
    assert_string_equal(fit("['partition','initcache','halt','shell:id']",
                            "[{'name':'pc05','group':'bare'},{'name':'pc06'}]", g),
                        "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
