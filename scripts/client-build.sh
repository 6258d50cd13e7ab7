#!/bin/bash
# client-build.sh - the heavy half of `bootherd client build`: make the client
# OS that machines network-boot into, a Debian kernel plus one initramfs.
#
#   client-build.sh --out DIR --cache DIR --work DIR [--kernel-deb PATH]
#                   [--agent PATH] [--modules "NAME ..."] [--compress zstd|gzip]
#
# Writes DIR/vmlinuz, DIR/initrd.img and DIR/contents.txt (the file list).
# The same inputs (kernel package, host tools, agent, this script) give the
# same bytes: files are sorted, owned by 0:0, dated SOURCE_DATE_EPOCH (by
# default the kernel's own date inside the package), archived by
# `cpio --reproducible` and compressed with fixed settings.
# `bootherd client build` runs this and installs the result; it is not
# meant to be run by hand, but it can be.
set -euo pipefail
umask 022
export LC_ALL=C

OUT="" CACHE="" WORK="" KDEB="" AGENT="" EXTRA_MODULES="" COMPRESS=zstd
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --kernel-deb) KDEB=$2; shift 2 ;;
    --agent) AGENT=$2; shift 2 ;;
    --modules) EXTRA_MODULES=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    *) echo "client-build: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$OUT" ] && [ -n "$CACHE" ] && [ -n "$WORK" ] || {
    echo "usage: client-build.sh --out DIR --cache DIR --work DIR [--kernel-deb PATH] [--agent PATH] [--modules LIST] [--compress zstd|gzip]" >&2
    exit 2
}
case "$COMPRESS" in zstd | gzip) ;; *) echo "client-build: --compress must be zstd or gzip" >&2; exit 2 ;; esac
for t in cpio depmod dpkg-deb "$COMPRESS"; do
    command -v "$t" >/dev/null || { echo "client-build: $t is needed on this machine" >&2; exit 1; }
done
mkdir -p "$OUT" "$CACHE" "$WORK"
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# Kernel modules the client needs.  Their dependencies come from
# modules.dep; names may be written with - or _.
NIC_MODULES="e1000 e1000e igb igc ixgbe i40e r8169 tg3 bnx2 bnxt_en atlantic vmxnet3
virtio_net failover net_failover r8152 ax88179_178a cdc_ether"
STORAGE_MODULES="ahci nvme virtio_blk virtio_scsi sd_mod sr_mod usb-storage uas
virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev xhci_pci ehci_pci ohci_pci uhci_hcd
megaraid_sas mpt3sas mmc_block sdhci_pci"
FS_MODULES="ext4 vfat ntfs3 fuse nls_cp437 nls_iso8859_1 nls_utf8 nls_ascii efivarfs
crc32c_generic crc32c_intel isofs"
INPUT_MODULES="usbhid hid_generic"
MODULES="$NIC_MODULES $STORAGE_MODULES $FS_MODULES $INPUT_MODULES $EXTRA_MODULES"

# Programs the agent calls, with the Debian package each comes from.
TOOLS="sfdisk:fdisk sgdisk:gdisk mkfs.ext4:e2fsprogs e2fsck:e2fsprogs resize2fs:e2fsprogs
mkfs.vfat:dosfstools fsck.vfat:dosfstools mkfs.ntfs:ntfs-3g ntfs-3g:ntfs-3g
mkswap:util-linux blkid:util-linux wipefs:util-linux kexec:kexec-tools
efibootmgr:efibootmgr"

say() { echo "client-build: $*"; }
MISSING=()

