/*
 * test_steps.c - a job's steps (src/model/steps.c): their syntax, and
 * whether they can work on the hosts they are to run on (bh_steps_check:
 * an OS entry, partition, image version or cache partition the group's
 * start.conf lacks is one refusal per host and step).
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

/* "ok", or each refusal as "HOST STEP FIELD: reason" joined by " | " */
static const char *check(const char *steps, const char *hosts, const char *groups,
                         const char *versions)
{
    static char out[4096];
    json_t *s = J(steps), *h = J(hosts), *g = J(groups), *v = J(versions), *errs = json_array();
    size_t nh = 0, n = bh_steps_check(s, h, g, v, errs, 10, &nh), i, o = 0;
    json_t *e;
    snprintf(out, sizeof(out), "ok");
    json_array_foreach(errs, i, e)
    {
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s %s %s: %s", i ? " | " : "",
                              json_string_value(json_object_get(e, "host")),
                              json_string_value(json_object_get(e, "step")),
                              json_string_value(json_object_get(e, "field")),
                              json_string_value(json_object_get(e, "reason")));
    }
    assert_int_equal(n, json_array_size(errs));
    assert_true(nh <= n && (nh > 0) == (n > 0));
    json_decref(s);
    json_decref(h);
    json_decref(g);
    json_decref(v);
    json_decref(errs);
    return out;
}

#define ONE_OS                                                                                     \
    "{'linbo':{'cache':'/dev/sda2'},'partitions':[{'dev':'/dev/sda1'},{'dev':'/dev/sda2'}],"       \
    "'os':[{'name':'A','base_image':'win10.qcow2'}]}"
#define TWO_OS                                                                                     \
    "{'partitions':[{'dev':'/dev/sda1'}],'os':[{'name':'A','base_image':'ubu@stable'},"            \
    "{'name':'B'}]}"
#define VERSIONS "{'win10@latest':true,'ubu@stable':false}"

static void test_check(void **state)
{
    (void)state;
    const char *g = "{'win':" ONE_OS ",'lab':" TWO_OS ",'bare':null}";
    const char *win = "[{'name':'pc01','mac':'52:54:00:00:00:01','group':'win'}]";
    const char *both = "[{'name':'pc01','mac':'52:54:00:00:00:01','group':'win'},"
                       "{'name':'pc02','mac':'52:54:00:00:00:02','group':'lab'}]";
    assert_string_equal(check("['partition','format','sync:1','new:1','start:1','initcache',"
                              "'reboot']",
                              win, g, VERSIONS),
                        "ok");
    assert_string_equal(check("['format:2','format:1']", win, g, VERSIONS), "ok");
    assert_string_equal(check("['start:2','create_image:2','postsync:2']",
                              "[{'name':'pc02','group':'lab'}]", g, VERSIONS),
                        "ok");
    assert_string_equal(check("['reboot','sync:2']", win, g, VERSIONS),
                        "pc01 sync:2 steps[1]: group win has no OS entry 2 (it has 1)");
    /* every host, every step */
    assert_string_equal(check("['start:2','format:2']", both, g, VERSIONS),
                        "pc01 start:2 steps[0]: group win has no OS entry 2 (it has 1) | pc02 "
                        "format:2 steps[1]: group lab has no partition 2 (it has 1)");
    /* the image sync and new deploy needs a version; a tag is named */
    assert_string_equal(check("['sync:1']", both, g, "{}"),
                        "pc01 sync:1 steps[0]: image win10 (OS entry 1 of group win) has no "
                        "version | pc02 sync:1 steps[0]: image ubu (OS entry 1 of group lab) has "
                        "no version 'stable'");
    assert_string_equal(check("['new:2']", "[{'name':'pc02','group':'lab'}]", g, VERSIONS),
                        "pc02 new:2 steps[0]: OS entry 2 of group lab names no image (start.conf: "
                        "BaseImage)");
    /* start and create_image need no version */
    assert_string_equal(check("['start:1','create_image:1:x']", win, g, "{}"), "ok");
    /* initcache needs a cache partition */
    assert_string_equal(check("['initcache']", "[{'name':'pc02','group':'lab'}]", g, VERSIONS),
                        "pc02 initcache steps[0]: group lab has no cache partition (start.conf: "
                        "[LINBO] Cache)");
    /* no group (labelled by MAC without a name), a group without start.conf */
    assert_string_equal(
        check("['halt','partition']", "[{'mac':'52:54:00:00:00:09','group':null}]", g, VERSIONS),
        "52:54:00:00:00:09 partition steps[1]: the host is in no group, so it has "
        "no start.conf");
    assert_string_equal(check("['format']", "[{'name':'pc05','group':'bare'}]", g, VERSIONS),
                        "pc05 format steps[0]: group bare has no start.conf");
    assert_string_equal(check("['reboot','halt','shell:id']",
                              "[{'name':'pc05','group':'bare'},{'name':'pc06'}]", g, VERSIONS),
                        "ok");
    /* the list is capped, the count is not */
    json_t *errs = json_array(), *s = J("['sync:9','start:9']"), *h = J(both), *gg = J(g);
    size_t nh = 0;
    assert_int_equal(bh_steps_check(s, h, gg, NULL, errs, 3, &nh), 4);
    assert_int_equal(nh, 2); /* both hosts, though the list stops at 3 */
    assert_int_equal(json_array_size(errs), 3);
    json_decref(errs);
    json_decref(s);
    json_decref(h);
    json_decref(gg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
