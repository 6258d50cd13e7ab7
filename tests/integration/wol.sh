#!/bin/bash
# wol.sh - Wake-on-LAN from `bootherd serve` inside network namespaces made
# here (root; 192.0.2.0/24 and 198.51.100.0/24 only; removed on exit).
#
#   srv   br0 192.0.2.1/24, runs bootherd serve ([wol] stagger_ms = 300)
#   h1    on br0 (192.0.2.70): a UDP listener on port 9 records every
#         datagram with its destination address and arrival time
#   rt    on br0 (192.0.2.254) and 198.51.100.1/24: a router that forwards
#         directed broadcasts (bc_forwarding)
#   far   198.51.100.20/24 behind rt: the same listener
#
# A job with wake keeps each host's outcome: sent, failed (a send error:
# "lost" has an address no route leads to) or skipped (and why).
#
# `bootherd wake --room` sends each host's magic packet (FF x6 + MAC x16)
# three times to 192.0.2.255 out of br0, in name order, the stagger apart;
# a host in 198.51.100.0/24 gets a directed broadcast to 198.51.100.255,
# seen leaving srv (tcpdump) and arriving behind the router.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/netlab.sh"
netlab_init || { echo "ok - $TEST_NAME: skipped (needs root) # SKIP"; exit 0; }
PY=$(command -v /usr/bin/python3 || command -v python3)
for tool in curl jq tcpdump; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
[ -n "$PY" ] || { nok "python3 installed"; finish; exit 1; }
T=$TEST_TMP
STAGGER=300

netlab_ns srv
netlab_bridge srv 192.0.2.1/24
netlab_ns h1
netlab_veth_to_bridge srv h1 192.0.2.70/24
netlab_ns rt
netlab_veth_to_bridge srv rt 192.0.2.254/24
netlab_ns far
netlab_link rt 198.51.100.1/24 far 198.51.100.20/24
netlab_exec far ip route add default via 198.51.100.1
netlab_exec srv ip route add 198.51.100.0/24 via 192.0.2.254
netlab_exec rt sysctl -qw net.ipv4.ip_forward=1
BC_FWD=1
for c in all eth0 v-far; do # the kernel asks "all" and the incoming interface
    netlab_exec rt sysctl -qw "net.ipv4.conf.$c.bc_forwarding=1" 2>/dev/null || BC_FWD=0
done

