#!/bin/bash
# images_formats.sh - what `bootherd image import` makes of sources that
# are no plain disk image, and what `image export` writes by the file name:
#   gzip, zstd and xz sources (one stream or several back to back, a qcow2
#   inside gzip) are decoded and import bit-exact; partclone images (FOG's,
#   made here by partclone itself from an ext4 and a FAT file system, plain,
#   gzip- and zstd-compressed, with and without checksums) are restored and
#   import bit-exact; ntfsclone, bzip2, partclone format 0001, and truncated
#   or corrupt data (a checksum that does not match) are refused with one
#   line saying what they are and what to do, exit 2, and create no image
#   and leave no temporary file;
#   names given as file names (win11.qcow2, win11.img, win11.raw) are stored
#   as win11; export to x.qcow2 writes qcow2, to x.vmdk or x.gz is refused
#   without --format, and a bad --format or --compress for raw is refused.
source "$(dirname "$0")/../lib/harness.sh"
for tool in qemu-img gzip zstd xz bzip2 cmp; do
    command -v "$tool" >/dev/null || { skip "image formats" "$tool is not installed"; finish; exit 0; }
done
W=$(tmpdir)
mkdir -p "$W/tmp"
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }

# run CMD...: RC, OUT, ERR
run() {
    "$@" >"$W/out" 2>"$W/err"
    RC=$?
    OUT=$(cat "$W/out")
    ERR=$(cat "$W/err")
}
# refused NAME WANT_STDERR_LINE CMD...: exit 2, that last line on stderr
refused() {
    local name=$1 want=$2
    shift 2
    run "$@"
    local last
    last=$(tail -1 <<<"$ERR")
    if [ "$RC" == 2 ] && [ "$last" == "$want" ]; then ok "$name"; else
        nok "$name"; diag "want exit 2 and: $want"$'\n'"got exit $RC: $ERR"; fi
}
# the image names (a list answer is an array or {"items": [...]})
images() { bhc --json image ls | jq -r 'if type == "array" then . else .items end | map(.name) | sort | join(" ")'; }

# a 3 MiB source: random, a zero run (a hole after decoding), random
head -c $((1024 * 1024)) /dev/urandom >"$W/a.raw"
head -c $((1024 * 1024)) /dev/zero >>"$W/a.raw"
head -c $((1024 * 1024)) /dev/urandom >>"$W/a.raw"
cat "$W/a.raw" "$W/a.raw" >"$W/aa.raw"
gzip -c "$W/a.raw" >"$W/a.raw.gz"
zstd -q -c "$W/a.raw" >"$W/a.raw.zst"
xz -c "$W/a.raw" >"$W/a.raw.xz"
bzip2 -c "$W/a.raw" >"$W/a.raw.bz2"
cat "$W/a.raw.gz" "$W/a.raw.gz" >"$W/aa.gz"
cat "$W/a.raw.zst" "$W/a.raw.zst" >"$W/aa.zst"
cat "$W/a.raw.xz" "$W/a.raw.xz" >"$W/aa.xz"
qemu-img convert -O qcow2 "$W/a.raw" "$W/q.qcow2"
gzip -c "$W/q.qcow2" >"$W/q.qcow2.gz"

export TMPDIR=$W/tmp
n=0
for src in a.raw.gz a.raw.zst a.raw.xz q.qcow2.gz aa.gz aa.zst aa.xz; do
    n=$((n + 1))
    want=$W/a.raw
    case $src in aa.*) want=$W/aa.raw ;; esac
    run bhc image import "fmt$n" "$W/$src"
    if [ "$RC" == 0 ]; then ok "import $src"; else nok "import $src"; diag "$ERR"; fi
    run bhc image export "fmt$n" "$W/back.raw"
    check "  ... exports bit-exact" cmp "$W/back.raw" "$want"
