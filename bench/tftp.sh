#!/bin/bash
# tftp.sh - bootherd tftpd side by side with dnsmasq, tftpd-hpa and atftpd.
#
#   sudo bench/tftp.sh        (root: network namespaces; ~10 minutes)
#
# Two namespaces joined by a veth, both ends shaped to 1 Gbit/s with
# 0.25 ms each way (netem "delay 250us rate 1gbit").  Where the kernel has no
# netem (CONFIG_NET_SCH_NETEM off, as on the CI machines) the link is shaped
# to 1 Gbit/s with HTB and gets no added delay; the table says which.
#
#   1. one atftp client fetching a 64 MiB file, blksize 1468, windowsize
#      1, 4, 16 and 64; 3 runs per case, servers alternating; median MB/s,
#      % of the link rate, and bootherd/peer.  dnsmasq 2.90 and tftpd-hpa
#      have no windowsize (RFC 7440): they answer without it and run at 1.
#   2. 200 clients at once, each fetching a 30 MiB file (windowsize 16,
#      blksize 1468): total time, failed clients, server CPU seconds per GB
#      (the server's cpuacct cgroup, so tftpd-hpa's per-transfer children
#      count too; without one, utime+stime of /proc/PID/stat).  On a veth the
#      sender's CPU also pays for the receive path on the other end, so the
#      figure is only comparable between the servers of one run.
#
# The same client (atftp) for every server.  atftpd conflicts with tftpd-hpa
# as a Debian package, so its binary is unpacked into bench/cache/ (git-
# ignored) with apt-get download + dpkg -x.  Nothing else is written into
# the repository.  Knobs: REPS, WINDOWS, SIZE_MB, CLIENTS, MANY_MB, SERVERS.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BH=${BOOTHERD_BIN:-$ROOT/build/bootherd}
REPS=${REPS:-3}
WINDOWS=${WINDOWS:-"1 4 16 64"}
SIZE_MB=${SIZE_MB:-64}
CLIENTS=${CLIENTS:-200}
MANY_MB=${MANY_MB:-30}
SERVERS=${SERVERS:-"bootherd dnsmasq tftpd-hpa atftpd"}
BLKSIZE=1468
LINK_MBPS=125 # 1 Gbit/s in MB/s (10^6 bytes)
SRV=192.0.2.1
CACHE=$ROOT/bench/cache

