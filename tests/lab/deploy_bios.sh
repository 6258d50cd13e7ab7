#!/bin/bash
# deploy_bios.sh - the product end to end on one BIOS machine in QEMU:
#
#   1. a job (partition, format, sync:1, postsync:1, start:1, wake) for a
#      machine that is off waits; the machine then network-boots the real
#      client OS (`bootherd client build`), its agent checks in with its
#      inventory and runs the job; the machine kexecs into the deployed test
#      OS, which prints "BH-DEPLOYED <hostname> <note>" with the name
#      postsync gave it;
#   2. delta: version 2 changes one file; sync:1 + start:1 on the same disk
#      fetches about the changed chunks, not the image, and boots v2;
#   3. a fault: the server is killed while new:1 writes the image and
#      started again a few seconds later; the agent waits for it, the step
#      finishes and the machine boots.
source "$(dirname "$0")/boot_common.sh"
MAC=52:54:00:00:06:01
DISK=$TEST_TMP/disk.raw
IMG=$TEST_TMP/testos.img
lab_deploy_setup

# ---- the deployable OS, version 1; the group, the host, a blank disk
check "test OS built (ext4: kernel, initramfs, etc/hostname)" \
    lab_test_os "$BH_DATA/boot/client/initrd.img" "$BH_DATA/boot/client/vmlinuz" "$IMG" v1
check "image testos version 1 imported" bhcl image import testos "$IMG" --note v1
lab_api PATCH /api/v1/images/testos '{"postsync":"echo \"$BH_HOSTNAME\" >etc/hostname\necho postsync: $HOSTNAME in $RAUM"}'
eq "post-sync script set" 200 "$STATUS"
SC='[LINBO]
Server = 192.0.2.1
Group = e2e
SystemType = bios64
[Partition]
Dev = /dev/vda1
Label = os
Size = 160M
Id = 83
FSType = ext4
Bootable = yes
[Partition]
Dev = /dev/vda2
Label = swap
Size =
Id = 82
FSType = swap
[OS]
Name = Test OS
BaseImage = testos.qcow2
Root = /dev/vda1
Kernel = boot/vmlinuz
Initrd = boot/initrd.img
Append = console=ttyS0 panic=-1'
lab_api POST /api/v1/rooms '{"name":"lab1","subnet":"192.0.2.0/24"}'
lab_api POST /api/v1/groups '{"name":"e2e","default_profile":"bootherd-client"}'
st=$(lab_curl -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: text/plain' --data-binary "$SC" "$BH_URL/api/v1/groups/e2e/start.conf")
eq "group e2e's start.conf" 200 "$st"
lab_api POST /api/v1/hosts "{\"mac\":\"$MAC\",\"name\":\"pc-e2e-1\",\"group\":\"e2e\",\"room\":\"lab1\",\"profile\":\"bootherd-client\"}"
eq "host pc-e2e-1" 201 "$STATUS"
truncate -s 384M "$DISK"

# ---- 1: a job for a machine that is off
lab_api POST /api/v1/jobs '{"targets":{"hosts":["pc-e2e-1"]},"steps":["partition","format","sync:1","postsync:1","start:1"],"wake":true}'
eq "job created" 201 "$STATUS"
J1=$(jq -r .id <<<"$BODY")
eq "wake: a magic packet was queued for the host" 1 "$(jq '.wake.queued | length' <<<"$BODY")"
[ "$(jq '.wake.queued | length' <<<"$BODY")" = 1 ] || diag "$(jq -c .wake <<<"$BODY")"
sleep 2
lab_api GET "/api/v1/jobs/$J1"
eq "the job waits while the machine is off" queued "$(jq -r .state <<<"$BODY")"
eq "  ... its host: waiting-for-host" waiting-for-host "$(jq -r '.hosts[0].state' <<<"$BODY")"
t0=$(date +%s)
lab_vm bios lab tap0 "$MAC" "$VM_LOG" "$DISK"
if lab_wait "$VM_LOG" "BH-DEPLOY" 600; then ok "the machine booted the deployed OS"; else
    nok "the machine booted the deployed OS"
    diag "$(tail -c 4000 "$VM_LOG" | tr -d '\r')"
fi
diag "boot, partition, format, sync, postsync and kexec took $(($(date +%s) - t0)) s"
LOG=$(tr -d '\r' <"$VM_LOG")
contains "the client OS started the agent" "starting bootherd-agent" "$LOG"
contains "the deployed OS prints the name postsync gave it and version 1" "BH-DEPLOYED pc-e2e-1 v1" "$LOG"
contains "the post-sync script had the host's variables" "postsync: pc-e2e-1 in lab1" "$LOG"
lab_api GET "/api/v1/jobs/$J1"
eq "every step is done" "done done done done done" "$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")"
[ "$(jq -r .state <<<"$BODY")" = done ] || diag "$(jq -c '.hosts[0].steps[] | {step, state, error}' <<<"$BODY")"
lab_api GET "/api/v1/hosts/$MAC"
HW=$(jq -c .hardware <<<"$BODY")
check "inventory: the 384 MiB virtio disk" jq -e '.disks | map(select(.name == "/dev/vda" and .size == 402653184)) | length == 1' <<<"$HW"
check "inventory: the NIC with its MAC and driver" jq -e ".nics | map(select(.mac == \"$MAC\" and .driver == \"e1000\")) | length == 1" <<<"$HW"
eq "inventory: BIOS firmware" bios "$(jq -r .firmware <<<"$HW")"
check "inventory: memory and CPUs" jq -e '.memory > 500000000 and .cpus >= 1' <<<"$HW"
netlab_wait_pid() { local i; for i in $(seq 1 40); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.5; done; kill -9 "$1" 2>/dev/null; }
netlab_wait_pid "$LAB_VM_PID"