# ---------------------------------------------------------------- kernel
if [ -z "$KDEB" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$pkg" ] || { say "cannot resolve linux-image-amd64 (apt-cache depends); give --kernel-deb"; exit 1; }
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
    want="$CACHE/${pkg}_${ver//:/%3a}_amd64.deb"
    if [ -n "$ver" ] && [ -s "$want" ]; then
        KDEB=$want
    else
        say "downloading $pkg $ver into $CACHE"
        if (cd "$CACHE" && apt-get download "$pkg" >"$WORK/apt.log" 2>&1) && [ -s "$want" ]; then
            KDEB=$want
        else
            KDEB=$(ls -1 "$CACHE/${pkg}"_*.deb 2>/dev/null | sort -V | tail -1 || true)
            [ -n "$KDEB" ] || { say "apt-get download $pkg failed:"; cat "$WORK/apt.log" >&2; exit 1; }
            say "download failed; using the cached $(basename "$KDEB")"
        fi
    fi
fi
[ -s "$KDEB" ] || { say "no kernel package at $KDEB"; exit 1; }
say "kernel package $(basename "$KDEB")"
K=$WORK/kernel
mkdir -p "$K"
dpkg-deb -x "$KDEB" "$K"
KVER=$(ls -1 "$K/lib/modules" | head -1)
[ -n "$KVER" ] && [ -f "$K/boot/vmlinuz-$KVER" ] || { say "$KDEB holds no boot/vmlinuz-* and lib/modules/*"; exit 1; }
KMOD=$K/lib/modules/$KVER
# the package leaves modules.dep to its postinst; make it here
depmod -b "$K" "$KVER"
# one date for every file: the caller's, else the kernel's own date
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$K/boot/vmlinuz-$KVER")}
export SOURCE_DATE_EPOCH
say "kernel $KVER, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"

# ---------------------------------------------------------------- staging
S=$WORK/root
mkdir -p "$S"/usr/bin "$S"/usr/sbin "$S"/usr/lib/x86_64-linux-gnu "$S"/usr/lib64 \
    "$S"/usr/share/udhcpc "$S"/etc "$S"/proc "$S"/sys "$S"/dev "$S"/run "$S"/tmp \
    "$S"/root "$S"/mnt "$S"/var
ln -s usr/bin "$S/bin"
ln -s usr/sbin "$S/sbin"
ln -s usr/lib "$S/lib"
ln -s usr/lib64 "$S/lib64"
ln -s ../run "$S/var/run"
chmod 1777 "$S/tmp"
chmod 0700 "$S/root"

# put PATH into the image at the same place, symlinks and all
put() {
    local p=$1 dir base t
    dir=$(readlink -f "$(dirname "$p")")
    base=${p##*/}
    if [ -L "$dir/$base" ]; then
        t=$(readlink "$dir/$base")
        mkdir -p "$S$dir"
        ln -sfn "$t" "$S$dir/$base"
        case "$t" in
        /*) put "$t" ;;
        *) put "$dir/$t" ;;
        esac
    elif [ -f "$dir/$base" ]; then
        mkdir -p "$S$dir"
        [ -f "$S$dir/$base" ] && [ ! -L "$S$dir/$base" ] && return 0
        cp --remove-destination "$dir/$base" "$S$dir/$base"
    else
        say "warning: $p does not exist"
        return 1
    fi
}

# a program and the shared libraries it loads (ldd runs the ELF interpreter)
put_prog() {
    local prog=$1 lib
    put "$prog" || return 1
    if ldd "$prog" >/dev/null 2>&1; then
        for lib in $(ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
            put "$lib"
        done
    fi
}

# busybox-static and its applets (real tools copied later replace a link)
BB=$(command -v busybox || true)
if [ -z "$BB" ] || ! file -L "$BB" 2>/dev/null | grep -q 'statically linked'; then
    [ -x /bin/busybox ] && BB=/bin/busybox
fi
[ -n "$BB" ] && [ -x "$BB" ] || { say "busybox is needed (Debian package busybox-static)"; exit 1; }
cp "$BB" "$S/usr/bin/busybox"
for a in $("$BB" --list-full); do
    case "$a" in
    bin/busybox | usr/bin/busybox) continue ;;
    bin/* | sbin/* | usr/bin/* | usr/sbin/*) ;;
    *) continue ;;
    esac
    [ -e "$S/$a" ] || [ -L "$S/$a" ] || ln -s /bin/busybox "$S/$a"
done

# the disk tools
for tp in $TOOLS; do
    tool=${tp%%:*} tpkg=${tp#*:}
    path=$(command -v "$tool" || true)
    if [ -z "$path" ]; then
        MISSING+=("$tool (Debian package $tpkg)")
        continue
    fi
    rm -f "$S/usr/bin/$tool" "$S/usr/sbin/$tool"
    put_prog "$path" || MISSING+=("$tool (Debian package $tpkg)")
done

# the agent
if [ -n "$AGENT" ]; then
    [ -x "$AGENT" ] || { say "agent $AGENT is not an executable file"; exit 1; }
    cp "$AGENT" "$S/usr/bin/bootherd-agent"
    chmod 0755 "$S/usr/bin/bootherd-agent"
    if ldd "$AGENT" >/dev/null 2>&1; then
        for lib in $(ldd "$AGENT" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
            put "$lib"
        done
        if ldd "$AGENT" | grep -q 'not found'; then
            MISSING+=("libraries of the agent: $(ldd "$AGENT" | awk '/not found/ {print $1}' | tr '\n' ' ')")
        fi
    fi
else
    MISSING+=("bootherd-agent (the client boots to a shell)")
fi

# ---------------------------------------------------------------- modules
# name (- and _ alike) -> path in modules.dep, then everything it needs,
# dependencies first.  modules.dep lists a module's whole closure with the
# deepest last, so the reversed list is a valid load order for it.
awk -v want="$MODULES" '
    function norm(s) { gsub("-", "_", s); return s }
    BEGIN { n = split(want, w, /[ \t\n]+/); for (i = 1; i <= n; i++) if (w[i] != "") wanted[norm(w[i])] = 1 }
    {
        path = $1; sub(/:$/, "", path)
        name = path; sub(/.*\//, "", name); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", name); name = norm(name)
        if (!(name in wanted)) next
        found[name] = 1
        for (i = NF; i >= 2; i--) if (!seen[$i]++) print $i
        if (!seen[path]++) print path
    }
    END { for (m in wanted) if (!(m in found)) print m > "/dev/stderr" }
' "$KMOD/modules.dep" >"$WORK/load.order" 2>"$WORK/notfound"
NOT_IN_KERNEL=()
for m in $(sort "$WORK/notfound"); do
    if awk -v m="$m" '{ s = $0; sub(/.*\//, "", s); sub(/\.ko$/, "", s); gsub("-", "_", s); if (s == m) f = 1 } END { exit !f }' "$KMOD/modules.builtin"; then
        continue # built into the kernel
    fi
    NOT_IN_KERNEL+=("$m")
done
MD=$S/usr/lib/modules/$KVER
mkdir -p "$MD"
: >"$MD/bootherd.load"
while read -r rel; do
    mkdir -p "$MD/$(dirname "$rel")"
    case "$rel" in
    *.ko.xz) xz -dc "$KMOD/$rel" >"$MD/${rel%.xz}"; rel=${rel%.xz} ;;
    *.ko.zst) zstd -q -dc "$KMOD/$rel" >"$MD/${rel%.zst}"; rel=${rel%.zst} ;;
    *.ko.gz) gzip -dc "$KMOD/$rel" >"$MD/${rel%.gz}"; rel=${rel%.gz} ;;
    *) cp "$KMOD/$rel" "$MD/$rel" ;;
    esac
    echo "$rel" >>"$MD/bootherd.load"
done <"$WORK/load.order"
cp "$KMOD/modules.builtin" "$KMOD/modules.order" "$MD/"
[ -f "$KMOD/modules.builtin.modinfo" ] && cp "$KMOD/modules.builtin.modinfo" "$MD/"
depmod -b "$S" "$KVER"
rm -f "$MD"/*.bin # busybox modprobe reads the text files
NMOD=$(wc -l <"$MD/bootherd.load")

# ---------------------------------------------------------------- scripts
cat >"$S/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc calls this on lease changes: configure the interface it names
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound | renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
    if [ -n "${router:-}" ] && ! ip -4 route show default | grep -q .; then
        ip route add default via "${router%% *}" dev "$interface"
    fi
    if [ -n "${dns:-}" ]; then
        : >/etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
        [ -n "${domain:-}" ] && echo "search $domain" >>/etc/resolv.conf
    fi
    mkdir -p /run/net
    echo "$ip" >"/run/net/$interface"
    ;;
esac
exit 0
EOF

# /init stays tiny: if the real work (boot.sh) ever stops, PID 1 must not
# exit (the kernel would panic), so it falls back to a shell
mkdir -p "$S/usr/lib/bootherd"
cat >"$S/init" <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/usr/lib/bootherd/boot.sh
rc=$?
[ -c /dev/console ] || mount -t devtmpfs devtmpfs /dev
echo "bootherd client OS: boot.sh stopped with status $rc; shell on the console" >/dev/console
while :; do setsid -c sh -l </dev/console >/dev/console 2>&1; sleep 1; done
EOF

cat >"$S/usr/lib/bootherd/boot.sh" <<'EOF'
#!/bin/sh
# boot.sh of the bootherd client OS (run by /init): bring the machine up
# far enough for the agent (drivers, network), then run the agent, or give
# a shell.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run/net
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/net
[ -d /sys/firmware/efi ] && mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null
exec </dev/console >/dev/console 2>&1
# every console on the command line (console=ttyS0 console=tty0) sees the
# messages; /dev/console is only the last of them
CONSOLES=$(awk '{print $1}' /proc/consoles 2>/dev/null)
[ -n "$CONSOLES" ] || CONSOLES=console
say() {
    for c in $CONSOLES; do echo "$*" >"/dev/$c"; done 2>/dev/null
    echo "$*" >>/run/bootherd.log
}

for w in $(cat /proc/cmdline); do
    case "$w" in
    bootherd.server=*) SERVER=${w#bootherd.server=} ;;
    bootherd.ticket=*) TICKET=${w#bootherd.ticket=} ;;
    bootherd.shell=*) SHELL_ONLY=${w#bootherd.shell=} ;;
    esac
done
KVER=$(uname -r)
say ""
say "=== bootherd client OS, kernel $KVER ==="

# drivers, dependencies first (the list was made from modules.dep)
loaded=0 failed=""
while read -r m; do
    if insmod "/lib/modules/$KVER/$m" 2>/dev/null; then
        loaded=$((loaded + 1))
    else
        n=${m##*/}
        failed="$failed ${n%.ko}"
    fi
done <"/lib/modules/$KVER/bootherd.load"
say "modules: $loaded loaded; not loaded (no such hardware or already there):${failed:- none}"
say "modules loaded: $(awk '{print $1}' /proc/modules | sort | tr '\n' ' ')"
sleep 1 # let the drivers register their devices

# every NIC: up, then DHCP in the background (udhcpc renews its lease)
NICS=""
for d in /sys/class/net/*; do
    n=${d##*/}
    [ -e "$d/device" ] || continue
    NICS="$NICS $n"
    ip link set "$n" up
    udhcpc -f -i "$n" -t 10 -T 2 -A 3 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
done
IP=""
for i in $(seq 1 60); do
    for n in $NICS; do
        [ -s "/run/net/$n" ] && { IP=$(cat "/run/net/$n"); NIC=$n; break 2; }
    done
    sleep 0.5
done
if [ -n "$IP" ]; then
    say "BH-CLIENT-OS-UP $IP ($NIC)"
else
    say "BH-CLIENT-OS-NONET: no DHCP answer on:${NICS:- no NICs found}"
fi

# what this machine is
dmi() { cat "/sys/class/dmi/id/$1" 2>/dev/null; }
say "machine:  $(dmi sys_vendor) $(dmi product_name), serial $(dmi product_serial), uuid $(dmi product_uuid)"
if [ -d /sys/firmware/efi ]; then say "firmware: UEFI"; else say "firmware: BIOS"; fi
say "cpu:      $(grep -c ^processor /proc/cpuinfo) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
say "memory:   $(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB"
for n in $NICS; do
    drv=$(basename "$(readlink /sys/class/net/$n/device/driver)" 2>/dev/null)
    say "nic:      $n $(cat /sys/class/net/$n/address) driver $drv carrier $(cat /sys/class/net/$n/carrier 2>/dev/null) ip $(cat /run/net/$n 2>/dev/null)"
done
for b in /sys/block/*; do
    d=${b##*/}
    case "$d" in '*' | loop* | ram* | zram* | sr* | fd*) continue ;; esac
    sz=$(cat "$b/size" 2>/dev/null) || sz=0
    sz=$((${sz:-0} / 2048))
    say "disk:     $d ${sz} MiB $(cat "$b/device/model" 2>/dev/null | tr -s ' ')"
