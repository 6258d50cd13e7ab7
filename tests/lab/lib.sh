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
        '{"name":"bootherd-client","kernel":"test/vmlinuz","initrds":["test/initrd.gz"],"cmdline":"console=ttyS0 panic=-1 bh.url={{http_base}} bootherd.ticket={{ticket}}"}'
}

# lab_bootherd_restart NS: kill -9 the lab's bootherd and start it again on
# the same data directory and address (what lab_bootherd set up)
lab_bootherd_restart() {
    local ns=$1 i
    kill -9 "$BH_PID" 2>/dev/null
    wait "$BH_PID" 2>/dev/null
    rm -f "$BH_DATA/http.addr"
    netlab_bg "$ns" sh -c "exec \"$BH\" serve --data \"$BH_DATA\" --log-level debug >>\"$BH_LOG\" 2>&1"
    BH_PID=$NL_LAST_PID
    _PIDS+=("$BH_PID")
    for i in $(seq 1 100); do
        [ -s "$BH_DATA/http.addr" ] && return 0
        sleep 0.1
    done
    return 1
}

# curl the API inside the lab namespace (the server listens there)
lab_api() {
    local method=$1 path=$2 body=${3:-}
    local args=(-s -o "$TEST_TMP/api.body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $BH_TOKEN")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    STATUS=$(netlab_exec "$LAB_NS" curl "${args[@]}" "$BH_URL$path")
    BODY=$(cat "$TEST_TMP/api.body")
}

# ---- the deploy labs: the real client OS and a deployable test OS ----------

# lab_client_real: `bootherd client build` into the running lab server's
# boot root (the real client OS with this tree's agent; the kernel package
# is cached in LAB_CACHE/client), and the hosts' default profile becomes it.
lab_client_real() {
    mkdir -p "$LAB_CACHE/client"
    netlab_exec "$LAB_NS" "$BH" client build --data "$BH_DATA" --cache "$LAB_CACHE/client" \
        >"$TEST_TMP/client-build.log" 2>&1
}

# the modules a deployed test OS needs to mount its root (virtio disk, ext4)
# with their dependencies, in bootherd.load's order
lab_os_modules() {
    local root=$1 kver want m
    kver=$(ls "$root/usr/lib/modules" | head -1)
    want=$(awk -v mods="virtio_blk ext4 virtio_pci crc32c_generic crc32c-intel" '
        BEGIN { n = split(mods, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
        { name = $1; sub(/:$/, "", name); m = name; sub(/.*\//, "", m); sub(/\.ko.*/, "", m)
          dep[m] = $0; path[m] = name }
        END {
            changed = 1
            while (changed) {
                changed = 0
                for (m in need) {
                    k = split(dep[m], d, " ")
                    for (i = 2; i <= k; i++) { x = d[i]; sub(/.*\//, "", x); sub(/\.ko.*/, "", x)
                        if (!(x in need)) { need[x] = 1; changed = 1 } }
                }
            }
            for (m in need) if (m in path) print path[m]
        }' "$root/usr/lib/modules/$kver/modules.dep")
    while read -r m; do
        grep -qxF "$m" <<<"$want" && echo "$m"
    done <"$root/usr/lib/modules/$kver/bootherd.load"
}

# lab_test_os CLIENT_INITRD KERNEL IMG NOTE: an ext4 partition image IMG
# holding /boot/vmlinuz, /boot/initrd.img and /etc/{hostname,bh-note}.  Its
# init mounts root= read-only and prints "BH-DEPLOYED <hostname> <note>",
# then powers off.  The drivers come from the client OS's initramfs.
lab_test_os() {
    local cinit=$1 kernel=$2 img=$3 note=$4
    local w
    w=$(mktemp -d "$TEST_TMP/testos.XXXXXX")
    mkdir -p "$w/c" "$w/ir/bin" "$w/ir/proc" "$w/ir/sys" "$w/ir/dev" "$w/ir/root" "$w/fs/boot" "$w/fs/etc"
    (cd "$w/c" && zstd -dc "$cinit" | cpio -id --quiet) || return 1
    local kver m
    kver=$(ls "$w/c/usr/lib/modules" | head -1)
    cp "$w/c/usr/bin/busybox" "$w/ir/bin/busybox"
    : >"$w/ir/load"
    for m in $(lab_os_modules "$w/c"); do
        mkdir -p "$w/ir/$(dirname "usr/lib/modules/$kver/$m")"
        cp "$w/c/usr/lib/modules/$kver/$m" "$w/ir/usr/lib/modules/$kver/$m"
        echo "/usr/lib/modules/$kver/$m" >>"$w/ir/load"
    done
    cat >"$w/ir/init" <<'SH'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
while read -r m; do insmod "$m" 2>/dev/null; done </load
root=$(sed -n 's/.*root=\([^ ]*\).*/\1/p' /proc/cmdline)
for i in $(seq 1 40); do [ -b "$root" ] && break; sleep 0.5; done
if mount -t ext4 -o ro "$root" /root; then
    echo "BH-DEPLOYED $(cat /root/etc/hostname) $(cat /root/etc/bh-note)"
else
    echo "BH-DEPLOY-BROKEN cannot mount $root; modules: $(cat /proc/modules | cut -d' ' -f1 | tr '\n' ' ')"
fi
poweroff -f
SH
    chmod 755 "$w/ir/init"
    (cd "$w/ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$w/fs/boot/initrd.img" || return 1
    cp "$kernel" "$w/fs/boot/vmlinuz"
    echo template >"$w/fs/etc/hostname"
    echo "$note" >"$w/fs/etc/bh-note"
    mkfs.ext4 -q -F -L testos -d "$w/fs" "$img" 48M >/dev/null 2>&1 || return 1
    rm -rf "$w"
}

# lab_set_note IMG NOTE: change one file of the test OS in place (a version 2
# that differs from version 1 in a few blocks)
lab_set_note() {
    local f=$TEST_TMP/note.$$
    echo "$2" >"$f"
    debugfs -w -R "rm /etc/bh-note" "$1" >/dev/null 2>&1
    debugfs -w -R "write $f /etc/bh-note" "$1" >/dev/null 2>&1
    rm -f "$f"
    [ "$(debugfs -R 'cat /etc/bh-note' "$1" 2>/dev/null)" = "$2" ]
}

# lab_vm FIRMWARE NS TAP MAC LOG DISK: a VM with a virtio disk that
# network-boots first (bios: SeaBIOS + iPXE ROM, e1000; uefi: OVMF, virtio-net)
lab_vm() {
    local fw=$1 ns=$2 tap=$3 mac=$4 log=$5 disk=$6
    if [ "$fw" = bios ]; then
        netlab_bg "$ns" qemu-system-x86_64 -machine pc -m 768 -nographic -no-reboot -boot n \
            -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
            -device "e1000,netdev=n0,mac=$mac,romfile=/usr/lib/ipxe/qemu/pxe-e1000.rom" \
            -drive "file=$disk,format=raw,if=virtio" \
            -serial "file:$log" -monitor none -display none
    else
        local vars=$disk.vars.fd
        [ -f "$vars" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
        netlab_bg "$ns" qemu-system-x86_64 -machine q35 -m 768 -nographic -no-reboot \
            -drive "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
            -drive "if=pflash,format=raw,file=$vars" \
            -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
            -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1" \
            -drive "file=$disk,format=raw,if=none,id=d0" -device "virtio-blk-pci,drive=d0,bootindex=2" \
            -serial "file:$log" -monitor none -display none
    fi
    LAB_VM_PID=$NL_LAST_PID
}
