#!/bin/bash
# crash.sh - kill -9 the daemon at random moments under a load of parallel
# writers, five times, restarting on the same data directory: the database
# stays intact, every write acknowledged with 201 is there, and the event log
# agrees with the revision.  Then SIGTERM under load: exit 0, nothing lost.
source "$(dirname "$0")/../lib/harness.sh"

WRITERS=8
PER_WRITER=300
ROUNDS=5

W=$(tmpdir)
D=$W/data
bh_start "$D" || { nok "daemon starts"; finish; exit 1; }

DB=$D/bootherd.db
AUTH="Authorization: Bearer $BH_TOKEN"

# writer ROUND N: one curl making PER_WRITER creates; logs "STATUS MAC" lines
writer() {
    local round=$1 n=$2 j mac args=()
    for j in $(seq 1 $PER_WRITER); do
        printf -v mac '02:%02x:%02x:00:%02x:%02x' "$round" "$n" $((j / 256)) $((j % 256))
        [ "$j" -gt 1 ] && args+=(--next)
        args+=(-s -o /dev/null --max-time 10 -w "%{http_code} $mac\n" -H "$AUTH"
            -H 'Content-Type: application/json' -d "{\"mac\":\"$mac\"}" "$BH_URL/api/v1/hosts")
    done
    curl "${args[@]}" >"$W/w.$round.$n" 2>/dev/null
}

start_load() { # ROUND: writers in the background; PIDs in LOAD
    local n
    LOAD=()
    for n in $(seq 1 $WRITERS); do
        writer "$1" "$n" &
        LOAD+=($!)
    done
}

acked() { cat "$W"/w.* 2>/dev/null | awk '$1 == 201 {print $2}' | sort -u; }

present() { # every host MAC the API lists
    local off=0 page n
    while :; do
        page=$(curl -s -H "$AUTH" "$BH_URL/api/v1/hosts?limit=1000&after=$off&sort=mac")
        jq -r '.items[].mac' <<<"$page"
        n=$(jq -r '.next // empty' <<<"$page")
        [ -n "$n" ] || break
        off=$n
    done
}

# verify LABEL: the restarted daemon serves an intact database holding every
# acknowledged write, and its revision matches the event log
verify() {
    local label=$1 ic missing rev_api rev_ev rev_meta
    ic=$(sqlite3 "$DB" 'PRAGMA integrity_check' 2>&1)
    eq "$label: integrity_check" ok "$ic"
    missing=$(comm -23 <(acked) <(present | sort -u) | head -5)
    eq "$label: every acknowledged MAC ($(acked | wc -l)) is readable" "" "$missing"
    rev_api=$(curl -s "$BH_URL/ready" | jq -r .revision)
    rev_ev=$(sqlite3 "$DB" 'SELECT max(rev) FROM events' 2>&1)
    rev_meta=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'revision'" 2>&1)
    eq "$label: /ready revision matches the event log" "$rev_ev" "$rev_api"
    eq "$label: /ready revision matches the stored revision" "$rev_meta" "$rev_api"
    api GET "/api/v1/hosts?limit=1&count=true"
    eq "$label: the host count matches the event log" \
        "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE kind = 'host' AND type = 'created'")" \
        "$(jq -r .total <<<"$BODY")"
}

# wait_flowing: until the revision moves (the writers are committing), 10 s max
wait_flowing() {
    local r0 i
    r0=$(curl -s "$BH_URL/ready" | jq -r .revision)
    for i in $(seq 1 200); do
        [ "$(curl -s "$BH_URL/ready" | jq -r .revision)" -gt "$r0" ] && return 0
        sleep 0.05
    done
    return 1
}

for round in $(seq 1 $ROUNDS); do
    before=$(acked | wc -l)
    start_load "$round"
    wait_flowing
    delay=$(printf '0.%02d' $((RANDOM % 46 + 5)))
    sleep "$delay"
    kill -9 "$BH_PID"
    wait "$BH_PID" 2>/dev/null
    BH_PID=
    wait "${LOAD[@]}"
    n=$(($(acked | wc -l) - before))
    echo "# round $round: killed ${delay}s into the load, $n writes acknowledged"
    check "round $round: the kill landed while writes were being acknowledged" test "$n" -gt 0 -a "$n" -lt $((WRITERS * PER_WRITER))
    bh_start "$D" || { nok "round $round: daemon restarts after kill -9"; tail -20 "$BH_LOG"; break; }
    ok "round $round: daemon restarts after kill -9"
    verify "round $round"
done

# ---- SIGTERM under load ---------------------------------------------------

before=$(acked | wc -l)
start_load 9
wait_flowing
sleep 0.2
kill -TERM "$BH_PID"
rc=0
wait "$BH_PID" || rc=$?
BH_PID=
eq "SIGTERM under load: exit code 0" 0 "$rc"
wait "${LOAD[@]}"
echo "# SIGTERM: $(($(acked | wc -l) - before)) writes acknowledged"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$BH_LOG"; then
    nok "SIGTERM under load: no sanitizer findings"; diag "$(grep -A30 -E 'Sanitizer|runtime error' "$BH_LOG" | head -40)"
fi
grep -q 'msg=stopped' "$BH_LOG" && ok "SIGTERM under load: logged a clean stop" || nok "SIGTERM under load: logged a clean stop"
bh_start "$D" || { nok "daemon restarts after SIGTERM"; finish; exit 1; }
verify "after SIGTERM"
api POST /api/v1/hosts '{"mac":"02:fe:fe:fe:fe:fe"}'
eq "writes work after all that" 201 "$STATUS"

finish
