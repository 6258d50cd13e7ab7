/*
 * sqlite_console.c - what the web console reads, made by the database:
 * the dashboard's counts, the hosts' current steps and the images' usage.
 * Each is a handful of aggregate queries (COUNT, SUM, GROUP BY), never a
 * listing of objects, so a dashboard of 10,000 hosts costs what a page of
 * 50 does.  Owned by the console API (issue 10); see store.h for what each
 * returns.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

/* A host's activity: the task that says what it does now or did last.
 * Its running step; else its next queued one (the oldest job's lowest
 * step); else its last finished one, where a failed step comes before the
 * later steps cancelled with it at the same moment, and of steps that
 * finished in the same millisecond the later one counts.  HOST is the host's id
 * in the outer query.  Three lookups the indexes answer (tasks_state for
 * the first two, tasks_last for the third), not a sort of the host's
 * history. */
#define ACTIVITY_ID(HOST)                                                                          \
    "coalesce((SELECT x.id FROM tasks x WHERE x.state = 'running' AND x.host_id = " HOST           \
    " ORDER BY x.job_id, x.seq LIMIT 1), (SELECT x.id FROM tasks x WHERE x.state = 'queued' "      \
    "AND x.host_id = " HOST " ORDER BY x.job_id, x.seq LIMIT 1), (SELECT x.id FROM tasks x "       \
    "WHERE x.host_id = " HOST " AND x.state IN ('done', 'failed', 'cancelled') ORDER BY "          \
    "coalesce(x.updated_at, x.finished_at) DESC, x.state <> 'failed', x.job_id DESC, x.seq DESC "  \
    "LIMIT 1))"

/* busy: a step running; failed: hosts whose activity is a failed step,
 * looked for among the hosts that ever failed one (few) */
#define BUSY_FAILED                                                                                \
    "SELECT (SELECT count(DISTINCT t.host_id) FROM tasks t JOIN hosts h ON h.id = t.host_id "      \
    "WHERE t.state = 'running' AND (?1 IS NULL OR h.room_id = ?1)), (SELECT count(*) FROM "        \
    "(SELECT DISTINCT host_id FROM tasks WHERE state = 'failed') f JOIN hosts h ON h.id = "        \
    "f.host_id WHERE (?1 IS NULL OR h.room_id = ?1) AND (SELECT y.state FROM tasks y WHERE "       \
    "y.id = " ACTIVITY_ID("h.id") ") = 'failed')"

#define HOST_ACTIVITY                                                                              \
    "SELECT h.mac, t.id, t.job_id, t.step, t.state, t.progress, t.error, coalesce(t.updated_at, "  \
    "t.finished_at, t.started_at, j.created_at) FROM hosts h JOIN tasks t ON t.id = " ACTIVITY_ID( \
        "h.id") " JOIN jobs j ON j.id = t.job_id WHERE h.mac IN (SELECT value FROM "               \
                "json_each(?1))"

static const char *const host_states[] = {"new", "known", "booting", "up", "offline"};

/* Run sql on c (?1 bound to room_id, or NULL when 0) and hand each row to
 * fn; 0 or an error. */
static int each_row(struct sq_conn *c, const char *sql, int64_t room_id,
                    int (*fn)(void *ud, sqlite3_stmt *st), void *ud, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c, sql, err);
    if (!st)
        return BH_EIO;
    if (sqlite3_bind_parameter_count(st) >= 1) {
        if (room_id)
            sqlite3_bind_int64(st, 1, room_id);
        else
            sqlite3_bind_null(st, 1);
    }
    int r = SQLITE_DONE, rc = 0;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(ud, st);
    if (!rc && r != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "summary");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == BH_ENOMEM)
        bh_err_set(err, rc, NULL, "out of memory");
    return rc;
}

static int set_int(json_t *o, const char *k, sqlite3_stmt *st, int col)
{
    return json_object_set_new(o, k, json_integer(sqlite3_column_int64(st, col))) ? BH_ENOMEM : 0;
}