done
contains "a compressed source says it is decoded" "decoding $W/a.raw.xz (xz) into $W/tmp/bootherd-import-" "$(bhc image import fmt3 "$W/a.raw.xz" 2>&1)"
eq "no decoded copy is left in the temporary directory" "" "$(ls "$W/tmp")"
BEFORE=$(images)

# ---- refused: one line, exit 2, nothing created ---------------------------
printf '\000ntfsclone-image\001\000' >"$W/ntfs.img"
head -c 4096 /dev/urandom >>"$W/ntfs.img"
refused "an ntfsclone image is refused" \
    "bootherd image import: $W/ntfs.img is an ntfsclone image, not a disk or partition image: restore it first (ntfsclone --restore-image --overwrite FILE.raw IMAGE), then import FILE.raw" \
    bhc image import fog "$W/ntfs.img"
refused "bzip2 is refused: not decoded" \
    "bootherd image import: $W/a.raw.bz2 is bzip2-compressed, which bootherd does not decode: bunzip2 it first (gzip, zstd and xz are decoded on import)" \
    bhc image import fog "$W/a.raw.bz2"
gzip -c "$W/a.raw.gz" >"$W/twice.gz"
refused "gzip inside gzip is refused" \
    "bootherd image import: $W/twice.gz is gzip data inside gzip: compressed twice? decode it to a raw file first" \
    bhc image import fog "$W/twice.gz"
head -c 100000 "$W/a.raw.gz" >"$W/cut.gz"
refused "a truncated gzip source is refused" \
    "bootherd image import: $W/cut.gz: the gzip data does not decode (the input ends inside a member: truncated?, near input byte 100000)" \
    bhc image import fog "$W/cut.gz"
head -c 100000 "$W/a.raw.zst" >"$W/cut.zst"
refused "a truncated zstd source is refused" \
    "bootherd image import: $W/cut.zst: the zstd data does not decode (the input ends inside a frame: truncated?, near input byte 100000)" \
    bhc image import fog "$W/cut.zst"
head -c 100000 "$W/a.raw.xz" >"$W/cut.xz"
run bhc image import fog "$W/cut.xz"
eq "a truncated xz source is refused" "2" "$RC"
contains "  ... saying so" "bootherd image import: $W/cut.xz: the xz data does not decode (" "$ERR"
{ head -c 2000 "$W/a.raw.gz"; head -c 5000 /dev/urandom; } >"$W/bad.gz"
run bhc image import fog "$W/bad.gz"
eq "a corrupt gzip source is refused" "2" "$RC"
contains "  ... saying so" "bootherd image import: $W/bad.gz: the gzip data does not decode (" "$ERR"
# partclone images that do not read: made from a real one's header
python3 - "$W" <<'PY'
import struct, sys, zlib
w = sys.argv[1]
def head(version=b"0002", crc_ok=True):
    h = bytearray(110)
    h[0:16] = b"partclone-image\0"
    h[16:30] = b"0.3.23".ljust(14, b"\0")
    h[30:34] = version
    struct.pack_into("<H", h, 34, 0xC0DE)
    h[36:52] = b"EXTFS".ljust(16, b"\0")
    struct.pack_into("<QQQQI", h, 52, 8192, 8, 1, 1, 1024)
    struct.pack_into("<IHHHHIBB", h, 88, 18, 2, 64, 0x20, 4, 256, 1, 1)
    crc = ~zlib.crc32(bytes(h[:106])) & 0xFFFFFFFF
    struct.pack_into("<I", h, 106, crc if crc_ok else crc ^ 1)
    return bytes(h)
