#!/bin/bash
# boot_common.sh - shared by the QEMU boot tests: one VM network-boots from
# bootherd and the test checks what the user sees afterwards.
# shellcheck source=../lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/netlab.sh
source "$(dirname "$0")/../lib/netlab.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

LAB_NS=lab
VM_LOG=$TEST_TMP/vm.log
# bootherd as the segment's only DHCP server
LAB_DHCP_FULL=$'[dhcp]\ninterfaces = br0\nmode = full\n[subnet]\nnetwork = 192.0.2.0/24\nrange = 192.0.2.50-192.0.2.60\nrouter = 192.0.2.1\nlease_time = 600'

lab_setup() {
    netlab_init || exit 1
    if lab_client_os >"$TEST_TMP/client-os.log" 2>&1; then
        ok "test client OS built (Debian kernel + busybox initramfs)"
    else
        nok "test client OS built (Debian kernel + busybox initramfs)"
        diag "$(cat "$TEST_TMP/client-os.log")"
        finish
        exit 1
    fi
    netlab_ns lab
    netlab_bridge lab 192.0.2.1/24
    netlab_tap lab tap0
}

# a plain DHCP server on the segment that knows nothing of PXE
lab_dnsmasq() {
    netlab_ns dhcp
    netlab_veth_to_bridge lab dhcp 192.0.2.2/24
    netlab_bg dhcp dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=eth0 \
        --bind-interfaces --dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h \
        --dhcp-leasefile="$TEST_TMP/dnsmasq.leases" --pid-file= --log-dhcp \
        --log-facility="$TEST_TMP/dnsmasq.log"
}

# VM_MAC booted; check the marker, the state and the timeline
lab_boot_checks() {
    local mac=$1 want_events=$2
    if lab_wait "$VM_LOG" "BH-TEST-DONE" "${LAB_TIMEOUT:-240}"; then
        ok "the VM booted the test OS"
    else
        nok "the VM booted the test OS"
        diag "$(tail -c 3000 "$VM_LOG" | tr -d '\r')"
        diag "$(tail -30 "$BH_LOG")"
    fi
    contains "the test OS reached bootherd (GET /boot/up)" "BH-UP-OK $mac" "$(cat "$VM_LOG")"
    lab_api GET "/api/v1/hosts/$mac"
    eq "the host is registered" 200 "$STATUS"
    # a machine bootherd registered itself stays new until an operator
    # registers it (POST /api/v1/hosts/register); boot.up is on its timeline
    eq "the host is new (discovered, not yet registered)" new "$(jq -r .state <<<"$BODY")"
    check "the host has a last_seen time" jq -e '.last_seen != null' <<<"$BODY"
    lab_api GET "/api/v1/hosts/$mac/events?limit=200"
    local types t
    types=$(jq -r '[.items[].type] | reverse | join(" ")' <<<"$BODY")
    for t in $want_events; do
        contains "timeline has $t" "$t" "$types"
    done
    check "the script went to the machine that booted, so it carried a boot ticket" \
        jq -e '[.items[] | select(.type == "boot.script")][0].data.ticket == true' <<<"$BODY"
    contains "timeline: kernel fetched" "test/vmlinuz" "$(jq -c '[.items[] | select(.type == "boot.file") | .data.file]' <<<"$BODY")"
    contains "timeline: initrd fetched" "test/initrd.gz" "$(jq -c '[.items[] | select(.type == "boot.file") | .data.file]' <<<"$BODY")"
    local log
    log=$(netlab_exec "$LAB_NS" "$BH" --url "$BH_URL" --token "$BH_TOKEN" boot log "$mac" 2>&1)
    contains "bootherd boot log shows the timeline" "boot.up" "$log"
    contains "bootherd boot log shows the script" "boot.script" "$log"
}

# the deploy labs: bootherd in full DHCP mode with the real client OS
# (`bootherd client build`) as the hosts' profile; exits if it cannot build
lab_deploy_setup() {
    lab_setup
    lab_bootherd lab "$LAB_DHCP_FULL"
    check "bootherd runs" kill -0 "$BH_PID"
    if lab_client_real; then ok "client OS built and installed"; else
        nok "client OS built and installed"; diag "$(tail -20 "$TEST_TMP/client-build.log")"; finish; exit 1; fi
}

# the CLI and curl (with the admin token) inside the lab namespace
bhcl() { netlab_exec "$LAB_NS" "$BH" --url "$BH_URL" --token "$BH_TOKEN" "$@"; }
lab_curl() { netlab_exec "$LAB_NS" curl -s -H "Authorization: Bearer $BH_TOKEN" "$@"; }
