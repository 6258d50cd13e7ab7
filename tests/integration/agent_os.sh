#!/bin/bash
# agent_os.sh - the steps that work on an installed OS, by `bootherd-agent
# run` against a real daemon and a loop device holding an ext4 "OS" (no
# QEMU; root only): postsync:N runs the image's script on the mounted
# partition with the host's variables (and without one writes
# etc/hostname); shell:CMD's output reaches the task; create_image:N pushes
# the partition as a new version (a candidate until an operator promotes
# it) and sends only new chunks; start:N checks
# the Kernel and Initrd and, outside the client OS, refuses to kexec,
# saying what it would load.  Host tokens: upload only to images the host's
# group uses; boot-local is one-shot.
source "$(dirname "$0")/../lib/harness.sh"
[ "$(id -u)" -eq 0 ] || { echo "ok - $TEST_NAME: skipped (needs root for a loop device) # SKIP"; exit 0; }
AGENT=${BOOTHERD_AGENT_BIN:-$(dirname "$BH")/bootherd-agent}
[ -x "$AGENT" ] || { nok "bootherd-agent built ($AGENT)"; finish; exit 1; }
W=$(tmpdir)
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }

# the OS: an ext4 file system with a "kernel", an "initrd" and etc/hostname
mkdir -p "$W/os/boot" "$W/os/etc"
head -c 3000000 /dev/urandom >"$W/os/boot/vmlinuz"
head -c 2000000 /dev/urandom >"$W/os/boot/initrd.img"
echo template >"$W/os/etc/hostname"
echo v1 >"$W/os/etc/bh-note"
mkfs.ext4 -q -F -L os -d "$W/os" "$W/os.img" 48M >/dev/null 2>&1
check "image testos imported" bhc image import testos "$W/os.img"
truncate -s 48M "$W/disk"
LOOP=$(losetup -f --show "$W/disk") || { nok "losetup"; finish; exit 1; }
trap 'umount /tmp/bootherd-os.* 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; _cleanup' EXIT
MAC=52:54:00:bc:00:01
api POST /api/v1/rooms '{"name":"r101"}'
api POST /api/v1/groups '{"name":"lab"}'
startconf() {
    api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = %s\nSize = 48M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testos.qcow2\nRoot = %s\nKernel = %s\nInitrd = boot/initrd.img\nAppend = quiet console=ttyS0\n' "$LOOP" "$LOOP" "$1")"
}
startconf boot/vmlinuz
eq "group lab: OS 1 is testos on $LOOP" 200 "$STATUS"
check "agent profile" bhc profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}"
check "host pc1 in room r101" bhc host add "$MAC" name=pc1 group=lab room=r101 profile=agentos
ticket() { bhc host ticket "$MAC"; }
AGENT_RCS=""
agent() {
    "$AGENT" run --server "$BH_URL" --ticket "$(ticket)" --mac "$MAC" --once --poll-ms 200 2>>"$W/agent.log"
    AGENT_RCS+=" $?"
    cat "$W/agent.log" >>"$W/agent-all.log"
}
job() {
    api POST /api/v1/jobs "{\"targets\":{\"hosts\":[\"$MAC\"]},\"steps\":$1}"
    JOB=$(jq -r .id <<<"$BODY")
    agent
    api GET "/api/v1/jobs/$JOB"
    STATES=$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")
}
fsfile() { debugfs -R "cat $1" "$LOOP" 2>/dev/null; }

# ---- postsync without a script: the host name goes into etc/hostname ----------------
job '["sync:1","postsync:1"]'
eq "sync:1, postsync:1 (no script) are done" "done done" "$STATES"
[ "$STATES" = "done done" ] || diag "$(jq -r '.hosts[0].steps[].error' <<<"$BODY")$(tail -5 "$W/agent.log")"
eq "etc/hostname is the host's name" pc1 "$(fsfile /etc/hostname)"
check "the sync's last progress: all of the image" jq -e '.hosts[0].steps[0].progress | .done == .total and .phase == "deploying"' <<<"$BODY"
out=$(bhc job watch "$JOB" 2>&1)
eq "job watch of a finished job exits 0" 0 "$?"
contains "  ... with a line for the host and its steps" "pc1" "$out"
contains "  ... which are done" "2/2" "$out"
check "the partition is not left mounted" bash -c "! grep -q '^$LOOP ' /proc/mounts"

