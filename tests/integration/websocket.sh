#!/bin/bash
# websocket.sh - the live event stream over WebSocket: the RFC 6455 handshake
# (raw, with curl, and the CLI's client), resume with since=N (exactly the
# events after N, in order, also across more than one batch), refusals (426,
# 400, 401, 410 once the window moved on), viewers see no token events, a
# stream whose token is revoked or changes role, or whose browser session
# logs out or goes idle, is closed with 1008 and gets nothing more, and
# SIGTERM with watchers connected exits 0 promptly.
source "$(dirname "$0")/../lib/harness.sh"

T=$(tmpdir)
# pings every second: a browser session idle for 2 s is seen at the next one
printf '[store]\nevents_keep = 1000\n[http]\nws_ping = 1\nsession_idle = 2\n' >"$T/bootherd.conf"
bh_start "" --config "$T/bootherd.conf" || { nok "daemon starts"; finish; exit 1; }
_DIRS+=("${BH_DATA%/data}")

KEY=dGhlIHNhbXBsZSBub25jZQ== # the sample nonce of RFC 6455 1.3
ACCEPT=s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
revision() { curl -s "$BH_URL/ready" | jq -r .revision; }

# ws_raw FILE SECONDS QUERY [curl args]: a raw handshake with curl; the reply
# (head and frames) goes to FILE; curl gives up after SECONDS
ws_raw() {
    local f=$1 secs=$2 q=$3
    shift 3
    curl -s -i -N --max-time "$secs" -o "$f" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$@" "$BH_URL/api/v1/events$q"
    tr -d '\r' <"$f" | sed '/^$/q' >"$f.head"
}
# frames FILE [close]: the text messages of the server's frames after the
# 101 head; with "close", the close frame's code and reason instead
frames() {
    python3 - "$1" "${2:-text}" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"\r\n\r\n")
p = data[i + 4:] if i >= 0 else b""
while len(p) >= 2:
    op, n, h = p[0] & 0x0F, p[1] & 0x7F, 2
    if p[1] & 0x80:
        sys.exit("server frame is masked")
    if n == 126:
        n, h = int.from_bytes(p[2:4], "big"), 4
    elif n == 127:
        n, h = int.from_bytes(p[2:10], "big"), 10
    if len(p) < h + n:
        break  # cut off by the timeout
    if op == 1 and sys.argv[2] == "text":
        print(p[h:h + n].decode())
    if op == 8 and sys.argv[2] == "close":
        print(int.from_bytes(p[h:h + 2], "big"), p[h + 2:h + n].decode())
    p = p[h + n:]
EOF
}
head_has() { grep -qi "^$1" "$2.head"; }
# close_frame FILE: "CODE REASON" of the server's close frame, or nothing
close_frame() { frames "$1" close; }

