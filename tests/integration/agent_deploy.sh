#!/bin/bash
# agent_deploy.sh - bootherd-agent deploy against a real daemon: an image
# imported with the CLI is deployed onto a loop device (as root; a plain
# file otherwise): a full write is bit-exact, a second sync fetches
# nothing, a new version with a few changed blocks syncs with a few chunks
# (and back again), and a daemon that is stopped and killed mid-deploy and
# restarted on the same data directory and port is waited for; one that
# stays away makes the agent fail with a clear message.
source "$(dirname "$0")/../lib/harness.sh"
AGENT=${BOOTHERD_AGENT_BIN:-$(dirname "$BH")/bootherd-agent}
for tool in python3 cmp; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
[ -x "$AGENT" ] || { nok "bootherd-agent built at $AGENT"; finish; exit 1; }
W=$(tmpdir)
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }
ok "daemon starts"
PORT=${BH_URL##*:}
MIB=$((1024 * 1024))

# a disk-like image: random data, holes, a repeated block, an odd tail
python3 - "$W/a.raw" <<'PY'
import random, sys
random.seed(11)
rep = random.randbytes(64 * 1024)
with open(sys.argv[1], "wb") as f:
    for i in range(40):
        k = i % 4
        if k == 0:
            f.write(random.randbytes(1024 * 1024))
        elif k == 1:
            f.seek(2 * 1024 * 1024, 1)
        elif k == 2:
            f.write(rep * 16)
        else:
            f.write(bytes(256 * 1024) + random.randbytes(768 * 1024))
    f.write(random.randbytes(12800))
PY
SIZE=$(stat -c %s "$W/a.raw")
check "import the test image" bhc image import disk "$W/a.raw" --note v1

# the target: a loop device on a sparse file as root, else a plain file
LOOP=
truncate -s $(((SIZE / MIB + 2) * MIB)) "$W/disk.img"
if [ "$(id -u)" -eq 0 ] && LOOP=$(losetup -f --show "$W/disk.img" 2>/dev/null); then
    trap 'losetup -d "$LOOP" 2>/dev/null; _cleanup' EXIT
    DEV=$LOOP
    ok "target: loop device $LOOP"
else
    LOOP=
    DEV=$W/disk.img
    ok "target: plain file (not root or no loop devices)"
fi

# agent ARGS...: deploy with the daemon's URL and token; sets OUT, RC, ERR
agent() {
    local ef
    ef=$(mktemp "$TEST_TMP/e.XXXXXX")
    OUT=$("$AGENT" deploy --server "$BH_URL" --token "$BH_TOKEN" "$@" 2>"$ef")
    RC=$?
    ERR=$(cat "$ef")
    rm -f "$ef"
    if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" <<<"$ERR"; then
        nok "agent: no sanitizer findings"; diag "$ERR"
    fi
}
fetched() { sed -n 's/.*fetched \([0-9]*\) chunks (\([0-9]*\) bytes).*/\1 \2/p' <<<"$1"; }
skipped() { sed -n 's/.*: \([0-9]*\) extents, \([0-9]*\) skipped.*/\1 \2/p' <<<"$1"; }

# ---- full write, then a sync of the same version -----------------------------
agent --image disk@1 --device "$DEV" --full
eq "full deploy exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || diag "$ERR"
contains "summary line" "deployed disk@1 to $DEV: " "$OUT"
check "full deploy is bit-exact" cmp -n "$SIZE" "$W/a.raw" "$DEV"
read -r c1 b1 <<<"$(fetched "$OUT")"
check "full deploy fetched chunks ($c1, $b1 bytes)" test "${c1:-0}" -gt 0

agent --image disk --device "$DEV"
eq "sync of the same version exits 0" 0 "$RC"
eq "sync of an identical target fetches nothing" "0 0" "$(fetched "$OUT")"
read -r ext skip <<<"$(skipped "$OUT")"
zr=$(sed -n 's/.*zeroed [0-9]* bytes (\([0-9]*\) runs).*/\1/p' <<<"$OUT")
eq "every extent is skipped (zero runs are cleared unread where the device zeroes cheaply)" \
    "$ext" "$((skip + ${zr:-0}))"
[ "$(stat -L -c %F "$DEV")" != "block special file" ] || [ "$(cat /sys/block/"$(basename "$DEV")"/queue/write_zeroes_max_bytes 2>/dev/null || echo 0)" = 0 ] ||
    check "  ... here a loop device that zeroes cheaply: no zero run was read" test "${zr:-0}" -gt 0
contains "ref defaults to latest" "deployed disk@latest" "$OUT"

# ---- a new version with a few changed blocks ---------------------------------
cp "$W/a.raw" "$W/b.raw"
for blk in 3 1500 5000 9000; do
    head -c 4096 /dev/urandom | dd of="$W/b.raw" bs=4096 seek=$blk conv=notrunc status=none
done
check "import version 2" bhc image import disk "$W/b.raw" --note v2
agent --image disk@2 --device "$DEV"
eq "sync to version 2 exits 0" 0 "$RC"
check "version 2 on the target is bit-exact" cmp -n "$SIZE" "$W/b.raw" "$DEV"
read -r c2 b2 <<<"$(fetched "$OUT")"
# 4 changed blocks touch 4 to 8 chunks (a chunk of random data is up to
# 1 MiB, so the bytes bound is a quarter of the image, not a tenth)
check "sync to version 2 fetches a few chunks ($c2, $b2 of $b1 bytes)" \
    test "${c2:-99}" -ge 1 -a "${c2:-99}" -le 8 -a "$((b2 * 4))" -lt "$b1"
agent --image disk@1 --device "$DEV"
check "sync back to version 1 is bit-exact" cmp -n "$SIZE" "$W/a.raw" "$DEV"
read -r c3 b3 <<<"$(fetched "$OUT")"
check "sync back fetches a few chunks ($c3)" test "${c3:-99}" -ge 1 -a "${c3:-99}" -le 8

# ---- bad input ------------------------------------------------------------------
agent --image nosuch --device "$W/x.img"
eq "unknown image: exit 1" 1 "$RC"
contains "unknown image: says so" "HTTP 404" "$ERR"
OUT=$("$AGENT" deploy --server "$BH_URL" --token wrong --image disk --device "$W/x.img" 2>&1)
contains "a wrong token is named" "is the token right?" "$OUT"
OUT=$("$AGENT" deploy --image disk 2>&1)
eq "usage error: exit 2" 2 "$?"
truncate -s 1M "$W/small.img"
if [ -n "$LOOP" ] && SMALL=$(losetup -f --show "$W/small.img" 2>/dev/null); then
    agent --image disk --device "$SMALL"
    losetup -d "$SMALL"
    eq "a device smaller than the image: exit 1" 1 "$RC"
    contains "a device smaller than the image: says by how much" "bytes short" "$ERR"
fi

# ---- the server goes away mid-deploy ------------------------------------------------
restart() {
    kill -9 "$BH_PID" 2>/dev/null
    wait "$BH_PID" 2>/dev/null
    bh_start "$BH_DATA" --http "127.0.0.1:$PORT"
}
# (a) stopped before the agent starts, killed and restarted 2 s later
kill -STOP "$BH_PID"
"$AGENT" deploy --server "$BH_URL" --token "$BH_TOKEN" --image disk@2 --device "$W/t1.img" \
    --full --retry-secs 60 >"$W/t1.out" 2>"$W/t1.err" &
APID=$!
_PIDS+=("$APID")
sleep 2
restart || nok "daemon restarts on port $PORT"
wait "$APID"
eq "agent waits for a restarted server and finishes" 0 "$?"
check "and the image is bit-exact" cmp -n "$SIZE" "$W/b.raw" "$W/t1.img"
contains "the agent says it retried" "retried" "$(cat "$W/t1.err")"

# (b) stopped while chunks are being written, then killed and restarted:
# the agent is frozen as soon as it has made its target (the manifest is
# in, no chunk yet or a few), the daemon is stopped, the agent thawed
"$AGENT" deploy --server "$BH_URL" --token "$BH_TOKEN" --image disk@1 --device "$W/t2.img" \
    --full --threads 1 --retry-secs 60 >"$W/t2.out" 2>"$W/t2.err" &
APID=$!
_PIDS+=("$APID")
mid=no
for _ in $(seq 1 1000); do
    if [ -f "$W/t2.img" ]; then
        kill -STOP "$APID" 2>/dev/null && mid=yes
        kill -STOP "$BH_PID"
        kill -CONT "$APID" 2>/dev/null
        break
    fi
    sleep 0.005
done
eq "the agent was frozen mid-deploy" yes "$mid"
sleep 1
restart || nok "daemon restarts on port $PORT"
wait "$APID"
eq "agent resumes after a stop + kill -9 + restart" 0 "$?"
check "and the image is bit-exact" cmp -n "$SIZE" "$W/a.raw" "$W/t2.img"
contains "the agent says it retried" "retried" "$(cat "$W/t2.err")"

# (c) gone for good: a clear failure once --retry-secs have passed
kill -9 "$BH_PID"
wait "$BH_PID" 2>/dev/null
t0=$(date +%s)
agent --image disk --device "$W/t3.img" --retry-secs 2
t1=$(date +%s)
eq "an unreachable server fails the deploy" 1 "$RC"
contains "with a clear message" "has not answered for" "$ERR"
check "after about --retry-secs ($((t1 - t0)) s)" test $((t1 - t0)) -le 10
bh_start "$BH_DATA" --http "127.0.0.1:$PORT" || nok "daemon restarts"
finish
