#!/bin/bash
# dhcp_clients.sh - `bootherd dhcpd` against real DHCP clients, in network
# namespaces made here (root; addresses from 192.0.2.0/24 and
# 198.51.100.0/24 only; everything is removed on exit).
#
#   full mode   dhclient (bound, then a renewal at T1), udhcpc (-q, then a
#               renewal on SIGUSR1), a relay (crafted with python3: no
#               dhcrelay here) with option 82 echoed, a PXE boot-server
#               request on 4011 is not answered in full mode, malformed
#               packets counted while the server keeps answering, perfdhcp
#               with < 1% drops, kill -9 during a storm: every ACKed lease
#               is in the database and the database is intact
#   proxy mode  dnsmasq is the real DHCP server in its own namespace; nmap
#               broadcast-dhcp-discover gets only dnsmasq's offer; the same
#               script sending a PXE vendor class also sees our proxy offer
#               (PXEClient, boot file, no address); clients still get their
#               address from dnsmasq; 4011 answers a PXE client
#
# Reservations are not covered: the standalone dhcpd has none.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/netlab.sh"
netlab_init || { echo "ok - $TEST_NAME: skipped (needs root) # SKIP"; exit 0; }
for tool in dhclient udhcpc perfdhcp dnsmasq nmap python3 sqlite3; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
T=$TEST_TMP
chmod 711 "$T"

# ---- helpers ---------------------------------------------------------------

cat >"$T/dhcp.py" <<'PY'
# Minimal DHCP client/relay/fuzzer for the test (stdlib only).
import os, random, socket, struct, sys, time

COOKIE = b"\x63\x82\x53\x63"

def pkt(mtype, mac, opts=b"", giaddr="0.0.0.0", ciaddr="0.0.0.0", xid=None, hops=0, flags=0):
    xid = xid if xid is not None else random.getrandbits(32)
    h = struct.pack("!BBBBIHH4s4s4s4s", 1, 1, 6, hops, xid, 0, flags,
                    socket.inet_aton(ciaddr), bytes(4), bytes(4), socket.inet_aton(giaddr))
    h += mac + bytes(10) + bytes(64) + bytes(128) + COOKIE
    return h + bytes([53, 1, mtype]) + opts + b"\xff", xid

def opt(code, val):
    return bytes([code, len(val)]) + val

