#!/bin/bash
# harness.sh - sourced by every integration test.  Starts real bootherd
# daemons on loopback with throwaway data directories, drives them with curl
# and the CLI, and prints TAP lines ("ok - ..." / "not ok - ...") that
# tests/run-all.sh counts.  Everything started is killed by PID on exit.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BH=${BOOTHERD_BIN:-$ROOT/build/bootherd}
TEST_NAME=$(basename "$0" .sh)
T_PASS=0
T_FAIL=0
T_SKIP=0
_PIDS=()
# every temporary file of this test lives here (made in this shell, so
# helpers called as $(...) still clean up)
TEST_TMP=$(mktemp -d /tmp/bh-test.XXXXXX)
chmod 755 "$TEST_TMP"
_DIRS=("$TEST_TMP")

_cleanup() {
    local p
    for p in "${_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${_DIRS[@]}"; do rm -rf "$p"; done
}
trap _cleanup EXIT

ok()  { T_PASS=$((T_PASS + 1)); echo "ok - $TEST_NAME: $*"; }
nok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $TEST_NAME: $*"; }
# skip NAME WHY: a check that cannot run here (counted as skipped, not passed)
skip() { T_SKIP=$((T_SKIP + 1)); echo "ok - $TEST_NAME: $1 # SKIP $2"; }
diag() { sed 's/^/#   /' <<<"$*" | head -40; }

# check NAME CMD... : passes if CMD succeeds
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$name"; else nok "$name"; diag "$out"; fi
}

# eq NAME WANT GOT
eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else nok "$1"; diag "want: $2"$'\n'"got:  $3"; fi
}

# contains NAME NEEDLE HAYSTACK
contains() {
    if [[ "$3" == *"$2"* ]]; then ok "$1"; else nok "$1"; diag "want substring: $2"$'\n'"got: ${3:0:2000}"; fi
}

tmpdir() {
    local d
    d=$(mktemp -d "$TEST_TMP/d.XXXXXX")
    chmod 755 "$d"
    echo "$d"
}

# bh_start [DATA_DIR] [extra serve args...]: init (if needed) and serve on a
# free loopback port; sets BH_DATA BH_URL BH_TOKEN BH_PID BH_LOG
bh_start() {
    BH_DATA=${1:-}
    [ -n "$BH_DATA" ] || BH_DATA=$(tmpdir)/data
    shift || true
    [ -f "$BH_DATA/bootherd.db" ] || "$BH" init --data "$BH_DATA" >/dev/null || return 1
    rm -f "$BH_DATA/http.addr"
    BH_LOG=${BH_LOG_FILE:-$BH_DATA.log}
    "$BH" serve --data "$BH_DATA" --http 127.0.0.1:0 "$@" >>"$BH_LOG" 2>&1 &
    BH_PID=$!
    _PIDS+=("$BH_PID")
    local i
    for i in $(seq 1 200); do
        if [ -s "$BH_DATA/http.addr" ]; then
            BH_URL="http://$(cat "$BH_DATA/http.addr")"
            BH_TOKEN=$(cat "$BH_DATA/admin.token")
            export BH_URL BH_TOKEN BH_DATA BH_PID BH_LOG
            curl -sf "$BH_URL/health" >/dev/null && return 0
        fi
        kill -0 "$BH_PID" 2>/dev/null || { echo "bootherd exited at start:"; tail -20 "$BH_LOG"; return 1; }
        sleep 0.05
    done
    echo "bootherd did not come up"; tail -20 "$BH_LOG"
    return 1
}

# bh_stop: SIGTERM, wait, and report a dirty exit or sanitizer findings
bh_stop() {
    [ -n "${BH_PID:-}" ] || return 0
    kill -TERM "$BH_PID" 2>/dev/null
    local rc=0
    wait "$BH_PID" || rc=$?
    eq "daemon exits 0 on SIGTERM" 0 "$rc"
    if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$BH_LOG" 2>/dev/null; then
        nok "no sanitizer findings"; diag "$(grep -A30 -E 'Sanitizer|runtime error' "$BH_LOG" | head -60)"
    fi
    BH_PID=
}

# api METHOD PATH [BODY] [TOKEN] [extra curl args...]: sets STATUS, BODY, HDRS
api() {
    local method=$1 path=$2 body=${3:-} tok=${4-$BH_TOKEN}
    shift 4 2>/dev/null || shift $#
    local hf bf
    hf=$(mktemp "$TEST_TMP/h.XXXXXX")
    bf=$(mktemp "$TEST_TMP/b.XXXXXX")
    local args=(-s -o "$bf" -D "$hf" -w '%{http_code}' -X "$method")
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    STATUS=$(curl "${args[@]}" "$@" "$BH_URL$path")
    BODY=$(tr -d '\000' <"$bf" 2>/dev/null) # binary bodies (chunks) carry NULs
    HDRS=$(tr -d '\r' <"$hf")
    rm -f "$hf" "$bf"
}

# expect NAME STATUS METHOD PATH [BODY] [TOKEN]
expect() {
    local name=$1 want=$2; shift 2
    api "$@"
    if [ "$STATUS" == "$want" ]; then ok "$name"; else nok "$name"; diag "want HTTP $want, got $STATUS: ${BODY:0:600}"; fi
}

# bhc ARGS...: the CLI against the running daemon.  To run it in the
# background, start "$BH" directly and add its PID to _PIDS (a function in
# the background is a subshell whose PID is not the CLI's).
bhc() { "$BH" --url "$BH_URL" --token "$BH_TOKEN" "$@"; }

# mktoken NAME ROLE: create a token, print its secret
mktoken() {
    api POST /api/v1/tokens "{\"name\":\"$1\",\"role\":\"$2\"}"
    jq -r .token <<<"$BODY"
}

finish() {
    bh_stop
    echo "# $TEST_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
    [ "$T_FAIL" -eq 0 ]
}
