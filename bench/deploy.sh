#!/bin/bash
# deploy.sh - bootherd-agent deploy over a 1 Gbit/s link, side by side with
# rsync and a LINBO-style restore (issue 5).
#
#   sudo bench/deploy.sh        (root: namespaces, loop devices; ~10 minutes)
#
# Two network namespaces joined by a veth: the server (192.0.2.1) runs
# bootherd serve, an rsync daemon and a python3 HTTP server; the client
# (192.0.2.2) runs bootherd-agent, rsync and curl + qemu-img.  This kernel
# has no sch_netem, so both ends of the veth are shaped with
# "tbf rate 1gbit burst 256k latency 10ms" and get no added delay.
#
# Data: bench/cache/image/v1.img (bench/image_data.sh builds it): a 2 GiB
# ext4 image of a Debian debootstrap, imported as image "bench" version 1.
# Two changed versions, made here with python3 from v1.img, each with 1 %
# of its used 4 KiB blocks (blocks that are not all zeros) overwritten with
# random bytes:
#   scattered  the blocks are picked uniformly at random (the worst case
#              for any chunked store: most 256 KiB chunks get one);
#   clustered  the same number of blocks, in runs of 64 blocks (256 KiB),
#              as whole files being rewritten look.
# The target is a loop device on a sparse 2 GiB file in bench/cache/deploy
# (git-ignored); the rsync target is a file there.
#
# Measured in one run, REPS times each, medians:
#   full     bootherd-agent deploy --full of version 1
#   delta    target holds v1; bootherd-agent deploy (sync) to the changed
#            version (the target is synced back to v1 between reps)
#   rsync    rsync --inplace --no-whole-file --fsync -I of the raw changed
#            image from an rsync daemon onto a file holding v1
#   linbo    curl of the changed image as a compressed qcow2 (qemu-img
#            convert -c) from an HTTP server, then qemu-img convert -O raw
#            onto the loop device (LINBO's restore: fetch the whole image,
#            unpack it onto the partition)
# Bytes on the wire: the client veth's rx_bytes.  The server's chunk files
# stay in its page cache between reps (a server deploying a room).
# Knobs: REPS, BH_DEPLOY_THREADS (agent --threads), KEEP=1 (keep the work dir).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BH=${BOOTHERD_BIN:-$ROOT/build/bootherd}
AGENT=${BOOTHERD_AGENT_BIN:-$(dirname "$BH")/bootherd-agent}
REPS=${REPS:-3}
IMG=$ROOT/bench/cache/image
CACHE=$ROOT/bench/cache/deploy
LINK_MBPS=125 # 1 Gbit/s in MB/s (10^6 bytes)
SRV=192.0.2.1
PORT=8080
HTTP_PORT=8081
RSYNC_PORT=8730

die() { echo "deploy bench: $*" >&2; exit 1; }
log() { echo "deploy bench: $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, loop devices)"
[ -x "$BH" ] && [ -x "$AGENT" ] || die "build first: ninja -C build ($BH, $AGENT)"
command -v rsync >/dev/null || apt-get install -y rsync >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y rsync >/dev/null 2>&1; } ||
    die "rsync missing (apt-get install rsync)"
for b in qemu-img curl python3 losetup tc blockdev; do
    command -v $b >/dev/null || die "$b missing"
done
if [ ! -f "$IMG/done" ]; then
    log "building the benchmark images (bench/image_data.sh)"
    bench/image_data.sh >&2 || die "bench/image_data.sh failed"
fi
V1=$IMG/v1.img
SIZE=$(stat -c %s "$V1")
# shellcheck disable=SC1091
. "$IMG/info.txt"
mkdir -p "$CACHE"