# ---- 2: delta
cp "$IMG" "$TEST_TMP/v2.img"
check "version 2: one file changed" lab_set_note "$TEST_TMP/v2.img" v2
check "image testos version 2 imported" bhcl image import testos "$TEST_TMP/v2.img" --note v2
DIFF=$(lab_curl "$BH_URL/api/v1/images/testos/diff?a=1&b=2")
changed=$(jq -r .bytes_only_b <<<"$DIFF")
size=$(jq -r .size_b <<<"$DIFF")
diag "version 2 differs from version 1 in $changed of $size bytes"
lab_api POST /api/v1/jobs '{"targets":{"hosts":["pc-e2e-1"]},"steps":["sync:1","postsync:1","start:1"]}'
J2=$(jq -r .id <<<"$BODY")
: >"$VM_LOG"
t0=$(date +%s)
lab_vm bios lab tap0 "$MAC" "$VM_LOG" "$DISK"
if lab_wait "$VM_LOG" "BH-DEPLOY" 400; then ok "the machine booted the resynced OS"; else
    nok "the machine booted the resynced OS"
    diag "$(tail -c 4000 "$VM_LOG" | tr -d '\r')"
fi
diag "boot, delta sync, postsync and kexec took $(($(date +%s) - t0)) s"
contains "the deployed OS is version 2" "BH-DEPLOYED pc-e2e-1 v2" "$(tr -d '\r' <"$VM_LOG")"
lab_api GET "/api/v1/jobs/$J2"
eq "sync, postsync and start are done" "done done done" "$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")"
fetched=$(jq -r '.hosts[0].steps[0].progress.fetched // 0' <<<"$BODY")
diag "the delta sync fetched $fetched bytes (changed: $changed; image: $size)"
check "the delta fetched about the changed chunks: at most 4x them + 4 MiB" \
    test "$fetched" -le $((4 * changed + 4 * 1048576))
check "  ... and far less than the image (under a quarter)" test "$fetched" -lt $((size / 4))
netlab_wait_pid "$LAB_VM_PID"

# ---- 3: the server dies in the middle of a step
lab_api POST /api/v1/jobs '{"targets":{"hosts":["pc-e2e-1"]},"steps":["new:1","start:1"]}'
J3=$(jq -r .id <<<"$BODY")
: >"$VM_LOG"
lab_vm bios lab tap0 "$MAC" "$VM_LOG" "$DISK"
st=""
for _ in $(seq 1 1500); do # up to 5 minutes for the boot
    lab_api GET "/api/v1/jobs/$J3"
    st=$(jq -r '.hosts[0].steps[0].state' <<<"$BODY")
    [ "$st" = queued ] || break
    sleep 0.2
done
eq "new:1 started" running "$st"
check "the server is killed in the middle of it, and started again 4 s later" \
    bash -c "kill -9 $BH_PID; sleep 4"
lab_bootherd_restart lab || nok "the server starts again"
if lab_wait "$VM_LOG" "BH-DEPLOY" 300; then ok "the machine booted the OS after the fault"; else
    nok "the machine booted the OS after the fault"
    diag "$(tail -c 4000 "$VM_LOG" | tr -d '\r')"
fi
LOG=$(tr -d '\r' <"$VM_LOG")
contains "  ... version 2, whole (no postsync: the image's own host name)" "BH-DEPLOYED template v2" "$LOG"
lab_api GET "/api/v1/jobs/$J3"
eq "new:1 and start:1 are done" "done done" "$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")"
seen=$(grep -aE "requests retried|report: |bootherd-agent: .*(refused|connect|reach|not ready)" <<<"$LOG" | grep -avE "; 0 requests retried" | head -3)
check "the agent met the dead server and went on (a retried request or a failed report)" test -n "$seen"
diag "$seen"
netlab_wait_pid "$LAB_VM_PID"
finish
