#!/bin/bash
# image.sh - image store: bootherd's ingest side by side with qemu-img,
# casync and zstd, on two versions of a real Debian root filesystem.
#
#   sudo bench/image.sh       (root only to build the images the first time;
#                              ~5 minutes with REPS=3)
#
# Data: bench/cache/image/{v1,v2}.img from bench/image_data.sh (run here if
# they are missing): 2 GiB raw ext4 images, v1 a Debian bookworm
# debootstrap, v2 the same after an apt-get install/purge.  info.txt there
# gives the data bytes (non-zero 4 KiB blocks) and the "truly changed"
# bytes between v1 and v2 (4 KiB blocks that differ, x 4096).
#
# For each tool, two steps, each timed on the wall clock until its output is
# on disk (the tool, then sync -f of the output filesystem, so a tool that
# fsyncs as it goes and one that leaves dirty pages pay the same):
#   v1: ingest v1.img into an empty store.  Stored bytes = bytes of the
#       files the tool left (what a server would keep).
#   v2: ingest v2.img next to v1.  Added bytes = growth of the store; the
#       ratio added / truly changed is the incremental cost (goal: <= 1.2).
# The tools:
#   qemu-img  LINBO's way.  v1: qemu-img convert -c -O qcow2 (zlib, 64 KiB
#             clusters).  v2: a compressed qdiff, i.e. a qcow2 overlay whose
#             backing file is v1.qcow2, holding only the clusters that
#             differ.  `convert -B` alone would copy every allocated cluster
#             of a raw source (the whole image), so the delta is made in
#             three steps: an empty overlay over v2.img, `qemu-img rebase`
#             onto v1.qcow2 (which compares and writes the clusters that
#             differ into the overlay), then `convert -c -B v1.qcow2` of that
#             overlay (only its own clusters are copied).  Checked once with
#             qemu-img compare against the raw images.
#   casync    casync make --compression=zstd --store=STORE vN.caibx vN.img
#             (blob mode, default chunk sizes, one thread).  Stored = chunk
#             files + the index; v2's growth includes v2.caibx.
#   zstd      zstd -T0 -3 of each image: a size reference, no deduplication
#             (its "added" for v2 is a whole second copy).
#   bootherd  bh_ingest_cmd below: `bootherd image import NAME FILE` against
#             a daemon started for the run on a fresh data directory.
#             Skipped with a message while that command does not exist.
#
# Runs: REPS repetitions; in each, every tool runs v1 then v2 on a fresh
# store; the order of the tools rotates from one repetition to the next.
# Figures are medians.  The page cache is not dropped (that would touch the
# whole machine); instead both images are read once before the first run,
# so every tool starts with its source in memory (23 GB of RAM here).
# Everything is local files; no network.  Work files go to a temporary
# directory under bench/cache/ (git-ignored) and are removed at the end.
# The printed report is also saved to bench/cache/image-last.txt.
#
# Knobs: REPS (3), TOOLS ("qemu-img casync zstd bootherd"), ZSTD_LEVEL (3),
# VERIFY (1: check qemu-img's outputs once), BOOTHERD_BIN.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BH=${BOOTHERD_BIN:-$ROOT/build/bootherd}
REPS=${REPS:-3}
TOOLS=${TOOLS:-"qemu-img casync zstd bootherd"}
ZSTD_LEVEL=${ZSTD_LEVEL:-3}
VERIFY=${VERIFY:-1}
DATA=$ROOT/bench/cache/image
LAST=$ROOT/bench/cache/image-last.txt
V1=$DATA/v1.img
V2=$DATA/v2.img

FAIL_LOG=$ROOT/bench/cache/image-fail.log
die() {
    echo "image bench: $*" >&2
    if [ -n "${LOG:-}" ] && [ -s "$LOG" ]; then
        cp "$LOG" "$FAIL_LOG" && echo "image bench: tools' output in $FAIL_LOG" >&2
    fi
    exit 1
}
note() { echo "image bench: $*" >&2; }

if [ ! -f "$DATA/done" ]; then
    [ "$(id -u)" -eq 0 ] || die "bench/cache/image is not built; run as root (bench/image_data.sh)"
    "$ROOT/bench/image_data.sh" || die "bench/image_data.sh failed"
fi
# shellcheck source=/dev/null
. "$DATA/info.txt"