static int row_revision(void *ud, sqlite3_stmt *st)
{
    return set_int(ud, "rev", st, 0);
}

static int row_state(void *ud, sqlite3_stmt *st)
{
    json_t *by = ud;
    const char *s = (const char *)sqlite3_column_text(st, 0);
    /* a state this build does not know of is counted under its own name */
    return s && json_object_set_new(by, s, json_integer(sqlite3_column_int64(st, 1))) ? BH_ENOMEM
                                                                                      : 0;
}

static int row_busy(void *ud, sqlite3_stmt *st)
{
    int rc = set_int(ud, "busy", st, 0);
    return rc ? rc : set_int(ud, "failed", st, 1);
}

static int row_counts(void *ud, sqlite3_stmt *st)
{
    static const char *const keys[] = {"rooms", "groups", "profiles", "images", "logical_bytes"};
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++)
        rc = set_int(ud, keys[i], st, i);
    return rc;
}

static int row_jobs(void *ud, sqlite3_stmt *st)
{
    int rc = set_int(ud, "waiting", st, 0);
    return rc ? rc : set_int(ud, "running", st, 1);
}

static int room_of(struct sq_conn *c, const char *room, int64_t *id, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c, "SELECT id FROM rooms WHERE name = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_text(st, 1, room, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "room", "no room '%.64s'", room);
    else
        rc = bh__sq_fail(c, err, "find room");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_summary(void *impl, const char *room, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    json_t *sum = json_object(), *hosts = json_object(), *by = json_object(), *jobs = json_object();
    int rc = sum && hosts && by && jobs ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; !rc && i < sizeof(host_states) / sizeof(host_states[0]); i++)
        if (json_object_set_new(by, host_states[i], json_integer(0)))
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    /* every figure from one snapshot, the revision included */
    bool in_txn = !rc && !(rc = bh__sq_exec(c, "BEGIN", err));
    int64_t room_id = 0;
    if (!rc && room)
        rc = room_of(c, room, &room_id, err);
    if (!rc)
        rc =
            each_row(c, "SELECT value FROM meta WHERE key = 'revision'", 0, row_revision, sum, err);
    if (!rc)
        rc = each_row(c,
                      "SELECT state, count(*) FROM hosts WHERE ?1 IS NULL OR room_id = ?1 "
                      "GROUP BY state",
                      room_id, row_state, by, err);
    if (!rc)
        rc = each_row(c, BUSY_FAILED, room_id, row_busy, hosts, err);
    if (!rc)
        rc = each_row(c,
                      "SELECT (SELECT count(*) FROM rooms), (SELECT count(*) FROM host_groups), "
                      "(SELECT count(*) FROM profiles), (SELECT count(*) FROM images), "
                      "(SELECT coalesce(sum(logical_size), 0) FROM image_versions)",
                      0, row_counts, sum, err);
    /* unfinished jobs from the tasks_state index: waiting while every step
     * is queued, running while some step is queued or running */
    if (!rc)
        rc = each_row(c,
                      "SELECT coalesce(sum(w), 0), coalesce(sum(1 - w), 0) FROM (SELECT NOT "
                      "EXISTS (SELECT 1 FROM tasks o WHERE o.job_id = a.job_id AND o.state <> "
                      "'queued') AS w FROM (SELECT DISTINCT job_id FROM tasks WHERE state IN "
                      "('queued', 'running')) a)",
                      0, row_jobs, jobs, err);
    if (in_txn)
        bh__sq_exec(c, "COMMIT", NULL);
    bh__sq_release(c);
    if (!rc) {
        json_int_t total = 0;
        const char *k;
        json_t *v;
        json_object_foreach(by, k, v) total += json_integer_value(v);
        if (json_object_set_new(hosts, "total", json_integer(total)) ||
            json_object_set(hosts, "by_state", by) || json_object_set(sum, "hosts", hosts) ||
            json_object_set(sum, "jobs", jobs))
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    json_decref(hosts);
    json_decref(by);
    json_decref(jobs);
    if (rc) {
        json_decref(sum);
        return rc;
    }
    *out = sum;
    return 0;
}

/* Bind a JSON array as text, for json_each(?1). */
static int bind_array(sqlite3_stmt *st, const json_t *arr, struct bh_err *err)
{
    if (!json_is_array(arr))
        return bh_err_set(err, BH_EINVAL, NULL, "a list of keys is an array");
    return bh__sq_bind_json_text(st, 1, arr) == SQLITE_OK
               ? 0
               : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
}

int bh__sq_hosts_activity(void *impl, const json_t *macs, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st = bh__sq_prepare(c, HOST_ACTIVITY, err);
    json_t *map = json_object();
    int rc = !st ? BH_EIO : !map ? bh_err_set(err, BH_ENOMEM, NULL, "out of memory") : 0;
    if (!rc)
        rc = bind_array(st, macs, err);
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *a = json_pack(
            "{s:I, s:I, s:s, s:s, s:o, s:s?, s:s?}", "job", (json_int_t)sqlite3_column_int64(st, 2),
            "task", (json_int_t)sqlite3_column_int64(st, 1), "step",
            (const char *)sqlite3_column_text(st, 3), "state",
            (const char *)sqlite3_column_text(st, 4), "progress", bh__sq_column_json(st, 5),
            "error", (const char *)sqlite3_column_text(st, 6), "updated",
            (const char *)sqlite3_column_text(st, 7));
        if (!a || json_object_set_new(map, (const char *)sqlite3_column_text(st, 0), a))
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    if (!rc && r != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "host activity");
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    bh__sq_release(c);
    if (rc) {
        json_decref(map);
        return rc;
    }
    *out = map;
    return 0;
}

int bh__sq_images_usage(void *impl, const json_t *names, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st = bh__sq_prepare(
        c,
        "SELECT i.name, count(v.id), coalesce(sum(v.state = '" BH_VERSION_CANDIDATE "'), 0), "
        "(SELECT t.version FROM image_tags t WHERE t.image_id = i.id AND t.tag = '" BH_TAG_LATEST
        "'), coalesce((SELECT x.logical_size FROM image_versions x WHERE x.image_id = i.id "
        "ORDER BY x.state = '" BH_VERSION_RELEASED "' DESC, x.version DESC LIMIT 1), 0), "
        "coalesce(sum(coalesce(v.new_bytes, v.added_bytes)), 0) FROM images i LEFT JOIN "
        "image_versions v ON v.image_id = i.id WHERE i.name IN (SELECT value FROM "
        "json_each(?1)) GROUP BY i.id",
        err);
    json_t *map = json_object();
    int rc = !st ? BH_EIO : !map ? bh_err_set(err, BH_ENOMEM, NULL, "out of memory") : 0;
    if (!rc)
        rc = bind_array(st, names, err);
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *u = json_pack(
            "{s:I, s:I, s:o, s:I, s:I}", "versions", (json_int_t)sqlite3_column_int64(st, 1),
            "candidates", (json_int_t)sqlite3_column_int64(st, 2), "latest",
            sqlite3_column_type(st, 3) == SQLITE_NULL ? json_null()
                                                      : json_integer(sqlite3_column_int64(st, 3)),
            "logical_bytes", (json_int_t)sqlite3_column_int64(st, 4), "stored_bytes",
            (json_int_t)sqlite3_column_int64(st, 5));
        if (!u || json_object_set_new(map, (const char *)sqlite3_column_text(st, 0), u))
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    if (!rc && r != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "image usage");
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    bh__sq_release(c);
    if (rc) {
        json_decref(map);
        return rc;
    }
    *out = map;
    return 0;
}
