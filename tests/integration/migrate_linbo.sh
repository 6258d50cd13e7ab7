#!/bin/bash
# migrate_linbo.sh - `bootherd migrate linbo` against a real daemon: the
# LINBO tree in tests/data/linbo (start.conf files in the styles LINBO
# ships, a devices.csv with comments, CRLF and empty trailing fields; the
# qcow2 + qdiff images are made here with qemu-img and qemu-io) moved over
# with --dry-run (nothing written) and for real, checked object by object
# through the API and the CLI; a second run changes nothing; a run that
# stops half way (an image qemu-img cannot read, a subset imported before)
# is finished by the next; `apply devices.csv` with the same mapping;
# `group startconf --create`; and each bad input with its exact message,
# nothing written.
source "$(dirname "$0")/../lib/harness.sh"
for tool in qemu-img qemu-io jq; do
    if ! command -v "$tool" >/dev/null; then
        skip "migrate linbo" "$tool is not installed"
        finish
        exit 0
    fi
done
bh_start || { nok "daemon starts"; finish; exit 1; }
W=$(tmpdir)

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }

# a LINBO tree: the committed files, and images made now
mktree() {
    local t=$1
    cp -a "$ROOT/tests/data/linbo" "$t"
    head -c 4M /dev/urandom >"$W/u.raw"
    qemu-img convert -c -O qcow2 "$W/u.raw" "$t/images/ubuntu/ubuntu.qcow2"
    (cd "$t/images/ubuntu" && qemu-img create -q -f qcow2 -b ubuntu.qcow2 -F qcow2 ubuntu.qdiff &&
        qemu-io -c "write -P 0xab 1M 64k" ubuntu.qdiff >/dev/null)
    head -c 2M /dev/urandom >"$W/w10.raw"
    qemu-img convert -O qcow2 "$W/w10.raw" "$t/images/win10/win10.qcow2"
    head -c 2M /dev/urandom >"$W/w11.raw"
    qemu-img convert -O qcow2 "$W/w11.raw" "$t/win11.qcow2" # the older flat layout
}
SRV=$W/srv
mktree "$SRV"
DEV=$SRV/devices.csv
# migrate ARGS...: sets OUT, ERR, RC
migrate() {
    local o e
    o=$(mktemp "$TEST_TMP/o.XXXXXX")
    e=$(mktemp "$TEST_TMP/e.XXXXXX")
    RC=0
    bhc migrate "$@" >"$o" 2>"$e" || RC=$?
    OUT=$(cat "$o")
    ERR=$(grep -v -E '^(scanning|uploading|upload |converting)' "$e")
    rm -f "$o" "$e"
}
summary() { tail -1 <<<"$OUT"; }

# ---- help ------------------------------------------------------------------------
R0=$(revision)
migrate --help
eq "migrate --help: exit 0" 0 "$RC"
contains "  ... prints its usage" "usage: bootherd migrate linbo [--dry-run] [--srv DIR] [--devices FILE]" "$OUT"
migrate linbo --help --srv "$SRV" --devices "$DEV"
eq "migrate linbo --help (with other options): exit 0, the usage" "0 1" \
    "$RC $(grep -c '^usage: bootherd migrate linbo' <<<"$OUT")"
contains "the top-level help lists migrate" "bootherd migrate linbo [--dry-run]" "$("$BH" --help)"
contains "  ... and apply with a devices.csv" "bootherd apply -f fleet.yaml|devices.csv" "$("$BH" --help)"
eq "  ... and nothing was written" "$R0" "$(revision)"

# ---- bad input: exact messages, nothing written --------------------------------
migrate
eq "migrate with no source: exit 2, one line" \
    "2 bootherd migrate: name what to migrate from: linbo (see bootherd migrate --help)" "$RC $ERR"
