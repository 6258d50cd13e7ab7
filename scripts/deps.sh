#!/bin/sh
# deps.sh - install the Debian packages bootherd needs.  Idempotent.
#   scripts/deps.sh run    what building and running bootherd needs (make run)
#   scripts/deps.sh test   that, and the peers and tools the test suite and
#                          benchmarks drive (make test; the default)
#   scripts/deps.sh list run|test   print the package names, one a line
# As root it installs what is missing (apt-get update first); otherwise it
# prints the exact command and exits 1 if anything is missing.
set -eu

# building: the compiler, Meson, the libraries bootherd links (zlib and
# liblzma: image import decodes gzip and xz sources)
RUN_BUILD="build-essential meson ninja-build pkg-config
libuv1-dev libmicrohttpd-dev libwslay-dev libjansson-dev libsqlite3-dev libssl-dev
libyaml-dev libcurl4-openssl-dev libzstd-dev zlib1g-dev liblzma-dev"
# running: qemu-img for qcow2/vmdk/vdi imports and qcow2 exports; the boot
# loaders `assets install` copies; what `client build` puts in the client OS
# (cpio, depmod, the disk tools of scripts/client-build.sh); the web console
# is built with node and npm
RUN_TOOLS="qemu-utils ipxe grub-efi-amd64-bin grub-pc-bin grub-common
cpio kmod zstd xz-utils busybox-static
fdisk gdisk e2fsprogs dosfstools ntfs-3g util-linux kexec-tools efibootmgr
nodejs npm"
# testing only: unit tests (cmocka), lint (clang-format), sanitizers and
# fuzzing (clang), the clients and peers the integration tests talk to
# (curl, TFTP and DHCP clients and servers, QEMU with iPXE and OVMF for the
# boot lab, nftables and tcpdump in network namespaces), the compressors
# images_formats.sh feeds in, the benchmarks' rivals (casync, rsync, wrk),
# the console's screenshots (chromium, pngquant)
TEST_ONLY="libcmocka-dev clang libclang-rt-14-dev clang-format libpq-dev
curl jq wrk sqlite3 procps iproute2 python3 bzip2 gzip partclone
nftables tcpdump
qemu-system-x86 ipxe-qemu ovmf
tftp-hpa atftp tftpd-hpa dnsmasq-base isc-dhcp-client udhcpc nmap kea-dhcp4-server kea-admin
casync debootstrap rsync
chromium pngquant"

what=${1:-test}
case "$what" in
run) PKGS="$RUN_BUILD $RUN_TOOLS" ;;
test) PKGS="$RUN_BUILD $RUN_TOOLS $TEST_ONLY" ;;
list)
    case "${2:-}" in
    run) printf '%s\n' $RUN_BUILD $RUN_TOOLS ;;
    test) printf '%s\n' $RUN_BUILD $RUN_TOOLS $TEST_ONLY ;;
    test-only) printf '%s\n' $TEST_ONLY ;;
    *) echo "usage: deps.sh list run|test|test-only" >&2; exit 2 ;;
    esac
    exit 0
    ;;
*) echo "usage: deps.sh [run|test|list run|test|test-only]" >&2; exit 2 ;;
esac

# the web console builds with node and npm and is tested in chromium (its
# screenshots for docs/ui.md go through pngquant); a
# machine that has them from elsewhere (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm) keeps what it has
have_command_for() {
    case "$1" in
    nodejs) command -v node >/dev/null 2>&1 ;;
    npm) command -v npm >/dev/null 2>&1 ;;
    chromium) [ -x /usr/bin/chromium ] ;;
    *) return 1 ;;
    esac
}

# The daemon leaves root for this user after binding its ports.
ensure_user() {
    id bootherd >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootherd runs as user 'bootherd' when started as root; as root: useradd --system --no-create-home --shell /usr/sbin/nologin bootherd" >&2
        return 0
    fi
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin bootherd
}

missing=""
for p in $PKGS; do
    have_command_for "$p" && continue
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    ensure_user
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "bootherd needs these Debian packages:$missing" >&2
    echo "run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# the test peers (tftpd-hpa, kea) are packages with services: installing them
# must not start anything on this machine
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
apt-get update -q
# kexec-tools (for the client OS) must not take over this machine's reboots
echo "kexec-tools kexec-tools/load_kexec boolean false" | debconf-set-selections 2>/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
rc=$?
[ -n "$made_policy" ] && rm -f "$policy"
[ $rc -eq 0 ] || exit $rc
ensure_user
