#!/bin/bash
# deploy_uefi.sh - a UEFI machine (OVMF, GPT) in QEMU, and capture: the job
# partition, format, sync:1, postsync:1, shell (change a file), create_image:1
# and start:1 runs on a machine that network-boots the real client OS; the
# capture becomes a new candidate version (latest once an operator promotes
# it) that carried only new chunks and holds the changed file, and the
# machine kexecs into it.
source "$(dirname "$0")/boot_common.sh"
MAC=52:54:00:00:07:01
DISK=$TEST_TMP/disk.raw
IMG=$TEST_TMP/testos.img
lab_deploy_setup

check "test OS built" lab_test_os "$BH_DATA/boot/client/initrd.img" "$BH_DATA/boot/client/vmlinuz" "$IMG" v1
check "image testos version 1 imported" bhcl image import testos "$IMG" --note v1
SC='[LINBO]
Server = 192.0.2.1
Group = uefi
SystemType = efi64
[Partition]
Dev = /dev/vda1
Label = efi
Size = 16M
Id = ef
FSType = vfat
[Partition]
Dev = /dev/vda2
Label = os
Size = 160M
Id = 83
FSType = ext4
[OS]
Name = Test OS
BaseImage = testos
Root = /dev/vda2
Kernel = /boot/vmlinuz
Initrd = /boot/initrd.img
Append = console=ttyS0 panic=-1'
lab_api POST /api/v1/groups '{"name":"uefi","default_profile":"bootherd-client"}'
st=$(lab_curl -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: text/plain' --data-binary "$SC" "$BH_URL/api/v1/groups/uefi/start.conf")
eq "group uefi's start.conf" 200 "$st"
lab_api POST /api/v1/hosts "{\"mac\":\"$MAC\",\"name\":\"pc-uefi-1\",\"group\":\"uefi\",\"profile\":\"bootherd-client\"}"
eq "host pc-uefi-1" 201 "$STATUS"
truncate -s 256M "$DISK"
CHANGE='mount /dev/vda2 /mnt && echo captured-uefi >/mnt/etc/bh-note && umount /mnt && echo changed'
lab_api POST /api/v1/jobs "$(jq -n --arg c "shell:$CHANGE" '{targets: {hosts: ["pc-uefi-1"]}, steps: ["partition", "format", "sync:1", "postsync:1", $c, "create_image:1:captured in the lab", "start:1"]}')"
eq "job created" 201 "$STATUS"
J=$(jq -r .id <<<"$BODY")
t0=$(date +%s)
lab_vm uefi lab tap0 "$MAC" "$VM_LOG" "$DISK"
if lab_wait "$VM_LOG" "BH-DEPLOY" 700; then ok "the UEFI machine booted the deployed OS"; else
    nok "the UEFI machine booted the deployed OS"
    diag "$(tail -c 4000 "$VM_LOG" | tr -d '\r')"
fi
diag "UEFI boot, partition, format, sync, postsync, capture and kexec took $(($(date +%s) - t0)) s"
LOG=$(tr -d '\r' <"$VM_LOG")
contains "the deployed OS shows the host's name and the captured change" "BH-DEPLOYED pc-uefi-1 captured-uefi" "$LOG"
lab_api GET "/api/v1/jobs/$J"
eq "every step is done" "done done done done done done done" "$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")"
[ "$(jq -r .state <<<"$BODY")" = done ] || diag "$(jq -c '.hosts[0].steps[] | {step, state, error}' <<<"$BODY")"
eq "the shell step's output is on its task" changed "$(jq -r '.hosts[0].steps[4].progress.output' <<<"$BODY")"
sent=$(jq -r '.hosts[0].steps[5].progress.sent_bytes // -1' <<<"$BODY")
lab_api GET "/api/v1/hosts/$MAC"
eq "inventory: UEFI firmware" uefi "$(jq -r .hardware.firmware <<<"$BODY")"
check "inventory: the Secure Boot state" jq -e '.hardware.secure_boot | IN("enabled", "disabled", "unknown")' <<<"$BODY"
dump=$(sfdisk -d "$DISK" 2>&1)
contains "a GPT table" "label: gpt" "$dump"
contains "an EFI system partition" "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" "$dump"

# the capture
lab_api GET /api/v1/images/testos/versions/2
eq "the capture is version 2, a candidate" "2 candidate" "$(jq -r '"\(.version) \(.state)"' <<<"$BODY")"
eq "  ... with the note" "captured in the lab" "$(jq -r .note <<<"$BODY")"
eq "  ... made by the agent" "agent:$MAC" "$(jq -r .created_by <<<"$BODY")"
lab_api GET /api/v1/images/testos/versions/latest
eq "  ... and not latest until promoted" 1 "$(jq -r .version <<<"$BODY")"
lab_api POST /api/v1/images/testos/versions/2/promote
lab_api GET /api/v1/images/testos/versions/latest
eq "promoted, it is latest" "2 released" "$(jq -r '"\(.version) \(.state)"' <<<"$BODY")"
added=$(jq -r .added_bytes <<<"$BODY")
logical=$(jq -r .logical_size <<<"$BODY")
diag "the capture sent $sent bytes and added $added bytes to the store (partition: $logical bytes)"
check "  ... the upload carried only new chunks (under 10% of the partition)" \
    test "$sent" -ge 0 -a "$sent" -lt $((logical / 10))
check "  ... and added little to the store" test "$added" -lt $((logical / 10))
check "the captured version exports" bhcl image export testos@2 "$TEST_TMP/cap.raw"
eq "  ... and holds the changed file" captured-uefi "$(debugfs -R 'cat /etc/bh-note' "$TEST_TMP/cap.raw" 2>/dev/null)"
eq "  ... and the name postsync wrote" pc-uefi-1 "$(debugfs -R 'cat /etc/hostname' "$TEST_TMP/cap.raw" 2>/dev/null)"
finish