migrate fog
eq "an unknown source" "2 bootherd migrate: unknown source 'fog'; bootherd migrates from linbo (see bootherd migrate --help)" "$RC $ERR"
migrate linbo --bogus
eq "an unknown option" "2 bootherd migrate linbo: unknown option '--bogus' (see bootherd migrate linbo --help)" "$RC $ERR"
migrate linbo --srv
eq "--srv with no value" "2 bootherd migrate: --srv needs a value (see bootherd migrate --help)" "$RC $ERR"
migrate linbo --srv "$W/nope" --devices "$DEV"
eq "a missing --srv directory" "2 bootherd: migrate linbo: --srv $W/nope: No such file or directory" "$RC $ERR"
migrate linbo --srv "$SRV" --devices "$W/nope.csv"
eq "a missing --devices file (named)" "2 bootherd: $W/nope.csv: No such file or directory" "$RC $ERR"
sed 's/52:54:00:a2:00:02/52:54:00:zz:00:02/' "$DEV" >"$W/bad.csv"
migrate linbo --srv "$SRV" --devices "$W/bad.csv"
eq "a malformed devices.csv line: its line and field, then nothing changed" \
    "2 $W/bad.csv:9: mac: '52:54:00:zz:00:02' is not a MAC address (expected like 00:11:22:33:44:55)
bootherd: $W/bad.csv: 1 error; nothing was changed" "$RC $ERR"
printf 'r1;h1;ubuntu;52:54:00:00:00:01\r\n' >"$W/short.csv"
migrate linbo --srv "$SRV" --devices "$W/short.csv"
eq "a devices.csv line with too few fields" \
    "2 $W/short.csv:1: the line has 4 fields; a device needs at least 5: room;hostname;group;mac;ip
bootherd: $W/short.csv: 1 error; nothing was changed" "$RC $ERR"
sed 's/;lab;52:54:00:a2:00:01/;physics;52:54:00:a2:00:01/' "$DEV" >"$W/unknown.csv"
migrate linbo --srv "$SRV" --devices "$W/unknown.csv"
eq "a group devices.csv names with no start.conf and not in bootherd" \
    "2 $W/unknown.csv:8: group 'physics' does not exist in bootherd and the LINBO tree has no start.conf.physics
bootherd: $W/unknown.csv: 1 error; nothing was changed" "$RC $ERR"
printf '# only comments\r\n;;;;;\r\n' >"$W/empty.csv"
migrate linbo --srv "$SRV" --devices "$W/empty.csv"
eq "a devices.csv with no device" \
    "2 bootherd: $W/empty.csv names no device (only comments and empty lines); nothing was changed" "$RC $ERR"
cp -a "$SRV" "$W/badsrv"
printf '[OS]\nName = x\nDefaultAction = boot\n' >"$W/badsrv/start.conf.broken"
migrate linbo --srv "$W/badsrv" --devices "$DEV"
eq "a start.conf LINBO's parser would refuse" \
    "2 bootherd: migrate linbo: $W/badsrv/start.conf.broken: start.conf:3: [OS] DefaultAction: expected start, sync or new, got 'boot'
bootherd: migrate linbo: 1 error; nothing was changed" "$RC $ERR"
eq "no bad input wrote anything" "$R0" "$(revision)"

# ---- dry run -----------------------------------------------------------------------
migrate linbo --dry-run --srv "$SRV" --devices "$DEV"
eq "dry run: exit 0" 0 "$RC"
eq "  ... marked as a dry run" "dry run: nothing was changed; this is what would be done" "$(head -1 <<<"$OUT")"
eq "  ... the summary" "dry run: 20 created, 1 changed, 0 unchanged, 2 skipped, 5 with no bootherd meaning yet" "$(summary)"
eq "  ... groups from each start.conf.GROUP, with the images they name" \
    "created    group   lab: start.conf from start.conf.lab; images: ubuntu (OS 1), win7 (OS 2)
created    group   ubuntu: start.conf from start.conf.ubuntu; images: ubuntu (OS 1)
created    group   win10: start.conf from start.conf.win10; images: win10 (OS 1)
created    group   win11-efi: start.conf from start.conf.win11-efi; images: win11 (OS 1)" \
    "$(awk '$2 == "group"' <<<"$OUT")"
