/*
 * sqlite_schema.c - tables and versioned migrations of the SQLite backend.
 *
 * Migrations only ever get appended.  Each runs in its own transaction
 * together with the bump of PRAGMA user_version, so a crash mid-migration
 * leaves the previous version intact.
 */
#include "sqlite_int.h"

#include <stdio.h>

static const char *const tables[BH_KIND__COUNT] = {
    [BH_KIND_ROOM] = "rooms",        [BH_KIND_GROUP] = "host_groups", [BH_KIND_HOST] = "hosts",
    [BH_KIND_PROFILE] = "profiles",  [BH_KIND_IMAGE] = "images",      [BH_KIND_TOKEN] = "tokens",
    [BH_KIND_SETTINGS] = "settings",
};

const char *bh__sq_table(enum bh_kind k)
{
    return tables[k];
}

/* now, in ms since the epoch, in SQL */
#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

#define OBJ_COLS "id INTEGER PRIMARY KEY, rev INTEGER NOT NULL, "
#define TS_COLS  "created_at TEXT NOT NULL, updated_at TEXT NOT NULL"

static const char *const migrations[] = {
    /* 1: the foundation */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('revision', 0);"

    "CREATE TABLE rooms (" OBJ_COLS
    "name TEXT NOT NULL UNIQUE, description TEXT, location TEXT, subnet TEXT, labels TEXT, " TS_COLS
    ");"

    "CREATE TABLE profiles (" OBJ_COLS
    "name TEXT NOT NULL UNIQUE, description TEXT, arch TEXT, kernel TEXT NOT NULL, "
    "initrds TEXT, cmdline TEXT, labels TEXT, " TS_COLS ");"

    "CREATE TABLE host_groups (" OBJ_COLS
    "name TEXT NOT NULL UNIQUE, description TEXT, config TEXT, "
    "profile_id INTEGER REFERENCES profiles(id) ON DELETE RESTRICT, labels TEXT, " TS_COLS ");"
    "CREATE INDEX host_groups_profile ON host_groups(profile_id);"

    "CREATE TABLE hosts (" OBJ_COLS "mac TEXT NOT NULL UNIQUE, name TEXT UNIQUE, description TEXT, "
    "room_id INTEGER REFERENCES rooms(id) ON DELETE RESTRICT, "
    "group_id INTEGER REFERENCES host_groups(id) ON DELETE RESTRICT, "
    "profile_id INTEGER REFERENCES profiles(id) ON DELETE RESTRICT, "
    "arch TEXT, uuid TEXT, serial TEXT, ip TEXT UNIQUE, labels TEXT, state TEXT NOT NULL, "
    "last_seen TEXT, hardware TEXT, " TS_COLS ");"
    "CREATE INDEX hosts_room ON hosts(room_id);"
    "CREATE INDEX hosts_group ON hosts(group_id);"
    "CREATE INDEX hosts_profile ON hosts(profile_id);"
    "CREATE INDEX hosts_state ON hosts(state);"
    "CREATE INDEX hosts_uuid ON hosts(uuid);"
    "CREATE INDEX hosts_serial ON hosts(serial);"

    "CREATE TABLE images (" OBJ_COLS
    "name TEXT NOT NULL UNIQUE, description TEXT, kind TEXT NOT NULL, fstype TEXT, "
    "labels TEXT, " TS_COLS ");"
    "CREATE TABLE image_versions (id INTEGER PRIMARY KEY, "
    "image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE, "
    "version INTEGER NOT NULL, manifest TEXT, logical_size INTEGER, stored_size INTEGER, "
    "parent INTEGER, note TEXT, created_by TEXT, created_at TEXT NOT NULL, "
    "UNIQUE (image_id, version));"
    "CREATE TABLE image_tags (image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " tag TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (image_id, tag));"

    "CREATE TABLE tokens (" OBJ_COLS
    "tid TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE, description TEXT, role TEXT NOT NULL, "
    "expires_at TEXT, created_by TEXT, hash TEXT NOT NULL, " TS_COLS ");"

    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, rev INTEGER NOT NULL, state TEXT NOT NULL, "
    "spec TEXT NOT NULL, created_by TEXT, " TS_COLS ");"
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, "
    "job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, "
    "host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE, "
    "seq INTEGER NOT NULL, step TEXT NOT NULL, state TEXT NOT NULL, progress TEXT, "
    "error TEXT, started_at TEXT, finished_at TEXT);"
    "CREATE INDEX tasks_job ON tasks(job_id);"
    "CREATE INDEX tasks_host ON tasks(host_id, state);"

    "CREATE TABLE events (rev INTEGER PRIMARY KEY, ts TEXT NOT NULL, kind TEXT NOT NULL, "
    "key TEXT NOT NULL, type TEXT NOT NULL, actor TEXT, data TEXT);"
    "CREATE INDEX events_key ON events(kind, key);"

    "CREATE TABLE audit (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, "
    "token_id TEXT, remote TEXT, action TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, "
    "before TEXT, after TEXT);"
    "CREATE INDEX audit_kind ON audit(kind, key);",

    /* 2: list pages filtered by room/group/state come out in key order
     * straight from an index, without sorting every match */
    "DROP INDEX hosts_room; DROP INDEX hosts_group; DROP INDEX hosts_state;"
    "CREATE INDEX hosts_room ON hosts(room_id, mac);"
    "CREATE INDEX hosts_group ON hosts(group_id, mac);"
    "CREATE INDEX hosts_state ON hosts(state, mac);",

    /* 3: boot overrides on groups and hosts; run-time boot settings (one
     * row, 'boot'; NULL columns mean "as the config file says") */
    "ALTER TABLE host_groups ADD COLUMN boot TEXT;"
    "ALTER TABLE hosts ADD COLUMN boot TEXT;"
    "CREATE TABLE settings (" OBJ_COLS "name TEXT NOT NULL UNIQUE, unknown_hosts TEXT, "
    "profile_id INTEGER REFERENCES profiles(id) ON DELETE RESTRICT, offline_after INTEGER, "
    "snponly INTEGER, server_ip TEXT, http_base TEXT, dhcp_modes TEXT, " TS_COLS ");"
    "INSERT INTO settings (rev, name, created_at, updated_at) "
    "SELECT value, 'boot', strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ') "
    "FROM meta WHERE key = 'revision';",

    /* 4: image store: what each version adds, and uploads in progress
     * (their manifests are gc roots until committed or expired) */
    "ALTER TABLE image_versions ADD COLUMN added_bytes INTEGER;"
    "ALTER TABLE image_versions ADD COLUMN chunks INTEGER;"
    "CREATE INDEX image_versions_manifest ON image_versions(manifest);"
    "CREATE TABLE image_uploads (id TEXT PRIMARY KEY, "
    "image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE, "
    "manifest TEXT NOT NULL, created_by TEXT, created_at TEXT NOT NULL, "
    "expires_ms INTEGER NOT NULL);"
    "CREATE INDEX image_uploads_manifest ON image_uploads(image_id, manifest);",

    /* 5: client agents: one session per used boot ticket (the nonce is
     * unique, so a ticket works once), holding the host token's hash */
    "CREATE TABLE agent_sessions (tid TEXT PRIMARY KEY, "
    "host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE, "
    "nonce TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, expires_ms INTEGER NOT NULL, "
    "created_at TEXT NOT NULL);"
    "CREATE INDEX agent_sessions_host ON agent_sessions(host_id);",

    /* 6: an image's post-sync script (postsync:N) */
    "ALTER TABLE images ADD COLUMN postsync TEXT;",

    /* 7: captured versions wait for a decision.  A version is 'candidate'
     * (committed by a client agent, waiting for an operator) or 'released';
     * every version made before this is released.  auto_promote releases
     * an image's captures at once (NULL, as a store write that leaves the
     * field out makes it, reads as false).  'latest' is the highest released
     * version from now on: put it right where a hand had moved it. */
    "ALTER TABLE images ADD COLUMN auto_promote INTEGER DEFAULT 0;"
    "ALTER TABLE image_versions ADD COLUMN state TEXT NOT NULL DEFAULT 'released' "
    "CHECK (state IN ('candidate', 'released'));"
    "ALTER TABLE image_versions ADD COLUMN promoted_by TEXT;"
    "ALTER TABLE image_versions ADD COLUMN promoted_at TEXT;"
    "DELETE FROM image_tags WHERE tag = 'latest';"
    "INSERT INTO image_tags (image_id, tag, version) "
    "SELECT image_id, 'latest', max(version) FROM image_versions GROUP BY image_id;",

    /* 8: the boot chain's identity.  A task is claimed by the agent session
     * that runs it.  Used tickets' nonces get a table of their own, kept
     * until the ticket expires, whatever happens to the session or the host
     * (a deleted host must not free its used tickets).  A session knows when
     * it began (a new boot of its host ends it), and none lives longer than
     * a boot session: the week-long tokens of before are cut to 4 hours. */
    "ALTER TABLE tasks ADD COLUMN claim TEXT;"
    "ALTER TABLE agent_sessions ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE agent_nonces (nonce TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL);"
    "INSERT INTO agent_nonces SELECT nonce, " NOW_MS " + 3600000 FROM agent_sessions;"
    "UPDATE agent_sessions SET expires_ms = min(expires_ms, " NOW_MS " + 14400000);",

    /* 9: a version number is never given twice, even after the newest
     * version was deleted: "promote 4" must mean what was reviewed as 4 */
    "ALTER TABLE images ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;"
    "UPDATE images SET last_version = (SELECT coalesce(max(version), 0) FROM "
    "image_versions v WHERE v.image_id = images.id);",

    /* 10: browser sessions of the console: the hash of a cookie's secret,
     * bound to the token it was traded for (revoking the token ends them) */
    "CREATE TABLE web_sessions (hash TEXT PRIMARY KEY, "
    "token_tid TEXT NOT NULL REFERENCES tokens(tid) ON DELETE CASCADE, "
    "created_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "CREATE INDEX web_sessions_token ON web_sessions(token_tid);",

    /* 11: what the web console reads (issue 10).  A version's new_bytes:
     * the stored bytes of its chunks that no earlier version of the image
     * had, worked out at commit (NULL for older versions until the image
     * store fills it in at start).  A task's updated_at: its last change,
     * for a host's activity.  Tasks by state, so running and waiting jobs,
     * busy and failed hosts are counted without reading every task ever
     * run; a host's tasks by their last change, so its last finished step
     * is found without sorting its history. */
    "ALTER TABLE image_versions ADD COLUMN new_bytes INTEGER;"
    "ALTER TABLE tasks ADD COLUMN updated_at TEXT;"
    "CREATE INDEX tasks_state ON tasks(state, host_id, job_id);"
    "CREATE INDEX tasks_last ON tasks(host_id, coalesce(updated_at, finished_at));",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int bh__sq_migrate(struct sq *q, struct bh_err *err)
{
    struct sq_conn *c = &q->writer;
    sqlite3_stmt *st = bh__sq_prepare(c, "PRAGMA user_version", err);
    if (!st)
        return BH_EIO;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    if (version > NMIGRATIONS)
        return bh_err_set(err, BH_EUNSUPP, NULL,
                          "database schema version %d is newer than this bootherd (%d); "
                          "upgrade bootherd",
                          version, NMIGRATIONS);
    for (int v = version; v < NMIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
        int rc = bh__sq_exec(c, "BEGIN IMMEDIATE", err);
        if (rc)
            return rc;
        if ((rc = bh__sq_exec(c, migrations[v], err)) || (rc = bh__sq_exec(c, bump, err)) ||
            (rc = bh__sq_exec(c, "COMMIT", err))) {
            bh__sq_exec(c, "ROLLBACK", NULL);
            return rc;
        }
    }
    q->schema_version = NMIGRATIONS;
    return 0;
}
