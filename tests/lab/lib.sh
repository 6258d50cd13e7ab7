#!/bin/bash
# lib.sh - the QEMU boot lab (source it after tests/lib/harness.sh).
#
# A test client OS, made here from Debian's own parts: the kernel of the
# current linux-image package and a busybox initramfs whose /init brings the
# NIC up, tells bootherd it is up (GET /boot/up), prints a marker line on the
# serial console and powers off.  Cached in tests/lab/cache (git-ignored).
#
#   lab_client_os            -> LAB_KERNEL, LAB_INITRD (paths)
#   lab_qemu_bios NS TAP MAC LOG    (SeaBIOS + QEMU's iPXE ROM, e1000)
#   lab_qemu_uefi NS TAP MAC LOG    (OVMF's own PXE, virtio-net-pci, romfile=)
#   lab_wait LOG PATTERN SECONDS    wait for a console line
set -u
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_CACHE=${LAB_CACHE:-$LAB_DIR/cache}
LAB_MODULES="e1000 failover net_failover virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_net"

# the modules we need and what they depend on, in load order (modules.dep)
lab_module_order() {
    local root=$1 kver=$2 m
    local dep=$root/lib/modules/$kver/modules.dep
    for m in $LAB_MODULES; do
        local line
        line=$(grep -E "/$m\.ko(\.xz)?:" "$dep" | head -1) || continue
        [ -n "$line" ] || continue
        # dependencies come after the colon, deepest last: load them reversed first
        local deps=${line#*:}
        local d
        for d in $(echo "$deps" | tr ' ' '\n' | tac); do echo "$d"; done
        echo "${line%%:*}"
    done | awk '!seen[$0]++'
}

lab_client_os() {
    mkdir -p "$LAB_CACHE"
    LAB_KERNEL=$LAB_CACHE/vmlinuz
    LAB_INITRD=$LAB_CACHE/initrd.gz
    [ -s "$LAB_KERNEL" ] && [ -s "$LAB_INITRD" ] && return 0
    local pkg kver work
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$pkg" ] || { echo "lab: cannot find the Debian kernel package"; return 1; }
    work=$(mktemp -d "$LAB_CACHE/work.XXXXXX")
    (cd "$work" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "lab: apt-get download $pkg failed"; rm -rf "$work"; return 1; }
    dpkg -x "$work"/*.deb "$work/k" || { rm -rf "$work"; return 1; }
    kver=$(ls "$work/k/lib/modules" | head -1)
    depmod -b "$work/k" "$kver" || { rm -rf "$work"; return 1; } # the .deb has no modules.dep
    cp "$work/k/boot/vmlinuz-$kver" "$LAB_KERNEL.tmp" && mv "$LAB_KERNEL.tmp" "$LAB_KERNEL"

    local ir=$work/initramfs
    mkdir -p "$ir/bin" "$ir/lib/modules" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/tmp"
    cp /bin/busybox "$ir/bin/busybox"
    local order m n=0
    order=$(lab_module_order "$work/k" "$kver")
    : >"$ir/modules.order"
    for m in $order; do
        n=$((n + 1))
        local f="$work/k/lib/modules/$kver/$m"
        case "$f" in
        *.xz) xz -dc "$f" >"$ir/lib/modules/$n.ko" ;;
        *) cp "$f" "$ir/lib/modules/$n.ko" ;;
        esac
        echo "$n.ko" >>"$ir/modules.order"
    done
    cat >"$ir/udhcpc.sh" <<'SH'
#!/bin/busybox sh
case "$1" in
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "${router:-}" ] && ip route add default via "${router%% *}"
    ;;
esac
exit 0
SH
    cat >"$ir/init" <<'SH'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "BH-TEST-INIT"
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null; done
url=$(sed -n 's/.*bh\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
dev=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    for d in /sys/class/net/*; do
        n=${d##*/}
        [ "$n" = lo ] || dev=$n
    done
    [ -n "$dev" ] && break
    sleep 1
done
ip link set "$dev" up
udhcpc -i "$dev" -q -n -t 20 -T 1 -s /udhcpc.sh >/dev/null 2>&1
mac=$(cat /sys/class/net/$dev/address)
if wget -q -O /tmp/up "$url/boot/up?mac=$mac&os=bh-test"; then
    echo "BH-UP-OK $mac"
else
    echo "BH-UP-FAILED $mac $url"
fi
echo "BH-TEST-DONE"
poweroff -f
SH
    chmod +x "$ir/init" "$ir/udhcpc.sh"
    (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -9) >"$LAB_INITRD.tmp" && mv "$LAB_INITRD.tmp" "$LAB_INITRD"
    rm -rf "$work"
    [ -s "$LAB_KERNEL" ] && [ -s "$LAB_INITRD" ]
}