eq "  ... rooms and hosts from devices.csv" \
    "created room r101
created room lab
created room hall
created host r101-pc01
created host r101-pc02
created host r101-lehrer
created host lab-pc01
created host lab-pc02
created host printer1" "$(awk '$2 == "room" || ($2 == "host" && $1 == "created") {print $1, $2, $3}' <<<"$OUT" | tr -d :)"
eq "  ... image versions, base before diff, notes from .desc" \
    "created    version ubuntu@1: from images/ubuntu/ubuntu.qcow2, note from images/ubuntu/ubuntu.qcow2.desc
created    version ubuntu@2: from images/ubuntu/ubuntu.qdiff, note from images/ubuntu/ubuntu.qdiff.desc
created    version win10@1: from images/win10/win10.qcow2, note from images/win10/win10.qcow2.desc
created    version win11@1: from win11.qcow2, note from win11.qcow2.desc" "$(grep ' version ' <<<"$OUT")"
contains "  ... the postsync script" "changed    image   ubuntu: postsync script set from images/ubuntu/ubuntu.postsync" "$OUT"
eq "  ... what has no bootherd meaning yet" \
    "no-meaning file    start.conf
no-meaning host    r101-lehrer
no-meaning field   officeKey
no-meaning file    images/win10/win10.prestart
no-meaning file    images/win10/win10.reg" "$(grep '^no-meaning' <<<"$OUT" | cut -d: -f1)"
eq "  ... and what is skipped, with why" \
    "skipped    file    start.conf-*: 1 per-host link: bootherd finds a host's start.conf through its group
skipped    link    lab OS 2: BaseImage win7.qcow2 names image win7, which is neither under $SRV/images nor in bootherd: import it (bootherd image import win7 FILE)" \
    "$(grep '^skipped' <<<"$OUT")"
eq "  ... nothing written (revision)" "$R0" "$(revision)"
api GET /api/v1/groups/win10
eq "  ... (no group win10)" 404 "$STATUS"
api GET /api/v1/images/ubuntu
eq "  ... (no image ubuntu)" 404 "$STATUS"
api GET /api/v1/hosts/r101-pc01
eq "  ... (no host r101-pc01)" 404 "$STATUS"

# ---- for real ----------------------------------------------------------------------
migrate linbo --srv "$SRV" --devices "$DEV"
eq "migrate: exit 0" 0 "$RC"
eq "  ... the same report, not a dry run" "20 created, 1 changed, 0 unchanged, 2 skipped, 5 with no bootherd meaning yet" "$(summary)"
eq "  ... no errors on stderr" "" "$ERR"
REAL=$OUT

api GET "/api/v1/groups?limit=100"
eq "groups: one per start.conf.GROUP" "lab ubuntu win10 win11-efi" "$(jq -r '[.items[].name] | sort | join(" ")' <<<"$BODY")"
api GET /api/v1/groups/win11-efi
eq "the UEFI group: its GPT layout with the EFI partition, its OS and image" \
    "efi64 /dev/sda5 ef,0c01,7,7,83 vfat win11.qcow2 /dev/sda3" \
    "$(jq -r '.config | "\(.linbo.system_type) \(.linbo.cache) \([.partitions[].id] | join(",")) \(.partitions[0].fstype) \(.os[0].base_image) \(.os[0].root)"' <<<"$BODY")"
api GET /api/v1/groups/win10
eq "the lmn7-style BIOS group: values after their inline comments" \
    "10.0.0.1 win10 /dev/sda3 600 torrent 3 win10.qcow2 sync" \
    "$(jq -r '.config | "\(.linbo.server) \(.linbo.group) \(.linbo.cache) \(.linbo.root_timeout) \(.linbo.download_type) \(.partitions | length) \(.os[0].base_image) \(.os[0].default_action)"' <<<"$BODY")"
api GET /api/v1/groups/ubuntu
eq "the Linux group: kernel, initrd, append" "boot/vmlinuz boot/initrd.img ro splash" \
    "$(jq -r '.config.os[0] | "\(.kernel) \(.initrd) \(.append)"' <<<"$BODY")"
