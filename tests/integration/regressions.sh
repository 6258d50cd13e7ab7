#!/bin/bash
# regressions.sh - one check per bug found in review, so none comes back.
source "$(dirname "$0")/../lib/harness.sh"

T=$(tmpdir)
mkdir -p "$T/data"
"$BH" init --data "$T/data" >/dev/null
printf '[store]\nreaders = 1\nevents_keep = 1000\n[http]\nthreads = 4\n' >"$T/data/bootherd.conf"
bh_start "$T/data"

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }

# -- a pruned "since" used to deadlock the reader pool (readers=1) ----------
api POST /api/v1/rooms '{"name":"r1"}'
cat >"$T/patch.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("PATCH", "/api/v1/rooms/r1",
    {["Authorization"] = "Bearer $BH_TOKEN", ["Content-Type"] = "application/json"},
    '{"description":"d' .. n .. '"}')
end
LUA
for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(revision)" -gt 1400 ] && break
    wrk -t1 -c2 -d2s -s "$T/patch.lua" "$BH_URL" >/dev/null 2>&1
done
check "more than 1,300 writes made" test "$(revision)" -gt 1300
expect "since=0 after pruning: 410" 410 GET "/api/v1/events?since=0"
cpids=()
for i in $(seq 16); do
    curl -s -m 10 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $BH_TOKEN" \
        "$BH_URL/api/v1/events?since=0" >>"$T/codes" &
    cpids+=($!)
done
wait "${cpids[@]}"
eq "16 parallel gone requests all answered 410" 16 "$(grep -c 410 "$T/codes")"
check "the daemon still answers after them" curl -sf -m 5 "$BH_URL/ready"
check "and still reads objects" curl -sf -m 5 -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/rooms/r1"

# -- since must not be ahead of the current revision ---------------------
expect "since ahead of the revision: 400" 400 GET "/api/v1/events?since=$(( $(revision) + 5 ))"
expect "since = INT64_MAX: 400" 400 GET "/api/v1/events?since=9223372036854775807"

# -- a token that expires at the epoch has expired -------------------------
api POST /api/v1/tokens '{"name":"epoch","role":"viewer","expires_at":"1970-01-01T00:00:00Z"}'
EPOCH=$(jq -r .token <<<"$BODY")
expect "token expiring at the epoch is refused" 401 GET /api/v1/whoami "" "$EPOCH"

# -- ambiguous keys: host names that read as MACs, token names like ids ----
expect "host name that reads as a MAC: 422" 422 POST /api/v1/hosts '{"mac":"00:11:22:33:44:55","name":"001122334455"}'
expect "token name like a token id: 422" 422 POST /api/v1/tokens '{"name":"0123456789ab","role":"viewer"}'

# -- operators page through the audit log without token records -----------
OP=$(mktoken op operator)
api POST /api/v1/rooms '{"name":"r2"}'
mktoken t1 viewer >/dev/null
mktoken t2 viewer >/dev/null
mktoken t3 viewer >/dev/null
api GET "/api/v1/audit?limit=3" "" "$OP"
eq "operator audit page is full" 3 "$(jq '.items | length' <<<"$BODY")"
eq "operator audit page has no token records" 0 "$(jq '[.items[] | select(.kind == "token")] | length' <<<"$BODY")"
check "operator audit page links to the next one" jq -e '.next | tonumber > 0' <<<"$BODY"

# -- If-Match compares strongly, and needs the object ----------------------
api GET /api/v1/rooms/r2
ETAG=$(grep -i '^etag:' <<<"$HDRS" | cut -d' ' -f2)
expect "weak If-Match never matches: 412" 412 PATCH /api/v1/rooms/r2 '{"description":"x"}' "$BH_TOKEN" -H "If-Match: W/$ETAG"
expect "strong If-Match matches" 200 PATCH /api/v1/rooms/r2 '{"description":"x"}' "$BH_TOKEN" -H "If-Match: $ETAG"
expect "If-Match on a missing object: 412" 412 PATCH /api/v1/rooms/nope '{"description":"x"}' "$BH_TOKEN" -H 'If-Match: "3"'
expect "If-Match * on a missing object: 404" 404 PATCH /api/v1/rooms/nope '{"description":"x"}' "$BH_TOKEN" -H 'If-Match: *'

# -- files stay with their owners when started as root ---------------------
if [ "$(id -u)" -eq 0 ]; then
    eq "admin.token stays root's" "root 600" "$(stat -c '%U %a' "$T/data/admin.token")"
    eq "the database belongs to the service user" bootherd "$(stat -c %U "$T/data/bootherd.db")"
fi
bh_stop

# -- SIGHUP re-reads the same file when --data was relative -----------------
mkdir -p "$T/rel"
"$BH" init --data "$T/rel/d" >/dev/null
printf '[log]\nlevel = debug\n' >"$T/rel/d/bootherd.conf"
(cd "$T/rel" && exec "$BH" serve --data ./d --http 127.0.0.1:0 >"$T/rel.log" 2>&1) &
RP=$!
_PIDS+=("$RP")
for _ in $(seq 100); do [ -s "$T/rel/d/http.addr" ] && break; sleep 0.05; done
URL="http://$(cat "$T/rel/d/http.addr")"
kill -HUP "$RP"
sleep 0.3
curl -s "$URL/health" >/dev/null
sleep 0.2
contains "reload found the same config file" "config reloaded" "$(cat "$T/rel.log")"
check "no restart warning for an unchanged file" bash -c "! grep -q 'need a restart' '$T/rel.log'"
check "debug logging still on after HUP" grep -q 'msg=http .*path=/health' "$T/rel.log"
kill -TERM "$RP"
wait "$RP"
eq "relative --data daemon exits 0" 0 $?

finish
