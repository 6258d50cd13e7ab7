#!/bin/bash
# QEMU UEFI (OVMF) with its own PXE stack (virtio-net-pci, no iPXE ROM):
# EDK2 PXE -> ipxe.efi over TFTP -> boot.ipxe -> this host's script -> the
# kernel with initrd= on its command line.  bootherd in full mode.
source "$(dirname "$0")/boot_common.sh"
MAC=52:54:00:00:03:01
LAB_TIMEOUT=300
lab_setup
lab_bootherd lab $'[dhcp]\ninterfaces = br0\nmode = full\n[subnet]\nnetwork = 192.0.2.0/24\nrange = 192.0.2.70-192.0.2.80\nrouter = 192.0.2.1\nlease_time = 600'
check "ipxe.efi is in the boot root" test -s "$LAB_ROOT/ipxe.efi"
lab_qemu_uefi lab tap0 "$MAC" "$VM_LOG"
lab_boot_checks "$MAC" "dhcp. tftp.sent boot.script boot.file boot.up"
lab_api GET "/api/v1/hosts/$MAC/events?limit=200"
contains "ipxe.efi came over TFTP" "ipxe.efi" "$(jq -c '[.items[] | select(.type == "tftp.sent") | .data.file]' <<<"$BODY")"
lab_api GET "/boot/ipxe?mac=$MAC&platform=efi&arch=x86_64"
contains "the UEFI script names the initrd on the command line" "initrd=initrd0" "$BODY"
finish