api GET /api/v1/groups/lab
eq "the commented group: the values, not the commented-out alternatives" \
    "/dev/sda4 rsync quiet splash sync ubuntu.qcow2,win7.qcow2" \
    "$(jq -r '.config | "\(.linbo.cache) \(.linbo.download_type) \(.linbo.kernel_options) \(.os[0].default_action) \([.os[].base_image] | join(","))"' <<<"$BODY")"
GOT=$(bhc group startconf lab)
contains "group startconf gives the start.conf back" "BaseImage = win7.qcow2" "$GOT"

api GET "/api/v1/rooms?limit=100"
eq "rooms from devices.csv" "hall lab r101" "$(jq -r '[.items[].name] | sort | join(" ")' <<<"$BODY")"
api GET /api/v1/hosts/r101-pc01
eq "host r101-pc01: MAC, room, group, IP, role label, network boot" \
    "52:54:00:a1:01:01 r101 win10 10.0.10.11 classroom-studentcomputer known null" \
    "$(jq -r '"\(.mac) \(.room) \(.group) \(.ip) \(.labels["linbo/role"]) \(.state) \(.boot)"' <<<"$BODY")"
api GET /api/v1/hosts/r101-pc02
eq "host r101-pc02: DHCP is no fixed address; a MAC written with dashes" "52:54:00:a1:01:02 null win10" \
    "$(jq -r '"\(.mac) \(.ip) \(.group)"' <<<"$BODY")"
api GET /api/v1/hosts/r101-lehrer
eq "host r101-lehrer: the comment as description, pxeFlag 2 boots from the network" \
    "Lehrerpult win11-efi classroom-teachercomputer null" \
    "$(jq -r '"\(.description) \(.group) \(.labels["linbo/role"]) \(.boot)"' <<<"$BODY")"
api GET /api/v1/hosts/lab-pc01
eq "host lab-pc01: a line with more empty trailing fields" "lab lab 10.0.20.11" \
    "$(jq -r '"\(.room) \(.group) \(.ip)"' <<<"$BODY")"
api GET /api/v1/hosts/lab-pc02
eq "host lab-pc02: a line that stops after pxeFlag, no role" "ubuntu 10.0.20.12 null" \
    "$(jq -r '"\(.group) \(.ip) \(.labels["linbo/role"])"' <<<"$BODY")"
api GET /api/v1/hosts/printer1
eq "host printer1: nopxe, pxeFlag 0: no group, boots its disk" "null local printer HP in the hall" \
    "$(jq -r '"\(.group) \(.boot.action) \(.labels["linbo/role"]) \(.description)"' <<<"$BODY")"
api GET "/api/v1/hosts?limit=100"
eq "six hosts: the commented-out and empty lines are none" 6 "$(jq '.items | length' <<<"$BODY")"

api GET /api/v1/images/ubuntu/versions
eq "image ubuntu: the base then the qdiff, notes from .desc" \
    "1:Ubuntu 22.04 base, LibreOffice and GeoGebra 2:Ubuntu 22.04, printer drivers for room 101" \
    "$(jq -r '[.items[] | "\(.version):\(.note)"] | join(" ")' <<<"$BODY")"
api GET /api/v1/images/ubuntu
eq "  ... its postsync script from ubuntu.postsync" "$(cat "$SRV/images/ubuntu/ubuntu.postsync")" \
    "$(jq -r .postsync <<<"$BODY")"
check "  ... version 2 is the qdiff read through its base" sh -c \
    "'$BH' --url '$BH_URL' --token '$BH_TOKEN' image export ubuntu@2 '$W/u2.raw' >/dev/null 2>&1 && qemu-img compare -q '$SRV/images/ubuntu/ubuntu.qdiff' '$W/u2.raw'"
check "  ... version 1 the base" sh -c \
    "'$BH' --url '$BH_URL' --token '$BH_TOKEN' image export ubuntu@1 '$W/u1.raw' >/dev/null 2>&1 && cmp -s '$W/u.raw' '$W/u1.raw'"