def parse(b):
    if len(b) < 240 or b[236:240] != COOKIE:
        return None
    r = {"op": b[0], "xid": struct.unpack("!I", b[4:8])[0], "yiaddr": socket.inet_ntoa(b[16:20]),
         "siaddr": socket.inet_ntoa(b[20:24]), "file": b[108:236].split(b"\0")[0].decode(),
         "opts": {}}
    i = 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        r["opts"][b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return r

def sock(iface, port, bcast=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if iface:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("0.0.0.0", port))
    return s

def wait(s, xid, mtype, timeout):
    end = time.time() + timeout
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            b, _ = s.recvfrom(4096)
        except socket.timeout:
            return None
        r = parse(b)
        if r and r["xid"] == xid and r["opts"].get(53) == bytes([mtype]):
            return r
    return None

def dora(s, dst, mac, extra=b"", giaddr="0.0.0.0", timeout=1.0):
    d, xid = pkt(1, mac, extra, giaddr=giaddr, hops=1 if giaddr != "0.0.0.0" else 0)
    s.sendto(d, dst)
    o = wait(s, xid, 2, timeout)
    if not o:
        return None, None
    req = opt(50, socket.inet_aton(o["yiaddr"])) + opt(54, o["opts"][54]) + extra
    r, _ = pkt(3, mac, req, giaddr=giaddr, xid=xid, hops=1 if giaddr != "0.0.0.0" else 0)
    s.sendto(r, dst)
    return o, wait(s, xid, 5, timeout)

def main():
    cmd = sys.argv[1]
    if cmd == "relay":  # relay SERVER GIADDR: DORA as a relay agent with option 82
        s = sock(None, 67, False)
        o82 = b"\x01\x05port7\x02\x06\x00\x11\x22\x33\x44\x55"
        o, a = dora(s, (sys.argv[2], 67), bytes.fromhex("020000aa0001"), opt(82, o82),
                    giaddr=sys.argv[3])
        if not a:
            print("no ack"); sys.exit(1)
        print("yiaddr=%s o82=%s" % (a["yiaddr"], "echoed" if a["opts"].get(82) == o82 else "missing"))
    elif cmd == "pxe4011":  # pxe4011 SERVER: PXE boot server request
        s = sock(None, 4011, False)
        vc = b"PXEClient:Arch:00007:UNDI:003016"
        r, xid = pkt(3, bytes.fromhex("020000bb0001"), opt(60, vc) + opt(93, b"\x00\x07") +
                     opt(97, b"\x00" + bytes(range(16))), ciaddr=sys.argv[3])
        s.sendto(r, (sys.argv[2], 4011))
        a = wait(s, xid, 5, 1.0)
        if not a:
            print("no answer"); sys.exit(1)
        print("file=%s vc=%s uuid=%s yiaddr=%s" % (a["file"], a["opts"].get(60, b"").decode(),
              "echoed" if len(a["opts"].get(97, b"")) == 17 else "missing", a["yiaddr"]))
    elif cmd == "malformed":  # malformed SERVER: every bad shape, twice
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        good, _ = pkt(1, bytes.fromhex("020000cc0001"))
        bad = [b"", b"\x01" * 100, good[:239], good[:236] + b"XXXX" + good[240:],
               good[:240] + b"\x35\x05\x01", good[:240] + b"\x32\x03\x01\x02\x03\xff",
               good[:240] + b"\x61\x10" + bytes(16) + b"\xff", good[:240] + b"\x34\x01\x07\xff",
               good + bytes(5000), bytes([2]) + good[1:], bytes([1, 6, 16]) + good[3:],
               good[:240] + b"\x35\x01\x02\xff"]
        random.seed(7)
        bad += [bytes(random.getrandbits(8) for _ in range(random.randint(0, 600))) for _ in range(8)]
        for b in bad * 2:
            s.sendto(b, (sys.argv[2], 67))
        print(len(bad) * 2)
    elif cmd == "reboot":  # reboot MAC IP SERVER GIADDR: relayed INIT-REBOOT for IP
        s = sock(None, 67, False)
        r, xid = pkt(3, bytes.fromhex(sys.argv[2]), opt(50, socket.inet_aton(sys.argv[3])),
                     giaddr=sys.argv[5], hops=1)
        s.sendto(r, (sys.argv[4], 67))
        a = wait(s, xid, 5, 1.0)
        print("ack", a["yiaddr"] if a else "none")
    elif cmd == "storm":  # storm OUT N SERVER GIADDR: relayed DORA for N new MACs,
        s = sock(None, 67, False)  # each ACK appended to OUT
        n_ok = fails = 0
        with open(sys.argv[2], "a") as out:
            for i in range(int(sys.argv[3])):
                mac = bytes([2, 0x5a, 0, 0, i >> 8 & 255, i & 255])
                o, a = dora(s, (sys.argv[4], 67), mac, giaddr=sys.argv[5], timeout=0.3)
                if a:
                    out.write("%s %s\n" % (mac.hex(), a["yiaddr"]))
                    out.flush()
                    n_ok += 1
                    fails = 0
                else:
                    fails += 1
                    if fails == 3:  # the server is gone
                        break
        print(n_ok)

main()
PY

# wait_for FILE PATTERN SECONDS
wait_for() {
    local _
    for _ in $(seq 1 $((${3} * 20))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

start_dhcpd() { # NS CONF DATA LOG
    mkdir -p "$3"
    netlab_bg "$1" "$BH" dhcpd --config "$2" --data "$3" --log-level debug >>"$4" 2>&1
    DHCPD_PID=$NL_LAST_PID
    wait_for "$4" "dhcpd ready" 5
}

stats() { # PID LOG: ask for the counters, print the last line
    kill -USR1 "$1"
    sleep 0.3
    grep 'msg="dhcp stats"' "$2" | tail -1
}

stat_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

stop_dhcpd() { # PID LOG
    local rc=0
    kill -TERM "$1"
    wait "$1" || rc=$?
    eq "dhcpd exits 0 on SIGTERM" 0 "$rc"
    if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$2"; then
        nok "no sanitizer findings"; diag "$(grep -A30 -E 'Sanitizer|runtime error' "$2" | head -60)"
    fi
}

in_range() { # IP LOW HIGH (last octet, same /24)
    local o=${1##*.}
    [[ "$1" == 192.0.2.* ]] && [ "$o" -ge "$2" ] && [ "$o" -le "$3" ]
}

# ---- full mode ---------------------------------------------------------------

netlab_ns srv
netlab_bridge srv 192.0.2.1/24
for c in c1 c2 c3 c4 relay; do netlab_ns $c; netlab_veth_to_bridge srv $c; done
ip -n "$(netlab_name c3)" addr add 192.0.2.50/24 dev eth0
ip -n "$(netlab_name c4)" addr add 192.0.2.51/24 dev eth0
# the relay: 192.0.2.3 on the segment, 198.51.100.1 towards its clients
ip -n "$(netlab_name relay)" addr add 192.0.2.3/24 dev eth0
netlab_ns far
netlab_link relay 198.51.100.1/24 far 198.51.100.2/24
ip -n "$(netlab_name srv)" route add 198.51.100.0/24 via 192.0.2.3

cat >"$T/full.conf" <<'EOF'
[dhcp]
interfaces = br0:full
lease_time = 60
commit_ms = 5

[subnet]
network = 192.0.2.0/24
range = 192.0.2.100-192.0.2.199
router = 192.0.2.1
dns = 192.0.2.1
domain = lab.example

[subnet]
network = 198.51.100.0/24
range = 198.51.100.10-198.51.100.250
EOF
FULL_LOG=$T/full.log
start_dhcpd srv "$T/full.conf" "$T/full" "$FULL_LOG" || { nok "dhcpd starts"; tail -20 "$FULL_LOG"; finish; exit 1; }
ok "dhcpd starts in full mode"

# dhclient: bound, then renewed at T1 (30 s) - runs while the rest goes on
cat >"$T/dhclient.sh" <<EOF
#!/bin/sh
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "\$new_ip_address/24" dev "\$interface"
    echo "\$reason \$new_ip_address" >>"$T/dhclient.events" ;;
esac
exit 0
EOF
chmod +x "$T/dhclient.sh"
printf 'request subnet-mask, routers, domain-name-servers;\n' >"$T/dhclient.conf"
netlab_bg c1 dhclient -4 -d -cf "$T/dhclient.conf" -sf "$T/dhclient.sh" -lf "$T/dhclient.leases" \
    -pf "$T/dhclient.pid" eth0 >"$T/dhclient.log" 2>&1
DHCLIENT_T0=$(date +%s)
if wait_for "$T/dhclient.events" BOUND 10; then
    ip=$(awk '/BOUND/ {print $2}' "$T/dhclient.events" | head -1)
    if in_range "$ip" 100 199; then ok "dhclient bound to $ip"; else nok "dhclient address in range"; diag "$ip"; fi
else
    nok "dhclient gets a lease"; diag "$(cat "$T/dhclient.log")"
fi

# udhcpc: one-shot, then a second instance renewed with SIGUSR1
cat >"$T/udhcpc.sh" <<EOF
#!/bin/sh
case "\$1" in
bound|renew)
    ip addr replace "\$ip/24" dev "\$interface"
    echo "\$1 \$ip \$serverid" >>"$T/udhcpc.events" ;;
esac
exit 0
EOF
chmod +x "$T/udhcpc.sh"
out=$(netlab_exec c2 timeout 15 udhcpc -i eth0 -q -n -t 5 -T 1 -s "$T/udhcpc.sh" -f 2>&1)
ip=$(awk '/^bound/ {print $2}' "$T/udhcpc.events" 2>/dev/null | tail -1)
if in_range "$ip" 100 199; then ok "udhcpc -q bound to $ip"; else nok "udhcpc -q gets a lease"; diag "$out"; fi
netlab_bg c2 udhcpc -i eth0 -f -t 5 -T 1 -s "$T/udhcpc.sh" >"$T/udhcpc.log" 2>&1
UDHCPC_PID=$NL_LAST_PID
wait_for "$T/udhcpc.events" "bound.*" 10
sleep 0.5
kill -USR1 "$UDHCPC_PID" 2>/dev/null
if wait_for "$T/udhcpc.events" "^renew $ip 192.0.2.1" 5; then
    ok "udhcpc renews its address on SIGUSR1"
else
    nok "udhcpc renewal"; diag "$(cat "$T/udhcpc.events" "$T/udhcpc.log")"
fi

# relay: giaddr selects 198.51.100.0/24; option 82 comes back
out=$(netlab_exec relay python3 "$T/dhcp.py" relay 192.0.2.1 198.51.100.1 2>&1)
if [[ "$out" =~ yiaddr=198\.51\.100\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 10 ] &&
    [ "${BASH_REMATCH[1]}" -le 250 ]; then
    ok "relayed client gets an address of the relay's subnet"
else
    nok "relayed DORA"; diag "$out"
fi
contains "option 82 echoed to the relay" "o82=echoed" "$out"

# malformed packets: dropped and counted, and the server keeps answering
before=$(stats "$DHCPD_PID" "$FULL_LOG")
sent=$(netlab_exec c3 python3 "$T/dhcp.py" malformed 192.0.2.1 2>&1)
sleep 0.3
after=$(stats "$DHCPD_PID" "$FULL_LOG")
m0=$(stat_of malformed "$before"); m1=$(stat_of malformed "$after")
if [ -n "$m1" ] && [ $((m1 - m0)) -ge 30 ]; then
    ok "malformed packets counted ($((m1 - m0)) of $sent)"
else
    nok "malformed packets counted"; diag "sent $sent; before: $before"$'\n'"after: $after"
fi
if grep -q 'msg="dhcp malformed packet".*why=cookie' "$FULL_LOG"; then
    ok "malformed packets logged at debug with the reason"
else
    nok "malformed packets logged"
fi
out=$(netlab_exec c2 timeout 15 udhcpc -i eth0 -q -n -t 5 -T 1 -s /bin/true -f 2>&1)
contains "server answers after the malformed packets" "obtained" "$out"
kill -0 "$DHCPD_PID" 2>/dev/null && ok "server alive after malformed input" || nok "server alive"

# PXE boot server port: bound only in proxy mode
out=$(netlab_exec c4 timeout 5 python3 "$T/dhcp.py" pxe4011 192.0.2.1 192.0.2.51 2>&1)
contains "full mode has no PXE boot server on 4011" "no answer" "$out"

# perfdhcp: 500 exchanges at 100/s, 50 clients, < 1% drops
out=$(netlab_exec c3 timeout 30 perfdhcp -4 -l eth0 -r 100 -p 5 -W 300000 -R 50 2>&1)
drops=$(awk '/^drops ratio:/ {print $3}' <<<"$out" | sort -g | tail -1)
sent=$(awk '/^sent packets:/ {print $3; exit}' <<<"$out")
if [ -n "$drops" ] && [ -n "$sent" ] && [ "$sent" -gt 100 ] && awk -v d="$drops" 'BEGIN {exit !(d < 1)}'; then
    ok "perfdhcp: $sent DISCOVERs, max drops $drops%"
else
    nok "perfdhcp drops < 1%"; diag "$out"
fi

# dhclient renews at T1 (lease 60 s): wait for it if it has not happened
left=$((DHCLIENT_T0 + 40 - $(date +%s)))
[ "$left" -gt 0 ] || left=1
if wait_for "$T/dhclient.events" RENEW "$left"; then
    ok "dhclient renewed its lease at T1"
else
    nok "dhclient renewal"; diag "$(cat "$T/dhclient.events" "$T/dhclient.log" | tail -20)"
fi

# kill -9 during a storm, restart: every ACKed lease is in the database
: >"$T/storm.acks"
netlab_bg c3 timeout 20 perfdhcp -4 -l eth0 -r 400 -p 10 -R 80 >/dev/null 2>&1
STORM_PERF=$NL_LAST_PID
netlab_bg relay python3 "$T/dhcp.py" storm "$T/storm.acks" 230 192.0.2.1 198.51.100.1 >/dev/null
STORM_PY=$NL_LAST_PID
for _ in $(seq 1 100); do [ "$(wc -l <"$T/storm.acks")" -ge 60 ] && break; sleep 0.05; done
kill -9 "$DHCPD_PID"
wait "$DHCPD_PID" 2>/dev/null
wait "$STORM_PY" 2>/dev/null
kill "$STORM_PERF" 2>/dev/null
wait "$STORM_PERF" 2>/dev/null
acked=$(wc -l <"$T/storm.acks")
missing=0
while read -r mac ip; do
    IFS=. read -r a b c d <<<"$ip"
    n=$(sqlite3 "$T/full/leases.db" \
        "SELECT count(*) FROM leases WHERE ip = $(((a << 24) | (b << 16) | (c << 8) | d)) AND hex(mac) = upper('$mac') AND state = 2")
    [ "$n" = 1 ] || missing=$((missing + 1))
done <"$T/storm.acks"
if [ "$acked" -gt 0 ] && [ "$missing" -eq 0 ]; then
    ok "kill -9: all $acked ACKed leases of the storm are in the database"
else
    nok "kill -9: ACKed leases durable"; diag "acked $acked, missing $missing"
fi
eq "lease database passes integrity_check" ok "$(sqlite3 "$T/full/leases.db" 'PRAGMA integrity_check')"
start_dhcpd srv "$T/full.conf" "$T/full" "$FULL_LOG.2" || nok "dhcpd restarts after kill -9"
read -r mac ip <"$T/storm.acks"
out=$(netlab_exec relay python3 "$T/dhcp.py" reboot "$mac" "$ip" 192.0.2.1 198.51.100.1 2>&1)
eq "after the restart a stormed client keeps its address (INIT-REBOOT)" "ack $ip" "$out"
stop_dhcpd "$DHCPD_PID" "$FULL_LOG.2"
grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$FULL_LOG" &&
    { nok "no sanitizer findings before kill -9"; diag "$(grep -A20 -E 'Sanitizer|runtime error' "$FULL_LOG" | head -40)"; }
netlab_cleanup

# ---- proxy mode next to dnsmasq ------------------------------------------------

netlab_ns psrv
netlab_bridge psrv 192.0.2.1/24
for c in real p1 p2 p3; do netlab_ns $c; netlab_veth_to_bridge psrv $c; done
ip -n "$(netlab_name real)" addr add 192.0.2.2/24 dev eth0
# nmap crafts raw frames but wants an addressed interface; p3 stays bare
ip -n "$(netlab_name p1)" addr add 192.0.2.70/24 dev eth0
ip -n "$(netlab_name p2)" addr add 192.0.2.60/24 dev eth0
netlab_bg real dnsmasq --keep-in-foreground --port=0 --interface=eth0 --bind-interfaces \
    --dhcp-range=192.0.2.150,192.0.2.199,255.255.255.0,1h --dhcp-leasefile="$T/dnsmasq.leases" \
    --dhcp-authoritative --pid-file="$T/dnsmasq.pid" --log-dhcp --log-facility="$T/dnsmasq.log"
cat >"$T/proxy.conf" <<'EOF'
[dhcp]
interfaces = br0
mode = proxy
EOF
PROXY_LOG=$T/proxy.log
start_dhcpd psrv "$T/proxy.conf" "$T/proxy" "$PROXY_LOG" || { nok "proxy dhcpd starts"; tail -20 "$PROXY_LOG"; finish; exit 1; }
ok "dhcpd starts in proxy mode"
sleep 0.3

for _ in 1 2 3; do # until dnsmasq is up
    out=$(netlab_exec p1 nmap -e eth0 --script broadcast-dhcp-discover \
        --script-args broadcast-dhcp-discover.timeout=2 2>&1)
    [[ "$out" == *"Server Identifier: 192.0.2.2"* ]] && break
done
contains "nmap sees dnsmasq's offer" "Server Identifier: 192.0.2.2" "$out"
if [[ "$out" == *"Server Identifier: 192.0.2.1"* ]]; then
    nok "proxy is silent to a plain (non-PXE) client"; diag "$out"
else
    ok "proxy is silent to a plain (non-PXE) client"
fi
# the same script, sending a PXE vendor class and asking for 66/67
sed 's/local options = {}/local options = {{number = 60, type = "string", value = "PXEClient:Arch:00000:UNDI:002001"}, {number = 55, type = "string", value = "\\x01\\x03\\x2b\\x3c\\x42\\x43"}}/' \
    /usr/share/nmap/scripts/broadcast-dhcp-discover.nse >"$T/pxe-dhcp-discover.nse"
out=$(netlab_exec p1 nmap -e eth0 --script "$T/pxe-dhcp-discover.nse" \
    --script-args pxe-dhcp-discover.timeout=2 2>&1)
contains "PXE client sees the proxy offer (server 192.0.2.1)" "Server Identifier: 192.0.2.1" "$out"
contains "proxy offer carries option 60 PXEClient" "Class Identifier: PXEClient" "$out"
contains "proxy offer carries the boot file" "Bootfile Name: undionly.kpxe" "$out"
contains "PXE client also sees dnsmasq's offer" "Server Identifier: 192.0.2.2" "$out"
if grep -B12 -A12 "Server Identifier: 192.0.2.1" <<<"$out" | grep -q "IP Offered: 0.0.0.0"; then
    ok "proxy offer has no address (yiaddr 0)"
elif ! grep -B12 -A12 "Server Identifier: 192.0.2.1" <<<"$out" | grep -q "IP Offered: 192"; then
    ok "proxy offer has no address"
else
    nok "proxy offer has no address"; diag "$out"
fi
# clients get their address from dnsmasq, whatever their class
: >"$T/udhcpc.events"
out=$(netlab_exec p3 timeout 15 udhcpc -i eth0 -q -n -t 5 -T 1 -s "$T/udhcpc.sh" -f 2>&1)
read -r _ ip sid < <(tail -1 "$T/udhcpc.events")
if in_range "${ip:-0}" 150 199 && [ "$sid" = 192.0.2.2 ]; then
    ok "client gets its address from dnsmasq ($ip)"
else
    nok "client address from dnsmasq"; diag "$out"$'\n'"$(cat "$T/udhcpc.events")"
fi
# a PXE boot-server request on 4011
out=$(netlab_exec p2 timeout 5 python3 "$T/dhcp.py" pxe4011 192.0.2.1 192.0.2.60 2>&1)
contains "4011 answers a UEFI PXE client with its boot file" "file=ipxe.efi vc=PXEClient uuid=echoed yiaddr=0.0.0.0" "$out"
st=$(stats "$DHCPD_PID" "$PROXY_LOG")
[ "$(stat_of proxy_offers "$st")" -ge 1 ] && [ "$(stat_of pxe_acks "$st")" -ge 1 ] &&
    [ "$(stat_of acks "$st")" = 0 ] && ok "proxy counters: offers and PXE ACKs, no leases" ||
    { nok "proxy counters"; diag "$st"; }
[ ! -e "$T/proxy/leases.db" ] || [ "$(sqlite3 "$T/proxy/leases.db" 'SELECT count(*) FROM leases' 2>/dev/null || echo 0)" = 0 ] &&
    ok "proxy mode stores no lease" || nok "proxy mode stores no lease"
stop_dhcpd "$DHCPD_PID" "$PROXY_LOG"
finish
