#!/bin/bash
# images_formats.sh - what `bootherd image import` makes of sources that
# are no plain disk image, and what `image export` writes by the file name:
#   gzip, zstd and xz sources (one stream or several back to back, a qcow2
#   inside gzip) are decoded and import bit-exact; partclone and ntfsclone
#   images (FOG's), plain or compressed, bzip2, and truncated or corrupt
#   compressed data are refused with one line saying what they are and what
#   to do, exit 2, and create no image and leave no temporary file;
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
# a partclone image header (partclone's image format: the magic, then the
# version strings), followed by data
printf 'partclone-image\0000.3.20\0000002' >"$W/d1p2.img"
head -c 65536 /dev/urandom >>"$W/d1p2.img"
gzip -c "$W/d1p2.img" >"$W/d1p2.img.gz"
zstd -q -c "$W/d1p2.img" >"$W/d1p2.img.zst"
printf '\000ntfsclone-image\001\000' >"$W/ntfs.img"
head -c 4096 /dev/urandom >>"$W/ntfs.img"
PC="is a partclone image, as FOG makes them, not a disk or partition image: restore it with partclone.restore to a raw file first (partclone.restore -C -s IMAGE -O FILE.raw), then import FILE.raw"
refused "a partclone image is refused, naming the format and what to do" \
    "bootherd image import: $W/d1p2.img $PC" bhc image import fog "$W/d1p2.img"
refused "a gzip-compressed partclone image (FOG) too" \
    "bootherd image import: $W/d1p2.img.gz is a partclone image (gzip-compressed), as FOG makes them, not a disk or partition image: restore it with partclone.restore to a raw file first (partclone.restore -C -s IMAGE -O FILE.raw), then import FILE.raw" \
    bhc image import fog "$W/d1p2.img.gz"
refused "a zstd-compressed partclone image (FOG) too" \
    "bootherd image import: $W/d1p2.img.zst is a partclone image (zstd-compressed), as FOG makes them, not a disk or partition image: restore it with partclone.restore to a raw file first (partclone.restore -C -s IMAGE -O FILE.raw), then import FILE.raw" \
    bhc image import fog "$W/d1p2.img.zst"
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
eq "the refused sources created no image" "$BEFORE" "$(images)"
eq "  ... and left no temporary file" "" "$(ls "$W/tmp")"

# ---- names given as file names ---------------------------------------------
run bhc image import win11.qcow2 "$W/q.qcow2"
eq "import win11.qcow2 succeeds" 0 "$RC"
contains "  ... saying the name it stores" "image name 'win11.qcow2' stored as 'win11' (the name BaseImage=win11.qcow2 finds)" "$ERR"
v=1
for n in win11.img win11.raw; do
    v=$((v + 1))
    run bhc image import "$n" "$W/a.raw"
    eq "import $n adds version $v to win11" "0 $v" "$RC $(bhc --json image versions win11 | jq '.versions | length')"
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