api GET /api/v1/images/win10/versions
eq "image win10: one version, its note" "1:Windows 10 22H2, October updates" \
    "$(jq -r '[.items[] | "\(.version):\(.note)"] | join(" ")' <<<"$BODY")"
api GET /api/v1/images/win11/versions
eq "image win11 from the flat layout" "1:Windows 11, flat layout of older LINBO" \
    "$(jq -r '[.items[] | "\(.version):\(.note)"] | join(" ")' <<<"$BODY")"
api GET /api/v1/images/win7
eq "win7, named by BaseImage but in no file: no image made up" 404 "$STATUS"

# ---- a second run: nothing new ------------------------------------------------------
R1=$(revision)
migrate linbo --srv "$SRV" --devices "$DEV"
eq "a second run: exit 0, nothing created or changed" \
    "0 0 created, 0 changed, 21 unchanged, 2 skipped, 5 with no bootherd meaning yet" "$RC $(summary)"
eq "  ... every object reported unchanged" \
    "$(grep -c -E '^(created|changed) ' <<<"$REAL")" "$(grep -c '^unchanged ' <<<"$OUT")"
contains "  ... an image file that is a version already says so" \
    "unchanged  version ubuntu@2: images/ubuntu/ubuntu.qdiff is this version already" "$OUT"
eq "  ... and nothing was written" "$R1" "$(revision)"
api GET /api/v1/images/ubuntu/versions
eq "  ... (still two versions of ubuntu)" 2 "$(jq '.items | length' <<<"$BODY")"
J=$(bhc --json migrate linbo --dry-run --srv "$SRV" --devices "$DEV" 2>/dev/null)
eq "--json: the report as one object" "true 0 0 21 2 5 28" \
    "$(jq -r '"\(.dry_run) \(.created) \(.changed) \(.unchanged) \(.skipped) \(.no_meaning) \(.items | length)"' <<<"$J")"
eq "  ... items with action, kind, name, detail" "unchanged group win10" \
    "$(jq -r '.items[] | select(.kind == "group" and .name == "win10") | "\(.action) \(.kind) \(.name)"' <<<"$J")"
bh_stop

# ---- cut off half way, then finished ------------------------------------------------
bh_start || { nok "second daemon starts"; finish; exit 1; }
R0=$(revision)
# a subset there before: group ubuntu created with no start.conf yet, and
# ubuntu's base imported by hand; win10's qcow2 is one qemu-img cannot read
api POST /api/v1/groups '{"name":"ubuntu"}'
bhc image import ubuntu "$SRV/images/ubuntu/ubuntu.qcow2" >/dev/null 2>&1
mv "$SRV/images/win10/win10.qcow2" "$W/win10.qcow2.good"
printf 'QFI\373 not really a qcow2' >"$SRV/images/win10/win10.qcow2"
migrate linbo --srv "$SRV" --devices "$DEV"
eq "a run that cannot read an image stops: exit 1" 1 "$RC"
contains "  ... says which file" "bootherd: migrate linbo: images/win10/win10.qcow2: $SRV/images/win10/win10.qcow2: qemu-img cannot read it (not an image?)" "$ERR"
contains "  ... and to run again" "bootherd: migrate linbo stopped before the end; what is listed above is done: run it again to finish" "$ERR"
contains "  ... the group made before gets its start.conf" "changed    group   ubuntu: start.conf from start.conf.ubuntu" "$OUT"
contains "  ... the base imported before is not imported again" \
    "unchanged  version ubuntu@1: images/ubuntu/ubuntu.qcow2 is this version already" "$OUT"
contains "  ... the qdiff is" "created    version ubuntu@2: from images/ubuntu/ubuntu.qdiff" "$OUT"
api GET /api/v1/images/win11
eq "  ... win11 (after win10) not reached" 404 "$STATUS"
mv "$W/win10.qcow2.good" "$SRV/images/win10/win10.qcow2"
migrate linbo --srv "$SRV" --devices "$DEV"
eq "run again: exit 0" 0 "$RC"
eq "  ... only what was left is done" \
    "created    version win10@1
