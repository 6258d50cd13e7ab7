#!/bin/bash
# boot_proof.sh - a boot ticket goes only to the machine that is booting as
# that MAC (issue 9, H1).  A segment in namespaces made here (root;
# 192.0.2.0/24 only; removed on exit): bootherd in proxy mode beside
# dnsmasq, and PXE-ROM-like clients (tests/lib/pxeclient.py) that do their
# DHCP exchange and then fetch their iPXE script over HTTP, as iPXE does.
#
#   c1   DHCP from dnsmasq, script from its own address: a ticket, none on a
#        second fetch in the same boot; a REQUEST from a port other than 68
#        (any program on the machine can send one) starts no new boot; a
#        real new exchange does, with a new ticket; a script that boots the
#        disk asks for no ticket
#   c2   a static address, no exchange: asks for c1's script, gets none;
#        forges a REQUEST in c1's name for its own address: still none, the
#        neighbour table gives the address to c2
#   far  behind a router (198.51.100.0/24): forges c1's exchange for its own
#        address, fetches through the router: none, no neighbour entry
#   c3   full mode (switched at run time): bootherd's own lease proves it
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/netlab.sh"
netlab_init || { skip "boot tickets over a real DHCP exchange" "needs root for network namespaces"; finish; exit 0; }
for tool in dnsmasq python3 curl jq; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
T=$TEST_TMP
PXE=$ROOT/tests/lib/pxeclient.py

netlab_ns srv
netlab_bridge srv 192.0.2.1/24
netlab_ns dhcp
netlab_veth_to_bridge srv dhcp 192.0.2.2/24
for c in c1 c2 c3 rtr far; do netlab_ns "$c"; done
netlab_veth_to_bridge srv c1
netlab_veth_to_bridge srv c2 192.0.2.70/24
netlab_veth_to_bridge srv c3
# a router between the segment and 198.51.100.0/24, where "far" lives
netlab_veth_to_bridge srv rtr 192.0.2.254/24
netlab_link rtr 198.51.100.1/24 far 198.51.100.10/24
netlab_exec rtr sysctl -qw net.ipv4.ip_forward=1
netlab_exec far ip route add default via 198.51.100.1
netlab_exec srv ip route add 198.51.100.0/24 via 192.0.2.254
mac_of() { netlab_exec "$1" cat /sys/class/net/eth0/address; }
M1=$(mac_of c1) M2=$(mac_of c2) M3=$(mac_of c3)

netlab_bg dhcp dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=eth0 \
    --bind-interfaces --dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h \
    --dhcp-leasefile="$T/dnsmasq.leases" --pid-file= --log-facility="$T/dnsmasq.log"
DNSMASQ_PID=$NL_LAST_PID

CONF=$'[http]\nlisten = 192.0.2.1:8080\n[dhcp]\ninterfaces = br0\nmode = proxy\ncommit_ms = 2\n[subnet]\nnetwork = 192.0.2.0/24\nrange = 192.0.2.50-192.0.2.60\nrouter = 192.0.2.1\nlease_time = 600'
netlab_bootherd srv "$CONF" >"$T/start.log" || { nok "serve starts"; diag "$(cat "$T/start.log")"; finish; exit 1; }
ok "bootherd serves proxy DHCP beside dnsmasq"
bhn() { netlab_exec srv "$BH" --url "$BH_URL" --token "$BH_TOKEN" "$@"; }
bhn profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}" >/dev/null
for m in "$M1" "$M2" "$M3"; do bhn host add "$m" profile=agentos >/dev/null; done

script_ticket() { # NS MAC: the ticket in the iPXE script NS fetches for MAC ("" if none)
    netlab_exec "$1" curl -s --max-time 5 "$BH_URL/boot/ipxe?mac=$2" |
        sed -n 's/.*bootherd\.ticket=\([^ ]*\).*/\1/p' | head -1
}
boot_dhcp() { # NS: its PXE exchange, then the address on eth0; prints the address
    local ip
    ip=$(netlab_exec "$1" python3 "$PXE" --iface eth0 --timeout 8) || return 1
    netlab_exec "$1" ip addr flush dev eth0
    netlab_exec "$1" ip addr add "$ip/24" dev eth0
    echo "$ip"
}
refusal() { # MAC: the newest boot.ticket_refused reason on the host's timeline
    local i why
    for i in $(seq 1 30); do # the boot worker writes the timeline in batches
        why=$(bhn --json boot log "$1" --limit 20 2>/dev/null |
            jq -r '[.items[] | select(.type == "boot.ticket_refused")][0].data.why // empty')
        [ -n "$why" ] && [ "$why" != "${2:-}" ] && break
        sleep 0.1
    done
    echo "$why"
}

# ---- c1: a real exchange, then its own script ----------------------------------
IP1=$(boot_dhcp c1)
case "$IP1" in
192.0.2.1[0-4][0-9] | 192.0.2.150) ok "c1 got $IP1 from dnsmasq (bootherd hands out none in proxy mode)" ;;
*) nok "c1 gets an address from dnsmasq (got '$IP1')"; diag "$(tail -5 "$T/dnsmasq.log")" ;;
esac
T1=$(script_ticket c1 "$M1")
check "c1's script, fetched from the address of its exchange, carries a ticket" test -n "$T1"
T1b=$(script_ticket c1 "$M1")
eq "  ... a second fetch in the same boot gets none" "" "$T1b"
contains "  ... saying so" "handed out already" "$(refusal "$M1")"
out=$(netlab_exec c1 curl -s -XPOST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
    -d "{\"mac\":\"$M1\",\"ticket\":\"$T1\"}")