# ---- the changed versions (cached) --------------------------------------------
make_changed() { # OUT MODE
    [ -f "$1" ] && [ -f "$1.blocks" ] && return 0
    log "making $(basename "$1") ($2)"
    cp --sparse=always "$V1" "$1.tmp"
    python3 - "$1.tmp" "$2" >"$1.blocks" <<'PY' || return 1
import os, random, sys
path, mode = sys.argv[1], sys.argv[2]
B = 4096
zero = bytes(B)
used = []
with open(path, "rb") as f:
    size = os.fstat(f.fileno()).st_size
    off = 0
    while off < size:
        try:
            d = os.lseek(f.fileno(), off, os.SEEK_DATA)
        except OSError:
            break
        h = os.lseek(f.fileno(), d, os.SEEK_HOLE)
        f.seek(d)
        for b in range(d // B, (h + B - 1) // B):
            if f.read(B) != zero:
                used.append(b)
        off = h
rng = random.Random(5)
n = len(used) // 100
if mode == "scattered":
    pick = rng.sample(used, n)
else:  # runs of 64 used blocks
    run = 64
    starts = rng.sample(range(0, len(used) - run, run), n // run)
    pick = [used[s + i] for s in starts for i in range(run)]
with open(path, "r+b") as f:
    for b in pick:
        f.seek(b * B)
        f.write(rng.randbytes(B))
print(len(used), len(pick))
PY
    mv "$1.tmp" "$1"
}
make_changed "$CACHE/v1b.img" scattered || die "making v1b"
make_changed "$CACHE/v1c.img" clustered || die "making v1c"
read -r USED_BLOCKS B_BLOCKS <"$CACHE/v1b.img.blocks"
read -r _ C_BLOCKS <"$CACHE/v1c.img.blocks"
if [ ! -f "$CACHE/v1b.qcow2" ]; then
    log "compressing v1b into a qcow2 (qemu-img convert -c)"
    qemu-img convert -c -O qcow2 "$CACHE/v1b.img" "$CACHE/v1b.qcow2.tmp" &&
        mv "$CACHE/v1b.qcow2.tmp" "$CACHE/v1b.qcow2" || die "qemu-img convert -c"
fi
QCOW_BYTES=$(stat -c %s "$CACHE/v1b.qcow2")

# ---- namespaces, server, target ------------------------------------------------
. "$ROOT/tests/lib/netlab.sh"
netlab_init || exit 1
WORK=$(mktemp -d /tmp/bh-bench-deploy.XXXXXX)
chmod 755 "$WORK"
LOOP=
_cleanup() {
    [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
netlab_ns srv
netlab_ns cli
netlab_link srv $SRV/24 cli 192.0.2.2/24
netlab_exec srv tc qdisc replace dev v-cli root tbf rate 1gbit burst 256k latency 10ms
netlab_exec cli tc qdisc replace dev v-srv root tbf rate 1gbit burst 256k latency 10ms
log "link: veth, both ends tbf rate 1gbit burst 256k latency 10ms (no sch_netem on this kernel: no added delay)"

"$BH" init --data "$WORK/data" >/dev/null || die "bootherd init"
netlab_bg srv "$BH" serve --data "$WORK/data" --http $SRV:$PORT --log-level warn >"$WORK/serve.log" 2>&1
for _ in $(seq 1 100); do
    netlab_exec srv curl -sf http://$SRV:$PORT/health >/dev/null && break
    sleep 0.1
done
TOKEN=$(cat "$WORK/data/admin.token")
URL=http://$SRV:$PORT
bhc() { netlab_exec srv "$BH" --url "$URL" --token "$TOKEN" "$@"; }
log "importing v1, v1b (scattered) and v1c (clustered) as bench@1, @2, @3"
bhc image import bench "$V1" --note v1 >/dev/null 2>&1 || die "import v1"
bhc image import bench "$CACHE/v1b.img" --note "1% scattered" >/dev/null 2>&1 || die "import v1b"
bhc image import bench "$CACHE/v1c.img" --note "1% clustered" >/dev/null 2>&1 || die "import v1c"

rm -f "$CACHE/target.img"
truncate -s "$SIZE" "$CACHE/target.img"
LOOP=$(losetup -f --show "$CACHE/target.img") || die "losetup"

mkdir -p "$WORK/rsrc"
cp --sparse=always "$CACHE/v1b.img" "$WORK/rsrc/v1b.img"
cp --sparse=always "$CACHE/v1c.img" "$WORK/rsrc/v1c.img"
cat >"$WORK/rsyncd.conf" <<EOF
use chroot = no
uid = root
gid = root
pid file = $WORK/rsyncd.pid
[img]
    path = $WORK/rsrc
    read only = yes
EOF
netlab_bg srv rsync --daemon --no-detach --config="$WORK/rsyncd.conf" --address=$SRV --port=$RSYNC_PORT \
    >/dev/null 2>&1
netlab_bg srv python3 -m http.server --bind $SRV --directory "$CACHE" $HTTP_PORT >/dev/null 2>&1
sleep 1

# ---- helpers ----------------------------------------------------------------------
now() { date +%s.%N; }
rx() { netlab_exec cli cat /sys/class/net/v-srv/statistics/rx_bytes; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
agent() { netlab_exec cli "$AGENT" deploy --server "$URL" --token "$TOKEN" --device "$LOOP" \
    ${BH_DEPLOY_THREADS:+--threads $BH_DEPLOY_THREADS} "$@" 2>"$WORK/agent.err"; }
# timed CMD...: prints "seconds wire_bytes" and keeps the output in $WORK/last
timed() {
    local t0 t1 r0 r1
    r0=$(rx); t0=$(now)
    "$@" >"$WORK/last" 2>&1 || { cat "$WORK/last" "$WORK/agent.err" >&2; die "failed: $*"; }
    t1=$(now); r1=$(rx)
    echo "$(echo "$t1 - $t0" | bc -l) $((r1 - r0))"
}

declare -A T W
run_full() { timed agent --image bench@1 --full; }
run_delta() { # REF
    agent --image bench@1 >/dev/null || die "sync back to v1"
    timed agent --image "bench@$1"
}
run_rsync() { # FILE
    cp --sparse=always "$V1" "$CACHE/rsync-target.img"
    sync -f "$CACHE/rsync-target.img"
    timed netlab_exec cli rsync --inplace --no-whole-file --fsync -I \
        "rsync://$SRV:$RSYNC_PORT/img/$1" "$CACHE/rsync-target.img"
}
linbo_restore() {
    netlab_exec cli curl -sf -o "$CACHE/client-cache.qcow2" "http://$SRV:$HTTP_PORT/v1b.qcow2" &&
        qemu-img convert -n -O raw "$CACHE/client-cache.qcow2" "$LOOP" &&
        blockdev --flushbufs "$LOOP"
}
run_linbo() { rm -f "$CACHE/client-cache.qcow2"; timed linbo_restore; }

for rep in $(seq 1 "$REPS"); do
    log "rep $rep/$REPS"
    for c in full delta_b delta_c rsync_b rsync_c linbo; do
        case $c in
        full) r=$(run_full) ;;
        delta_b) r=$(run_delta 2) ;;
        delta_c) r=$(run_delta 3) ;;
        rsync_b) r=$(run_rsync v1b.img) ;;
        rsync_c) r=$(run_rsync v1c.img) ;;
        linbo) r=$(run_linbo) ;;
        esac
        read -r s w <<<"$r"
        T[$c]="${T[$c]:-} $s"
        W[$c]="${W[$c]:-} $w"
        log "  $c: $s s, $w bytes on the wire"
        case $c in full | delta_*) log "    $(tail -1 "$WORK/last")" ;; esac
    done
