#!/bin/bash
# image_data.sh - build the two disk images the image-store benchmark reads.
#
#   sudo bench/image_data.sh        (root: loop devices, mount, chroot;
#                                     ~3-5 minutes the first time, network)
#
# Everything lands in bench/cache/image/ (git-ignored):
#
#   v1.img       a 2 GiB raw ext4 filesystem image (sparse file) holding a
#                debootstrap of Debian bookworm, default variant, plus
#                PKGS_V1 (a kernel, sshd and a few tools): about 850 MB of
#                data, the kind of root filesystem a lab PC would get.
#   v2.img       a copy of v1.img that was mounted and changed the way an
#                admin updates an image: apt-get update, install PKGS_ADD,
#                purge PKGS_DEL, apt-get clean (about 1 GB of data then).
#                Nothing else is touched; both are mounted noatime.
#                Both are fstrimmed before unmounting (free blocks read as
#                zeros), see trim() below.
#   info.txt     shell variables (sizes, package lists, changed bytes) that
#                bench/image.sh sources.
#   changed.txt  the "truly changed" bytes between v1 and v2: the number of
#                4 KiB blocks whose content differs, times 4096.  This is
#                the least any block-level store can add for v2 before
#                compression.  Also the same blocks compressed with zstd -3,
#                which is a fairer floor for stores that compress.
#   debs/        debootstrap's package cache, so a rebuild does not download
#                everything again.
#   done         stamp: written last, only when both images are complete.
#
# The images are built under *.tmp names and renamed at the end, so an
# interrupted run never leaves something that looks finished.  The mounts
# live in a private mount namespace, and every mount and loop device made
# here is released on any exit (trap).  The only network traffic is apt's,
# to MIRROR.  The block comparison is a short python3 program (no C).
#
# Knobs: MIRROR, SUITE, SIZE (truncate syntax), TRIM=0 (no fstrim before
# unmounting), FORCE=1 (rebuild).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
OUT=$ROOT/bench/cache/image
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
SIZE=${SIZE:-2G}
# v1: on top of debootstrap's default variant (priority required+important)
PKGS_V1="linux-image-amd64,openssh-server,less,vim-tiny,curl,ca-certificates,locales,man-db,bash-completion,sudo"
# v2: the update
PKGS_ADD="git htop rsync python3 tcpdump"
PKGS_DEL="man-db vim-tiny nano"

die() { echo "image_data: $*" >&2; exit 1; }
log() { echo "image_data: $*" >&2; }

# ---- already built? ----
have_all() {
    [ -f "$OUT/done" ] && [ -f "$OUT/v1.img" ] && [ -f "$OUT/v2.img" ] &&
        [ -f "$OUT/info.txt" ] && [ -f "$OUT/changed.txt" ]
}
if have_all && [ "${FORCE:-0}" != 1 ]; then
    log "cached in $OUT (FORCE=1 rebuilds)"
    cat "$OUT/info.txt"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root (loop devices, mount, chroot)"
for b in debootstrap mkfs.ext4 losetup mount umount chroot python3 zstd findmnt unshare fstrim; do
    command -v "$b" >/dev/null || die "$b missing (scripts/deps.sh)"
done

# Mount in a private mount namespace of our own: nothing mounted here
# propagates to the host, and a namespace someone else creates meanwhile
# (ip netns exec, unshare) cannot get a copy that keeps the loop device busy.
if [ -z "${BH_IMAGE_DATA_NS:-}" ]; then
    export BH_IMAGE_DATA_NS=1
    exec unshare --mount --propagation private -- "$ROOT/bench/image_data.sh" "$@"
fi

mkdir -p "$OUT/debs"
rm -f "$OUT/done"
MNT=$(mktemp -d /tmp/bh-image-data.XXXXXX)
LOOP=