done
say "server:   ${SERVER:-none on the command line (bootherd.server=)}"

# tell bootherd the machine is up (the agent reports the rest)
if [ -n "${SERVER:-}" ] && [ -n "$IP" ]; then
    mac=$(cat "/sys/class/net/$NIC/address")
    # (busybox 1.35 wget crashes with -T: bound it with timeout instead)
    timeout 10 wget -q -O /dev/null "$SERVER/boot/up?mac=$mac&os=bootherd-client" 2>/dev/null ||
        say "could not reach $SERVER/boot/up"
fi

shells() {
    for c in $CONSOLES; do
        [ -c "/dev/$c" ] || continue
        (while :; do setsid -c sh -l <"/dev/$c" >"/dev/$c" 2>&1; sleep 1; done) &
    done
    while :; do sleep 3600; done
}

if [ -x /usr/bin/bootherd-agent ] && [ -n "${SERVER:-}" ] && [ -z "${SHELL_ONLY:-}" ]; then
    run=0 delay=3
    set -o pipefail
    while :; do
        run=$((run + 1))
        say "starting bootherd-agent (run $run)"
        t0=$(date +%s)
        # the MAC of the NIC that got an address: the one the ticket names
        BOOTHERD_CLIENT_OS=1 /usr/bin/bootherd-agent run --server "$SERVER" \
            ${TICKET:+--ticket "$TICKET"} ${NIC:+--mac "$(cat "/sys/class/net/$NIC/address")"} 2>&1 |
            while IFS= read -r line; do say "$line"; done
        rc=$?
        # an agent that keeps failing at once is retried less and less often
        if [ $(($(date +%s) - t0)) -lt 10 ]; then
            [ "$run" -gt 1 ] && delay=$((delay * 2))
            [ "$delay" -gt 60 ] && delay=60
        else
            delay=3
        fi
        say "bootherd-agent exited with status $rc; starting it again in $delay s"
        sleep "$delay"
    done