WORK=$(mktemp -d "$ROOT/bench/cache/image-work.XXXXXX") || die "mktemp"
chmod 755 "$WORK" # the bootherd daemon drops root
BH_PID=
cleanup() {
    [ -n "$BH_PID" ] && kill "$BH_PID" 2>/dev/null && wait "$BH_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
LOG=$WORK/log

# ---- helpers ----
# Run "$@" and flush the output filesystem; print the elapsed seconds.
timed() {
    local t0 t1
    sync -f "$WORK"
    t0=$EPOCHREALTIME
    if ! "$@" >>"$LOG" 2>&1; then
        note "failed: $*"
        tail -n 5 "$LOG" >&2
        return 1
    fi
    sync -f "$WORK"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
# Bytes of the regular files under the given paths.
file_bytes() {
    find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}
# Bytes allocated on disk (files and directories).
disk_bytes() {
    du -sB1 -c "$@" 2>/dev/null | awk 'END { print $1 }'
}
median() { # values on stdin
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }

# Each tool: TOOL_v1 DIR and TOOL_v2 DIR ingest into DIR (fresh, empty)
# and print "SECONDS"; the caller measures DIR before and after.

# ---- qemu-img ----
qemu_v1() {
    timed qemu-img convert -c -O qcow2 "$V1" "$1/v1.qcow2"
}
qemu_delta() { # DIR: the v2 qdiff against v1.qcow2
    qemu-img create -q -f qcow2 -b "$V2" -F raw "$1/v2.tmp" &&
        qemu-img rebase -b "$1/v1.qcow2" -F qcow2 "$1/v2.tmp" &&
        qemu-img convert -c -O qcow2 -B "$1/v1.qcow2" -F qcow2 "$1/v2.tmp" "$1/v2.qdiff" &&
        rm -f "$1/v2.tmp"
}
qemu_v2() {
    timed qemu_delta "$1"
}
qemu_verify() {
    qemu-img compare -q "$V1" "$1/v1.qcow2" || die "qemu-img: v1.qcow2 differs from v1.img"
    qemu-img compare -q "$V2" "$1/v2.qdiff" || die "qemu-img: v2.qdiff (+ v1.qcow2) differs from v2.img"
    note "qemu-img outputs match v1.img and v2.img"
}

# ---- casync ----
casync_v1() {
    timed casync make --compression=zstd --store="$1/store" "$1/v1.caibx" "$V1"
}
casync_v2() {
    timed casync make --compression=zstd --store="$1/store" "$1/v2.caibx" "$V2"
}

# ---- zstd ----
zstd_one() { zstd -q -T0 -"$ZSTD_LEVEL" -f "$1" -o "$2"; }
zstd_v1() { timed zstd_one "$V1" "$1/v1.img.zst"; }
zstd_v2() { timed zstd_one "$V2" "$1/v2.img.zst"; }

# ---- bootherd ----
# ========================================================================
# bh_ingest_cmd FILE STORE_DIR - WIRE HERE once `bootherd image import`
# exists.  Imports FILE into the running daemon (URL and token in BH_URL,
# BH_TOKEN; data directory STORE_DIR) as a new version of image BH_IMAGE
# (`bootherd image import NAME SOURCE --kind partition --fstype ext4`,
# which creates the image on first use), and prints "SECONDS BYTES_ADDED":
# the wall time of the import (until the CLI returns and the data is on
# disk) and the growth of the image store under STORE_DIR.  The store is
# the directory of STORE_DIR that holds chunks/ and manifests/
# (DATA/images, src/image/chunkstore.h); without one, the whole data
# directory is counted.  bh_present decides whether bootherd runs at all.
# ========================================================================
BH_IMAGE=bench
bh_store_root() { # DATA_DIR
    local c
    c=$(find "$1" -type d -name chunks -print 2>/dev/null | head -n 1)
    if [ -n "$c" ] && [ -d "$(dirname "$c")/manifests" ]; then
        dirname "$c"
    else
        echo "$1"
    fi
}
bh_ingest_cmd() {
    local file=$1 dir=$2 before after secs store
    # the store may only appear with the first import: list every file now,
    # count the ones under the store's root afterwards
    find "$dir" -type f -printf '%s %p\n' >"$WORK/bh.before"
    secs=$(timed "$BH" --url "$BH_URL" --token "$BH_TOKEN" \
        image import "$BH_IMAGE" "$file" --kind partition --fstype ext4) || return 1
    store=$(bh_store_root "$dir")
    before=$(awk -v r="$store/" 'index($2, r) == 1 { s += $1 } END { printf "%d\n", s }' \
        "$WORK/bh.before")
    after=$(file_bytes "$store")
    echo "$secs $((after - before))"
}
bh_present() {
    [ -x "$BH" ] || return 1
    # answers without a server: the usage (exit 2) once the command
    # exists, "unknown command 'image import'" before
    local out
    out=$("$BH" --url http://127.0.0.1:9 image import --help 2>&1)
    case $out in
    *"unknown command"*) return 1 ;;
    *"image import"*) return 0 ;;
    *) return 1 ;;
    esac
}
bh_start() { # DATA_DIR
    "$BH" init --data "$1" >>"$LOG" 2>&1 || die "bootherd init failed"
    "$BH" serve --data "$1" --http 127.0.0.1:0 --log-level warn >>"$LOG" 2>&1 &
    BH_PID=$!
    local i
    for i in $(seq 100); do
        [ -s "$1/http.addr" ] && break
        sleep 0.1
    done
    [ -s "$1/http.addr" ] || die "bootherd serve did not start"
    BH_URL="http://$(cat "$1/http.addr")"
    BH_TOKEN=$(cat "$1/admin.token")
}
bh_stop() {
    [ -n "$BH_PID" ] && kill "$BH_PID" 2>/dev/null && wait "$BH_PID" 2>/dev/null
    BH_PID=
}
# ---- checks ----
ACTIVE=
BH_SKIPPED="not in TOOLS"
for t in $TOOLS; do
    case $t in
    qemu-img | casync | zstd)
        command -v "$t" >/dev/null || die "$t missing (scripts/deps.sh)"
        ACTIVE="$ACTIVE $t"
        ;;
    bootherd)
        if bh_present; then
            ACTIVE="$ACTIVE $t"
        else
            BH_SKIPPED="'$BH image import' does not exist yet"
            note "skipping bootherd: $BH_SKIPPED"
        fi
        ;;
    *) die "unknown tool $t" ;;
    esac