# ---- postsync with the image's script ------------------------------------------------
SCRIPT='echo "$BH_HOSTNAME" >"$BH_ROOT/etc/hostname"
echo "$RAUM $HOSTGROUP $BH_OS $BH_IMAGE $BH_MAC" >etc/bh-where
echo postsync ran for $HOSTNAME'
api PATCH /api/v1/images/testos "$(jq -n --arg s "$SCRIPT" '{postsync: $s}')"
eq "a multi-line post-sync script is stored" 200 "$STATUS"
api GET /api/v1/images/testos/postsync
eq "  ... and read back as text" "$SCRIPT" "$BODY"
api PATCH /api/v1/images/testos '{"postsync":"echo \u0001"}'
eq "a script with control bytes is refused" 422 "$STATUS"
bhc host set pc1 name=pc1-renamed >/dev/null
job '["sync:1","postsync:1"]'
eq "sync:1, postsync:1 (script) are done" "done done" "$STATES"
eq "the script wrote the new name" pc1-renamed "$(fsfile /etc/hostname)"
eq "it had the room, group, OS number, image and MAC, and ran in the partition" \
    "r101 lab 1 testos $MAC" "$(fsfile /etc/bh-where)"
contains "its output is in the agent's log" "postsync ran for pc1-renamed" "$(cat "$W/agent.log")"
bhc host set pc1-renamed name=pc1 >/dev/null
api PATCH /api/v1/images/testos '{"postsync":"echo about to fail; exit 7"}'
job '["postsync:1","start:1"]'
eq "a failing script fails the step and stops the host" "failed cancelled" "$STATES"
out=$(bhc job watch "$JOB" 2>&1)
eq "job watch of a failed job exits 1" 1 "$?"
contains "  ... and shows the reason" "status 7" "$out"
contains "  ... with the script's status and words" "status 7): about to fail" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
check "  ... and the partition is unmounted" bash -c "! grep -q '^$LOOP ' /proc/mounts"
api PATCH /api/v1/images/testos '{"postsync":""}'

# ---- shell (admins only) -----------------------------------------------------------
job '["shell:echo hello from $(uname -s); exit 0"]'
eq "shell:CMD is done" done "$STATES"
eq "  ... its output is on the task" "hello from Linux" "$(jq -r '.hosts[0].steps[0].progress.output' <<<"$BODY")"
job '["shell:echo oops >&2; exit 3"]'
eq "a failing shell command fails the step" failed "$STATES"
contains "  ... with its status and output" "status 3): oops" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
job "$(jq -cn '["shell:printf \"\\377 bad bytes\" >&2; exit 4"]')"
eq "a command whose output is not UTF-8 fails once, not for ever" failed "$STATES"
contains "  ... and its words still reach the operator" "status 4): ? bad bytes" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
OP=$(mktoken op1 operator)
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["shell:id"]}' "$OP"
eq "an operator may not run shell steps" 403 "$STATUS"
api GET "/api/v1/audit?limit=50"
contains "shell jobs are in the audit log" "shell:echo oops" "$BODY"

# ---- start:1 ---------------------------------------------------------------------
job '["start:1"]'
eq "start:1 outside the client OS fails" failed "$STATES"
contains "  ... saying what it would kexec" \
    "would load /boot/vmlinuz and boot/initrd.img from $LOOP with 'root=$LOOP quiet console=ttyS0'" \
    "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
startconf boot/nope
job '["start:1"]'
contains "a Kernel the OS lacks: a clear reason" "the OS has no Kernel /boot/nope" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
startconf auto
job '["start:1"]'
contains "Kernel auto (boot the disk) is refused outside the client OS" "refusing to reboot into OS 1" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
startconf boot/vmlinuz