bitmap = b"\x01"
bcrc = struct.pack("<I", ~zlib.crc32(bitmap) & 0xFFFFFFFF)
block = bytes(range(256)) * 4
good = head() + bitmap + bcrc + block + struct.pack("<I", ~zlib.crc32(block) & 0xFFFFFFFF)
open(w + "/pc-good.img", "wb").write(good)
open(w + "/pc-v1.img", "wb").write(b"partclone-image" + b"EXTFS".ljust(15, b"\0") + b"0001" + bytes(4200))
open(w + "/pc-badhead.img", "wb").write(head(crc_ok=False) + good[110:])
open(w + "/pc-badcrc.img", "wb").write(good[:-1] + bytes([good[-1] ^ 0xFF]))
open(w + "/pc-short.img", "wb").write(good[:600])
PY
run bhc image import pcgood "$W/pc-good.img"
eq "a partclone image made here imports" 0 "$RC"
bhc image export pcgood "$W/pc-good.raw" >/dev/null 2>&1
eq "  ... as its one block at offset 0 and zeros to the file system's size" \
    "8192 $(python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256))*4 + bytes(7168))' | md5sum | cut -c1-32)" \
    "$(stat -c %s "$W/pc-good.raw") $(md5sum <"$W/pc-good.raw" | cut -c1-32)"
BEFORE=$(images)
refused "a partclone image of format 0001 is refused, saying what to do" \
    "bootherd image import: $W/pc-v1.img: partclone image format 0001 (partclone before 0.3): only format 0002 is read; restore it with partclone.restore first" \
    bhc image import fog "$W/pc-v1.img"
refused "a partclone image whose header checksum does not match is refused" \
    "bootherd image import: $W/pc-badhead.img: partclone image: the header's checksum does not match" \
    bhc image import fog "$W/pc-badhead.img"
refused "a partclone image whose block checksum does not match is refused" \
    "bootherd image import: $W/pc-badcrc.img: partclone image: the checksum at byte 1139 does not match its blocks" \
    bhc image import fog "$W/pc-badcrc.img"
refused "a truncated partclone image is refused" \
    "bootherd image import: $W/pc-short.img: the partclone image ends early, in its blocks at byte 600: truncated?" \
    bhc image import fog "$W/pc-short.img"
eq "the refused sources created no image" "$BEFORE" "$(images)"
eq "  ... and left no temporary file" "" "$(ls "$W/tmp")"

# ---- real partclone images (FOG's format), made by partclone -----------------
PC=$(command -v partclone.ext4 || ls /usr/sbin/partclone.ext4 2>/dev/null)
if [ -n "$PC" ] && command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null; then
    truncate -s 48M "$W/ext4.img"
    mkfs.ext4 -q -F "$W/ext4.img"
    head -c $((2 * 1024 * 1024)) /dev/urandom >"$W/file"
    debugfs -w -R "write $W/file file" "$W/ext4.img" >/dev/null 2>&1
    "$PC" -c -s "$W/ext4.img" -o "$W/d1p1.img" -L "$W/pc.log" >/dev/null 2>&1
    "$PC" -c -a0 -s "$W/ext4.img" -o "$W/d1p1-nock.img" -L "$W/pc.log" >/dev/null 2>&1
    gzip -c "$W/d1p1.img" >"$W/d1p1.img.gz"
    zstd -q -c "$W/d1p1.img" >"$W/d1p1.img.zst"
    for src in d1p1.img d1p1-nock.img d1p1.img.gz d1p1.img.zst; do
        run bhc image import fogext4 "$W/$src"
        if [ "$RC" == 0 ]; then ok "partclone image $src imports"; else nok "partclone image $src imports"; diag "$ERR"; fi
        bhc image export fogext4 "$W/back.raw" >/dev/null 2>&1
        check "  ... as the ext4 partition it was taken from, bit-exact" cmp "$W/back.raw" "$W/ext4.img"
    done
    contains "  ... saying what it restored" "partclone EXTFS file system of 48.0 MiB:" "$ERR"
    { head -c 3000000 "$W/d1p1.img"; printf X; tail -c +3000002 "$W/d1p1.img"; } >"$W/flip.img"
    run bhc image import fogflip "$W/flip.img"
    eq "a partclone image with one byte changed is refused" 2 "$RC"
    contains "  ... by its checksum" "partclone image: the checksum at byte" "$ERR"
    if command -v mkfs.vfat >/dev/null && [ -x "$(dirname "$PC")/partclone.fat" ]; then
        truncate -s 32M "$W/fat.img"
        mkfs.vfat "$W/fat.img" >/dev/null
        "$(dirname "$PC")/partclone.fat" -c -s "$W/fat.img" -o "$W/fat.pcl" -L "$W/pc.log" >/dev/null 2>&1
        run bhc image import fogfat "$W/fat.pcl"
        bhc image export fogfat "$W/back.raw" >/dev/null 2>&1
        check "a partclone FAT image imports bit-exact" cmp "$W/back.raw" "$W/fat.img"
    else
        skip "a partclone FAT image" "mkfs.vfat or partclone.fat missing"
    fi