done
[ -n "$ACTIVE" ] || die "no tool to run"
# shellcheck disable=SC2086 # a list of words
set -- $ACTIVE
NT=$#
fn() { # tool name -> function prefix
    case $1 in qemu-img) echo qemu ;; *) echo "$1" ;; esac
}

# ---- warm the page cache: read both sources once ----
note "reading $V1 and $V2 once (page cache)"
cat "$V1" "$V2" >/dev/null

# ---- runs ----
RES=$WORK/res
mkdir -p "$RES"
for rep in $(seq "$REPS"); do
    order=
    # shellcheck disable=SC2086 # a list of words
    set -- $ACTIVE
    for i in $(seq 0 $((NT - 1))); do
        k=$(((i + rep - 1) % NT + 1))
        order="$order ${!k}"
    done
    note "run $rep/$REPS:$order"
    for t in $order; do
        f=$(fn "$t")
        d=$WORK/$f
        rm -rf "$d"
        mkdir -m 755 "$d"
        if [ "$t" = bootherd ]; then
            # a daemon per run on a fresh data dir; only its store counts
            bh_start "$d"
            out=$(bh_ingest_cmd "$V1" "$d") || die "bootherd v1 failed"
            read -r s1 b1 <<<"$out"
            a1=$(disk_bytes "$(bh_store_root "$d")")
            out=$(bh_ingest_cmd "$V2" "$d") || die "bootherd v2 failed"
            read -r s2 b2 <<<"$out"
            a2=$(($(disk_bytes "$(bh_store_root "$d")") - a1))
            bh_stop
        else
            s1=$("${f}_v1" "$d") || die "$t v1 failed"
            b1=$(file_bytes "$d")
            a1=$(disk_bytes "$d")
            s2=$("${f}_v2" "$d") || die "$t v2 failed"
            b2=$(($(file_bytes "$d") - b1))
            a2=$(($(disk_bytes "$d") - a1))
            if [ "$t" = qemu-img ] && [ "$VERIFY" = 1 ] && [ "$rep" = 1 ]; then
                qemu_verify "$d"
            fi
        fi
        note "  $t: v1 ${s1}s $b1 B, v2 ${s2}s +$b2 B"
        echo "$s1" >>"$RES/$f.s1"
        echo "$s2" >>"$RES/$f.s2"
        echo "$b1" >>"$RES/$f.b1"
        echo "$b2" >>"$RES/$f.b2"
        echo "$a1" >>"$RES/$f.a1"
        echo "$a2" >>"$RES/$f.a2"
        rm -rf "$d"
    done
