#!/bin/bash
# QEMU BIOS + iPXE ROM, bootherd in proxy mode beside a plain DHCP server
# (dnsmasq without PXE options): the VM gets its address from dnsmasq and its
# boot instructions from bootherd, boots the test OS, and it calls back.
source "$(dirname "$0")/boot_common.sh"
MAC=52:54:00:00:01:01
lab_setup
lab_dnsmasq
lab_bootherd lab $'[dhcp]\ninterfaces = br0\nmode = proxy'
check "bootherd runs" kill -0 "$BH_PID"
lab_qemu_bios lab tap0 "$MAC" "$VM_LOG"
lab_boot_checks "$MAC" "dhcp. boot.script boot.file boot.up"
contains "dnsmasq leased the address (proxy mode hands out none)" "${MAC}" "$(cat "$TEST_TMP/dnsmasq.leases" 2>/dev/null)"
finish