check "  ... the ticket buys a host token" jq -e '.token | startswith("bh_")' <<<"$out"
HT1=$(jq -r .token <<<"$out")
out=$(netlab_exec c1 curl -s -XPOST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
    -d "{\"mac\":\"$M1\",\"ticket\":\"$T1\"}")
contains "  ... once" "used already" "$out"
# any program on c1 (not root) can send a DHCP REQUEST, but not from port 68
netlab_exec c1 setpriv --reuid=65534 --regid=65534 --clear-groups python3 "$PXE" --iface eth0 \
    --request "$IP1" --server 192.0.2.2 --sport 40068
sleep 0.3
eq "a REQUEST from another port than 68 starts no new boot: no ticket" "" "$(script_ticket c1 "$M1")"
boot_dhcp c1 >/dev/null
T1c=$(script_ticket c1 "$M1")
check "a new DHCP exchange is a new boot: a new ticket" test -n "$T1c" -a "$T1c" != "$T1"
for _ in $(seq 1 30); do # the boot worker ends the old sessions
    st=$(netlab_exec c1 curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HT1" "$BH_URL/api/v1/agent/task")
    [ "$st" = 401 ] && break
    sleep 0.1
done
eq "  ... and the host token of the boot before ends (401)" 401 "$st"
bhn host set "$M1" 'boot={"action":"local"}' >/dev/null
boot_dhcp c1 >/dev/null
script_ticket c1 "$M1" >/dev/null
bhn host set "$M1" 'boot=' >/dev/null
for _ in $(seq 1 30); do
    ev=$(bhn --json boot log "$M1" --limit 10 2>/dev/null |
        jq -c '[.items[] | select(.type == "boot.script")][0].data | select(.action == "local")')
    [ -n "$ev" ] && break
    sleep 0.1
done
contains "a script that boots the disk carries no ticket and asks for none" '"action":"local"' "$ev"
contains "  ... (boot.script says so)" '"ticket":false' "$ev"
T1d=$(script_ticket c1 "$M1")
check "  ... so that boot's ticket is still there for the profile" test -n "$T1d"

# ---- c2: no exchange of c1's, then a forged one ----------------------------------
T2=$(script_ticket c2 "$M1")
eq "c1's script fetched from c2's address carries no ticket" "" "$T2"
why=$(refusal "$M1")
contains "  ... and c1's boot log says why" "the request came from 192.0.2.70, but this machine's DHCP exchange was for $IP1" "$why"
T2b=$(script_ticket c2 "$M2")
eq "c2's own script: no ticket without a DHCP exchange" "" "$T2b"
contains "  ... saying so" "no DHCP exchange of this machine was seen" "$(refusal "$M2")"
netlab_exec c2 python3 "$PXE" --iface eth0 --mac "$M1" --request 192.0.2.70 --server 192.0.2.2
sleep 0.3
T2c=$(script_ticket c2 "$M1")
eq "c2 forges a REQUEST in c1's name for its own address: still no ticket" "" "$T2c"
contains "  ... the neighbour table gives the address to c2" \
    "the request came from 192.0.2.70, which the neighbour table gives to $M2" "$(refusal "$M1" "$why")"
boot_dhcp c1 >/dev/null
check "c1 itself still gets a ticket for its next boot" test -n "$(script_ticket c1 "$M1")"

# ---- far: behind a router ---------------------------------------------------------
netlab_exec far python3 "$PXE" --iface v-rtr --mac "$M1" --request 198.51.100.10 --server 192.0.2.1 \
    --dest 192.0.2.1 --ciaddr
sleep 0.3
eq "a machine behind a router forges c1's exchange for its own address: no ticket" "" "$(script_ticket far "$M1")"
contains "  ... the neighbour table knows no such machine here" "neighbour table has no entry for 198.51.100.10" "$(refusal "$M1")"

# ---- c3: full mode, bootherd's own lease ---------------------------------------
bhn settings set 'dhcp_modes={"br0":"full"}' >/dev/null
kill -9 "$DNSMASQ_PID" 2>/dev/null # bootherd is the segment's DHCP server now
IP3=$(boot_dhcp c3)
case "$IP3" in
192.0.2.5[0-9] | 192.0.2.60) ok "full mode: c3 got $IP3 from bootherd" ;;
*) nok "full mode: c3 gets an address from bootherd (got '$IP3')"; diag "$(tail -20 "$BH_LOG")" ;;
esac
T3=$(script_ticket c3 "$M3")
check "full mode: c3's script from its leased address carries a ticket" test -n "$T3"
eq "full mode: c3's script fetched from c2 carries none" "" "$(script_ticket c2 "$M3")"

kill -TERM "$BH_PID"
for _ in $(seq 1 50); do kill -0 "$BH_PID" 2>/dev/null || break; sleep 0.1; done
wait "$BH_PID" 2>/dev/null
eq "serve exits 0 on SIGTERM" 0 "$?"
finish
