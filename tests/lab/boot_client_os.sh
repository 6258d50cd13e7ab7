#!/bin/bash
# The real client OS (`bootherd client build`): built twice from the same
# inputs it is the same bytes; it holds busybox, the drivers with
# modules.dep and the disk tools; it is installed into the boot root with
# the bootherd-client profile; and a BIOS machine network-boots it from
# bootherd, loads its drivers, gets an address by DHCP and starts the agent
# (a stand-in that exits once, to see the respawn, then powers off).
source "$(dirname "$0")/boot_common.sh"
MAC=52:54:00:00:05:01
CACHE=$LAB_CACHE/client
mkdir -p "$CACHE"
LIMIT=$((64 * 1048576))

# a stand-in agent: says what it was given, fails once, then powers off
FAKE=$TEST_TMP/fake-agent
cat >"$FAKE" <<'EOF'
#!/bin/sh
n=$(cat /tmp/fake-agent.runs 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >/tmp/fake-agent.runs
echo "FAKE-AGENT run $n: $*"
if [ "$n" -ge 2 ]; then
    echo "BH-TEST-DONE"
    poweroff -f
fi
exit 3
EOF
chmod 755 "$FAKE"

# ---- the C half alone, with stand-in scripts (fast)
STUB=$TEST_TMP/stub-build.sh
cat >"$STUB" <<'EOF'
#!/bin/bash
# records its arguments, makes two small files where --out says
echo "$@" >"$STUB_ARGS"
while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
[ -n "${STUB_FAIL:-}" ] && exit 4
mkdir -p "$out" && echo kernel >"$out/vmlinuz" && echo initrd >"$out/initrd.img"
EOF
D0=$(tmpdir)/data
out=$(STUB_ARGS=$TEST_TMP/stub.args BOOTHERD_CLIENT_BUILD_SCRIPT=$STUB "$BH" client build \
    --data "$D0" --no-profile 2>&1)
eq "client build with a stand-in script installs its output" "initrd" "$(cat "$D0/boot/client/initrd.img" 2>&1)"
if [ -x "$(dirname "$BH")/bootherd-agent" ]; then
    contains "the bootherd-agent beside the binary is used by default" \
        "--agent $(dirname "$BH")/bootherd-agent" "$(cat "$TEST_TMP/stub.args")"
fi
contains "the cache defaults to DATA/cache/client" "--cache $D0/cache/client" "$(cat "$TEST_TMP/stub.args")"
out=$(STUB_FAIL=1 STUB_ARGS=$TEST_TMP/stub.args BOOTHERD_CLIENT_BUILD_SCRIPT=$STUB "$BH" client build \
    --data "$D0" --no-profile --no-agent 2>&1)
rc=$?
eq "a failed build exits 1" 1 "$rc"
contains "a failed build says nothing was installed" "nothing was installed" "$out"
contains "without an agent it warns" "warning: no bootherd-agent" "$out"
eq "a failed build leaves the installed files alone" "initrd" "$(cat "$D0/boot/client/initrd.img" 2>&1)"
eq "no temporary files are left in the boot root" "initrd.img vmlinuz" "$(ls -A "$D0/boot/client" | tr '\n' ' ' | sed 's/ $//')"
eq "no work directory is left in the cache" "" "$(ls -A "$D0/cache/client")"
out=$(cd "$(dirname "$D0")" && STUB_ARGS=$TEST_TMP/stub.args BOOTHERD_CLIENT_BUILD_SCRIPT=$STUB "$BH" client build \
    --data ./data --no-profile --no-agent 2>&1)
eq "a relative --data (the README's ./var): exit 0" 0 $?
contains "  ... the script is given absolute paths (it changes directory)" "--cache $D0/cache/client" "$(cat "$TEST_TMP/stub.args")"

# ---- build 1: no server running; the files are installed and the profile
# command is printed
D1=$(tmpdir)/data
t0=$(date +%s)
# relative --data and --cache, as the README runs it: the script changes
# directory on the way
out1=$(cd "$(dirname "$D1")" && "$BH" client build --data ./data --cache "$(realpath --relative-to=. "$CACHE")" \
    --agent "$FAKE" 2>&1)
rc=$?
t1=$(date +%s)
eq "client build (no server) exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$out1"
diag "build 1 took $((t1 - t0)) s"
diag "$(grep -E 'client-build: (kernel |initramfs|total|not in|  -)' <<<"$out1")"
contains "without a server it prints the profile command" \
    "profile add bootherd-client kernel=client/vmlinuz initrds=client/initrd.img 'cmdline=console=ttyS0 console=tty0 bootherd.server={{http_base}} bootherd.ticket={{ticket}}'" "$out1"
K1=$D1/boot/client/vmlinuz
I1=$D1/boot/client/initrd.img
check "kernel installed" test -s "$K1"
check "initramfs installed" test -s "$I1"
total=$(($(stat -c %s "$K1") + $(stat -c %s "$I1")))
check "kernel + initramfs under 64 MiB ($((total / 1048576)) MiB)" test "$total" -lt "$LIMIT"
contains "the build prints the sizes" "client-build: total" "$out1"

# what is inside
LIST=$TEST_TMP/initrd.list
zstd -dc "$I1" | cpio -t --quiet >"$LIST" 2>&1
has() { grep -qxE "$1" "$LIST"; }
check "initramfs: /init" has 'init'
check "initramfs: busybox" has 'usr/bin/busybox'
check "initramfs: busybox applet links (udhcpc)" has '(usr/)?s?bin/udhcpc'
check "initramfs: the agent" has 'usr/bin/bootherd-agent'
check "initramfs: modules.dep" has 'usr/lib/modules/[^/]+/modules.dep'
check "initramfs: the load order list" has 'usr/lib/modules/[^/]+/bootherd.load'
for m in e1000 e1000e igb r8169 virtio_net failover net_failover ahci nvme virtio_blk \
    virtio_scsi sd_mod usb-storage virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev ext4 vfat; do
    check "initramfs: module $m" has "usr/lib/modules/.*/$m\.ko"
done
# the disk tools are real programs (not busybox applets) with their libraries
VLIST=$TEST_TMP/initrd.vlist
zstd -dc "$I1" | cpio -tv --quiet >"$VLIST" 2>&1
for t in sfdisk sgdisk mke2fs mkfs.fat mkntfs mkswap kexec efibootmgr; do
    check "initramfs: $t is a program" grep -qE "^-rwx.* usr/s?bin/$t$" "$VLIST"
done
for l in 'usr/lib/x86_64-linux-gnu/libc\.so\.6' 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64\.so\.2' \
    'usr/lib64/ld-linux-x86-64\.so\.2' 'usr/lib/x86_64-linux-gnu/libfdisk\.so\.1.*' \
    'usr/lib/x86_64-linux-gnu/libext2fs\.so\.2.*'; do
    check "initramfs: $l" has "$l"
done
LOAD=$(cd "$TEST_TMP" && zstd -dc "$I1" | cpio -i --quiet --to-stdout 'usr/lib/modules/*/bootherd.load')
pos() { grep -n "/$1\.ko$" <<<"$LOAD" | head -1 | cut -d: -f1; }
check "load order: failover, net_failover and virtio_ring before virtio_net" \
    test "$(pos failover)" -lt "$(pos virtio_net)" -a "$(pos net_failover)" -lt "$(pos virtio_net)" \
    -a "$(pos virtio_ring)" -lt "$(pos virtio_net)"
check "load order: jbd2 and mbcache before ext4" \
    test "$(pos jbd2)" -lt "$(pos ext4)" -a "$(pos mbcache)" -lt "$(pos ext4)"

# ---- the lab: bootherd in full DHCP mode; build 2 runs beside it and
# updates the profile over the API
lab_setup
lab_bootherd lab "$LAB_DHCP_FULL"
check "bootherd runs" kill -0 "$BH_PID"
t0=$(date +%s)
out2=$(netlab_exec "$LAB_NS" "$BH" client build --data "$BH_DATA" --cache "$CACHE" --agent "$FAKE" 2>&1)
rc=$?
t1=$(date +%s)
eq "client build (server running) exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$out2"
diag "build 2 took $((t1 - t0)) s"
contains "the profile was updated through the API" "boot profile bootherd-client updated" "$out2"
lab_api GET /api/v1/profiles/bootherd-client
eq "profile kernel" client/vmlinuz "$(jq -r .kernel <<<"$BODY")"
eq "profile initrds" '["client/initrd.img"]' "$(jq -c .initrds <<<"$BODY")"
eq "profile cmdline" 'console=ttyS0 console=tty0 bootherd.server={{http_base}} bootherd.ticket={{ticket}}' "$(jq -r .cmdline <<<"$BODY")"

# reproducible: the second build is the same bytes
s1=$(sha256sum <"$I1" | cut -d' ' -f1)
s2=$(sha256sum <"$BH_DATA/boot/client/initrd.img" | cut -d' ' -f1)
eq "two builds give the same initramfs (sha256)" "$s1" "$s2"
diag "initrd.img sha256 $s1"
eq "two builds give the same kernel (sha256)" "$(sha256sum <"$K1")" "$(sha256sum <"$BH_DATA/boot/client/vmlinuz")"

# ---- boot it
lab_qemu_bios lab tap0 "$MAC" "$VM_LOG"
if lab_wait "$VM_LOG" "BH-CLIENT-OS-UP" 150; then
    ok "the client OS booted and got an address"
else
    nok "the client OS booted and got an address"
    diag "$(tail -c 3000 "$VM_LOG" | tr -d '\r')"
    diag "$(tail -20 "$BH_LOG")"
fi
lab_wait "$VM_LOG" "BH-TEST-DONE" 40
LOG=$(tr -d '\r' <"$VM_LOG")
contains "the init ran" "=== bootherd client OS, kernel" "$LOG"
mods=$(grep -a '^modules loaded:' <<<"$LOG" | head -1)
contains "e1000 loaded" " e1000 " "$mods"
contains "virtio_net loaded" " virtio_net " "$mods"
contains "the address came from bootherd's pool" "BH-CLIENT-OS-UP 192.0.2.5" "$LOG"
contains "inventory: the NIC" "nic:      eth0 $MAC driver e1000" "$LOG"
contains "the agent was started with the server" "FAKE-AGENT run 1: run --server http://192.0.2.1:8080" "$LOG"
contains "the agent was started again after it exited" "FAKE-AGENT run 2:" "$LOG"
lab_api GET "/api/v1/hosts/$MAC/events?limit=200"
files=$(jq -c '[.items[] | select(.type == "boot.file") | .data.file]' <<<"$BODY")
contains "timeline: client/vmlinuz fetched" "client/vmlinuz" "$files"
contains "timeline: client/initrd.img fetched" "client/initrd.img" "$files"
types=$(jq -r '[.items[].type] | reverse | join(" ")' <<<"$BODY")
contains "timeline: boot.up (the client OS called /boot/up)" "boot.up" "$types"
lab_api GET "/api/v1/hosts/$MAC"
# discovered by bootherd, it stays new until an operator registers it; its
# last_seen says it is alive
eq "the host is new until registered" new "$(jq -r .state <<<"$BODY")"
check "the host has a last_seen time" jq -e '.last_seen != null' <<<"$BODY"
[ "$(jq -r .state <<<"$BODY")" = new ] || { diag "events: $types"; diag "$(grep -a -A3 '^server:' <<<"$LOG")"; }
finish
