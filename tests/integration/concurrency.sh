#!/bin/bash
# concurrency.sh - 50 parallel writers: (a) distinct creates all land,
# (b) concurrent PATCHes of different labels of one host lose nothing,
# (c) read-modify-write with If-Match on one counter never double-counts.
# Every part checks the revision grew by exactly the acknowledged writes.
source "$(dirname "$0")/../lib/harness.sh"

WRITERS=50
bh_start || { nok "daemon starts"; finish; exit 1; }
W=$(tmpdir)
_DIRS+=("$W")

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }
AUTH="Authorization: Bearer $BH_TOKEN"
CT="Content-Type: application/json"

# run_writers FN: FN 1..WRITERS in parallel, wait for all
run_writers() {
    local fn=$1 i pids=()
    for i in $(seq 1 $WRITERS); do
        "$fn" "$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
}

# count STATUS FILES...: how many lines equal STATUS
count() {
    local s=$1
    shift
    cat "$@" | grep -cx "$s"
}

# ---- (a) 50 writers x 20 distinct hosts -----------------------------------

mac_of() { printf '02:%02x:00:00:00:%02x' "$1" "$2"; }

creator() { # one curl, 20 sequential creates on a kept-alive connection
    local i=$1 j args=()
    for j in $(seq 1 20); do
        [ "$j" -gt 1 ] && args+=(--next)
        args+=(-s -o /dev/null -w '%{http_code}\n' -H "$AUTH" -H "$CT"
            -d "{\"mac\":\"$(mac_of "$i" "$j")\",\"labels\":{\"writer\":\"w$i\"}}" "$BH_URL/api/v1/hosts")
    done
    curl "${args[@]}" >"$W/a.$i"
}

r0=$(revision)
t0=$(date +%s.%N)
run_writers creator
echo "# (a) took $(echo "$(date +%s.%N) - $t0" | bc) s"
eq "(a) every create answered 201" 1000 "$(count 201 "$W"/a.*)"
eq "(a) nothing but 201" 0 "$(cat "$W"/a.* | grep -cvx 201)"
api GET "/api/v1/hosts?limit=1&count=true"
eq "(a) the server counts 1000 hosts" 1000 "$(jq -r .total <<<"$BODY")"
have=$(for off in 0 500; do
    curl -s -H "$AUTH" "$BH_URL/api/v1/hosts?limit=500&offset=$off" | jq -r '.items[].mac'
done | sort)
want=$(for i in $(seq 1 $WRITERS); do for j in $(seq 1 20); do mac_of "$i" "$j"; echo; done; done | sort)
eq "(a) exactly the 1000 MACs written" "$want" "$have"
eq "(a) revision grew by exactly 1000" $((r0 + 1000)) "$(revision)"
api GET "/api/v1/hosts?selector=writer%3Dw17&count=true&limit=1"
eq "(a) each writer's 20 hosts carry its label" 20 "$(jq -r .total <<<"$BODY")"

# ---- (b) 50 writers x 10 PATCHes of their own label on one host -----------

api POST /api/v1/hosts '{"mac":"02:ff:00:00:00:01","name":"shared"}'
eq "(b) shared host created" 201 "$STATUS"

patcher() {
    local i=$1 j args=()
    for j in $(seq 1 10); do
        [ "$j" -gt 1 ] && args+=(--next)
        args+=(-s -o /dev/null -w "%{http_code} v$j\n" -X PATCH -H "$AUTH" -H "$CT"
            -d "{\"labels\":{\"w$i\":\"v$j\"}}" "$BH_URL/api/v1/hosts/shared")
    done
    curl "${args[@]}" >"$W/b.$i"
}

r0=$(revision)
t0=$(date +%s.%N)
run_writers patcher
echo "# (b) took $(echo "$(date +%s.%N) - $t0" | bc) s"
ok200=$(cat "$W"/b.* | grep -c '^200 ')
eq "(b) every PATCH without If-Match answered 200" 500 "$ok200"
other=$(cat "$W"/b.* | grep -v '^200 ' | sort | uniq -c | head -5)
[ -z "$other" ] || diag "other answers:"$'\n'"$other"
api GET /api/v1/hosts/shared
labels=$BODY
lost=""
for i in $(seq 1 $WRITERS); do
    last=$(grep '^200 ' "$W/b.$i" | tail -1 | cut -d' ' -f2)
    got=$(jq -r --arg k "w$i" '.labels[$k] // "missing"' <<<"$labels")
    [ "$got" == "${last:-missing}" ] || lost+="w$i: acknowledged ${last:-nothing}, holds $got; "
done
eq "(b) the host holds every writer's last acknowledged value" "" "$lost"
eq "(b) 50 labels, no more" 50 "$(jq '.labels | length' <<<"$labels")"
eq "(b) revision grew by exactly the acknowledged PATCHes" $((r0 + ok200)) "$(revision)"
api GET "/api/v1/audit?kind=host&key=02:ff:00:00:00:01&limit=1000"
eq "(b) one audit record per acknowledged PATCH (+ the create)" $((ok200 + 1)) "$(jq '.items | length' <<<"$BODY")"

# ---- (c) read-modify-write of one counter with If-Match -------------------

api POST /api/v1/hosts '{"mac":"02:ff:00:00:00:02","name":"counter","labels":{"n":"0"}}'
eq "(c) counter host created" 201 "$STATUS"

# each writer wants 2 increments, giving up after 12 attempts
incrementer() {
    local i=$1 tries=0 done_=0 resp etag n st
    : >"$W/c.$i"
    while [ $done_ -lt 2 ] && [ $tries -lt 12 ]; do
        tries=$((tries + 1))
        resp=$(curl -s -i -H "$AUTH" "$BH_URL/api/v1/hosts/counter" | tr -d '\r')
        etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' <<<"$resp")
        [[ $resp =~ \"n\":\"([0-9]+)\" ]] || { echo "read-failed" >>"$W/c.$i"; continue; }
        n=${BASH_REMATCH[1]}
        st=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "$AUTH" -H "$CT" -H "If-Match: $etag" \
            -d "{\"labels\":{\"n\":\"$((n + 1))\"}}" "$BH_URL/api/v1/hosts/counter")
        echo "$st" >>"$W/c.$i"
        [ "$st" == 200 ] && done_=$((done_ + 1))
    done
}

r0=$(revision)
t0=$(date +%s.%N)
run_writers incrementer
echo "# (c) took $(echo "$(date +%s.%N) - $t0" | bc) s"
succ=$(count 200 "$W"/c.*)
fails=$(count 412 "$W"/c.*)
echo "# (c) $succ increments, $fails lost races"
eq "(c) every answer is 200 or 412" 0 "$(cat "$W"/c.* | grep -cvxE '200|412')"
check "(c) some increments succeeded" test "$succ" -gt 0
check "(c) the races were real (some 412s)" test "$fails" -gt 0
api GET /api/v1/hosts/counter
eq "(c) the counter equals the successful increments" "$succ" "$(jq -r .labels.n <<<"$BODY")"
eq "(c) revision grew by exactly the successful increments" $((r0 + succ)) "$(revision)"

# the daemon is fine afterwards
check "still healthy" curl -sf "$BH_URL/health"
check "no error lines in the log" bash -c "! grep -q 'level=error' '$BH_LOG'"

finish
