#!/bin/bash
# images.sh - the image store through the CLI and curl, against a real
# daemon: import and export round trips (raw, qcow2, a LINBO qcow2 + qdiff
# pair made here with qemu-img and qemu-io), uploads that send only what
# the server lacks (bytes counted by the server), versions and tags, diff,
# bad input (problem+json), a corrupt chunk never served, verify, gc.
source "$(dirname "$0")/../lib/harness.sh"
for tool in qemu-img qemu-io python3 cmp; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
W=$(tmpdir)
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }
ok "daemon starts"
AUTH="Authorization: Bearer $BH_TOKEN"
MIB=$((1024 * 1024))

# a disk-like test image: random data, long zero runs, a block repeated
# many times, and a size that is no multiple of 4 KiB (but of 512, as every
# qcow2's virtual size is)
python3 - "$W/a.raw" <<'PY'
import os, random, sys
random.seed(7)
rep = random.randbytes(64 * 1024)
with open(sys.argv[1], "wb") as f:
    for i in range(48):
        kind = i % 4
        if kind == 0:
            f.write(random.randbytes(1024 * 1024))
        elif kind == 1:
            f.seek(3 * 1024 * 1024, 1)          # a hole: zeros
        elif kind == 2:
            f.write(rep * 16)                    # 1 MiB of one repeated block
        else:
            f.write(bytes(512 * 1024) + random.randbytes(512 * 1024))
    f.write(random.randbytes(12800))
PY
SIZE=$(stat -c %s "$W/a.raw")

stat_of() { api GET /api/v1/imagestore; jq -r ".$1" <<<"$BODY"; }
sent_of() { sed -n 's/.*sent \([0-9]*\) chunks ([^,]*, \([0-9]*\) bytes).*/\1 \2/p' <<<"$1"; }

# ---- import / export, raw ---------------------------------------------------
R0=$(stat_of received_bytes)
out=$(bhc image import disk1 "$W/a.raw" --note "first cut" --tag stable 2>&1)
check "import a raw image" test $? -eq 0
contains "import reports version 1" "disk1 version 1:" "$out"
read -r n1 b1 <<<"$(sent_of "$out")"
R1=$(stat_of received_bytes)
eq "the server received exactly the bytes the CLI sent" "$b1" "$((R1 - R0))"
api GET /api/v1/images/disk1/versions/latest
eq "version 1 is latest" 1 "$(jq -r .version <<<"$BODY")"
eq "version 1 keeps its note" "first cut" "$(jq -r .note <<<"$BODY")"
eq "version 1 is tagged stable and latest" '["latest","stable"]' "$(jq -c .tags <<<"$BODY")"
eq "logical size recorded" "$SIZE" "$(jq -r .logical_size <<<"$BODY")"
stored=$(jq -r .stored_size <<<"$BODY")
check "stored size is below the logical size" test "$stored" -lt "$SIZE"

check "export raw" bhc image export disk1 "$W/a.out"
check "raw round trip is bit-exact" cmp "$W/a.raw" "$W/a.out"
used=$(($(stat -c %b "$W/a.out") * 512))
check "export is sparse (zero runs are holes)" test "$used" -lt $((SIZE - 10 * MIB))

# ---- the same file again: nothing to send -------------------------------------
out=$(bhc image import disk1 "$W/a.raw" 2>&1)
check "re-import of the same bytes" test $? -eq 0
read -r n b <<<"$(sent_of "$out")"
eq "re-import sends no chunk" "0 0" "$n $b"

# ---- a few changed blocks: only their chunks travel ---------------------------
cp "$W/a.raw" "$W/b.raw"
for off in 5 17 33; do
    head -c 4096 /dev/urandom | dd of="$W/b.raw" bs=4096 seek=$((off * 256 + 7)) conv=notrunc status=none
