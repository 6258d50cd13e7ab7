#!/bin/bash
# deps_lists.sh - scripts/deps.sh installs for running only what running
# needs, and for testing everything (installing cannot be tried here: the
# lists and the Makefile's use of them are checked).
#   deps.sh list run has no test-only package; list test = run + test-only;
#   make run calls `deps.sh run`, make test `deps.sh test`; a bad argument
#   is refused with its usage, exit 2.
source "$(dirname "$0")/../lib/harness.sh"
D=$ROOT/scripts/deps.sh

RUN=$(sh "$D" list run | sort)
ONLY=$(sh "$D" list test-only | sort)
ALL=$(sh "$D" list test | sort)
check "the run list is not empty" test "$(wc -l <<<"$RUN")" -ge 20
eq "the run list holds no test-only package" "" "$(comm -12 <(echo "$RUN") <(echo "$ONLY"))"
eq "the test list is the run list and the test-only packages" "$ALL" "$(sort <<<"$RUN"$'\n'"$ONLY")"
for p in libcmocka-dev clang-format tftpd-hpa kea-dhcp4-server qemu-system-x86 chromium wrk casync; do
    check "$p (a test peer or tool) is not in the run list" bash -c "! grep -qx '$p' <<<'$RUN'"
    check "$p is in the test list" grep -qx "$p" <<<"$ALL"
done
for p in meson libuv1-dev libwslay-dev libzstd-dev zlib1g-dev liblzma-dev qemu-utils ipxe nodejs; do
    check "$p (needed to build or run) is in the run list" grep -qx "$p" <<<"$RUN"
done
# every library meson.build asks for comes with the run list (cmocka, for
# the unit tests, with the test list)
declare -A PKG=([threads]=build-essential [libuv]=libuv1-dev [libmicrohttpd]=libmicrohttpd-dev
    [jansson]=libjansson-dev [sqlite3]=libsqlite3-dev [libcrypto]=libssl-dev [libssl]=libssl-dev
    [yaml-0.1]=libyaml-dev [libcurl]=libcurl4-openssl-dev [libzstd]=libzstd-dev [zlib]=zlib1g-dev
    [liblzma]=liblzma-dev)
mapfile -t DEPS < <(grep -o "dependency('[^']*'" "$ROOT/meson.build" | sed "s/dependency('//; s/'//" | sort -u)
check "meson.build names its libraries" test "${#DEPS[@]}" -ge 10
for dep in "${DEPS[@]}"; do
    if [ "$dep" == cmocka ]; then
        check "meson dependency cmocka: libcmocka-dev in the test list" grep -qx libcmocka-dev <<<"$ALL"
    elif [ -n "${PKG[$dep]:-}" ]; then
        check "meson dependency $dep: ${PKG[$dep]} in the run list" grep -qx "${PKG[$dep]}" <<<"$RUN"
    else
        nok "meson dependency $dep: which Debian package? (add it to deps.sh run and here)"
    fi
done

out=$(sh "$D" bogus 2>&1)
eq "deps.sh with a bad argument exits 2" 2 "$(sh "$D" bogus >/dev/null 2>&1; echo $?)"
eq "  ... with its usage" "usage: deps.sh [run|test|list run|test|test-only]" "$out"

if command -v make >/dev/null; then
    mr=$(make -s -n -C "$ROOT" run 2>/dev/null)
    mt=$(make -s -n -C "$ROOT" test 2>/dev/null)
    contains "make run installs with deps.sh run" "scripts/deps.sh run" "$mr"
    check "  ... and not the test packages" bash -c "! grep -q 'deps.sh test' <<<'$mr'"
    contains "make run builds without unit tests (no cmocka)" "-Dtests=false" "$mr"
    contains "make test installs with deps.sh test" "scripts/deps.sh test" "$mt"
else
    skip "make run/test use deps.sh run/test" "make is not installed"
fi
finish