else
    skip "real partclone images" "partclone, mkfs.ext4 or debugfs is not installed (scripts/deps.sh test)"
fi
eq "no temporary file is left" "" "$(ls "$W/tmp")"

# ---- names given as file names ---------------------------------------------
run bhc image import win11.qcow2 "$W/q.qcow2"
eq "import win11.qcow2 succeeds" 0 "$RC"
contains "  ... saying the name it stores" "image name 'win11.qcow2' stored as 'win11' (the name BaseImage=win11.qcow2 finds)" "$ERR"
v=1
for n in win11.img win11.raw; do
    v=$((v + 1))
    run bhc image import "$n" "$W/a.raw"
    eq "import $n adds version $v to win11" "0 $v" "$RC $(bhc --json image versions win11 | jq '.items | length')"
done
run bhc image add win12.img kind=disk
eq "image add win12.img adds image win12" "0 added image win12" "$RC $(head -1 <<<"$OUT")"
eq "  ... shown as win12" "win12 disk" "$(bhc --json image show win12 | jq -r '"\(.name) \(.kind)"')"
check "no image is named win11.qcow2" test "$(bhc --json image show win11.qcow2 >/dev/null 2>&1; echo $?)" == 1

# ---- export: the format by the name ----------------------------------------
run bhc image export win11 "$W/x.qcow2"
eq "export to x.qcow2 succeeds" 0 "$RC"
eq "  ... and writes qcow2" qcow2 "$(qemu-img info --output=json "$W/x.qcow2" | jq -r .format)"
qemu-img convert -O raw "$W/x.qcow2" "$W/x.back"
check "  ... bit-exact" cmp "$W/x.back" "$W/a.raw"
refused "export to x.vmdk is refused without --format" \
    "bootherd image export: $W/x.vmdk: export writes raw or qcow2, not vmdk; add --format raw or --format qcow2" \
    bhc image export win11 "$W/x.vmdk"
check "  ... and writes nothing" test ! -e "$W/x.vmdk"
refused "export to x.img.gz is refused without --format" \
    "bootherd image export: $W/x.img.gz: export writes raw or qcow2, not gz; add --format raw or --format qcow2" \
    bhc image export win11 "$W/x.img.gz"
run bhc image export win11 "$W/x.vmdk" --format raw
eq "  ... and written as raw with --format raw" "0" "$RC"
check "  ... bit-exact" cmp "$W/x.vmdk" "$W/a.raw"
refused "export --format vmdk is refused" "bootherd image export: --format 'vmdk': raw or qcow2" \
    bhc image export win11 "$W/y.raw" --format vmdk
refused "export --compress to raw is refused" \
    "bootherd image export: --compress needs --format qcow2 (or a .qcow2 file name)" \
    bhc image export win11 "$W/y.raw" --compress
check "  ... and writes nothing" test ! -e "$W/y.raw"
run bhc image export win11 "$W/y.img"
eq "export to y.img writes raw" "0 raw" "$RC $(qemu-img info --output=json "$W/y.img" | jq -r .format)"

finish