# ---- create_image:1 ------------------------------------------------------------------
api GET /api/v1/images/testos/versions
V_BEFORE=$(jq '.items | length' <<<"$BODY")
echo changed-on-pc1 >"$W/bh-note"
debugfs -w -R "rm /etc/bh-note" "$LOOP" >/dev/null 2>&1
debugfs -w -R "write $W/bh-note /etc/bh-note" "$LOOP" >/dev/null 2>&1
eq "a file on the partition was changed" changed-on-pc1 "$(fsfile /etc/bh-note)"
job '["create_image:1:captured on pc1"]'
eq "create_image:1 is done" done "$STATES"
[ "$STATES" = done ] || diag "$(jq -r '.hosts[0].steps[].error' <<<"$BODY")$(tail -5 "$W/agent.log")"
P=$(jq -c '.hosts[0].steps[0].progress' <<<"$BODY")
V_NEW=$((V_BEFORE + 1))
api GET "/api/v1/images/testos/versions/$V_NEW"
eq "a new version appeared" "$V_NEW" "$(jq -r .version <<<"$BODY")"
eq "  ... with the note" "captured on pc1" "$(jq -r .note <<<"$BODY")"
eq "  ... a candidate, made by the agent" "candidate agent:$MAC" "$(jq -r '"\(.state) \(.created_by)"' <<<"$BODY")"
eq "  ... as the task's progress says" candidate "$(jq -r .state <<<"$P")"
api GET /api/v1/images/testos/versions/latest
eq "latest is not the capture until an operator promotes it" "$V_BEFORE" "$(jq -r .version <<<"$BODY")"
check "bootherd image promote testos $V_NEW" bhc image promote testos "$V_NEW"
api GET /api/v1/images/testos/versions/latest
eq "  ... then it is latest" "$V_NEW" "$(jq -r .version <<<"$BODY")"
added=$(jq -r .added_bytes <<<"$BODY")
sent=$(jq -r .sent_bytes <<<"$P")
check "  ... it added little to the store ($added bytes of a 48 MiB partition)" test "$added" -lt $((6 * 1048576))
check "  ... and the upload carried only new chunks ($sent bytes sent)" test "$sent" -lt $((6 * 1048576)) -a "$sent" -gt 0
check "the new version is the partition, bit-exact" bash -c "'$BH' --url '$BH_URL' --token '$BH_TOKEN' image export testos '$W/back.raw' >/dev/null 2>&1 && cmp '$W/back.raw' '$LOOP'"

# ---- the cache partition: initcache fills it, sync reads from it -----------------------
truncate -s 64M "$W/cache"
CLOOP=$(losetup -f --show "$W/cache") || { nok "losetup cache"; finish; exit 1; }
trap 'umount /tmp/bootherd-os.* 2>/dev/null; losetup -d "$LOOP" "$CLOOP" 2>/dev/null; _cleanup' EXIT
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab\nCache = %s\n[Partition]\nDev = %s\nSize = 48M\nId = 83\nFSType = ext4\n[Partition]\nDev = %s\nSize = 64M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testos\nRoot = %s\nKernel = boot/vmlinuz\n' "$CLOOP" "$LOOP" "$CLOOP" "$LOOP")"
eq "a group with a cache partition" 200 "$STATUS"
job '["format:2","initcache"]'
eq "format:2 (the cache) and initcache are done" "done done" "$STATES"
[ "$STATES" = "done done" ] || diag "$(jq -r '.hosts[0].steps[].error' <<<"$BODY")"
nc=$(jq -r '.hosts[0].steps[1].progress.fetched_chunks' <<<"$BODY")
check "initcache fetched the image's chunks ($nc)" test "$nc" -gt 0
ncache=$(debugfs -R "ls -p /bootherd/chunks" "$CLOOP" 2>/dev/null | grep -c '^/')
check "  ... and they are on the cache partition" test "$ncache" -gt 2
job '["initcache"]'
eq "a second initcache fetches nothing" 0 "$(jq -r '.hosts[0].steps[0].progress.fetched_chunks' <<<"$BODY")"
dd if=/dev/zero of="$LOOP" bs=1M count=48 conv=notrunc status=none
: >"$W/agent.log"
job '["sync:1"]'
eq "a sync of a wiped partition with the cache is done" done "$STATES"
hits=$(grep -o '[0-9]* from the cache' "$W/agent.log" | awk '{print $1}')
check "  ... its chunks came from the cache ($hits)" test "${hits:-0}" -gt 0
check "  ... and the partition is the image again" cmp -n "$(stat -c %s "$W/back.raw")" "$W/back.raw" "$LOOP"
# a damaged cache file: dropped, fetched again, and the sync still right
mkdir -p "$W/cm"
mount "$CLOOP" "$W/cm" && f=$(find "$W/cm/bootherd/chunks" -type f -size +1k | head -1) &&
    printf 'damage' | dd of="$f" bs=1 seek=30 conv=notrunc status=none; umount "$W/cm"