fi
if [ ! -x /usr/bin/bootherd-agent ]; then
    say "no bootherd-agent in this image: shell on the console"
elif [ -z "${SERVER:-}" ]; then
    say "no bootherd.server= on the command line: shell on the console"
fi
shells
EOF
chmod 0755 "$S/init" "$S/usr/lib/bootherd/boot.sh" "$S/usr/share/udhcpc/default.script"

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$S/etc/passwd"
printf 'root:x:0:\n' >"$S/etc/group"
printf 'bootherd-client\n' >"$S/etc/hostname"
: >"$S/etc/resolv.conf"
printf 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1="bootherd-client:\\w# "\n' >"$S/etc/profile"
{
    echo "kernel=$KVER"
    echo "kernel_package=$(basename "$KDEB")"
    echo "source_date_epoch=$SOURCE_DATE_EPOCH"
} >"$S/etc/bootherd-client"

# ---------------------------------------------------------------- archive
find "$S" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$S" && find . -mindepth 1 -printf '%P\0' | sort -z |
    cpio -o -H newc --null --reproducible -R 0:0 --quiet) >"$WORK/initrd.cpio"
case "$COMPRESS" in
# one thread, fixed level: the bytes do not depend on the machine
zstd) zstd -q -19 -T1 --no-check -c "$WORK/initrd.cpio" >"$OUT/initrd.img" ;;
gzip) gzip -n -9 -c "$WORK/initrd.cpio" >"$OUT/initrd.img" ;;
esac
cp "$K/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
(cd "$S" && find . -mindepth 1 -printf '%M %10s %P%l\n' | sort -k3) >"$OUT/contents.txt"
echo "$KVER" >"$OUT/kernel.version"

# ---------------------------------------------------------------- report
ks=$(stat -c %s "$OUT/vmlinuz")
is=$(stat -c %s "$OUT/initrd.img")
cs=$(stat -c %s "$WORK/initrd.cpio")
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
say "$NMOD modules (with dependencies) for kernel $KVER"
[ ${#NOT_IN_KERNEL[@]} -eq 0 ] || say "not in this kernel: ${NOT_IN_KERNEL[*]}"
if [ ${#MISSING[@]} -gt 0 ]; then
    say "MISSING from the image:"
    for m in "${MISSING[@]}"; do say "  - $m"; done
fi
say "kernel    $(mib "$ks") ($ks bytes)"
say "initramfs $(mib "$is") ($is bytes, $(mib "$cs") unpacked, $COMPRESS)"
say "total     $(mib $((ks + is)))"
[ $((ks + is)) -lt $((64 * 1048576)) ] || say "warning: over 64 MiB, slow to boot over TFTP or a slow link"
say "sha256 $(sha256sum "$OUT/initrd.img" | cut -d' ' -f1) initrd.img"
exit 0