done
# count what really crosses loopback to the daemon's port (root: nftables)
PORT=${BH_URL##*:}
NFT=bhimg$$
wire=
if [ "$(id -u)" -eq 0 ] && nft add table inet "$NFT" 2>/dev/null; then
    nft add chain inet "$NFT" in '{ type filter hook input priority 0; }'
    nft add rule inet "$NFT" in iif lo tcp dport "$PORT" counter
    wire=1
fi
R0=$(stat_of received_bytes)
out=$(bhc image import disk1 "$W/b.raw" --note "three blocks changed" 2>&1)
check "import of a changed image" test $? -eq 0
read -r n b <<<"$(sent_of "$out")"
if [ -n "$wire" ]; then
    wb=$(nft list table inet "$NFT" | sed -n 's/.*counter packets [0-9]* bytes \([0-9]*\).*/\1/p')
    nft delete table inet "$NFT"
    # the manifest (48 B per extent) and HTTP/TCP overhead ride along; the
    # image itself is 76 MB
    mf=$(stat -c %s "$W/a.raw")
    check "bytes on the wire to the server: $wb for a $mf-byte image, $b of them chunk data" \
        test "$wb" -lt $((b + 600000))
fi
R1=$(stat_of received_bytes)
check "only the chunks around 3 changed blocks are sent (sent $n)" test "$n" -ge 1 -a "$n" -le 6
eq "bytes on the wire (server count) = the CLI's" "$b" "$((R1 - R0))"
check "far less than the first upload ($b of $b1 bytes)" test "$((b * 2))" -lt "$b1"
api GET /api/v1/images/disk1/versions/3
eq "version 3 has version 2 as parent" 2 "$(jq -r .parent <<<"$BODY")"
added=$(jq -r .added_bytes <<<"$BODY")
check "version 3 adds only what changed ($added bytes)" test "$added" -le "$b"
check "export version 3" bhc image export disk1@3 "$W/b.out"
check "changed image round trip is bit-exact" cmp "$W/b.raw" "$W/b.out"
check "export by tag gives version 1" bhc image export disk1@stable "$W/a2.out"
check "tagged export is version 1's bytes" cmp "$W/a.raw" "$W/a2.out"

out=$(bhc --json image diff disk1@1 disk1@3)
d_only=$(jq -r .only_b <<<"$out")
check "diff: a few chunks differ ($d_only)" test "$d_only" -ge 1 -a "$d_only" -le 6
eq "diff: version 1 and 2 are identical" true "$(bhc --json image diff disk1@1 disk1@2 | jq -r .identical)"

# ---- tags: a rollback is a tag move ------------------------------------------
check "tag stable -> 3" bhc image tag disk1 stable 3
api GET /api/v1/images/disk1/versions/stable
eq "stable names version 3" 3 "$(jq -r .version <<<"$BODY")"
check "rollback: tag stable -> 1" bhc image tag disk1 stable 1
api GET /api/v1/images/disk1/versions/stable
eq "stable names version 1 again" 1 "$(jq -r .version <<<"$BODY")"
expect "a tag of digits only is refused" 400 PUT /api/v1/images/disk1/tags/42 '{"version":1}'
expect "latest cannot be removed" 409 DELETE /api/v1/images/disk1/tags/latest
expect "a tagged version cannot be deleted" 409 DELETE /api/v1/images/disk1/versions/1
out=$(bhc image versions disk1)
contains "versions lists the notes" "three blocks changed" "$out"
out=$(bhc --json image stats)
eq "stats: disk1 has 3 versions" 3 "$(jq -r '.images[] | select(.image == "disk1") | .versions' <<<"$out")"
check "stats: disk1's versions share chunks (dedup ratio > 2)" \
    jq -e '.images[] | select(.image == "disk1") | .dedup_ratio > 2' <<<"$out"
m=$(curl -s -H "$AUTH" "$BH_URL/metrics")
contains "metrics: per-image stored bytes" 'bootherd_image_stored_bytes{image="disk1"}' "$m"
contains "metrics: store size" "bootherd_image_store_bytes " "$m"

# ---- qcow2 ------------------------------------------------------------------
qemu-img convert -O qcow2 "$W/a.raw" "$W/a.qcow2"
out=$(bhc image import disk2 "$W/a.qcow2" --kind disk 2>&1)
check "import a qcow2" test $? -eq 0
read -r n b <<<"$(sent_of "$out")"
eq "qcow2 of known content sends nothing (shared chunks)" "0 0" "$n $b"
check "export qcow2" bhc image export disk2 "$W/a.out.qcow2" --format qcow2
check "the export is a qcow2" sh -c "qemu-img info '$W/a.out.qcow2' | grep -q 'file format: qcow2'"
check "qcow2 round trip: same content (qemu-img compare)" qemu-img compare -q "$W/a.qcow2" "$W/a.out.qcow2"
qemu-img convert -O raw "$W/a.out.qcow2" "$W/a.back.raw"
check "qcow2 round trip is bit-exact" cmp "$W/a.raw" "$W/a.back.raw"

# ---- LINBO: NAME.qcow2 + NAME.qdiff, with sidecars ---------------------------
mkdir -p "$W/linbo"
qemu-img convert -c -O qcow2 "$W/a.raw" "$W/linbo/win10.qcow2"
echo "Windows 10, October patches" >"$W/linbo/win10.qcow2.desc"
printf '["win10.qcow2" Info File]\ntimestamp="202610011200"\nimage="win10.qcow2"\n' >"$W/linbo/win10.qcow2.info"
qemu-img create -q -f qcow2 -b win10.qcow2 -F qcow2 "$W/linbo/win10.qdiff"
qemu-io -c "write -P 0xab 2M 64k" -c "write -P 0xcd 20M 4k" "$W/linbo/win10.qdiff" >/dev/null
echo "after the driver update" >"$W/linbo/win10.qdiff.desc"
qemu-img convert -O raw "$W/linbo/win10.qdiff" "$W/linbo.expected"
out=$(bhc image import win10 "$W/linbo/win10.qdiff" 2>&1)
check "import a LINBO qcow2 + qdiff" test $? -eq 0
api GET /api/v1/images/win10/versions
eq "LINBO pair gives two versions" 2 "$(jq '.items | length' <<<"$BODY")"
eq "base version keeps the .desc note" "Windows 10, October patches" "$(jq -r '.items[0].note' <<<"$BODY")"
eq "overlay version keeps its note" "after the driver update" "$(jq -r '.items[1].note' <<<"$BODY")"
check "export the LINBO base" bhc image export win10@1 "$W/l1.out"
check "LINBO base round trip is bit-exact" cmp "$W/a.raw" "$W/l1.out"
check "export base + qdiff" bhc image export win10@2 "$W/l2.out"
check "LINBO qcow2 + qdiff round trip is bit-exact" cmp "$W/linbo.expected" "$W/l2.out"
check "export back to LINBO's compressed qcow2" bhc image export win10@2 "$W/l2.qcow2" --format qcow2 --compress
check "the compressed qcow2 holds the same image" qemu-img compare -q "$W/linbo.expected" "$W/l2.qcow2"

# ---- bad input: precise problems, nothing stored ------------------------------
api POST /api/v1/images/disk1/uploads "not a manifest" "$BH_TOKEN" -H 'Content-Type: application/vnd.bootherd.manifest'
eq "garbage manifest: 422" 422 "$STATUS"
check "garbage manifest: problem+json with a detail" jq -e '.detail | length > 0' <<<"$BODY"
api POST /api/v1/images/nosuch/uploads "x" "$BH_TOKEN"
check "upload of garbage to a missing image: refused ($STATUS)" test "$STATUS" = 404 -o "$STATUS" = 422
printf 'hello' >"$W/hello"
zstd -q -c "$W/hello" >"$W/hello.zst" # from a file: the frame declares its size
api PUT /api/v1/chunks/$(printf '0%.0s' $(seq 1 64)) "" "$BH_TOKEN" --data-binary @"$W/hello.zst" -H 'Content-Type: application/zstd'
eq "chunk whose content does not hash to its id: 422" 422 "$STATUS"
contains "the problem says hash mismatch" "hash-mismatch" "$BODY"
good=$(printf 'hello' | sha256sum | cut -c1-64)
api PUT /api/v1/chunks/"$good" "" "$BH_TOKEN" --data-binary @"$W/hello.zst" -H 'Content-Type: application/zstd'
check "a correct chunk is accepted" test "$STATUS" = 201 -o "$STATUS" = 200
api PUT /api/v1/chunks/NOTHEX "" "$BH_TOKEN" --data-binary @"$W/hello.zst"
eq "bad chunk id: 400" 400 "$STATUS"
head -c $((18 * MIB)) /dev/zero >"$W/big"
api PUT /api/v1/chunks/"$good" "" "$BH_TOKEN" --data-binary @"$W/big"
eq "oversized chunk body: 413" 413 "$STATUS"
expect "unknown chunk: 404" 404 GET /api/v1/chunks/$(printf 'f%.0s' $(seq 1 64))
expect "unknown upload: 404" 404 GET /api/v1/uploads/0123456789abcdef01234567
# an upload is committed only when every chunk is there
st=$(curl -s -H "$AUTH" -w '%{http_code}' "$BH_URL/api/v1/images/disk1/versions/1/manifest" -o "$W/m1.bin")
eq "manifest download: 200" 200 "$st"
api POST /api/v1/images/disk2/uploads "" "$BH_TOKEN" --data-binary @"$W/m1.bin" -H 'Content-Type: application/vnd.bootherd.manifest'
check "an upload of known content: nothing missing" test "$(jq -r .missing_count <<<"$BODY")" = 0
UP=$(jq -r .upload <<<"$BODY")
# the first chunk the manifest names (docs/image-format.md: 64-byte header,
# 48-byte extents, type 0 = chunk, id at +16)
first=$(python3 - "$W/m1.bin" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
for off in range(64, len(b), 48):
    if b[off] == 0:
        print(b[off + 16:off + 48].hex())
        break
PY
)
aside=$BH_DATA/images/chunks/${first:0:2}/$first
check "the manifest's first chunk is in the store" test -f "$aside"
mv "$aside" "$W/aside"
api POST /api/v1/uploads/"$UP"/commit '{"note":"x"}'
eq "commit with a chunk missing: 409" 409 "$STATUS"
contains "the problem says chunks are missing" "chunks-missing" "$BODY"
api GET /api/v1/uploads/"$UP"
eq "the upload now lists that chunk as missing" "$(basename "$aside")" "$(jq -r '.missing[0]' <<<"$BODY")"
mv "$W/aside" "$aside"
api POST /api/v1/uploads/"$UP"/commit '{"note":"x","tags":["copy"]}'
eq "commit once the chunk is back: 201" 201 "$STATUS"
expect "the finished upload is gone" 404 GET /api/v1/uploads/"$UP"
VIEWER=$(mktoken viewer1 viewer)
expect "a viewer may read a chunk list" 200 GET /api/v1/images/disk1/versions "" "$VIEWER"
expect "a viewer may not upload" 403 PUT /api/v1/chunks/"$good" "x" "$VIEWER"
expect "a viewer may not gc" 403 POST /api/v1/imagestore/gc "" "$VIEWER"
expect "no token: 401" 401 GET /api/v1/chunks/"$good" "" ""

# ---- a corrupt chunk on disk is detected, never served -------------------------
victim=$(find "$BH_DATA/images/chunks" -type f | head -1)
vid=$(basename "$victim")
check "a stored chunk exists" test -n "$vid"
python3 - "$victim" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
PY
api GET /api/v1/chunks/"$vid"
check "a corrupt chunk is not served (HTTP $STATUS)" test "$STATUS" -ge 500
out=$(bhc --json image verify 2>&1)
check "verify exits non-zero on corruption" test $? -ne 0
contains "verify names the corrupt chunk" "$vid" "$out"

# ---- gc ---------------------------------------------------------------------
rm -f "$victim"
check "verify reports the now-missing chunk" sh -c "! \"$BH\" --url '$BH_URL' --token '$BH_TOKEN' image verify >/dev/null 2>&1"
api DELETE /api/v1/images/win10
eq "delete an image (its versions go with it)" 204 "$STATUS"
# repair: import the files that held it again (missing chunks are re-sent)
for f in a.raw b.raw; do bhc image import disk3 "$W/$f" >/dev/null 2>&1; done
bhc image import disk1 "$W/a.raw" >/dev/null 2>&1
check "after re-importing, verify is clean" bhc image verify
before=$(stat_of stored_bytes)
check "untag stable" bhc image untag disk1 stable
for v in 1 2 3 4 5; do bhc image rmversion disk1@$v >/dev/null 2>&1; done
bhc image rmversion disk3@1 >/dev/null 2>&1
out=$(bhc --json image gc --dry-run)
check "gc --dry-run finds garbage" test "$(jq -r .swept <<<"$out")" -gt 0
eq "gc --dry-run removes nothing" "$before" "$(stat_of stored_bytes)"
out=$(bhc --json image gc)
check "gc removes chunks" test "$(jq -r .swept <<<"$out")" -gt 0
after=$(stat_of stored_bytes)
check "gc freed space ($before -> $after)" test "$after" -lt "$before"
check "verify is clean after gc" bhc image verify
check "what is left still exports: disk3@latest" bhc image export disk3 "$W/d3.out"
check "disk3 (b.raw) survives gc bit-exact" cmp "$W/b.raw" "$W/d3.out"
check "disk2 (a.raw) survives gc bit-exact" sh -c "\"$BH\" --url '$BH_URL' --token '$BH_TOKEN' image export disk2 '$W/d2.out' >/dev/null && cmp '$W/a.raw' '$W/d2.out'"
finish
