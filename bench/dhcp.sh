#!/bin/bash
# dhcp.sh - DHCP DORA throughput: bootherd (full mode, durable leases) vs
# kea-dhcp4 (memfile, persist=true) vs dnsmasq (lease file).
#
#   bench/dhcp.sh [ROUNDS] [SECONDS]      (defaults 3 and 4; needs root)
#   RATES="1000 2000 ..." to change the steps
#
# Server and perfdhcp sit in two namespaces joined by a veth pair shaped to
# 1 Gbit/s with 0.25 ms each way (netem; where the kernel lacks sch_netem,
# to 1 Gbit/s alone with tbf, and the output says so).  Each server gets
# the same /24 pool (192.0.2.10-250) and perfdhcp simulates 200 clients (-R 200), so
# addresses are reused: a /24 cannot hold more and only TEST-NET ranges are
# allowed here.  perfdhcp talks to the server as a relay would (unicast,
# giaddr set), which every server handles on a plain UDP socket.
#
# Two figures per server and round:
#   A  the rate is stepped up (-r) until two runs in a row drop 1% or more of
#      their DISCOVERs or REQUESTs; A is the best achieved rate (ACKs
#      received per second of the test period) of a run with < 1% drops;
#   B  the rate delivered when offered SAT_RATE (30000/s), with its drops.
# Each step also prints the UDP receive-queue overflows of the server's and
# of perfdhcp's namespace, so drops can be put where they happen.  All 200
# simulated clients share perfdhcp's one socket, so the ACK bursts of a group
# commit can overflow it where real clients (one ACK each) would not.
# Servers alternate within each round; medians and ratios are printed.
#
# Durability is not the same: bootherd fsyncs every lease before its ACK
# (group commit, commit_ms = 5); Kea's memfile appends to its CSV without
# fsync; dnsmasq rewrites its lease file without fsync.  dnsmasq runs with
# --no-ping, like bootherd (no ICMP check before offering).
#
# Writes nothing to the repository except bench/cache/dhcp-last.txt.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BH=${BOOTHERD_BIN:-$ROOT/build/bootherd}
ROUNDS=${1:-3}
SECS=${2:-4}
RATES=${RATES:-"1000 2000 3000 4000 5000 6000 8000 10000 12000 14000 16000 20000 24000"}
SAT_RATE=${SAT_RATE:-30000}
SERVERS=${SERVERS:-"bootherd kea dnsmasq"} # a subset, e.g. SERVERS=bootherd for a before/after
for t in perfdhcp kea-dhcp4 dnsmasq; do
    command -v "$t" >/dev/null || { echo "missing $t (apt-get install kea-admin kea-dhcp4-server dnsmasq)" >&2; exit 1; }
done
[ -x "$BH" ] || { echo "build first: $BH missing" >&2; exit 1; }
source "$ROOT/tests/lib/netlab.sh"
netlab_init || exit 1
work=$(mktemp -d /tmp/bh-bench-dhcp.XXXXXX)
chmod 755 "$work"
trap 'netlab_cleanup; rm -rf "$work"' EXIT
mkdir -p "$ROOT/bench/cache"

netlab_ns srv
netlab_ns cli
netlab_link srv 192.0.2.1/24 cli 192.0.2.2/24
# netem (delay + rate); kernels without sch_netem get the rate alone (tbf)
SHAPE="1 Gbit/s + 0.25 ms each way (netem)"
if ! netlab_shape srv v-cli "delay 250us rate 1gbit limit 100000" 2>/dev/null; then
    SHAPE="1 Gbit/s (tbf; no sch_netem in this kernel, so no added delay)"
    for ns in "srv v-cli" "cli v-srv"; do
        set -- $ns
        netlab_exec "$1" tc qdisc replace dev "$2" root tbf rate 1gbit burst 256k latency 10ms
    done
else
    netlab_shape cli v-srv "delay 250us rate 1gbit limit 100000"
fi
echo "link: $SHAPE" >&2

cat >"$work/bootherd.conf" <<EOF
[dhcp]
interfaces = v-cli:full
lease_time = 3600
commit_ms = 5

[subnet]
network = 192.0.2.0/24
range = 192.0.2.10-192.0.2.250
router = 192.0.2.1
EOF

kea_conf() {
    cat <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "v-cli" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0,
                        "name": "$1/kea-leases4.csv" },
    "valid-lifetime": 3600,
    "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                   "pools": [ { "pool": "192.0.2.10 - 192.0.2.250" } ],
                   "option-data": [ { "name": "routers", "data": "192.0.2.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "$1/kea.log" } ] } ]
} }
EOF
}