# QEMU under TCG (nested KVM is unreliable here), console on the log file
lab_qemu_bios() {
    local ns=$1 tap=$2 mac=$3 log=$4
    netlab_bg "$ns" qemu-system-x86_64 -machine pc -m 512 -nographic -no-reboot -boot n \
        -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
        -device "e1000,netdev=n0,mac=$mac,romfile=/usr/lib/ipxe/qemu/pxe-e1000.rom" \
        -serial "file:$log" -monitor none -display none
}

lab_qemu_uefi() {
    local ns=$1 tap=$2 mac=$3 log=$4
    local vars=$log.vars.fd
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
    netlab_bg "$ns" qemu-system-x86_64 -machine q35 -m 512 -nographic -no-reboot \
        -drive "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
        -drive "if=pflash,format=raw,file=$vars" \
        -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
        -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=" \
        -serial "file:$log" -monitor none -display none
}

lab_wait() {
    local log=$1 pat=$2 secs=$3 i
    for i in $(seq 1 $((secs * 2))); do
        grep -qa -- "$pat" "$log" 2>/dev/null && return 0
        sleep 0.5
    done
    return 1
}

# lab_bootherd NS CONFIG_EXTRA: init and start `bootherd serve` inside
# namespace NS on 192.0.2.1 (HTTP 8080, TFTP 69), with the test client OS as
# the default profile "bootherd-client".  Sets BH_URL BH_TOKEN BH_PID BH_DATA
# BH_LOG (so the harness helpers work) and LAB_ROOT (the boot root).
lab_bootherd() {
    local ns=$1 extra=$2
    BH_DATA=$TEST_TMP/data
    BH_LOG=$TEST_TMP/bootherd.log
    LAB_ROOT=$BH_DATA/boot
    "$BH" init --data "$BH_DATA" >/dev/null || return 1
    mkdir -p "$LAB_ROOT/test"
    cp "$LAB_KERNEL" "$LAB_ROOT/test/vmlinuz"
    cp "$LAB_INITRD" "$LAB_ROOT/test/initrd.gz"
    chmod -R a+rX "$LAB_ROOT"
    printf '[http]\nlisten = 192.0.2.1:8080\n[tftp]\nlisten = 192.0.2.1:69\n%s\n' "$extra" \
        >"$BH_DATA/bootherd.conf"
    "$BH" assets install --data "$BH_DATA" >"$TEST_TMP/assets.log" 2>&1
    netlab_bg "$ns" sh -c "exec \"$BH\" serve --data \"$BH_DATA\" --log-level debug >>\"$BH_LOG\" 2>&1"
    BH_PID=$NL_LAST_PID
    # the harness's bh_stop expects its own PID list too
    _PIDS+=("$BH_PID")
    local i
    for i in $(seq 1 100); do
        [ -s "$BH_DATA/http.addr" ] && break
        sleep 0.1
    done
    BH_URL="http://$(cat "$BH_DATA/http.addr")"
    BH_TOKEN=$(cat "$BH_DATA/admin.token")
    export BH_URL BH_TOKEN BH_DATA BH_PID BH_LOG
    # the test client OS is what every host boots
    lab_api POST /api/v1/profiles \
        '{"name":"bootherd-client","kernel":"test/vmlinuz","initrds":["test/initrd.gz"],"cmdline":"console=ttyS0 panic=-1 bh.url={{http_base}}"}'
}

# curl the API inside the lab namespace (the server listens there)
lab_api() {
    local method=$1 path=$2 body=${3:-}
    local args=(-s -o "$TEST_TMP/api.body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $BH_TOKEN")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    STATUS=$(netlab_exec "$LAB_NS" curl "${args[@]}" "$BH_URL$path")
    BODY=$(cat "$TEST_TMP/api.body")
}
