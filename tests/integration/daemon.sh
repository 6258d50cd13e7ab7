#!/bin/bash
# daemon.sh - the daemon's life: init (idempotent, --reset-admin), the
# config file (errors name FILE:LINE, flags override it), one serve per
# data directory (a second one refuses and touches nothing), SIGHUP reload,
# SIGTERM, logfmt logs, dropping root, /metrics and /ready.
source "$(dirname "$0")/../lib/harness.sh"

T=$(tmpdir)

# poll_log PATTERN [SECONDS]: until an extended regexp shows up in BH_LOG
poll_log() {
    local i
    for i in $(seq 1 $((${2:-10} * 20))); do
        grep -qE -- "$1" "$BH_LOG" && return 0
        sleep 0.05
    done
    return 1
}
log_has() { # NAME PATTERN
    if poll_log "$2"; then ok "$1"; else nok "$1"; diag "no line matching: $2"$'\n'"$(tail -5 "$BH_LOG")"; fi
}
whoami() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$BH_URL/api/v1/whoami"; }
uids() { awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$1/status"; }

# ---- init -----------------------------------------------------------------

D=$T/data
out=$("$BH" init --data "$D" 2>&1)
eq "init: exit 0" 0 $?
contains "init: says where the token is" "$D/admin.token" "$out"
TOK1=$(cat "$D/admin.token")
check "init: a token in the file" grep -qE '^bh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$' "$D/admin.token"
eq "init: admin.token is 0600" 600 "$(stat -c %a "$D/admin.token")"
out=$("$BH" init --data "$D" 2>&1)
eq "init again: exit 0" 0 $?
contains "init again: already initialized" "already initialized" "$out"
eq "init again: the token is kept" "$TOK1" "$(cat "$D/admin.token")"
eq "init again: still one admin token in the database" 1 "$(sqlite3 "$D/bootherd.db" "SELECT count(*) FROM tokens WHERE name = 'admin'")"
eq "init again: no new revision" 1 "$(sqlite3 "$D/bootherd.db" "SELECT value FROM meta WHERE key = 'revision'")"

bh_start "$D" || { nok "daemon starts"; finish; exit 1; }
eq "the init token works" 200 "$(whoami "$TOK1")"

out=$("$BH" init --data "$D" --reset-admin 2>&1)
eq "init --reset-admin: exit 0 (daemon running)" 0 $?
TOK2=$(cat "$D/admin.token")
check "init --reset-admin: a new token" test "$TOK1" != "$TOK2"
eq "init --reset-admin: still 0600" 600 "$(stat -c %a "$D/admin.token")"
eq "init --reset-admin: the new token works" 200 "$(whoami "$TOK2")"
eq "init --reset-admin: the old token is rejected" 401 "$(whoami "$TOK1")"
api GET /api/v1/whoami "" "$TOK2"
eq "init --reset-admin: the new token is the admin" "admin admin" "$(jq -r '"\(.name) \(.role)"' <<<"$BODY")"
out=$("$BH" init --data "$D" bogus 2>&1)
eq "init with a stray argument: exit 2" 2 $?

# ---- one serve per data directory -------------------------------------------

URL1=$(cat "$D/http.url")
out=$(timeout 10 "$BH" serve --data "$D" --http 127.0.0.1:0 2>&1)
rc=$?
eq "a second serve on the same data directory: exit 1" 1 "$rc"
contains "  ... it says another serve runs there, and which" "another bootherd serve runs on this data directory" "$out"
contains "  ... naming its pid" "pid=$BH_PID" "$out"
eq "  ... the first one's http.url is left as it was" "$URL1" "$(cat "$D/http.url" 2>/dev/null)"
check "  ... and its http.addr" test -s "$D/http.addr"
eq "  ... and the first one still answers" 200 "$(whoami "$TOK2")"

# ---- /ready and /metrics --------------------------------------------------

BH_TOKEN=$TOK2
api GET /ready "" ""
eq "/ready: 200" 200 "$STATUS"
check "/ready: a revision" jq -e '.status == "ready" and (.revision | type == "number")' <<<"$BODY"
# writes by another process (init --reset-admin) show up after this
# daemon's next commit, which continues from the database's revision
api POST /api/v1/rooms '{"name":"after-reset"}'
api GET /ready "" ""
REV=$(jq -r .revision <<<"$BODY")
eq "/ready: the revision follows the writes of init --reset-admin" "$(sqlite3 "$D/bootherd.db" "SELECT max(rev) FROM events")" "$REV"

metric() { # NAME_AND_LABELS: its value in the last scrape (METRICS)
    awk -v k="$1" '$1 == k {print $2}' <<<"$METRICS"
}
scrape() { METRICS=$(curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/metrics"); }

scrape
c0=$(metric 'bootherd_store_operations_total{op="create"}')
l0=$(metric 'bootherd_http_requests_total{method="GET",route="/api/v1/rooms",status="200"}')
for _ in 1 2 3; do api GET /api/v1/rooms; done
api POST /api/v1/rooms '{"name":"m1"}'
api POST /api/v1/rooms '{"name":"m2"}'
api GET /api/v1/rooms/nope
api GET /no/such/route
api GET /metrics "" "$BH_TOKEN"
eq "/metrics: 200" 200 "$STATUS"
contains "/metrics: Prometheus text" "text/plain; version=0.0.4" "$(grep -i '^Content-Type:' <<<"$HDRS")"
METRICS=$BODY
eq "requests_total by route and status: GET rooms 200" $((${l0:-0} + 3)) \
    "$(metric 'bootherd_http_requests_total{method="GET",route="/api/v1/rooms",status="200"}')"
eq "requests_total: POST rooms 201 (after-reset, and two more)" 3 "$(metric 'bootherd_http_requests_total{method="POST",route="/api/v1/rooms",status="201"}')"
eq "requests_total: 404 on a route with a key" 1 "$(metric 'bootherd_http_requests_total{method="GET",route="/api/v1/rooms/{key}",status="404"}')"
eq "requests_total: unmatched paths" 1 "$(metric 'bootherd_http_requests_total{method="any",route="unmatched",status="404"}')"
contains "latency histogram: TYPE" "# TYPE bootherd_http_request_duration_seconds histogram" "$METRICS"
eq "latency histogram: +Inf bucket = count" \
    "$(metric 'bootherd_http_request_duration_seconds_count{method="POST",route="/api/v1/rooms"}')" \
    "$(metric 'bootherd_http_request_duration_seconds_bucket{method="POST",route="/api/v1/rooms",le="+Inf"}')"
eq "latency histogram: count" 3 "$(metric 'bootherd_http_request_duration_seconds_count{method="POST",route="/api/v1/rooms"}')"
check "latency histogram: sum > 0" awk -v v="$(metric 'bootherd_http_request_duration_seconds_sum{method="POST",route="/api/v1/rooms"}')" 'BEGIN {exit !(v > 0)}'
check "latency histogram: buckets are cumulative" bash -c "grep '^bootherd_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/rooms\",' <<<'$METRICS' | awk '{ if (\$2 < prev) exit 1; prev = \$2; n++ } END { exit !(n >= 5) }'"
eq "store_operations_total{op=create} counts the creates" $((${c0:-0} + 2)) "$(metric 'bootherd_store_operations_total{op="create"}')"
check "store_operations_total{op=list}" test "$(metric 'bootherd_store_operations_total{op="list"}')" -ge 3
check "process_resident_memory_bytes > 1 MB" test "$(metric process_resident_memory_bytes)" -gt 1000000
eq "bootherd_store_revision is the revision" "$(curl -s "$BH_URL/ready" | jq -r .revision)" "$(metric bootherd_store_revision)"
check "every sample line is NAME{labels} VALUE" bash -c "grep -v '^#' <<<'$METRICS' | awk 'NF != 2 || \$1 !~ /^[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})?\$/ { print; bad = 1 } END { exit bad }'"

# ---- privileges -----------------------------------------------------------

if [ "$(id -u)" == 0 ]; then
    u=$(uids "$BH_PID")
    if [ -n "$u" ] && ! grep -qw 0 <<<"$u"; then ok "running as root: the daemon gave up uid 0 ($u)"; else nok "running as root: the daemon gave up uid 0"; diag "Uid: $u"; fi
    check "running as root: gid 0 too" bash -c "! awk '/^Gid:/ {print \$2, \$3, \$4, \$5}' /proc/$BH_PID/status | grep -qw 0"
    log_has "running as root: logs the drop" 'msg="dropped privileges" user=[a-z]+ uid=[1-9]'
    api POST /api/v1/rooms '{"name":"after-drop"}'
    eq "running as root: still writes after the drop" 201 "$STATUS"
else
    ok "running as root: the daemon gave up uid 0 # SKIP not root"
fi

# ---- SIGTERM and logfmt ---------------------------------------------------

bh_stop
log_has "SIGTERM: logged" 'level=info msg="shutting down" signal='
log_has "SIGTERM: stopped cleanly" 'level=info msg=stopped'
check "SIGTERM: http.addr removed" test ! -e "$D/http.addr"
LOGFMT='^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z level=(debug|info|warn|error) msg=("[^"]*"|[^ "]+)( [a-z_]+=("([^"\\]|\\.)*"|[^ "]*))*$'
logfmt() { # NAME FILE: every line is logfmt; print the ones that are not
    local badlines
    badlines=$(grep -Ev "$LOGFMT" "$2")
    if [ -s "$2" ] && [ -z "$badlines" ]; then ok "$1"; else nok "$1"; diag "${badlines:-empty log}"; fi
}
logfmt "logs are logfmt: every line starts ts= and has level= and msg=" "$BH_LOG"

# ---- the config file ------------------------------------------------------

# serve_fails NAME CONF NEEDLE: serve exits 2 at once, stderr names NEEDLE
serve_fails() {
    local name=$1 needle=$3 rc err
    err=$(timeout 10 "$BH" serve --data "$D" --config "$2" --http 127.0.0.1:0 2>&1 >/dev/null)
    rc=$?
    eq "$name: exit 2" 2 "$rc"
    contains "$name: names the problem" "$needle" "$err"
    check "$name: did not start" test ! -e "$D/http.addr"
}
C=$T/bootherd.conf
printf '[http]\nthreads = 2\nbogus = 1\n' >"$C"
serve_fails "unknown key" "$C" "$C:3: unknown key 'bogus' in [http]"
printf '# comment\n[store]\nreaders = 2\n[frobs]\nx = 1\n' >"$C"
serve_fails "unknown section" "$C" "$C:4: unknown section [frobs]"
printf '[log]\nlevel = loud\n' >"$C"
serve_fails "bad value" "$C" "$C:2: level must be debug, info, warn or error, got 'loud'"
printf '[http]\nthreads = 0\n' >"$C"
serve_fails "out of range" "$C" "$C:2: threads must be an integer from 1 to 256"
printf 'level = debug\n' >"$C"
serve_fails "key outside a section" "$C" "$C:1: key 'level' outside of any [section]"
err=$(timeout 10 "$BH" serve --data "$D" --config "$T/none.conf" --http 127.0.0.1:0 2>&1)
eq "a missing config file: exit 2" 2 $?
contains "a missing config file: named" "$T/none.conf" "$err"
err=$(timeout 10 "$BH" serve --data "$D" --http 127.0.0.1:0 --log-level chatty 2>&1)
eq "a bad --log-level: exit 2" 2 $?

# flags beat the file: listen and level are set in both
printf '[http]\nlisten = 127.0.0.1:1\n[log]\nlevel = debug\n' >"$C"
BH_LOG_FILE=$T/flags.log bh_start "$D" --config "$C" --log-level warn || nok "daemon starts with --config and flags"
check "--http beats [http] listen" test "${BH_URL##*:}" != 1
curl -s "$BH_URL/health" >/dev/null
sleep 0.2
eq "--log-level warn beats [log] level = debug: no info or debug lines" "" "$(grep -E 'level=(info|debug)' "$BH_LOG")"
bh_stop

# ---- SIGHUP ---------------------------------------------------------------

printf '[log]\nlevel = info\n' >"$C"
BH_LOG_FILE=$T/hup.log bh_start "$D" --config "$C" || nok "daemon starts for the HUP test"
curl -s "$BH_URL/health" >/dev/null
sleep 0.2
eq "level=info: requests are not logged" "" "$(grep 'level=debug' "$BH_LOG")"
printf '[log]\nlevel = debug\n' >"$C"
kill -HUP "$BH_PID"
log_has "HUP: reloaded" "level=info msg=\"config reloaded\" file=$C"
curl -s -o /dev/null "$BH_URL/api/v1/openapi.json"
log_has "HUP to debug: requests are logged as debug http lines" \
    'level=debug msg=http method=GET path=/api/v1/openapi.json status=200 ms=[0-9.]+ remote=127.0.0.1'
printf '[log]\nlevel = loud\n' >"$C"
kill -HUP "$BH_PID"
log_has "HUP with a broken file: an error line naming it" \
    "level=error msg=\"config reload failed; keeping the running config\" err=\"$C:2: level must be"
eq "HUP with a broken file: still running" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$BH_URL/health")"
curl -s -o /dev/null "$BH_URL/api/v1"
log_has "HUP with a broken file: the running level (debug) is kept" 'level=debug msg=http method=GET path=/api/v1 status=200'
printf '[log]\nlevel = info\n[http]\nthreads = 3\n' >"$C"
kill -HUP "$BH_PID"
log_has "HUP with a change needing a restart: a warning naming it" 'level=warn msg="config reloaded; these changes need a restart" .*keys=http.threads'
n=$(grep -c 'level=debug' "$BH_LOG")
curl -s -o /dev/null "$BH_URL/api/v1"
sleep 0.2
eq "HUP back to info: no more debug lines" "$n" "$(grep -c 'level=debug' "$BH_LOG")"
bh_stop
logfmt "logs are logfmt (HUP run, with debug, warn and error lines)" "$BH_LOG"

# ---- running as root, more --------------------------------------------------

if [ "$(id -u)" == 0 ]; then
    err=$(timeout 10 "$BH" serve --data "$D" --http 127.0.0.1:0 --user no-such-user-here 2>&1)
    eq "--user no-such-user: exit 1" 1 $?
    contains "--user no-such-user: named" "no user 'no-such-user-here' exists" "$err"
    err=$(timeout 10 "$BH" serve --data "$D" --http 127.0.0.1:0 --user root 2>&1)
    eq "--user root: refused" 1 $?
    contains "--user root: says why" "must not be root" "$err"
    # serve.c: "keeps reaching its files after dropping root even when a
    # parent directory is closed to the unprivileged user"
    P=$T/closed
    mkdir -m 700 "$P"
    "$BH" init --data "$P/data" >/dev/null
    if BH_LOG_FILE=$T/closed.log bh_start "$P/data"; then
        ok "data dir under a parent closed to the service user: starts"
        api POST /api/v1/rooms '{"name":"closed"}'
        eq "data dir under a closed parent: writes work" 201 "$STATUS"
        bh_stop
    else
        nok "data dir under a parent closed to the service user: starts"
        diag "$(tail -3 "$T/closed.log")"
        kill -9 "$BH_PID" 2>/dev/null
        BH_PID=
    fi
fi

# ---- the boot services' counters in /metrics -------------------------------
# one list (boot/tftp.h BH_TFTP_STATS) makes the struct, these samples and
# the tftpd log line: a real TFTP read moves them
M=$(tmpdir)
"$BH" init --data "$M/data" >/dev/null
TPORT=$((20000 + RANDOM % 10000))
printf '[tftp]\nlisten = 127.0.0.1:%s\n' "$TPORT" >>"$M/data/bootherd.conf"
if BH_LOG_FILE=$M/log bh_start "$M/data"; then
    echo "hello over tftp" >"$M/data/boot/hello.txt"
    got=$(curl -s --max-time 5 "tftp://127.0.0.1:$TPORT/hello.txt")
    eq "a TFTP read from serve's boot root" "hello over tftp" "$got"
    curl -s --max-time 5 -o /dev/null "tftp://127.0.0.1:$TPORT/missing.txt"
    scrape
    contains "/metrics: tftp requests counted" "bootherd_tftp_requests_total 2" "$METRICS"
    contains "/metrics: the completed transfer" 'bootherd_tftp_transfers_total{result="completed"} 1' "$METRICS"
    contains "/metrics: the refused one" 'bootherd_tftp_transfers_total{result="refused"} 1' "$METRICS"
    eq "/metrics: one TYPE line for the labelled family" 1 \
        "$(grep -c '^# TYPE bootherd_tftp_transfers_total counter$' <<<"$METRICS")"
    contains "/metrics: HELP before the family" "# HELP bootherd_tftp_requests_total TFTP read requests." "$METRICS"
    bh_stop
else
    nok "serve with TFTP on loopback starts"; diag "$(tail -5 "$M/log")"
fi

finish