# Unmount everything under MNT (deepest first), then detach the loop device.
release() {
    local m
    if findmnt -R "$MNT" >/dev/null 2>&1; then
        for m in $(findmnt -R -l -n -o TARGET "$MNT" | sort -r); do
            umount "$m" || umount -l "$m"
        done
    fi
    if [ -n "$LOOP" ]; then
        losetup -d "$LOOP" 2>/dev/null
        LOOP=
    fi
}
# After release: the image must be fully detached before anyone reads it
# (a lazy unmount would still be writing into it).
detached() { # IMAGE
    local _
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$(losetup -j "$1")" ] && return 0
        sleep 1
    done
    die "$1 is still attached to a loop device (a process inside $MNT?)"
}
cleanup() {
    release
    rmdir "$MNT" 2>/dev/null
    rm -f "$OUT/v1.img.tmp" "$OUT/v2.img.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Free blocks still hold whatever was deleted (debootstrap unpacks ~400 MB
# of .debs and removes them).  fstrim through the loop device punches
# holes there, the way an image is zeroed before capture; TRIM=0 keeps
# the garbage.
trim() {
    [ "${TRIM:-1}" = 1 ] || return 0
    sync -f "$MNT"
    fstrim "$MNT" || die "fstrim $MNT"
}

attach() { # IMAGE: loop device + mount on MNT
    LOOP=$(losetup -f --show "$1") || die "losetup $1"
    mount -o noatime "$LOOP" "$MNT" || die "mount $LOOP"
}

# ---- v1: debootstrap into a fresh ext4 ----
rm -f "$OUT/v1.img.tmp" "$OUT/v2.img.tmp"
truncate -s "$SIZE" "$OUT/v1.img.tmp" || die "truncate"
# inode tables and journal initialised now, so the kernel's lazy init
# thread does not keep writing into the image after the first mount
mkfs.ext4 -q -F -L bh-bench -E lazy_itable_init=0,lazy_journal_init=0 "$OUT/v1.img.tmp" ||
    die "mkfs.ext4"
attach "$OUT/v1.img.tmp"
log "debootstrap $SUITE from $MIRROR (+ $PKGS_V1)"
debootstrap --arch=amd64 --include="$PKGS_V1" --cache-dir="$OUT/debs" \
    "$SUITE" "$MNT" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $OUT/debootstrap.log"
rm -rf "$MNT/var/cache/apt/archives/"*.deb
trim
release
detached "$OUT/v1.img.tmp"

# ---- v2: a copy of v1, updated in a chroot ----
cp --sparse=always "$OUT/v1.img.tmp" "$OUT/v2.img.tmp" || die "cp"
attach "$OUT/v2.img.tmp"
for d in proc sys dev dev/pts; do
    mount --bind "/$d" "$MNT/$d" || die "bind /$d"
done
# name resolution for apt, and no service starts inside the chroot
cp "$MNT/etc/resolv.conf" "$MNT/etc/resolv.conf.bh-save" 2>/dev/null
cp /etc/resolv.conf "$MNT/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$MNT/usr/sbin/policy-rc.d"
chmod 755 "$MNT/usr/sbin/policy-rc.d"
log "v2: + $PKGS_ADD, - $PKGS_DEL"
# shellcheck disable=SC2086
chroot "$MNT" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -ec "
    apt-get update -q
    apt-get install -y -q --no-install-recommends $PKGS_ADD
    apt-get purge -y -q $PKGS_DEL
    apt-get autoremove -y -q --purge
    apt-get clean
" >"$OUT/v2-apt.log" 2>&1 || die "apt in the v2 chroot failed; see $OUT/v2-apt.log"
rm -f "$MNT/usr/sbin/policy-rc.d"
if [ -f "$MNT/etc/resolv.conf.bh-save" ]; then
    mv "$MNT/etc/resolv.conf.bh-save" "$MNT/etc/resolv.conf"
fi
trim
release
detached "$OUT/v2.img.tmp"

# ---- sizes and the truly changed bytes ----
used_bytes() { # IMAGE: bytes in use inside the filesystem (dumpe2fs)
    dumpe2fs -h "$1" 2>/dev/null | awk -F: '
        /^Block count/ { n = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 }
        END { printf "%d\n", (n - f) * b }'
}
log "comparing v1 and v2 in 4 KiB blocks"
python3 - "$OUT/v1.img.tmp" "$OUT/v2.img.tmp" "$OUT/changed.blocks" >"$OUT/cmp.out" <<'EOF' ||
import sys
B = 4096
STEP = 1 << 20
a, b, dump = sys.argv[1:4]
changed = changed_nz = nz1 = nz2 = 0
zero = bytes(B)
with open(a, 'rb') as fa, open(b, 'rb') as fb, open(dump, 'wb') as fd:
    while True:
        x = fa.read(STEP)
        y = fb.read(STEP)
        if not x and not y:
            break
        if x == y:
            if x.count(0) != len(x):
                for i in range(0, len(x), B):
                    if x[i:i + B] != zero:
                        nz1 += 1
                        nz2 += 1
            continue
        for i in range(0, max(len(x), len(y)), B):
            p, q = x[i:i + B], y[i:i + B]
            pz, qz = p == zero[:len(p)], q == zero[:len(q)]
            nz1 += not pz
            nz2 += not qz
            if p != q:
                changed += 1
                if not qz:
                    changed_nz += 1
                    fd.write(q)
print(f"CHANGED_BYTES={changed * B}")
print(f"CHANGED_NONZERO_BYTES={changed_nz * B}")
print(f"V1_NONZERO_BYTES={nz1 * B}")
print(f"V2_NONZERO_BYTES={nz2 * B}")
EOF
    die "block comparison failed"
CHANGED_ZSTD_BYTES=$(zstd -q -3 -T0 -c "$OUT/changed.blocks" | wc -c)
rm -f "$OUT/changed.blocks"
# shellcheck source=/dev/null
. "$OUT/cmp.out"
{
    echo "# 4 KiB blocks that differ between v1.img and v2.img, x 4096"
    echo "changed_bytes $CHANGED_BYTES"
    echo "# of which blocks whose v2 content is not all zeros"
    echo "changed_nonzero_bytes $CHANGED_NONZERO_BYTES"
    echo "# those blocks of v2, concatenated, zstd -3"
    echo "changed_zstd3_bytes $CHANGED_ZSTD_BYTES"
} >"$OUT/changed.txt"

{
    echo "SUITE=$SUITE"
    echo "MIRROR=$MIRROR"
    echo "PKGS_V1='$PKGS_V1'"
    echo "PKGS_ADD='$PKGS_ADD'"
    echo "PKGS_DEL='$PKGS_DEL'"
    echo "IMG_BYTES=$(stat -c %s "$OUT/v1.img.tmp")"
    echo "V1_USED_BYTES=$(used_bytes "$OUT/v1.img.tmp")"
    echo "V2_USED_BYTES=$(used_bytes "$OUT/v2.img.tmp")"
    echo "V1_ALLOC_BYTES=$(($(stat -c '%b*%B' "$OUT/v1.img.tmp")))"
    echo "V2_ALLOC_BYTES=$(($(stat -c '%b*%B' "$OUT/v2.img.tmp")))"
    cat "$OUT/cmp.out"
    echo "CHANGED_ZSTD_BYTES=$CHANGED_ZSTD_BYTES"
} >"$OUT/info.txt"
rm -f "$OUT/cmp.out"

mv "$OUT/v1.img.tmp" "$OUT/v1.img" || die "rename v1"
mv "$OUT/v2.img.tmp" "$OUT/v2.img" || die "rename v2"
sync -f "$OUT"
date -u +%FT%TZ >"$OUT/done"
log "done: $OUT"
cat "$OUT/info.txt"
