#!/bin/bash
# startconf.sh - start.conf fidelity (issue 11, 2) seen from curl and the
# CLI: a commented CRLF-free file and a CRLF file come back byte for byte;
# a PATCH of the group's config changes one line and keeps the comments;
# ForceOpsiSetup lists and empty keys are accepted; the same Dev twice is
# a 422 with the line; cross-check warnings and keys not acted on are in
# the PUT answer, on the group (startconf_notes) and in `group show`.
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }
T=$(tmpdir)
_DIRS+=("$T")

cat >"$T/lab.conf" <<'EOF'
# start.conf of lab 1 -- edited by hand, keep the comments!
[LINBO]                     # global settings
Server = 10.0.0.1
Group = lab1
Cache = /dev/sda4           # the cache partition
#Cache = /dev/sdb1          # the old second disk
AutoPartition = yes
DownloadType = torrent      # rsync|multicast|torrent

[Partition]                 # EFI
Dev = /dev/sda1
Size = 200M
Id = ef
FSType = vfat
Bootable = yes

[Partition]                 # Windows
Dev = /dev/sda2
Size = 80G
Id = 7
FSType = ntfs

[OS]
Name = Windows 10
BaseImage = win10.qcow2     # 22H2
#BaseImage = win10-old.qcow2
Root = /dev/sda2
Boot =
Kernel = auto
ForceOpsiSetup = win10-opsi
DefaultAction = sync        # start|sync|new
EOF

