#!/bin/bash
# netlab.sh - network namespaces for tests and benchmarks (source it).
#
# Test traffic goes only to loopback or to hosts inside namespaces the test
# makes itself, addressed from 192.0.2.0/24 (TEST-NET-1) or 198.51.100.0/24.
# Every namespace made here is deleted on exit, and every process started
# through netlab_bg is killed by PID, even when the test fails.
#
#   netlab_init                      # needs root; sets NL_PREFIX (unique per run)
#   netlab_ns NAME                   # make namespace $NL_PREFIX-NAME with lo up
#   netlab_link NS1 ADDR1 NS2 ADDR2  # veth pair between two namespaces
#   netlab_bridge NS ADDR            # br0 in NS (forward_delay 0) with ADDR
#   netlab_tap NS TAP                # a tap on NS's br0 (for QEMU)
#   netlab_veth_to_bridge NS NS2 ADDR2  # NS2 joins NS's br0 through a veth
#   netlab_shape NS DEV "delay 250us rate 1gbit [loss 5%]"
#   netlab_exec NAME CMD...          # run in namespace NAME
#   netlab_bg NAME CMD...            # same, in the background; PID in NL_LAST_PID
#   netlab_bootherd NAME CONF [ARGS] # init and serve bootherd in NAME (with harness.sh)
set -u
NL_NAMESPACES=()
NL_BG_PIDS=()
NL_LAST_PID=

netlab_cleanup() {
    local p n
    for p in "${NL_BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${NL_BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for n in "${NL_NAMESPACES[@]}"; do
        # anything still running inside is ours: stop it by PID
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    NL_NAMESPACES=()
    NL_BG_PIDS=()
}

netlab_init() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "netlab: needs root (network namespaces)" >&2
        return 1
    fi
    NL_PREFIX="bh$$"
    trap 'netlab_cleanup; [ "$(type -t _cleanup)" = function ] && _cleanup' EXIT
}

netlab_ns() {
    local n="$NL_PREFIX-$1"
    ip netns add "$n" || return 1
    NL_NAMESPACES+=("$n")
    ip -n "$n" link set lo up
}

netlab_name() { echo "$NL_PREFIX-$1"; }

# veth between NS1 and NS2; ADDR in CIDR form (192.0.2.1/24); devices are
# named v-NS2 in NS1 and v-NS1 in NS2 (truncated to fit IFNAMSIZ)
netlab_link() {
    local a="$NL_PREFIX-$1" b="$NL_PREFIX-$3"
    local da="v-${3:0:12}" db="v-${1:0:12}"
    ip link add "$da" netns "$a" type veth peer name "$db" netns "$b" || return 1
    ip -n "$a" addr add "$2" dev "$da"
    ip -n "$b" addr add "$4" dev "$db"
    ip -n "$a" link set "$da" up
    ip -n "$b" link set "$db" up
}

netlab_bridge() {
    local n="$NL_PREFIX-$1"
    ip -n "$n" link add br0 type bridge forward_delay 0 || return 1
    ip -n "$n" addr add "$2" dev br0
    ip -n "$n" link set br0 up
}

netlab_tap() {
    local n="$NL_PREFIX-$1"
    ip -n "$n" tuntap add "$2" mode tap || return 1
    ip -n "$n" link set "$2" master br0 up
}

# NS2 gets a veth whose other end is a port of NS's br0
netlab_veth_to_bridge() {
    local a="$NL_PREFIX-$1" b="$NL_PREFIX-$2"
    local pa="p-${2:0:12}"
    ip link add "$pa" netns "$a" type veth peer name eth0 netns "$b" || return 1
    ip -n "$a" link set "$pa" master br0 up
    [ -n "${3:-}" ] && ip -n "$b" addr add "$3" dev eth0
    ip -n "$b" link set eth0 up
}

netlab_shape() {
    local n="$NL_PREFIX-$1"
    # shellcheck disable=SC2086
    ip netns exec "$n" tc qdisc replace dev "$2" root netem $3
}

netlab_exec() {
    local n="$NL_PREFIX-$1"
    shift
    ip netns exec "$n" "$@"
}

netlab_bg() {
    local n="$NL_PREFIX-$1"
    shift
    ip netns exec "$n" "$@" &
    NL_LAST_PID=$!
    NL_BG_PIDS+=("$NL_LAST_PID")
}

# netlab_bootherd NS CONF [SERVE_ARGS...]: `bootherd init` a data directory
# in TEST_TMP (unless the test did already), write CONF as its bootherd.conf (it names the listen address
# inside NS) and serve it in NS.  Sets BH_DATA BH_LOG BH_PID BH_URL BH_TOKEN
# for the harness helpers.  1 if it did not come up (the log's tail is on
# stdout).
netlab_bootherd() {
    local ns=$1 conf=$2 i
    shift 2
    BH_DATA=$TEST_TMP/data
    BH_LOG=$TEST_TMP/bootherd.log
    [ -f "$BH_DATA/bootherd.db" ] || "$BH" init --data "$BH_DATA" >/dev/null || return 1
    printf '%s\n' "$conf" >"$BH_DATA/bootherd.conf"
    export BH_NS_LOG=$BH_LOG
    # $0 is bootherd, "$@" the data directory and SERVE_ARGS
    netlab_bg "$ns" bash -c 'exec "$0" serve --data "$@" >>"$BH_NS_LOG" 2>&1' "$BH" "$BH_DATA" "$@"
    BH_PID=$NL_LAST_PID
    _PIDS+=("$BH_PID")
    for i in $(seq 1 100); do
        [ -s "$BH_DATA/http.addr" ] && break
        sleep 0.1
    done
    if ! [ -s "$BH_DATA/http.addr" ]; then
        tail -20 "$BH_LOG"
        return 1
    fi
    BH_URL="http://$(cat "$BH_DATA/http.addr")"
    BH_TOKEN=$(cat "$BH_DATA/admin.token")
}