SERVER_PID=
start_server() { # NAME DIR
    local d=$2
    rm -rf "$d"
    mkdir -p "$d"
    chmod 777 "$d"
    case $1 in
    bootherd)
        netlab_bg srv "$BH" dhcpd --config "$work/bootherd.conf" --data "$d" --log-level warn \
            2>"$d/log" ;;
    kea)
        kea_conf "$d" >"$d/kea.json"
        KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d netlab_bg srv kea-dhcp4 -c "$d/kea.json" \
            >"$d/log" 2>&1 ;;
    dnsmasq)
        netlab_bg srv dnsmasq --keep-in-foreground --port=0 --interface=v-cli --bind-interfaces \
            --dhcp-range=192.0.2.10,192.0.2.250,255.255.255.0,1h --dhcp-leasefile="$d/leases" \
            --dhcp-authoritative --no-ping --pid-file="$d/pid" --log-facility="$d/log" ;;
    esac
    SERVER_PID=$NL_LAST_PID
    sleep 1
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "$1 did not start:" >&2; tail "$d/log" >&2; return 1; }
}

stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
}

# UDP datagrams the sockets of namespace $1 had no room for
rcvbuf_errors() {
    netlab_exec "$1" awk '/^Udp:/ {if (h) {print $6; exit} h = 1}' /proc/net/snmp
}

# one perfdhcp run: prints "achieved_rate max_drop_percent server_overflows
# client_overflows"
run_rate() {
    local out rate drops e0 e1 c0 c1
    e0=$(rcvbuf_errors srv)
    c0=$(rcvbuf_errors cli)
    # -W: wait 0.3 s for replies in flight when the period ends (not drops)
    out=$(netlab_exec cli perfdhcp -4 -l v-srv -r "$1" -p "$SECS" -W 300000 -R 200 192.0.2.1 2>&1)
    # ACKs received over the test period (perfdhcp's own "Rate:" also
    # divides by the -W wait)
    rate=$(awk -v p="$SECS" '/^received packets:/ {n = $3} END {printf "%.0f", n / p}' <<<"$out")
    drops=$(awk '/^drops ratio:/ {print $3}' <<<"$out" | sort -g | tail -1)
    e1=$(rcvbuf_errors srv)
    c1=$(rcvbuf_errors cli)
    echo "${rate:-0} ${drops:-100} $((e1 - e0)) $((c1 - c0))"
}

# best achieved rate with < 1% drops, stepping up
measure() { # NAME
    local best=0 r res rate drops ovf covf fails=0
    start_server "$1" "$work/$1" || { echo 0; return; }
    for r in $RATES; do
        res=$(run_rate "$r")
        read -r rate drops ovf covf <<<"$res"
        echo "  $1 -r $r: $rate exchanges/s, drops $drops%, socket overflows server $ovf client $covf" >&2
        if awk -v d="$drops" 'BEGIN {exit !(d < 1)}'; then
            best=$(awk -v a="$best" -v b="$rate" 'BEGIN {print (b > a) ? b : a}')
            fails=0
        else
            # one bad step can be a blip on a shared machine; two end it
            fails=$((fails + 1))
            [ "$fails" -ge 2 ] && break
        fi
    done
    # saturation: what it delivers when offered far more than it can take
    res=$(run_rate "$SAT_RATE")
    read -r rate drops ovf covf <<<"$res"
    echo "  $1 -r $SAT_RATE (saturation): $rate exchanges/s, drops $drops%, socket overflows server $ovf client $covf" >&2
    stop_server
    echo "$best $rate $drops"
}

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

declare -A best sat satdrop
for round in $(seq 1 "$ROUNDS"); do
    order=$SERVERS
    [ $((round % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$SERVERS" | grep . | tac | tr '\n' ' ')
    for s in $order; do
        echo "round $round: $s" >&2
        read -r b r d <<<"$(measure "$s")"
        best[$s]+="$b "
        sat[$s]+="$r "
        satdrop[$s]+="$d "
    done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
{
    echo "DHCP DORA exchanges/s, perfdhcp -R 200, ${SECS}s runs, $ROUNDS rounds; link $SHAPE"
    echo "A: best rate with < 1% drops   B: delivered when offered $SAT_RATE/s (drop %)"
    for s in $SERVERS; do
        printf '%-9s A runs: %-32s median %6s   B runs: %-28s median %6s (drops %s)\n' "$s" \
            "${best[$s]}" "$(med "${best[$s]}")" "${sat[$s]}" "$(med "${sat[$s]}")" \
            "$(med "${satdrop[$s]}")%"
    done
    awk -v b="$(med "${best[bootherd]}")" -v k="$(med "${best[kea]:-}")" -v d="$(med "${best[dnsmasq]:-}")" \
        -v sb="$(med "${sat[bootherd]}")" -v sk="$(med "${sat[kea]:-}")" -v sd="$(med "${sat[dnsmasq]:-}")" 'BEGIN {
        if (k) printf "ratio bootherd/kea:     A %.2f   B %.2f\n", b / k, (sk ? sb / sk : 0)
        if (d) printf "ratio bootherd/dnsmasq: A %.2f   B %.2f\n", b / d, (sd ? sb / sd : 0) }'
} | tee "$ROOT/bench/cache/dhcp-last.txt"
