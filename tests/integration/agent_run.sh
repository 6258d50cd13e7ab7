#!/bin/bash
# agent_run.sh - `bootherd-agent run` against a real daemon, without QEMU:
# the boot ticket from the machine's iPXE script, hello, then the host's
# job steps: sync:1 deploys OS 1's image onto its Root (a loop device made
# here; root only) bit-exact, with progress; a step this agent cannot do
# fails the host with a clear reason; reboot is refused outside the client
# OS (this test must never power anything off).
source "$(dirname "$0")/../lib/harness.sh"
[ "$(id -u)" -eq 0 ] || { echo "ok - $TEST_NAME: skipped (needs root for a loop device) # SKIP"; exit 0; }
AGENT=${BOOTHERD_AGENT_BIN:-$(dirname "$BH")/bootherd-agent}
[ -x "$AGENT" ] || { nok "bootherd-agent built ($AGENT)"; finish; exit 1; }
W=$(tmpdir)
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }

# the image: data, zeros and an odd tail; the target: a loop device
python3 - "$W/os.raw" <<'PY'
import random, sys
random.seed(3)
with open(sys.argv[1], "wb") as f:
    for i in range(12):
        f.write(random.randbytes(1 << 20) if i % 3 else bytes(1 << 20))
    f.write(random.randbytes(4096 * 3))
PY
check "image testimg imported" bhc image import testimg "$W/os.raw"
truncate -s 64M "$W/disk"
LOOP=$(losetup -f --show "$W/disk") || { nok "losetup"; finish; exit 1; }
trap 'losetup -d "$LOOP" 2>/dev/null; _cleanup' EXIT
MAC=52:54:00:bb:00:01
api POST /api/v1/groups '{"name":"lab"}'
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = %s\nSize = 60M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg.qcow2\nRoot = %s\n' "$LOOP" "$LOOP")"
eq "group lab: OS 1 is testimg on $LOOP" 200 "$STATUS"
check "agent profile" bhc profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}"
check "host pc1" bhc host add "$MAC" name=pc1 group=lab profile=agentos
ticket() { curl -s "$BH_URL/boot/ipxe?mac=$MAC" | sed -n 's/.*bootherd\.ticket=\([^ ]*\).*/\1/p' | head -1; }
agent() { "$AGENT" run --server "$BH_URL" --ticket "$(ticket)" --mac "$MAC" --once --poll-ms 200 2>"$W/agent.log"; }

# ---- sync:1 -------------------------------------------------------------------
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:1"]}'
J1=$(jq -r .id <<<"$BODY")
agent
eq "the agent ends when no step is left (--once)" 0 "$?"
api GET "/api/v1/jobs/$J1"
eq "the job is done" done "$(jq -r .state <<<"$BODY")"
SIZE=$(stat -c %s "$W/os.raw")
check "OS 1's partition holds the image, bit-exact" cmp -n "$SIZE" "$W/os.raw" "$LOOP"
api GET "/api/v1/events?since=0&limit=1000"
check "progress reached the event stream" jq -e "[.events[] | select(.kind == \"job\" and .key == \"$J1\") | .type] | index(\"progress\") != null or index(\"running\") != null" <<<"$BODY"
contains "the agent logged what it fetched" "fetched" "$(cat "$W/agent.log")"

# ---- a second sync changes nothing; a changed image is synced ------------------
dd if=/dev/urandom of="$W/os.raw" bs=4096 seek=700 count=2 conv=notrunc status=none
check "version 2 imported" bhc image import testimg "$W/os.raw"
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:1"]}'
agent
contains "sync of version 2 fetched only a few chunks" "fetched" "$(grep -o 'fetched [0-9]* chunks' "$W/agent.log")"
n=$(grep -o 'fetched [0-9]* chunks' "$W/agent.log" | awk '{print $2}')
check "  ... (fetched $n chunks)" test "${n:-99}" -le 4
check "OS 1's partition holds version 2, bit-exact" cmp -n "$SIZE" "$W/os.raw" "$LOOP"

# ---- what this agent cannot do, and what it must not do here --------------------
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:1","partition","start:1"]}'
J3=$(jq -r .id <<<"$BODY")
agent
api GET "/api/v1/jobs/$J3"
eq "sync done, partition failed, start cancelled" "done failed cancelled" "$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")"
contains "the reason reaches the operator" "cannot do 'partition' yet" "$(bhc job show "$J3")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["reboot"]}'
J4=$(jq -r .id <<<"$BODY")
agent
api GET "/api/v1/jobs/$J4"
contains "reboot is refused outside the client OS" "not running in the bootherd client OS" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:2"]}'
agent
contains "sync of an OS entry the group lacks: a clear failure" "no OS entry 2" "$(bhc job show "$(jq -r .id <<<"$BODY")")"

# ---- a used ticket ----------------------------------------------------------------
T=$(ticket)
"$AGENT" run --server "$BH_URL" --ticket "$T" --mac "$MAC" --once >/dev/null 2>&1
"$AGENT" run --server "$BH_URL" --ticket "$T" --mac "$MAC" --once 2>"$W/used.log"
eq "a used ticket: the agent exits 1" 1 "$?"
contains "  ... saying why" "used already" "$(cat "$W/used.log")"
finish
