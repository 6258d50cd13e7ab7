#!/bin/bash
# run-all.sh - the whole suite, as `make test` runs it.  The last line is
# "N passed, N failed, N skipped".  Sections: lint, build, unit (cmocka), integration
# (real daemon + curl + CLI), ui (the web console driven in headless
# Chromium by tests/ui), the same again under ASan+UBSan, and a short
# libFuzzer run of every parser.  FUZZ_SECONDS (default 10) sets the fuzz time.
# A check that cannot run here prints "ok - ... # SKIP why" and is counted as
# skipped, never as passed; with BH_NO_SKIP=1 (CI) any skip fails the run.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/tests/out
rm -rf "$OUT"; mkdir -p "$OUT"
PASS=0 FAIL=0 SKIP=0
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

pass() { PASS=$((PASS + 1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
section() { echo; echo "=== $* ==="; }

# count TAP lines of a log ("ok ... # SKIP" is a skip, not a pass); a script
# that died without failing a line fails once
count_tap() {
    local log=$1 rc=$2 name=$3 p f s
    p=$(grep '^ok ' "$log" | grep -vc '# SKIP' || true)
    s=$(grep '^ok ' "$log" | grep -c '# SKIP' || true)
    f=$(grep -c '^not ok ' "$log" || true)
    grep -E '^(not )?ok ' "$log" | grep -v '^ok ' || true
    grep -E '^ok .*# SKIP' "$log" || true
    PASS=$((PASS + p)); FAIL=$((FAIL + f)); SKIP=$((SKIP + s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$name exited with status $rc"; tail -20 "$log"; fi
}

build() { # dir, meson options...
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        if ! meson setup "$dir" "$@" >"$OUT/$(basename "$dir")-setup.log" 2>&1; then
            cp "$OUT/$(basename "$dir")-setup.log" "$OUT/$(basename "$dir")-build.log"
            return 1
        fi
    fi
    ninja -C "$dir" >"$OUT/$(basename "$dir")-build.log" 2>&1
}

run_unit() { # build dir, label
    local exe rc
    for exe in "$1"/tests/unit/test_*; do
        [ -f "$exe" ] && [ -x "$exe" ] || continue
        CMOCKA_MESSAGE_OUTPUT=TAP BH_SRCDIR=$ROOT "$exe" >"$OUT/$2-$(basename "$exe").log" 2>&1
        rc=$?
        sed -i "s/^\(not \)\?ok \([0-9]*\) - /\1ok \2 - $2 $(basename "$exe"): /" "$OUT/$2-$(basename "$exe").log"
        count_tap "$OUT/$2-$(basename "$exe").log" $rc "$2 $(basename "$exe")"
    done
}

run_integration() { # bootherd binary, label
    local t rc
    for t in tests/integration/*.sh; do
        BOOTHERD_BIN=$1 timeout 600 bash "$t" >"$OUT/$2-$(basename "$t" .sh).log" 2>&1
        rc=$?
        count_tap "$OUT/$2-$(basename "$t" .sh).log" $rc "$2 $(basename "$t")"
    done
}

section lint
if scripts/check-banned.sh; then pass "no banned C calls"; else fail "no banned C calls"; fi
if scripts/check-format.sh; then pass "clang-format clean"; else fail "clang-format clean"; fi

section build
if build build --buildtype=debugoptimized -Dwerror=true; then
    pass "build with -Werror"
else
    fail "build with -Werror"; tail -40 "$OUT/build-build.log"
fi

section unit
[ -x build/bootherd ] && run_unit build unit

section integration
[ -x build/bootherd ] && run_integration "$ROOT/build/bootherd" it

section "ui (the web console in Chromium)"
if [ -x build/bootherd ]; then
    BOOTHERD_BIN=$ROOT/build/bootherd timeout 900 node tests/ui/run.mjs >"$OUT/ui.log" 2>&1
    count_tap "$OUT/ui.log" $? "ui tests/ui/run.mjs"
fi

section "lab (QEMU network boot)"
for t in tests/lab/boot_*.sh tests/lab/deploy_*.sh; do
    [ "$(basename "$t")" = boot_common.sh ] && continue
    BOOTHERD_BIN=$ROOT/build/bootherd timeout 900 bash "$t" >"$OUT/lab-$(basename "$t" .sh).log" 2>&1
    count_tap "$OUT/lab-$(basename "$t" .sh).log" $? "lab $(basename "$t")"
done

section "asan+ubsan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if build build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dweb=false; then
    pass "build with ASan+UBSan"
    run_unit build-asan asan-unit
    run_integration "$ROOT/build-asan/bootherd" asan-it
else
    fail "build with ASan+UBSan"; tail -40 "$OUT/build-asan-build.log"
fi
unset ASAN_OPTIONS UBSAN_OPTIONS

section fuzz
if CC=clang build build-fuzz --buildtype=debugoptimized -Dfuzz=true -Dtests=false -Db_lundef=false \
    -Dwerror=true -Dweb=false; then
    for f in build-fuzz/fuzz/fuzz_*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        name=$(basename "$f" | sed 's/^fuzz_//')
        corpus=$OUT/corpus-$name
        mkdir -p "$corpus"
        [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$corpus/" 2>/dev/null
        if (cd "$OUT" && "$ROOT/$f" "$corpus" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
            -print_final_stats=0 >"$OUT/fuzz-$name.log" 2>&1); then
            pass "fuzz $name for ${FUZZ_SECONDS}s"
        else
            fail "fuzz $name"; grep -m5 -E 'ERROR|SUMMARY|crash' "$OUT/fuzz-$name.log"
        fi
    done
else
    fail "build fuzz drivers (clang)"; tail -30 "$OUT/build-fuzz-build.log"
fi

# CI (.ci/run sets BH_NO_SKIP=1) is a fresh Debian 12 machine as root: it
# can run every check, so a skip there is a failure, named by the lines above
if [ "${BH_NO_SKIP:-0}" = 1 ]; then
    if [ "$SKIP" -eq 0 ]; then pass "nothing skipped (BH_NO_SKIP=1)"; else
        fail "nothing skipped (BH_NO_SKIP=1): $SKIP checks skipped, see the '# SKIP' lines above"; fi
fi

echo
echo "logs: $OUT"
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