die() { echo "tftp bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "$BH" ] || die "build first: make ($BH)"
for b in atftp dnsmasq in.tftpd tc ss; do
    command -v $b >/dev/null || die "$b missing (Debian: atftp dnsmasq-base tftpd-hpa iproute2)"
done
ATFTPD=$CACHE/atftpd/usr/sbin/atftpd
if [ ! -x "$ATFTPD" ]; then
    mkdir -p "$CACHE"
    (cd "$CACHE" && apt-get download atftpd >/dev/null && dpkg -x atftpd_*.deb atftpd) ||
        die "could not fetch atftpd into bench/cache"
fi

. "$ROOT/tests/lib/netlab.sh"
WORK=$(mktemp -d /tmp/bh-bench-tftp.XXXXXX)
SPID=
CG=/sys/fs/cgroup/cpuacct/bh-bench-tftp-$$
_cleanup() {
    [ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
    rm -rf "$WORK"
    [ -d "$CG" ] && rmdir "$CG" 2>/dev/null
}
netlab_init || exit 1
chmod 755 "$WORK"
mkdir -m 755 "$WORK/root"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$WORK/root/single"
head -c $((MANY_MB * 1024 * 1024)) /dev/urandom >"$WORK/root/many"
chmod 644 "$WORK/root"/*

netlab_ns srv
netlab_ns cli
netlab_link srv $SRV/24 cli 192.0.2.2/24
if netlab_shape srv v-cli "delay 250us rate 1gbit" 2>/dev/null; then
    netlab_shape cli v-srv "delay 250us rate 1gbit"
    LINK="1 Gbit/s, 0.25 ms each way (netem)"
else
    for end in "srv v-cli" "cli v-srv"; do
        set -- $end
        n=$(netlab_name "$1")
        ip netns exec "$n" tc qdisc add dev "$2" root handle 1: htb default 10
        ip netns exec "$n" tc class add dev "$2" parent 1: classid 1:10 htb rate 1gbit \
            ceil 1gbit quantum 60000
    done
    LINK="1 Gbit/s (HTB), no added delay: this kernel has no netem"
fi

# ---- servers -------------------------------------------------------------------
start_server() { # NAME
    local r=$WORK/root
    case $1 in
    bootherd)
        local u=()
        id bootherd >/dev/null 2>&1 || u=(--user nobody)
        netlab_bg srv "$BH" tftpd --root "$r" --listen $SRV:69 --max-transfers 1000 \
            --log-level warn "${u[@]}" ;;
    dnsmasq)
        netlab_bg srv dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
            --enable-tftp --tftp-root="$r" --tftp-max=1000 --listen-address=$SRV \
            --bind-interfaces --user=nobody --group=nogroup --pid-file= --log-facility=/dev/null ;;
    tftpd-hpa) netlab_bg srv in.tftpd -L -s "$r" -a $SRV:69 -u nobody ;;
    atftpd)
        netlab_bg srv "$ATFTPD" --daemon --no-fork --port 69 --bind-address $SRV \
            --maxthread 1000 --logfile /dev/null --user nobody --group nogroup "$r" ;;
    esac >"$WORK/$1.log" 2>&1
    SPID=$NL_LAST_PID
    # the server and every child it forks later are accounted in one cgroup
    if [ -d "$CG" ] || mkdir "$CG" 2>/dev/null; then echo "$SPID" >"$CG/cgroup.procs"; fi
    local i
    for i in $(seq 100); do
        netlab_exec srv ss -uln | grep -q "$SRV:69 " && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$WORK/$1.log" >&2
    die "$1 did not start"
}
stop_server() {
    kill -TERM "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=
    # tftpd-hpa forks a child per transfer; none may outlive the case
    local p
    for p in $(ip netns pids "$(netlab_name srv)"); do kill -9 "$p" 2>/dev/null; done
    sleep 0.2
}
cpu_ns() { # CPU time of the server (and its children), nanoseconds
    if [ -r "$CG/cpuacct.usage" ]; then
        cat "$CG/cpuacct.usage"
    else
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15 + $16 + $17) * 1e9 / hz }' \
            "/proc/$SPID/stat"
    fi
}
now_us() { echo $(($(date +%s%N) / 1000)); }
fetch() { # WINDOW FILE OUT
    netlab_exec cli atftp --option "blksize $BLKSIZE" --option "windowsize $1" -g -r "$2" \
        -l "$3" $SRV >/dev/null 2>&1
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mbps() { awk -v us="$1" -v mb="$2" 'BEGIN { printf "%.1f", mb * 1.048576 / (us / 1e6) }'; }

echo "tftp bench: $SERVERS; link $LINK; client atftp, blksize $BLKSIZE"
# each server delivers the file intact before it is timed
for s in $SERVERS; do
    start_server $s
    fetch 16 single "$WORK/check" || die "$s: fetch failed"
    cmp -s "$WORK/check" "$WORK/root/single" || die "$s: the file came back different"
    rm -f "$WORK/check"
    stop_server
done

# ---- 1. one client -------------------------------------------------------------
declare -A T
for rep in $(seq "$REPS"); do
    for w in $WINDOWS; do
        for s in $SERVERS; do
            start_server $s
            t0=$(now_us)
            if fetch "$w" single /dev/null; then
                T[$s:$w]="${T[$s:$w]:-} $(($(now_us) - t0))"
            else
                echo "  $s windowsize $w run $rep failed" >&2
            fi
            stop_server
        done
    done
    echo "  single-client round $rep of $REPS done" >&2
done

echo
echo "1. one client, ${SIZE_MB} MiB, blksize $BLKSIZE: median of $REPS, MB/s (% of link), bootherd/peer"
printf '%-10s' windowsize
for s in $SERVERS; do printf ' | %-24s' "$s"; done
echo
for w in $WINDOWS; do
    printf '%-10s' "$w"
    bm=$(median <<<"${T[bootherd:$w]:-}")
    for s in $SERVERS; do
        m=$(median <<<"${T[$s:$w]:-}")
        if [ -z "$m" ]; then
            printf ' | %-24s' "failed"
            continue
        fi
        r=$(mbps "$m" "$SIZE_MB")
        cell=$(awk -v r="$r" -v l=$LINK_MBPS 'BEGIN { printf "%s (%.0f%%)", r, 100 * r / l }')
        if [ "$s" != bootherd ] && [ -n "$bm" ]; then
            cell="$cell x$(awk -v a="$m" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')"
        fi
        case $s in dnsmasq | tftpd-hpa) [ "$w" -gt 1 ] && cell="$cell *" ;; esac
        printf ' | %-24s' "$cell"
    done
    echo
done
echo "  xN = bootherd/peer throughput; * = no windowsize support, ran at windowsize 1"

# ---- 2. many clients at once --------------------------------------------------------
echo
echo "2. $CLIENTS clients at once, ${MANY_MB} MiB each, windowsize 16, blksize $BLKSIZE"
printf '%-10s | %8s | %8s | %8s | %12s\n' server "total s" failed "MB/s" "CPU s/GB"
for s in $SERVERS; do
    start_server $s
    c0=$(cpu_ns)
    t0=$(now_us)
    pids=()
    for i in $(seq "$CLIENTS"); do
        fetch 16 many /dev/null &
        pids+=($!)
    done
    failed=0
    for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
    t1=$(now_us)
    c1=$(cpu_ns)
    stop_server
    awk -v s="$s" -v us=$((t1 - t0)) -v f=$failed -v n="$CLIENTS" -v mb="$MANY_MB" \
        -v cpu=$((c1 - c0)) 'BEGIN {
        gb = (n - f) * mb * 1048576 / 1e9
        printf "%-10s | %8.1f | %8d | %8.1f | %12.3f\n", s, us / 1e6, f, gb * 1000 / (us / 1e6),
            (gb > 0 ? cpu / 1e9 / gb : 0) }'
done