created    image   win11
created    version win11@1" "$(grep -E '^(created|changed) ' <<<"$OUT" | cut -d: -f1)"
api GET /api/v1/images/ubuntu/versions
eq "  ... ubuntu has its two versions, once each" 2 "$(jq '.items | length' <<<"$BODY")"
migrate linbo --srv "$SRV" --devices "$DEV"
eq "  ... and a third run has nothing left to do" "0 created, 0 changed, 21 unchanged, 2 skipped, 5 with no bootherd meaning yet" "$(summary)"

# ---- apply devices.csv ----------------------------------------------------------------
# the same file with one host moved to DHCP and a new room; sniffed by content too
sed -e 's/r101-pc01;win10;52:54:00:a1:01:01;10.0.10.11/r101-pc01;win10;52:54:00:a1:01:01;DHCP/' "$DEV" >"$W/dev2.csv"
printf 'r102;r102-pc01;ubuntu;52:54:00:a3:00:01;10.0.30.11;;;;classroom-studentcomputer;;1;;;;;\r\n' >>"$W/dev2.csv"
cp "$W/dev2.csv" "$W/devices.txt"
R2=$(revision)
A=$(bhc apply -f "$W/devices.txt" --dry-run 2>&1)
eq "apply devices.csv (named .txt, found by its content) --dry-run" \
    "created room r102
changed host r101-pc01
created host r102-pc01" "$(grep -E '^(created|changed) ' <<<"$A" | awk '{print $1, $2, $3}' | tr -d :)"
contains "  ... marked as a dry run" "dry run: 2 created, 1 changed" "$A"
eq "  ... nothing written" "$R2" "$(revision)"
A=$(bhc apply -f "$W/dev2.csv" 2>&1)
contains "apply devices.csv: the same report" "2 created, 1 changed, 8 unchanged" "$A"
api GET /api/v1/hosts/r101-pc01
eq "  ... the host now takes DHCP" "null" "$(jq -r .ip <<<"$BODY")"
api GET /api/v1/hosts/r102-pc01
eq "  ... the new host in its new room, with its label" "r102 ubuntu classroom-studentcomputer" \
    "$(jq -r '"\(.room) \(.group) \(.labels["linbo/role"])"' <<<"$BODY")"
R3=$(revision)
A=$(bhc apply -f "$W/dev2.csv" 2>&1)
contains "apply the same devices.csv again: nothing changes" "0 created, 0 changed, 11 unchanged" "$A"
eq "  ... nothing written" "$R3" "$(revision)"
RC=0; A=$(bhc apply -f "$W/dev2.csv" --prune 2>&1) || RC=$?
eq "apply devices.csv --prune is refused" "2 bootherd apply: --prune does not apply to a devices.csv ($W/dev2.csv)" "$RC $A"
RC=0; A=$(bhc apply -f "$W/unknown.csv" 2>&1) || RC=$?
eq "apply devices.csv naming a group that does not exist" \
    "2 $W/unknown.csv:8: group 'physics' does not exist; create it first (bootherd group add physics, or bootherd migrate linbo)
bootherd: $W/unknown.csv: 1 error; nothing was changed" "$RC $A"
printf 'r101;intruder;win10;52:54:00:00:00:09;10.0.10.10\n' >"$W/conflict.csv"
RC=0; A=$(bhc apply -f "$W/conflict.csv" 2>&1) || RC=$?
eq "apply devices.csv with an address a stored host has" \
    "2 $W/conflict.csv:1: 52:54:00:00:00:09: a host with ip '10.0.10.10' already exists
bootherd: $W/conflict.csv does not fit what bootherd holds; nothing was changed" "$RC $A"
eq "  ... nothing written by either" "$R3" "$(revision)"

# ---- group startconf --create -----------------------------------------------------
RC=0; A=$(bhc group startconf physics -f "$SRV/start.conf.ubuntu" 2>&1) || RC=$?
eq "group startconf for a group that does not exist: exit 1, says --create" \
    "1 bootherd group startconf: group 'physics' does not exist; pass --create to create it with this start.conf" "$RC $A"