# listener: one line per datagram: "<ms> <destination> <hex payload>"
cat >"$T/listen.py" <<'EOF'
import socket, struct, sys, time
IP_PKTINFO = 8  # Linux
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.bind(("0.0.0.0", 9))
out = open(sys.argv[1], "a", buffering=1)
while True:
    data, anc, _, src = s.recvmsg(2048, 64)
    dst = "?"
    for level, kind, val in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            dst = socket.inet_ntoa(val[8:12])
    out.write("%d %s %s\n" % (time.monotonic_ns() // 1000000, dst, data.hex()))
EOF
: >"$T/h1.rx"
: >"$T/far.rx"
netlab_bg h1 "$PY" "$T/listen.py" "$T/h1.rx"
netlab_bg far "$PY" "$T/listen.py" "$T/far.rx"
netlab_bg srv sh -c "exec tcpdump -n -i br0 --immediate-mode -U -w '$T/srv.pcap' udp port 9 and host 198.51.100.255 2>'$T/tcpdump.log'"
TCPDUMP_PID=$NL_LAST_PID

BH_DATA=$T/data
BH_LOG=$T/bootherd.log
"$BH" init --data "$BH_DATA" >/dev/null || { nok "init"; finish; exit 1; }
cat >"$BH_DATA/bootherd.conf" <<EOF
[http]
listen = 192.0.2.1:8080
[dhcp]
interfaces = br0
mode = proxy
[wol]
port = 9
stagger_ms = $STAGGER
EOF
netlab_bg srv sh -c "exec \"$BH\" serve --data \"$BH_DATA\" >>\"$BH_LOG\" 2>&1"
BH_PID=$NL_LAST_PID
_PIDS+=("$BH_PID")
for _ in $(seq 1 100); do [ -s "$BH_DATA/http.addr" ] && break; sleep 0.1; done
if ! [ -s "$BH_DATA/http.addr" ]; then
    nok "serve starts"; diag "$(tail -20 "$BH_LOG")"; finish; exit 1
fi
ok "serve starts with [wol]"
BH_URL="http://$(cat "$BH_DATA/http.addr")"
BH_TOKEN=$(cat "$BH_DATA/admin.token")

# the API and the CLI, inside the server's namespace
napi() { # METHOD PATH [BODY] [TOKEN]
    local args=(-s -o "$T/api.body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer ${4:-$BH_TOKEN}")
    [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    STATUS=$(netlab_exec srv curl "${args[@]}" "$BH_URL$2")
    BODY=$(cat "$T/api.body")
}
nbh() { netlab_exec srv "$BH" --url "$BH_URL" --token "$BH_TOKEN" "$@"; }

for r in "r101 192.0.2.0/24" "r201 198.51.100.0/24" "r301" "r401 203.0.113.7/32"; do
    set -- $r
    if [ -n "${2:-}" ]; then nbh room add "$1" "subnet=$2" >/dev/null; else nbh room add "$1" >/dev/null; fi ||
        nok "room add $1"
done
# names sort pc01, pc02, pc03: the order they are woken in
nbh host add 52:54:00:00:01:03 name=pc03 room=r101 ip=192.0.2.73 >/dev/null &&
    nbh host add 52:54:00:00:01:01 name=pc01 room=r101 ip=192.0.2.71 >/dev/null &&
    nbh host add 52:54:00:00:01:02 name=pc02 room=r101 >/dev/null &&
    nbh host add 52:54:00:00:02:01 name=far01 room=r201 ip=198.51.100.20 >/dev/null &&
    nbh host add 52:54:00:00:03:01 name=noip room=r301 >/dev/null &&
    nbh host add 52:54:00:00:04:01 name=tiny room=r401 ip=203.0.113.7 >/dev/null &&
    ok "rooms and hosts created" || nok "rooms and hosts created"
sleep 0.5 # tcpdump and the listeners are up

# ---- a room --------------------------------------------------------------
t0=$(date +%s%N)
out=$(nbh wake --room r101 2>&1)
rc=$?
t1=$(date +%s%N)
eq "wake --room exits 0" 0 "$rc"
check "wake returns at once (under 1 s for 3 hosts ${STAGGER} ms apart)" test $(((t1 - t0) / 1000000)) -lt 1000
contains "wake --room: pc01 queued to 192.0.2.255 via br0" "pc01" "$out"
contains "wake --room: summary" "3 queued, 0 skipped" "$out"
eq "wake --room: queued in name order" "pc01 pc02 pc03" "$(grep '^queued' <<<"$out" | awk '{print $2}' | xargs)"
for _ in $(seq 1 40); do [ "$(wc -l <"$T/h1.rx")" -ge 9 ] && break; sleep 0.1; done
eq "9 datagrams arrived (3 hosts x 3)" 9 "$(wc -l <"$T/h1.rx")"
[ "$(wc -l <"$T/h1.rx")" -ge 9 ] || diag "$(grep -i wake "$BH_LOG" | tail -5)"
eq "every datagram went to 192.0.2.255" "192.0.2.255" "$(awk '{print $2}' "$T/h1.rx" | sort -u | xargs)"
magic() { # MAC -> the hex payload
    local m=${1//:/} p=ffffffffffff i
    for i in $(seq 16); do p+=$m; done
    echo "$p"
}
bad=""
for m in 52:54:00:00:01:01 52:54:00:00:01:02 52:54:00:00:01:03; do
    n=$(grep -c " $(magic "$m")\$" "$T/h1.rx")
    [ "$n" = 3 ] || bad+="$m:$n "
done
eq "each host's magic packet (FF x6 + MAC x16) arrived 3 times" "" "$bad"
order=$(awk '{print substr($3, 13, 12)}' "$T/h1.rx" | uniq | xargs)
eq "packets arrived host after host, in order" "525400000101 525400000102 525400000103" "$order"
firsts=$(awk '!seen[$3]++ {print $1}' "$T/h1.rx" | xargs)
set -- $firsts 0 0 0
gaps="$(($2 - $1)) $(($3 - $2))"
# staggered, not sent together: half the stagger leaves room for a loaded
# machine's scheduling (the sender sleeps the whole stagger between hosts)
if [ "$(($2 - $1))" -ge $((STAGGER / 2)) ] && [ "$(($3 - $2))" -ge $((STAGGER / 2)) ]; then
    ok "hosts were woken one by one, staggered (gaps: $gaps ms; stagger ${STAGGER} ms)"
else
    nok "hosts were woken one by one, staggered"; diag "gaps: $gaps ms"
fi

napi GET /api/v1/hosts/pc01/events
ev=$(jq -c '[.items[] | select(.type == "wol.sent")][0].data' <<<"$BODY")
eq "the wake is an event on the host" '{"address":"192.0.2.255","directed":false,"interface":"br0","packets":3,"port":9}' \
    "$(jq -c -S . <<<"$ev")"
out=$(nbh boot log pc01 2>&1)
contains "bootherd boot log shows wol.sent" "wol.sent" "$out"

# ---- a remote subnet: directed broadcast --------------------------------
napi POST /api/v1/hosts/far01/wake
eq "POST /hosts/far01/wake: 202" 202 "$STATUS"
eq "far01: directed broadcast to 198.51.100.255, no interface" '198.51.100.255 null true' \
    "$(jq -r '.queued[0] | "\(.address) \(.interface) \(.directed)"' <<<"$BODY")"
for _ in $(seq 1 30); do [ "$(wc -l <"$T/far.rx")" -ge 3 ] && break; sleep 0.1; done
sleep 0.3
kill -INT "$TCPDUMP_PID" 2>/dev/null
wait "$TCPDUMP_PID" 2>/dev/null
n=$(tcpdump -n -r "$T/srv.pcap" 2>/dev/null | grep -c '192.0.2.1.[0-9]* > 198.51.100.255.9: UDP, length 102')
eq "tcpdump on srv: 3 datagrams left for 198.51.100.255:9" 3 "$n"
if [ "$BC_FWD" = 1 ]; then
    eq "behind the router: 3 magic packets for far01 at 198.51.100.255" \
        "3 198.51.100.255 $(magic 52:54:00:00:02:01)" "$(wc -l <"$T/far.rx") $(awk '{print $2, $3}' "$T/far.rx" | sort -u)"
else
    ok "behind the router: skipped (kernel without bc_forwarding) # SKIP"
fi

# ---- no ip, no room subnet: the one [dhcp] interface; a /32: skipped ----
napi POST /api/v1/wake '{"hosts":["noip","tiny"]}'
eq "POST /wake noip+tiny: 202" 202 "$STATUS"
eq "noip goes out of the [dhcp] interface" "noip 192.0.2.255 br0" \
    "$(jq -r '.queued[0] | "\(.host) \(.address) \(.interface)"' <<<"$BODY")"
contains "tiny is skipped with the reason" '"why":"the host'"'"'s subnet is a /31 or /32' "$BODY"
out=$(nbh wake tiny 2>&1)
eq "bootherd wake of a skipped host exits 1" 1 "$?"
contains "the CLI shows why" "skipped  tiny" "$out"

# ---- errors and roles ------------------------------------------------------
napi POST /api/v1/hosts/nosuch/wake
eq "unknown host: 404" 404 "$STATUS"
napi POST /api/v1/wake '{"hosts":["pc01","nosuch"]}'
eq "unknown host in a batch: 422 (a reference to nothing)" 422 "$STATUS"
napi POST /api/v1/wake '{"room":"nope"}'
eq "unknown room: 422" 422 "$STATUS"
napi POST /api/v1/wake '{"rooms":"r101"}'
eq "unknown field: 422" "422 unknown-field" "$STATUS $(jq -r '.type | split(":") | last' <<<"$BODY")"
napi POST /api/v1/wake '{}'
eq "no hosts named: 422" 422 "$STATUS"
napi POST /api/v1/wake '{"selector":"role in (a"}'
eq "bad selector: 422" 422 "$STATUS"
out=$(nbh wake nosuch 2>&1)
eq "bootherd wake of an unknown host exits 1" 1 "$?"
napi POST /api/v1/tokens '{"name":"v","role":"viewer"}'
VIEWER=$(jq -r .token <<<"$BODY")
napi POST /api/v1/hosts/pc01/wake "" "$VIEWER"
eq "viewer token: 403 (host)" 403 "$STATUS"
napi POST /api/v1/wake '{"room":"r101"}' "$VIEWER"
eq "viewer token: 403 (batch)" 403 "$STATUS"
napi POST /api/v1/tokens '{"name":"o","role":"operator"}'
OPER=$(jq -r .token <<<"$BODY")
napi POST /api/v1/wake '{"selector":"room=r101","hosts":["pc02"]}' "$OPER"
eq "operator token: 202, hosts once each" "202 3" "$STATUS $(jq '(.queued | length) + (.skipped | length)' <<<"$BODY")"
napi POST /api/v1/wake '{"hosts":["pc03"]}'
contains "a host still waiting is skipped, not sent twice" "already queued" "$BODY"
out=$(nbh wake 2>&1)
eq "bootherd wake without hosts: usage, exit 2" 2 "$?"

# ---- a job at:TIME with wake: the scheduler wakes its hosts when the time comes
sleep 1.5 # the staggered sends above are through
before=$(grep -c " $(magic 52:54:00:00:01:01)\$" "$T/h1.rx")
AT=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
napi POST /api/v1/jobs "{\"targets\":{\"hosts\":[\"pc01\"]},\"steps\":[\"reboot\"],\"when\":\"at:$AT\",\"wake\":true}"
eq "a job at:$AT with wake" 201 "$STATUS"
JW=$(jq -r .id <<<"$BODY")
check "  ... wakes nobody at once" test "$(grep -c " $(magic 52:54:00:00:01:01)\$" "$T/h1.rx")" -eq "$before"
for _ in $(seq 1 30); do
    [ "$(grep -c " $(magic 52:54:00:00:01:01)\$" "$T/h1.rx")" -gt "$before" ] && break
    sleep 0.5
done
check "  ... and wakes pc01 when its time has come" test "$(grep -c " $(magic 52:54:00:00:01:01)\$" "$T/h1.rx")" -gt "$before"
napi GET "/api/v1/events?since=0&limit=1000"
eq "  ... once (one 'woken' event on the job)" 1 "$(jq "[.items[] | select(.kind == \"job\" and .key == \"$JW\" and .type == \"woken\")] | length" <<<"$BODY")"

napi GET "/api/v1/jobs/$JW"
eq "  ... and the job says the packet went out" "pc01 sent 192.0.2.255 br0" \
    "$(jq -r '.hosts[0] | "\(.name) \(.wake.state) \(.wake.address) \(.wake.interface)"' <<<"$BODY")"

# ---- a job with wake now: each host's outcome, kept with the job ------------
nbh host add 52:54:00:00:05:01 name=lost ip=203.0.113.9 >/dev/null
sleep 1 # the scheduler's sends above are through
napi POST /api/v1/jobs '{"targets":{"hosts":["pc02","tiny","lost"]},"steps":["reboot"],"wake":true}'
eq "a job with wake for pc02, tiny, lost: 201" 201 "$STATUS"
JN=$(jq -r .id <<<"$BODY")
# (the sender may have sent the first packet already: queued or sent)
eq "  ... the answer: pc02 and lost queued, tiny skipped" "lost queued|pc02 queued|tiny skipped" \
    "$(jq -r '[.hosts[] | "\(.name) \(.wake.state | sub("sent|failed"; "queued"))"] | sort | join("|")' <<<"$BODY")"
for _ in $(seq 1 50); do
    napi GET "/api/v1/jobs/$JN"
    [ "$(jq -r '[.hosts[].wake.state] | index("queued")' <<<"$BODY")" = null ] && break
    sleep 0.2
done
eq "job show: pc02's packet sent out of br0" "sent 192.0.2.255 br0" \
    "$(jq -r '.hosts[] | select(.name == "pc02") | .wake | "\(.state) \(.address) \(.interface)"' <<<"$BODY")"
eq "  ... lost's failed, with the send error" "failed 203.0.113.255 true" \
    "$(jq -r '.hosts[] | select(.name == "lost") | .wake | "\(.state) \(.address) \(.error | length > 0)"' <<<"$BODY")"
contains "  ... tiny skipped, and why" "the host's subnet is a /31 or /32, which has no broadcast address" \
    "$(jq -r '.hosts[] | select(.name == "tiny") | .wake.why' <<<"$BODY")"
out=$(nbh job show "$JN")
contains "bootherd job show: sent" "wake: sent to 192.0.2.255 via br0" "$out"
contains "  ... failed, with the error" "wake: failed: " "$out"
contains "  ... skipped, with why" "wake: skipped: the host's subnet is a /31" "$out"
napi GET /api/v1/hosts/lost/events
check "lost's timeline has wol.failed" jq -e '[.items[] | select(.type == "wol.failed")] | length >= 1' <<<"$BODY"
napi GET /api/v1/hosts/tiny/events
check "tiny's timeline has wol.skipped, with why" jq -e '[.items[] | select(.type == "wol.skipped") | .data.why | startswith("the host'"'"'s subnet")] | any' <<<"$BODY"

kill -TERM "$BH_PID"
for _ in $(seq 1 50); do kill -0 "$BH_PID" 2>/dev/null || break; sleep 0.1; done
wait "$BH_PID" 2>/dev/null
eq "serve exits 0 on SIGTERM" 0 "$?"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$BH_LOG"; then
    nok "no sanitizer findings"; diag "$(grep -A30 -E 'Sanitizer|runtime error' "$BH_LOG" | head -60)"
fi
BH_PID=
finish
