#!/bin/bash
# images_full.sh - a full disk under the image store (a small tmpfs mounted
# on DATA/images; root only): the upload fails with a clear error, no
# version appears, no temporary file is left, verify stays clean, and once
# there is room again the same import completes.
source "$(dirname "$0")/../lib/harness.sh"
[ "$(id -u)" -eq 0 ] || { echo "ok - $TEST_NAME: skipped (needs root to mount a tmpfs) # SKIP"; exit 0; }
W=$(tmpdir)
D=$W/data
"$BH" init --data "$D" >/dev/null || { nok "init"; finish; exit 1; }
mkdir -p "$D/images"
mount -t tmpfs -o size=6m,mode=0755 bh-test-full "$D/images" || { nok "mount a tmpfs"; finish; exit 1; }
umount_full() { umount -l "$D/images" 2>/dev/null; }
trap 'umount_full; _cleanup' EXIT
chown bootherd: "$D/images" 2>/dev/null
bh_start "$D" || { nok "daemon starts"; finish; exit 1; }

head -c $((2 * 1024 * 1024)) /dev/urandom >"$W/small.raw"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$W/big.raw"
check "a small image fits" bhc image import fits "$W/small.raw"

out=$(bhc image import full "$W/big.raw" 2>&1)
rc=$?
check "an image larger than the free space fails" test "$rc" -ne 0
contains "the error says the disk is full" "full" "$out"
api GET /api/v1/images/full/versions
eq "no version was created" 0 "$(jq '.items | length' <<<"$BODY")"
eq "no temporary file is left" "" "$(find "$D/images/tmp" -type f 2>/dev/null)"
check "verify is clean after the failure" bhc image verify
check "the daemon still answers" curl -sf "$BH_URL/ready"
check "the small image still exports bit-exact" sh -c "\"$BH\" --url '$BH_URL' --token '$BH_TOKEN' image export fits '$W/s.out' >/dev/null && cmp '$W/small.raw' '$W/s.out'"

# room again: the abandoned upload's chunks are garbage once it is deleted
up=$(sed -n 's/^upload \([0-9a-f]*\):.*/\1/p' <<<"$out")
api DELETE "/api/v1/uploads/$up"
eq "the failed upload can be abandoned" 204 "$STATUS"
check "gc frees its chunks" bhc image gc
mount -o remount,size=32m "$D/images"
out=$(bhc image import full "$W/big.raw" 2>&1)
check "with room again the import completes" test $? -eq 0
check "and the image exports bit-exact" sh -c "\"$BH\" --url '$BH_URL' --token '$BH_TOKEN' image export full '$W/b.out' >/dev/null && cmp '$W/big.raw' '$W/b.out'"
finish