printf '[OS]\nName = x\nDefaultAction = boot\n' >"$W/bad.conf"
RC=0; A=$(bhc group startconf physics -f "$W/bad.conf" --create 2>&1) || RC=$?
eq "--create with a start.conf that does not parse: the group is not made" \
    "1 bootherd group startconf: $W/bad.conf: start.conf:3: [OS] DefaultAction: expected start, sync or new, got 'boot'; group 'physics' was not created" "$RC $A"
eq "  ... nothing written" "$R3" "$(revision)"
RC=0; A=$(bhc group startconf physics -f "$SRV/start.conf.ubuntu" --create 2>"$W/err") || RC=$?
A="$A$(grep -v '^warning: ' "$W/err")"
eq "group startconf --create: the group, then its start.conf" \
    "0 group physics created
start.conf of group physics updated" "$RC $A"
api GET /api/v1/groups/physics
eq "  ... the keys bootherd does not act on are named on stderr" "1" \
    "$(grep -c '^warning: \[LINBO\] DownloadType = rsync: not acted on' "$W/err")"
eq "  ... the group has it" "ubuntu.qcow2 /dev/sda3" "$(jq -r '"\(.config.os[0].base_image) \(.config.linbo.cache)"' <<<"$BODY")"
RC=0; A=$(bhc group startconf physics --create -f "$SRV/start.conf.lab" 2>"$W/err") || RC=$?
A="$A$(grep -v '^warning: ' "$W/err")"
eq "  ... --create on a group that exists just sets the start.conf" "0 start.conf of group physics updated" "$RC $A"

# ---- killed during an image upload, then run again -----------------------------------
# a bigger image, first in name order; the CLI is killed (SIGKILL) once its
# upload has begun.  If it finished first there was nothing to cut off.
mkdir "$SRV/images/big"
head -c 48M /dev/urandom >"$W/big.raw"
qemu-img convert -O qcow2 "$W/big.raw" "$SRV/images/big/big.qcow2"
rm -f "$W/big.raw"
export TMPDIR=$W
"$BH" --url "$BH_URL" --token "$BH_TOKEN" migrate linbo --srv "$SRV" --devices "$DEV" \
    >"$W/kill.out" 2>"$W/kill.err" &
MPID=$!
_PIDS+=("$MPID")
for _ in $(seq 1 600); do
    grep -q '^upload ' "$W/kill.err" && break
    kill -0 "$MPID" 2>/dev/null || break
    sleep 0.05
done
kill -9 "$MPID" 2>/dev/null
KRC=0
wait "$MPID" 2>/dev/null || KRC=$?
if [ "$KRC" -eq 137 ]; then
    ok "migrate killed during the upload of big.qcow2"
    api GET /api/v1/images/big/versions
    eq "  ... no version of big yet" 0 "$(jq '.items | length' <<<"$BODY")"
else
    skip "migrate killed during an upload" "it finished first (exit $KRC)"
fi
migrate linbo --srv "$SRV" --devices "$DEV"
eq "run again after the kill: exit 0, only big is done" "0 created    version big@1" \
    "$RC $(grep -E '^(created|changed) ' <<<"$OUT" | grep -v '^created    image' | cut -d: -f1)"
api GET /api/v1/images/big/versions
eq "  ... big has one version" 1 "$(jq '.items | length' <<<"$BODY")"
check "  ... with the content of big.qcow2" sh -c \
    "'$BH' --url '$BH_URL' --token '$BH_TOKEN' image export big '$W/big.out' >/dev/null 2>&1 && qemu-img compare -q '$SRV/images/big/big.qcow2' '$W/big.out'"
eq "  ... and no converted file left behind, by the killed run either" "" "$(ls "$W" | grep "bootherd-import-" || true)"
migrate linbo --srv "$SRV" --devices "$DEV"
eq "  ... a further run has nothing left to do" "0 created, 0 changed" "$(summary | cut -d, -f1,2)"
finish