done
agent --image bench@2 >/dev/null && cmp "$LOOP" "$CACHE/v1b.img" && log "final check: the loop device holds v1b bit-exact" ||
    die "the deployed image differs from v1b"
agent --image bench@1 --full >"$WORK/full.out" || die "last full deploy"
FULL_LINE=$(tail -1 "$WORK/full.out")
agent --image bench@2 >"$WORK/delta.out" || die "last delta"
DELTA_LINE=$(tail -1 "$WORK/delta.out")

med() { tr ' ' '\n' <<<"${T[$1]}" | grep . | median; }
medw() { tr ' ' '\n' <<<"${W[$1]}" | grep . | median; }
f() { printf "%.2f" "$1"; }
mb() { printf "%.1f" "$(echo "$1 / 1000000" | bc -l)"; }
FULL=$(med full)
NZ=$V1_NONZERO_BYTES
RATE_LOG=$(echo "$SIZE / $FULL / 1000000" | bc -l)
RATE_NZ=$(echo "$NZ / $FULL / 1000000" | bc -l)

echo
echo "## Deploy (issue 5)"
echo
echo "Command: \`sudo bench/deploy.sh\` (REPS=$REPS, medians; $(nproc) CPUs; $(date -u +%Y-%m-%d))."
echo "Link: veth between two namespaces, both ends \`tbf rate 1gbit burst 256k latency 10ms\`"
echo "(this kernel has no sch_netem: no added delay).  Link rate $LINK_MBPS MB/s."
echo "Image: bench@1 = bench/cache/image/v1.img, $SIZE bytes logical, $(mb "$NZ") MB not zero."
echo "Changed versions: 1 % of the $USED_BLOCKS used 4 KiB blocks overwritten with random bytes:"
echo "scattered ($B_BLOCKS blocks picked at random, bench@2) and clustered (the same"
echo "number, $C_BLOCKS, in runs of 64 blocks, bench@3).  Target: a loop device on a sparse file."
echo
echo "| what | time | wire MB | notes |"
echo "|---|---|---|---|"
echo "| full deploy (\`--full\`) of v1 | $(f "$FULL") s | $(mb "$(medw full)") | $(f "$RATE_LOG") MB/s of the 2 GiB image, $(f "$RATE_NZ") MB/s of its non-zero data |"
echo "| delta sync v1 → scattered | $(f "$(med delta_b)") s | $(mb "$(medw delta_b)") | bootherd-agent deploy (sync) |"
echo "| delta sync v1 → clustered | $(f "$(med delta_c)") s | $(mb "$(medw delta_c)") | bootherd-agent deploy (sync) |"
echo "| rsync v1 → scattered | $(f "$(med rsync_b)") s | $(mb "$(medw rsync_b)") | \`rsync --inplace --no-whole-file --fsync -I\` from an rsync daemon |"
echo "| rsync v1 → clustered | $(f "$(med rsync_c)") s | $(mb "$(medw rsync_c)") | same |"
echo "| LINBO-style restore of scattered | $(f "$(med linbo)") s | $(mb "$(medw linbo)") | curl of the qcow2 ($(mb "$QCOW_BYTES") MB, \`qemu-img convert -c\`) + \`qemu-img convert -O raw\` onto the device |"
echo
echo "Ratios (goal in brackets):"
echo "- full deploy rate / link rate: $(f "$(echo "$RATE_LOG / $LINK_MBPS" | bc -l)")× for the 2 GiB image, $(f "$(echo "$RATE_NZ / $LINK_MBPS" | bc -l)")× for its non-zero data (≥ 2×)"
echo "- full deploy / delta: $(f "$(echo "$FULL / $(med delta_b)" | bc -l)")× scattered, $(f "$(echo "$FULL / $(med delta_c)" | bc -l)")× clustered (≥ 10×)"
echo "- rsync / delta: $(f "$(echo "$(med rsync_b) / $(med delta_b)" | bc -l)")× scattered, $(f "$(echo "$(med rsync_c) / $(med delta_c)" | bc -l)")× clustered (> 1)"
echo "- LINBO-style restore / delta (scattered): $(f "$(echo "$(med linbo) / $(med delta_b)" | bc -l)")×"
echo
echo "Agent summaries of a last full deploy and a last scattered delta:"
echo
echo '```'
echo "$FULL_LINE"
echo "$DELTA_LINE"
echo '```'
echo
echo "All runs (seconds; the first full deploy pays the server's first-serve check of every chunk): full ${T[full]}; delta scattered ${T[delta_b]}; delta clustered ${T[delta_c]};"
echo "rsync scattered ${T[rsync_b]}; rsync clustered ${T[rsync_c]}; LINBO-style ${T[linbo]}."