done

# ---- report ----
med() { median <"$RES/$1"; }
report() {
    echo "Image store ingest, $(date -u +%F), $(nproc) cores, REPS=$REPS (medians)"
    echo "data: Debian $SUITE ext4, $(mb "$IMG_BYTES") MB logical;" \
        "v1 $(mb "$V1_NONZERO_BYTES") MB non-zero, v2 $(mb "$V2_NONZERO_BYTES") MB non-zero"
    echo "v2 = v1 + [$PKGS_ADD] - [$PKGS_DEL]"
    echo "truly changed v1->v2 (4 KiB blocks): $(mb "$CHANGED_BYTES") MB;" \
        "to non-zero content $(mb "$CHANGED_NONZERO_BYTES") MB;" \
        "those blocks zstd -3: $(mb "$CHANGED_ZSTD_BYTES") MB"
    echo "tools: $(qemu-img --version | head -n 1); $(casync --version 2>/dev/null | head -n 1);" \
        "zstd $(zstd -V | sed 's/.* v\([0-9.]*\).*/\1/') -$ZSTD_LEVEL -T0"
    echo
    printf '%-9s %8s %9s %9s %11s %8s %11s %8s %8s\n' tool "v1 s" "MB/s log" "MB/s dat" \
        "stored MB" "v2 s" "v2 adds MB" "/chg" "/chg.zst"
    local t f s1 b1 s2 b2
    for t in $ACTIVE; do
        f=$(fn "$t")
        s1=$(med "$f.s1")
        b1=$(med "$f.b1")
        s2=$(med "$f.s2")
        b2=$(med "$f.b2")
        printf '%-9s %8s %9s %9s %11s %8s %11s %8s %8s\n' "$t" "$s1" \
            "$(awk -v b="$IMG_BYTES" -v s="$s1" 'BEGIN { printf "%.0f", b / 1e6 / s }')" \
            "$(awk -v b="$V1_NONZERO_BYTES" -v s="$s1" 'BEGIN { printf "%.0f", b / 1e6 / s }')" \
            "$(mb "$b1")" "$s2" "$(mb "$b2")" \
            "$(ratio "$b2" "$CHANGED_BYTES")" "$(ratio "$b2" "$CHANGED_ZSTD_BYTES")"
    done
    echo
    echo "on disk (du -B1, allocated, files and directories):"
    for t in $ACTIVE; do
        f=$(fn "$t")
        echo "  $t: after v1 $(mb "$(med "$f.a1")") MB, v2 adds $(mb "$(med "$f.a2")") MB"
    done
    echo "zstd's v2 figure is a full second copy (no deduplication)."
    case " $ACTIVE " in
    *" bootherd "*)
        echo
        local q c
        echo "bootherd against the goals:"
        for q in "qemu-img:>= 3" "casync:> 1"; do
            case " $ACTIVE " in *" ${q%%:*} "*) ;; *) continue ;; esac
            c=$(fn "${q%%:*}")
            echo "  v1 ingest: $(ratio "$(med "$c.s1")" "$(med bootherd.s1)") x as fast as" \
                "${q%%:*} (goal: ${q#*:})"
        done
        case " $ACTIVE " in *" qemu-img "*)
            echo "  stored v1: $(ratio "$(med bootherd.b1)" "$(med qemu.b1)") of the compressed qcow2 (goal: <= 1)"
            ;;
        esac
        echo "  v2 adds $(ratio "$(med bootherd.b2)" "$CHANGED_BYTES") x the truly changed bytes (goal: <= 1.2)," \
            "$(ratio "$(med bootherd.b2)" "$CHANGED_ZSTD_BYTES") x those blocks compressed"
        ;;
    *)
        echo
        echo "bootherd: not measured ($BH_SKIPPED)"
        ;;
    esac
}
report | tee "$LAST"