# put FILE GROUP: PUT the file as the group's start.conf (sets STATUS, BODY)
put() { api PUT "/api/v1/groups/$2/start.conf" "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "@$1"; }
# get GROUP OUT: the group's start.conf, byte for byte, into OUT
get() { curl -s -o "$2" -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/groups/$1/start.conf"; }

expect "group add" 201 POST /api/v1/groups '{"name":"lab1"}'
put "$T/lab.conf" lab1
eq "PUT a commented start.conf" 200 "$STATUS"
W=$(jq -r '.warnings[]' <<<"$BODY")
contains "PUT warns: AutoPartition not acted on" \
    "[LINBO] AutoPartition = yes: not acted on (bootherd partitions only when a job has the partition step)" "$W"
contains "PUT warns: DownloadType not acted on" \
    "[LINBO] DownloadType = torrent: not acted on (bootherd's clients always fetch images over HTTP)" "$W"
contains "PUT warns: Cache not in the layout" \
    "[LINBO] Cache /dev/sda4 is not a [Partition] Dev: initcache and syncs through the cache fail unless the disk already has it" "$W"
contains "PUT warns: BaseImage with no image" \
    "[OS] 1 (Windows 10): BaseImage win10.qcow2: no image 'win10' in the store yet (import it before a sync)" "$W"
contains "PUT warns: ForceOpsiSetup not acted on" \
    "[OS] 1 (Windows 10): ForceOpsiSetup = win10-opsi: not acted on (bootherd has no opsi integration)" "$W"
eq "ForceOpsiSetup is a product list, Boot = is kept empty" "win10-opsi||" \
    "$(jq -r '.config.os[0] | "\(.force_opsi_setup)|\(.boot)|"' <<<"$BODY")"

get lab1 "$T/back.conf"
check "GET gives the file back byte for byte" cmp "$T/lab.conf" "$T/back.conf"
bhc group startconf lab1 >"$T/cli.conf"
check "group startconf gives the file back byte for byte" cmp "$T/lab.conf" "$T/cli.conf"

# one value changed through the JSON API: one line changes, comments stay
api PATCH /api/v1/groups/lab1 '{"config":{"linbo":{"cache":"/dev/sda2"}}}'
eq "PATCH the config" 200 "$STATUS"
get lab1 "$T/patched.conf"
DIFF=$(diff "$T/lab.conf" "$T/patched.conf")
eq "PATCH changed exactly one line, its comment kept" \
    "5c5
< Cache = /dev/sda4           # the cache partition
---
> Cache = /dev/sda2           # the cache partition" "$DIFF"
api GET /api/v1/groups/lab1
eq "the group's config.text follows the JSON" "$(cat "$T/patched.conf")" "$(jq -r .config.text <<<"$BODY")"
N=$(jq -r '.startconf_notes[]' <<<"$BODY")
contains "GET group: startconf_notes has the keys not acted on" "AutoPartition = yes: not acted on" "$N"
check "GET group: the Cache warning went with the fix" bash -c '! grep -q "Cache /dev" <<<"$0"' "$N"

# an image imported later: the warning goes
expect "image add" 201 POST /api/v1/images '{"name":"win10"}'
api GET /api/v1/groups/lab1
check "no BaseImage warning once the image exists" bash -c '! grep -q "no image" <<<"$0"' \
    "$(jq -r '.startconf_notes[]' <<<"$BODY")"

# GET, edit, PUT back the whole group: startconf_notes is ignored, text kept
api GET /api/v1/groups/lab1
G=$(jq 'del(.rev) | .description = "lab one"' <<<"$BODY")
api PUT /api/v1/groups/lab1 "$G" "$BH_TOKEN" -H 'If-Match: *'
eq "PUT back a GET group (with startconf_notes)" 200 "$STATUS"
get lab1 "$T/again.conf"
check "PUT of the group keeps the text" cmp "$T/patched.conf" "$T/again.conf"

OUT=$(bhc group show lab1)
contains "group show: the notes, one per line" \
    "  - [LINBO] AutoPartition = yes: not acted on (bootherd partitions only when a job has the partition step)" "$OUT"
contains "group show: the kept text as a line count" "(31 lines, with comments: bootherd group startconf lab1)" "$OUT"

# CRLF stays CRLF, also after an edit
printf '[LINBO]\r\nServer = 10.0.0.1   # ip\r\n\r\n[OS]\r\nName = a\r\n' >"$T/crlf.conf"
expect "group add crlf" 201 POST /api/v1/groups '{"name":"crlf"}'
put "$T/crlf.conf" crlf
get crlf "$T/crlf.back"
check "a CRLF file comes back byte for byte" cmp "$T/crlf.conf" "$T/crlf.back"
api PATCH /api/v1/groups/crlf '{"config":{"os":[{"name":"b"}]}}'
get crlf "$T/crlf.patched"
printf '[LINBO]\r\nServer = 10.0.0.1   # ip\r\n\r\n[OS]\r\nName = b\r\n' >"$T/crlf.want"
check "a CRLF file stays CRLF after a PATCH" cmp "$T/crlf.want" "$T/crlf.patched"

# bad input: precise 422s, nothing written
printf '[Partition]\nDev = /dev/sda1\n[Partition]\nDev = /dev/sda1\n' >"$T/dup.conf"
put "$T/dup.conf" lab1
eq "the same Dev twice is a 422" "422 start.conf:4: [Partition] Dev: /dev/sda1 is already the Dev of partition 1 (line 2)" \
    "$STATUS $(jq -r .detail <<<"$BODY")"
printf '[OS]\nName = w\nForceOpsiSetup = firefox, 7zip\n' >"$T/opsi.conf"
put "$T/opsi.conf" lab1
eq "ForceOpsiSetup with a blank is a 422" "422 start.conf:3: [OS] ForceOpsiSetup: expected opsi product ids separated by commas, without blanks (letters, digits, '-', '_' and '.'), such as win10-opsi or firefox,7zip, got 'firefox, 7zip'" \
    "$STATUS $(jq -r .detail <<<"$BODY")"
api PATCH /api/v1/groups/lab1 '{"config":{"partitions":[{"dev":"/dev/sda1"},{"dev":"/dev/sda1"}]}}'
eq "PATCH with the same dev twice is a 422" "422 config.partitions[1].dev: /dev/sda1 is already the dev of partitions[0]" \
    "$STATUS $(jq -r .detail <<<"$BODY")"
get lab1 "$T/after-bad.conf"
check "refused writes changed nothing" cmp "$T/patched.conf" "$T/after-bad.conf"

finish