# follow NAME TOKEN ARGS...: the CLI following in the background; FOLLOW_PID
follow() {
    local out=$T/$1 tok=$2
    shift 2
    "$BH" --url "$BH_URL" --token "$tok" --json events --follow "$@" >"$out" 2>"$out.err" &
    FOLLOW_PID=$!
    _PIDS+=("$FOLLOW_PID")
}
wait_lines() { # FILE N [SECONDS]
    local i
    for i in $(seq 1 $((${3:-10} * 20))); do
        [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
watchers() { # the open WebSocket connections the daemon reports
    curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/metrics" | awk '$1 == "bootherd_ws_connections" {print $2}'
}
wait_watchers() { # N: until the daemon has N watchers (5 s)
    local i
    for i in $(seq 1 100); do
        [ "$(watchers)" == "$1" ] && return 0
        sleep 0.05
    done
    return 1
}
stop() { # PID...: stop background clients we started
    kill "$@" 2>/dev/null
    wait "$@" 2>/dev/null
}

# a few changes to watch
api POST /api/v1/rooms '{"name":"ws-1"}'
api POST /api/v1/rooms '{"name":"ws-2"}'
api PATCH /api/v1/rooms/ws-1 '{"location":"here"}'
R=$(revision)

# ---- the raw handshake ----------------------------------------------------

ws_raw "$T/raw1" 1 "?since=$((R - 3))" -H "Authorization: Bearer $BH_TOKEN"
check "raw handshake: 101 Switching Protocols" head_has "HTTP/1.1 101" "$T/raw1"
check "raw handshake: Sec-WebSocket-Accept for the RFC 6455 sample key" head_has "Sec-WebSocket-Accept: $ACCEPT\$" "$T/raw1"
check "raw handshake: Upgrade: websocket" head_has "Upgrade: websocket" "$T/raw1"
check "raw handshake: Connection: Upgrade" head_has "Connection: Upgrade" "$T/raw1"
eq "raw: since=N gives exactly the events after N, in order, one per text frame" \
    "$((R - 2)) room ws-1 created|$((R - 1)) room ws-2 created|$R room ws-1 updated" \
    "$(frames "$T/raw1" | jq -r '"\(.rev) \(.kind) \(.key) \(.type)"' | paste -sd'|')"
ws_raw "$T/raw2" 1 "?since=$R&access_token=$BH_TOKEN"
check "raw handshake: the token may come as ?access_token= (browsers)" head_has "HTTP/1.1 101" "$T/raw2"
eq "raw: since=current gives nothing yet" "" "$(frames "$T/raw2")"
ws_raw "$T/raw3" 1 "?since=$((R - 3))&kind=room&key=ws-2" -H "Authorization: Bearer $BH_TOKEN"
eq "raw: kind and key filters" "$((R - 1))" "$(frames "$T/raw3" | jq -r .rev | paste -sd' ')"

# ---- refusals -------------------------------------------------------------

# refused NAME STATUS TYPE CURL-ARGS...: a handshake refused with a problem
refused() {
    local name=$1 want=$2 type=$3 hf bf st
    shift 3
    hf=$T/ref.h bf=$T/ref.b
    st=$(curl -s --max-time 5 -o "$bf" -D "$hf" -w '%{http_code}' "$@")
    eq "$name: HTTP $want" "$want" "$st"
    contains "$name: problem $type" "\"type\":\"urn:bootherd:problem:$type\"" "$(cat "$bf")"
}
U="$BH_URL/api/v1/events?since=0"
A=(-H "Authorization: Bearer $BH_TOKEN")
refused "no Sec-WebSocket-Version" 426 upgrade-required "${A[@]}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H "Sec-WebSocket-Key: $KEY" "$U"
contains "426 says which version" "Sec-WebSocket-Version: 13" "$(tr -d '\r' <"$T/ref.h")"
refused "Sec-WebSocket-Version: 8" 426 upgrade-required "${A[@]}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 8' -H "Sec-WebSocket-Key: $KEY" "$U"
refused "Upgrade without Connection: Upgrade" 426 upgrade-required "${A[@]}" -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$U"
contains "426 names the protocol to upgrade to" "Upgrade: websocket" "$(tr -d '\r' <"$T/ref.h")"
refused "Upgrade: h2c" 426 upgrade-required "${A[@]}" -H 'Connection: Upgrade' -H 'Upgrade: h2c' \
    -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$U"
refused "no Sec-WebSocket-Key" 400 bad-handshake "${A[@]}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' "$U"
refused "a short Sec-WebSocket-Key" 400 bad-handshake "${A[@]}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: c2hvcnQ=' "$U"
refused "no token" 401 unauthenticated -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$U"
refused "a bad since" 400 invalid-query "${A[@]}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$BH_URL/api/v1/events?since=x"
eq "no watcher is left from the refusals" 0 "$(watchers)"

# ---- the CLI's client: live, and resuming ---------------------------------

follow live "$BH_TOKEN"
LIVE=$FOLLOW_PID
follow resume "$BH_TOKEN" --since 0
RESUME=$FOLLOW_PID
wait_watchers 2 || nok "two CLI watchers connect"
R0=$(revision)
for i in 1 2 3 4 5; do api POST /api/v1/images "{\"name\":\"img-$i\"}"; done
api DELETE /api/v1/images/img-3
wait_lines "$T/live" 6 || diag "$(cat "$T/live.err")"
eq "CLI --follow: exactly the new events, in order" "$(seq $((R0 + 1)) $((R0 + 6)) | paste -sd' ')" \
    "$(jq -r .rev "$T/live" | paste -sd' ')"
eq "CLI --follow: the last one is the delete" "image img-3 deleted" "$(tail -1 "$T/live" | jq -r '"\(.kind) \(.key) \(.type)"')"
wait_lines "$T/resume" $((R0 + 6))
eq "CLI --follow --since 0: every event from the first, in order, once" "$(seq 1 $((R0 + 6)) | paste -sd' ')" \
    "$(jq -r .rev "$T/resume" | paste -sd' ')"
stop "$LIVE" "$RESUME"
wait_watchers 0 || nok "stopped CLI watchers disconnect"

# ---- viewers see no token events ------------------------------------------

VIEWER=$(mktoken ws-viewer viewer)
follow viewer "$VIEWER"
V=$FOLLOW_PID
follow admin "$BH_TOKEN"
AD=$FOLLOW_PID
wait_watchers 2 || nok "viewer and admin watchers connect"
R1=$(revision)
mktoken ws-secret operator >/dev/null
api POST /api/v1/rooms '{"name":"ws-after-token"}'
api PATCH /api/v1/tokens/ws-secret '{"description":"x"}'
api DELETE /api/v1/rooms/ws-after-token
wait_lines "$T/admin" 4
wait_lines "$T/viewer" 2
sleep 0.3 # a token event sent to the viewer would be here by now
eq "admin watcher: token and room events" \
    "$((R1 + 1)) token|$((R1 + 2)) room|$((R1 + 3)) token|$((R1 + 4)) room" \
    "$(jq -r '"\(.rev) \(.kind)"' "$T/admin" | paste -sd'|')"
eq "viewer watcher: the room events only" "$((R1 + 2)) room|$((R1 + 4)) room" \
    "$(jq -r '"\(.rev) \(.kind)"' "$T/viewer" | paste -sd'|')"
ws_raw "$T/raw-viewer" 1 "?since=0" -H "Authorization: Bearer $VIEWER"
eq "viewer, raw, since=0: no token event in the backlog" 0 "$(frames "$T/raw-viewer" | jq -r .kind | grep -c '^token$')"
check "viewer, raw, since=0: but the other events" test "$(frames "$T/raw-viewer" | wc -l)" -gt 5
stop "$V" "$AD"

# ---- more than one batch, and the kept window (events_keep = 1000) --------

bulk() { # N: 270 creates on one connection
    local i=$1 j args=()
    for j in $(seq 1 270); do
        [ "$j" -gt 1 ] && args+=(--next)
        args+=(-s -o /dev/null -H "Authorization: Bearer $BH_TOKEN" -H 'Content-Type: application/json'
            -d "$(printf '{"mac":"02:20:00:%02x:%02x:%02x"}' "$i" $((j / 256)) $((j % 256)))" "$BH_URL/api/v1/hosts")
    done
    curl "${args[@]}"
}
pids=()
for i in 1 2 3 4 5; do bulk "$i" & pids+=($!); done
wait "${pids[@]}"
R2=$(revision)
check "more than 1300 writes" test "$R2" -gt 1300
OLDEST=$(sqlite3 "$BH_DATA/bootherd.db" 'SELECT min(rev) FROM events')
check "old events were pruned (oldest kept: $OLDEST)" test "$OLDEST" -gt 1
check "at least events_keep events are kept" test $((R2 - OLDEST + 1)) -ge 1000

refused "since=1, older than the window: 410 before the upgrade" 410 gone "${A[@]}" -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$BH_URL/api/v1/events?since=1"
contains "410 says from where to resume" "resume from revision" "$(cat "$T/ref.b")"
api GET "/api/v1/events?since=1"
eq "JSON page since=1: 410 too" 410 "$STATUS"
api GET "/api/v1/events?since=$((OLDEST - 2))"
eq "since just before the window (oldest-2): 410" 410 "$STATUS"
api GET "/api/v1/events?since=$((OLDEST - 1))"
eq "since = oldest-1 (all after it are kept): 200" 200 "$STATUS"
run_gone=$(timeout 10 "$BH" --url "$BH_URL" --token "$BH_TOKEN" events --follow --since 1 2>&1 >/dev/null)
eq "CLI --follow --since 1: gives up (exit 1) instead of looping" 1 $?
contains "CLI --follow --since 1: says 410" "410" "$run_gone"

# resume across more than one batch (the hub sends 1000 at a time)
follow window "$BH_TOKEN" --since $((OLDEST - 1))
W1=$FOLLOW_PID
want=$((R2 - OLDEST + 1))
wait_lines "$T/window" "$want" 20
eq "resume from the window's start: all $want events, in order, once" "$(seq "$OLDEST" "$R2" | paste -sd' ')" \
    "$(jq -r .rev "$T/window" | paste -sd' ')"
api POST /api/v1/rooms '{"name":"after-backlog"}'
wait_lines "$T/window" $((want + 1))
eq "after the backlog, live events follow" "after-backlog" "$(tail -1 "$T/window" | jq -r .key)"
stop "$W1"

# ---- a stream's credential is checked again ---------------------------------

# cut NAME CURL-ARGS...: a raw watcher in the background (up to 8 s) on a new
# revision; CUT_PID.  cut_ended: until it ended (the server closed it).
cut() {
    local f=$T/cut-$1
    shift
    ws_raw "$f" 8 "?since=$(revision)" "$@" &
    CUT_PID=$!
    _PIDS+=("$CUT_PID")
}
cut_ended() {
    local i
    for i in $(seq 1 70); do
        kill -0 "$CUT_PID" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}
n0=$(watchers)

REV_TOK=$(mktoken ws-revoked operator)
cut revoked -H "Authorization: Bearer $REV_TOK"
wait_watchers $((n0 + 1)) || nok "the watcher of a token to revoke connects"
api DELETE /api/v1/tokens/ws-revoked
api POST /api/v1/rooms '{"name":"after-revoke"}'
check "a token revoked: its stream is closed" cut_ended
eq "  ... with 1008 and why" "1008 the token was revoked" "$(close_frame "$T/cut-revoked")"
eq "  ... and it got no event after the revoke" "" "$(frames "$T/cut-revoked" | jq -r 'select(.key == "after-revoke") | .key')"

ROLE_TOK=$(mktoken ws-role operator)
cut role -H "Authorization: Bearer $ROLE_TOK"
wait_watchers $((n0 + 1)) || nok "the watcher of a token to demote connects"
api PATCH /api/v1/tokens/ws-role '{"role":"viewer"}'
api POST /api/v1/rooms '{"name":"after-demote"}'
check "a token's role changed: its stream is closed" cut_ended
eq "  ... with 1008 and why" "1008 the token's role changed: connect again" "$(close_frame "$T/cut-role")"
eq "  ... and it got no event after the change" "" "$(frames "$T/cut-role" | jq -r 'select(.key == "after-demote") | .key')"

HOSTPORT=${BH_URL#http://}
# session: log in with the admin token; SECRET and CSRF
session() {
    api POST /api/v1/session "{\"token\":\"$BH_TOKEN\"}" ""
    SECRET=$(grep -i '^Set-Cookie: bh_session=' <<<"$HDRS" | sed 's/^[^=]*=\([^;]*\).*/\1/')
    CSRF=$(jq -r .csrf <<<"$BODY")
}
session
cut logout -b "bh_session=$SECRET" -H "Origin: http://$HOSTPORT"
wait_watchers $((n0 + 1)) || nok "the console's stream connects with its session cookie"
head_has "HTTP/1.1 101" "$T/cut-logout" 2>/dev/null || sleep 0.2
api DELETE /api/v1/session "" "" -b "bh_session=$SECRET" -H "X-CSRF-Token: $CSRF"
eq "logout: 204" 204 "$STATUS"
api POST /api/v1/rooms '{"name":"after-logout"}'
check "a browser session logged out: its stream is closed" cut_ended
eq "  ... with 1008 and why" "1008 the browser session has ended: log in again" "$(close_frame "$T/cut-logout")"
eq "  ... and it got no event after the logout" "" "$(frames "$T/cut-logout" | jq -r 'select(.key == "after-logout") | .key')"

session
cut idle -b "bh_session=$SECRET" -H "Origin: http://$HOSTPORT"
wait_watchers $((n0 + 1)) || nok "the console's stream connects again"
check "a browser session idle longer than session_idle: closed at a ping, with no event" cut_ended
eq "  ... with 1008 and why" "1008 the browser session was idle too long: log in again" "$(close_frame "$T/cut-idle")"
eq "streams that still stand stay open" "$n0" "$(watchers)"

# ---- SIGTERM with watchers connected --------------------------------------

follow term1 "$BH_TOKEN"
F1=$FOLLOW_PID
follow term2 "$VIEWER"
F2=$FOLLOW_PID
curl -s -N --max-time 30 -o /dev/null -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H "Sec-WebSocket-Key: $KEY" -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/events" &
RAWC=$!
wait_watchers 3 || nok "three watchers connect before SIGTERM"
t0=$(date +%s%N)
kill -TERM "$BH_PID"
rc=0
wait "$BH_PID" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
BH_PID=
eq "SIGTERM with watchers: exit 0" 0 "$rc"
check "SIGTERM with watchers: promptly (${ms} ms < 3000)" test "$ms" -lt 3000
check "the raw watcher saw the connection end" bash -c "for i in \$(seq 1 50); do kill -0 $RAWC 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$BH_LOG"; then
    nok "no sanitizer findings"; diag "$(grep -A30 -E 'Sanitizer|runtime error' "$BH_LOG" | head -40)"
fi
stop "$F1" "$F2" "$RAWC"

finish
