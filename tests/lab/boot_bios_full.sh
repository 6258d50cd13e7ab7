#!/bin/bash
# QEMU BIOS + iPXE ROM with bootherd alone, in full DHCP mode: the address,
# the boot file and the test OS all come from bootherd.
source "$(dirname "$0")/boot_common.sh"
MAC=52:54:00:00:02:01
lab_setup
lab_bootherd lab $'[dhcp]\ninterfaces = br0\nmode = full\n[subnet]\nnetwork = 192.0.2.0/24\nrange = 192.0.2.50-192.0.2.60\nrouter = 192.0.2.1\nlease_time = 600'
check "bootherd runs" kill -0 "$BH_PID"
lab_qemu_bios lab tap0 "$MAC" "$VM_LOG"
lab_boot_checks "$MAC" "dhcp. boot.script boot.file boot.up"
contains "the lease is in bootherd's lease database" "${MAC//:/}" \
    "$(sqlite3 "$BH_DATA/leases.db" 'SELECT lower(hex(mac)) FROM leases' 2>&1)"
lab_api GET /metrics
contains "/metrics counts the DHCP acks" 'bootherd_dhcp_replies_total{type="ack"}' "$BODY"
finish