dd if=/dev/zero of="$LOOP" bs=1M count=48 conv=notrunc status=none
: >"$W/agent.log"
job '["sync:1"]'
eq "a sync that meets a damaged cache file is done" done "$STATES"
[ "$STATES" = done ] || diag "$(jq -r ".hosts[0].steps[0].error" <<<"$BODY")"
contains "  ... it dropped the damaged file and fetched the chunk again" "dropped from the cache" "$(cat "$W/agent.log")"
check "  ... and the partition is right" cmp -n "$(stat -c %s "$W/back.raw")" "$W/back.raw" "$LOOP"
startconf boot/vmlinuz

# ---- a corrupt chunk on the server: the sync fails, and says so ---------------------------
cp "$W/os.img" "$W/os3.img"
head -c 2000000 /dev/urandom >"$W/rnd"
debugfs -w -R "write $W/rnd /rnd" "$W/os3.img" >/dev/null 2>&1
touch "$W/mark"
sleep 1
check "a version with new data imported" bhc image import testos "$W/os3.img" --note rnd
bad=$(find "$W/data/images/chunks" -type f -newer "$W/mark" | head -1)
check "  ... its new chunks are on the server's disk" test -n "$bad"
printf 'garbage, not the chunk' | dd of="$bad" bs=1 seek=20 conv=notrunc status=none
job '["sync:1","start:1"]'
eq "a sync that meets a corrupt chunk fails (and start is cancelled)" "failed cancelled" "$STATES"
err=$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")
diag "the error: $err"
contains "  ... naming the step, the image and the device" "sync:1: testos@latest onto $LOOP" "$err"
contains "  ... and what is wrong" "the server's copy is corrupt" "$err"
check "  ... and the partition does not hold the corrupt version" bash -c "! cmp -s '$W/os3.img' '$LOOP'"

# ---- what a host token may do -----------------------------------------------------------
HT=$(curl -s -X POST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
    -d "{\"mac\":\"$MAC\",\"ticket\":\"$(ticket)\",\"inventory\":{}}" | jq -r .token)
check "a host token from hello" test -n "$HT" -a "$HT" != null
check "image other imported" bhc image import other "$W/bh-note"
api POST /api/v1/images/other/uploads "" "$HT" -H 'Content-Type: application/vnd.bootherd.manifest' --data-binary @/dev/null
eq "a host may not upload to an image its group does not use" 403 "$STATUS"
api POST /api/v1/images/testos/uploads "" "$HT" -H 'Content-Type: application/vnd.bootherd.manifest' --data-binary "junk"
eq "  ... nor to its own group's image outside a create_image step" 403 "$STATUS"
contains "  ... saying so" "only the image of the create_image step its agent session runs" "$BODY"
api PUT /api/v1/chunks/0000000000000000000000000000000000000000000000000000000000000000 "" "$HT" -H 'Content-Type: application/zstd' --data-binary "junk"
eq "  ... and sends no chunks then" 403 "$STATUS"
api DELETE /api/v1/images/testos/versions/1 "" "$HT"
eq "a host may not delete versions" 403 "$STATUS"
api GET /api/v1/images/other/postsync "" "$HT"
eq "a host may not read another image's post-sync script" 403 "$STATUS"

# ---- boot-local: one boot from the disk ------------------------------------------------
api POST /api/v1/agent/boot-local "" "$HT"
eq "boot-local with a host token: 204" 204 "$STATUS"
s1=$(curl -s "$BH_URL/boot/ipxe?mac=$MAC")
s2=$(curl -s "$BH_URL/boot/ipxe?mac=$MAC")
contains "the next boot script boots the local disk" "action local" "$s1"
contains "  ... once: the one after boots the profile again" "action profile" "$s2"
api POST /api/v1/agent/boot-local ""
eq "boot-local is for agents only" 403 "$STATUS"
eq "every agent run exited 0 (failed steps are the job's, not the agent's)" "" "$(tr ' ' '\n' <<<"$AGENT_RCS" | grep -v '^0*$' | sort -u | xargs)"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W/agent-all.log"; then
    nok "no sanitizer findings in the agent"; diag "$(grep -A30 -E 'Sanitizer|runtime error' "$W/agent-all.log" | head -60)"
fi
finish
