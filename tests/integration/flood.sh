#!/bin/bash
# flood.sh - the connection limits keep the service up (issue 9, M1), and
# the front door answers what libmicrohttpd used to answer in HTML.
#
# A real daemon with the default limits takes 2,000 idle TCP connections
# (1,000 from 127.0.0.1, 1,000 from 40 other loopback addresses), then
# 2,000 WebSocket watchers with a viewer token (the same split); meanwhile
# /boot/boot.ipxe and /health answer within 1 s and an admin call within
# 2 s.  Then, on a daemon with short timeouts: a head or a body trickling
# in is cut in bounded time, a kept-alive connection that sends nothing
# is closed, kept-alive connections stay in their pool, the WebSocket
# heartbeat follows its settings, and malformed heads get their status as
# problem+json from the front door (libmicrohttpd answered them in HTML).
source "$(dirname "$0")/../lib/harness.sh"

FLOOD="python3 $ROOT/tests/lib/flood.py"
command -v python3 >/dev/null || { skip "flood" "python3 is not installed"; finish; exit; }
# the clients hold 4,000 sockets, the daemon about as many
[ "$(ulimit -n)" -ge 8192 ] || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 8192 ] || ulimit -n 8192 2>/dev/null
if [ "$(ulimit -n)" -lt 8192 ]; then
    skip "flood" "the open-files limit is $(ulimit -n) (need 8192; run as root or raise it)"
    finish
    exit
fi

T=$(tmpdir)
# the default limits; idle connections are held for the whole flood
printf '[http]\nheader_timeout = 60\n' >"$T/flood.conf"
bh_start "" --config "$T/flood.conf" || { nok "daemon starts"; finish; exit 1; }
_DIRS+=("${BH_DATA%/data}")
HP=${BH_URL#http://}
HOST=${HP%:*} PORT=${HP##*:}
VIEWER=$(mktoken flood-viewer viewer)

# timed NAME MAX URL [curl args]: 200 within MAX seconds; the slowest time
# so far goes to $WORST
WORST=0
timed() {
    local name=$1 max=$2 url=$3 out st t
    shift 3
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time "$max" "$@" "$url")
    st=${out% *} t=${out#* }
    WORST=$(awk -v a="$WORST" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
    if [ "$st" = 200 ]; then ok "$name: 200 in ${t}s (limit ${max}s)"; else
        nok "$name: 200 within ${max}s"; diag "got HTTP $st after ${t}s (000 = no answer in time)"; fi
}
three() { # PHASE: the three availability checks
    timed "$1: /boot/boot.ipxe" 1 "$BH_URL/boot/boot.ipxe"
    timed "$1: /health" 1 "$BH_URL/health"
    timed "$1: admin GET /api/v1/hosts" 2 "$BH_URL/api/v1/hosts" -H "Authorization: Bearer $BH_TOKEN"
}
metric() { # NAME{labels}: its value from /metrics
    curl -s --max-time 2 -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/metrics" |
        awk -v k="$1" '$1 == k {print $2}'
}
wait_file() { # FILE SECONDS
    local i
    for i in $(seq 1 $(($2 * 20))); do [ -s "$1" ] && return 0; sleep 0.05; done
    return 1
}

# ---- the flood ------------------------------------------------------------

F=$T/flood
mkdir -p "$F"
$FLOOD flood "$HOST" "$PORT" "$VIEWER" "$F" 2>"$F/err" &
FPID=$!
_PIDS+=("$FPID")
if wait_file "$F/idle" 60; then
    diag "idle phase: $(cat "$F/idle")"
    eq "2,000 idle connections opened" 2000 "$(jq .opened "$F/idle")"
    three "with 2,000 idle connections"
    p=$(metric bootherd_http_connections_pending)
    check "the front holds at most its 1,024 pending heads ($p)" test "${p:-9999}" -le 1024
    ev=$(metric 'bootherd_http_connections_refused_total{reason="evicted"}')
    check "the oldest idle ones were closed, not the new clients (evicted: $ev)" test "${ev:-0}" -ge 968
else
    nok "the idle phase ends within 60 s"; diag "$(cat "$F/err")"
fi
touch "$F/go"
# while the handshakes go on: keep asking (counted below as one check)
n=0
while [ ! -s "$F/ws" ] && [ $n -lt 300 ]; do
    (
        three "during the WebSocket flood"
        echo "worst $WORST"
    ) >"$F/during.$n"
    n=$((n + 1))
done
bad=$(cat "$F"/during.* 2>/dev/null | grep -c '^not ok')
worst=$(cat "$F"/during.* 2>/dev/null | awk '$1 == "worst" && $2 > w { w = $2 } END { print w + 0 }')
eq "during the WebSocket flood: every check answered in time ($((n * 3)) checks, slowest ${worst}s)" 0 "$bad"
[ "$bad" = 0 ] || diag "$(grep -h -A2 '^not ok' "$F"/during.* | head -12)"
if wait_file "$F/ws" 120; then
    W=$(cat "$F/ws")
    acc=$(jq '.local_101 // 0' <<<"$W") ref=$(jq '.local_503 // 0' <<<"$W")
    sacc=$(jq '.spread_101 // 0' <<<"$W") sref=$(jq '.spread_503 // 0' <<<"$W")
    ok "1,000 WebSockets from 127.0.0.1: $acc accepted, $ref refused with 503 ($(jq -r .seconds <<<"$W") s for all 2,000)"
    ok "1,000 WebSockets from 40 other addresses: $sacc accepted, $sref refused with 503"
    eq "every handshake got 101 or a problem+json 503" 0 "$(jq '(.local_other // 0) + (.spread_other // 0)' <<<"$W")"
    jq -e .other_statuses <<<"$W" >/dev/null && diag "other answers (0: none, negative: -errno): $(jq -c .other_statuses <<<"$W")"
    eq "127.0.0.1 holds its share of WebSockets (ws_per_address = 32)" 32 "$acc"
    eq "the other addresses stay under their share: all accepted" 1000 "$sacc"
    eq "the ws pool counts them" $((acc + sacc)) "$(metric 'bootherd_http_connections{pool="ws"}')"
    three "with $((acc + sacc)) WebSockets open and the idle connections"
else
    nok "the WebSocket phase ends within 120 s"; diag "$(cat "$F/err")"
fi
touch "$F/stop"
wait_file "$F/done" 30 && diag "end: $(cat "$F/done")"
wait "$FPID"
eq "the flood client ran clean" "" "$(cat "$F/err")"
timed "after the flood: /health" 1 "$BH_URL/health"
bh_stop

# ---- slow clients and malformed heads ---------------------------------------

printf '[http]\nheader_timeout = 2\nbody_timeout = 2\nsend_min_rate = 1M\nws_ping = 1\nws_idle_close = 3\n' >"$T/slow.conf"
bh_start "" --config "$T/slow.conf" || { nok "daemon starts (short timeouts)"; finish; exit 1; }
_DIRS+=("${BH_DATA%/data}")
HP=${BH_URL#http://}
HOST=${HP%:*} PORT=${HP##*:}

S=$T/slow
mkdir -p "$S"
printf 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: %s\r\n\r\n' "$(head -c 60 /dev/zero | tr '\0' a)" >"$S/head"
printf 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 51\r\n\r\n' \
    "$BH_TOKEN" >"$S/body.head"
printf '{"name":"%s"}' "$(head -c 40 /dev/zero | tr '\0' r)" >"$S/body"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >"$S/first"
# all three at once, a byte a second
$FLOOD trickle "$HOST" "$PORT" "$S/head" 1 >"$S/head.out" &
p1=$!
$FLOOD trickle "$HOST" "$PORT" "$S/body" 1 "$S/body.head" >"$S/body.out" &
p2=$!
python3 - "$HOST" "$PORT" >"$S/keep.out" <<'EOF' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
t0, out = time.time(), b""
s.settimeout(30)
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
print("%d %.2f" % (out.count(b"HTTP/1.1 200"), time.time() - t0))
EOF
p3=$!
wait $p1 $p2 $p3
read -r st secs sent <"$S/head.out"
eq "a head trickling in at a byte a second: 408" 408 "$st"
check "... cut within header_timeout + 2 s (${secs}s, after $sent bytes)" awk -v t="$secs" 'BEGIN { exit !(t >= 1.5 && t <= 4) }'
read -r st secs sent <"$S/body.out"
check "a body trickling in at a byte a second is cut within body_timeout + 2 s (${secs}s, $sent bytes sent)" \
    awk -v t="$secs" 'BEGIN { exit !(t >= 1.5 && t <= 4) }'
eq "... nothing of it was stored" 0 "$(curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/rooms?count=true&limit=1" | jq .total)"
read -r n secs <"$S/keep.out"
eq "a kept-alive connection gets its answer" 1 "$n"
check "... and is closed when no next request comes within header_timeout (${secs}s)" \
    awk -v t="$secs" 'BEGIN { exit !(t >= 1.5 && t <= 4) }'
$FLOOD trickle "$HOST" "$PORT" "$S/head" 0.5 "$S/first" answer >"$S/second.out"
read -r st secs sent <"$S/second.out"
check "the next head on a kept-alive connection, trickling in, is cut too (${secs}s, $sent bytes)" \
    awk -v t="$secs" 'BEGIN { exit !(t >= 1.5 && t <= 4) }'
cut=$(metric 'bootherd_http_connections_refused_total{reason="header_timeout"}')
eq "the metrics count the cut head" 1 "$cut"
check "the metrics count the cut body" test "$(metric 'bootherd_http_connections_refused_total{reason="body_timeout"}')" -ge 1
check "the metrics count the idle kept-alive connections" test "$(metric 'bootherd_http_connections_refused_total{reason="idle_timeout"}')" -ge 2

# a client that reads a boot file a few bytes at a time: cut once the answer
# is overdue (body_timeout 2 s + 4 MiB at send_min_rate 1 MiB/s), not held
mkdir -p "$BH_DATA/boot" && head -c 4194304 /dev/urandom >"$BH_DATA/boot/big.bin"
read -r got eof secs < <(python3 - "$HOST" "$PORT" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GET /boot/files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
t0, got, eof = time.time(), 0, 0
while time.time() - t0 < 9:  # 100 bytes a second
    b = s.recv(100)
    if not b:
        eof = 1
        break
    got += len(b)
    time.sleep(1)
s.settimeout(5)
try:
    while not eof:  # then what the kernel holds, at once
        b = s.recv(65536)
        if not b:
            eof = 1
        got += len(b)
except OSError:
    pass
print(got, eof, "%.1f" % (time.time() - t0))
EOF
)
check "a client reading a 4 MiB boot file 100 bytes a second is cut when the answer is overdue ($got bytes, ${secs}s)" \
    test "$eof" = 1 -a "$got" -lt 4194304
check "the metrics count it" test "$(metric 'bootherd_http_connections_refused_total{reason="send_timeout"}')" -ge 1
# a body past max_body (1 MiB) is answered 413 when it ends, and drained for
# 5 s at most, however it trickles on
read -r st secs < <(python3 - "$HOST" "$PORT" "$BH_TOKEN" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(("POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % sys.argv[3]).encode())
t0 = time.time()
chunk = b"x" * 65536
try:
    for _ in range(24):  # 1.5 MiB at once
        s.sendall(b"10000\r\n" + chunk + b"\r\n")
    while time.time() - t0 < 30:  # then a byte every half second
        s.sendall(b"1\r\nx\r\n")
        time.sleep(0.5)
    st = "none"
except OSError:
    st = "cut"
print(st, "%.1f" % (time.time() - t0))
EOF
)
eq "a too-large body trickling on is not drained for ever" cut "$st"
check "... it is cut within the 5 s drain (${secs}s)" awk -v t="$secs" 'BEGIN { exit !(t <= 8) }'

# ---- kept-alive connections stay in their pool -------------------------------

printf 'GET /boot/boot.ipxe HTTP/1.1\r\nHost: x\r\n\r\nGET /boot/boot.ipxe HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n' >"$S/p1"
eq "the boot pool keeps a connection for boot requests, refuses an API call (421, not run) and closes" \
    "200 0|200 0|421 1 urn:bootherd:problem:misdirected-request" "$($FLOOD pipeline "$HOST" "$PORT" "$S/p1" | paste -sd'|' | sed 's/ *|/|/g; s/ *$//')"
VIEWER=$(mktoken slow-viewer viewer)
printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer %s\r\n\r\n' "$VIEWER" >"$S/p2"
eq "a WebSocket handshake on a kept-alive API connection: 400, and the connection closes" \
    "200 0|400 1 urn:bootherd:problem:bad-handshake" "$($FLOOD pipeline "$HOST" "$PORT" "$S/p2" | paste -sd'|' | sed 's/ *|/|/g; s/ *$//')"
printf 'GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n' >"$S/p3"
eq "the WebSocket pool closes a connection after any answer but 101" \
    "401 1 urn:bootherd:problem:unauthenticated" "$($FLOOD pipeline "$HOST" "$PORT" "$S/p3" | paste -sd'|' | sed 's/ *|/|/g; s/ *$//')"
read -r pings secs < <($FLOOD ws-silent "$HOST" "$PORT" "$VIEWER")
check "the WebSocket heartbeat: pings every ws_ping = 1 s ($pings)" test "$pings" -ge 2
check "... and a watcher silent for ws_idle_close = 3 s is dropped (${secs}s)" \
    awk -v t="$secs" 'BEGIN { exit !(t >= 2.5 && t <= 6) }'

# malformed NAME STATUS TYPE FILE: answered by the front with a problem
malformed() {
    local name=$1 want=$2 type=$3 f=$4 st ct secs
    read -r st ct secs < <($FLOOD raw "$HOST" "$PORT" "$f" 5 | tr '\t' ' ')
    eq "$name: HTTP $want" "$want" "$st"
    eq "$name: application/problem+json" "application/problem+json" "$ct"
    eq "$name: a problem of type $type" "urn:bootherd:problem:$type $want" \
        "$(jq -r '"\(.type) \(.status)"' "$f.body" 2>&1)"
    check "$name: at once (${secs}s)" awk -v t="$secs" 'BEGIN { exit !(t < 1.5) }'
}
m() { # NAME STATUS TYPE PRINTF-FORMAT [ARGS]
    local f
    f=$(mktemp "$S/m.XXXXXX")
    # shellcheck disable=SC2059
    printf "$4" "${@:5}" >"$f"
    malformed "$1" "$2" "$3" "$f"
}
m "Content-Length: abc" 400 bad-content-length 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'
m "two Content-Length" 400 bad-content-length 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}'
m "Content-Length: 5, 5" 400 bad-content-length 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n{}'
m "a header line without a colon" 400 malformed-request 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n'
m "HTTP/2.0" 505 http-version-not-supported 'GET /health HTTP/2.0\r\nHost: x\r\n\r\n'
m "Transfer-Encoding: gzip, chunked" 501 unsupported-transfer-encoding 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'
m "Transfer-Encoding: chunked, gzip" 400 bad-transfer-encoding 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'
m "Content-Length and Transfer-Encoding" 400 bad-transfer-encoding 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
m "a garbage request line" 400 malformed-request 'GARBAGE\r\n\r\n'
m "binary noise" 400 malformed-request '\x16\x03\x01\x02\x00\x01'
m "HTTP/1.1 without Host" 400 bad-host 'GET /health HTTP/1.1\r\n\r\n'
m "a NUL in a header" 400 malformed-request 'GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n'
m "line folding" 400 malformed-request 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'
m "20,000 headers" 431 header-fields-too-large "GET /health HTTP/1.1\r\nHost: x\r\n%s\r\n" \
    "$(for i in $(seq 1 20000); do printf 'X-H%d: v\r\n' "$i"; done)"
m "a 200 kB header" 431 header-fields-too-large 'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' \
    "$(head -c 200000 /dev/zero | tr '\0' h)"
m "a 100 kB URL" 414 uri-too-long 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$(head -c 100000 /dev/zero | tr '\0' u)"
f=$(mktemp "$S/m.XXXXXX")
printf 'HEAD /health HTTP/2.0\r\nHost: x\r\n\r\n' >"$f"
read -r st ct secs < <($FLOOD raw "$HOST" "$PORT" "$f" 5 | tr '\t' ' ')
eq "a refused HEAD: the status, no body" "505 0" "$st $(wc -c <"$f.body")"
# a well-formed request through the same door still works, chunked too
f=$(mktemp "$S/m.XXXXXX")
printf 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nf\r\n{"name":"room"}\r\n0\r\n\r\n' "$BH_TOKEN" >"$f"
read -r st ct secs < <($FLOOD raw "$HOST" "$PORT" "$f" 5 | tr '\t' ' ')
eq "a chunked POST is served" 201 "$st"
eq "the metrics count the malformed heads" 17 "$(metric 'bootherd_http_connections_refused_total{reason="malformed"}')"
finish
