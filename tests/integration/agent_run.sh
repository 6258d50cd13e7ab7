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
truncate -s 64M "$W/disk" "$W/disk2"
LOOP=$(losetup -f --show "$W/disk") || { nok "losetup"; finish; exit 1; }
LOOP2=$(losetup -P -f --show "$W/disk2") || { losetup -d "$LOOP"; nok "losetup -P"; finish; exit 1; }
trap 'losetup -d "$LOOP" "$LOOP2" 2>/dev/null; _cleanup' EXIT
MAC=52:54:00:bb:00:01
api POST /api/v1/groups '{"name":"lab"}'
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = %s\nSize = 60M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg.qcow2\nRoot = %s\n' "$LOOP" "$LOOP")"
eq "group lab: OS 1 is testimg on $LOOP" 200 "$STATUS"
check "agent profile" bhc profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}"
check "host pc1" bhc host add "$MAC" name=pc1 group=lab profile=agentos
ticket() { bhc host ticket "$MAC"; }
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
check "progress reached the event stream" jq -e "[.items[] | select(.kind == \"job\" and .key == \"$J1\") | .type] | index(\"progress\") != null or index(\"running\") != null" <<<"$BODY"
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
conf() { # [CACHE]: the group's start.conf, with Cache = CACHE when given
    local c=""
    [ -n "${1:-}" ] && c="Cache = $1"$'\n'
    api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab\n%s[Partition]\nDev = %s\nSize = 60M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg.qcow2\nRoot = %s\n' "$c" "$LOOP" "$LOOP")"
}
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:1","initcache","start:1"]}'
eq "initcache without a cache partition: the server refuses the job" "422 no cache partition" \
    "$STATUS $(jq -r '.errors[0].reason | match("no cache partition").string' <<<"$BODY")"
# the cache goes after the job was made: the agent finds it gone
conf "$LOOP"
eq "  ... Cache = $LOOP set" 200 "$STATUS"
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:1","initcache","start:1"]}'
eq "  ... then the job is accepted" 201 "$STATUS"
[ "$STATUS" = 201 ] || diag "$BODY"
J3=$(jq -r .id <<<"$BODY")
conf
eq "  ... and the cache removed" 200 "$STATUS"
agent
api GET "/api/v1/jobs/$J3"
eq "sync done, initcache failed, start cancelled" "done failed cancelled" "$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")"
contains "the reason reaches the operator" "names no cache partition" "$(bhc job show "$J3")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["reboot"]}'
J4=$(jq -r .id <<<"$BODY")
agent
api GET "/api/v1/jobs/$J4"
contains "reboot is refused outside the client OS" "not running in the bootherd client OS" "$(jq -r '.hosts[0].steps[0].error' <<<"$BODY")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:2"]}'
eq "sync of an OS entry the group lacks: the server refuses the job" "422 steps[0]" "$STATUS $(jq -r .field <<<"$BODY")"
# the entry goes after the job was made: the agent finds it gone
LAB1=$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = %s\nSize = 60M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg.qcow2\nRoot = %s\n' "$LOOP" "$LOOP")
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' \
    --data-binary "$LAB1"$'\n[OS]\nName = Second\nBaseImage = testimg.qcow2\nRoot = '"$LOOP"$'\n'
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["sync:2"]}'
eq "  ... which it takes while the group has that entry" 201 "$STATUS"
J5=$(jq -r .id <<<"$BODY")
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$LAB1"
agent
contains "an OS entry removed after the job was made: a clear failure" "no OS entry 2" "$(bhc job show "$J5")"

# ---- partition, format, then sync onto the new partition --------------------------
MAC2=52:54:00:bb:00:02
api POST /api/v1/groups '{"name":"lab2"}'
api PUT /api/v1/groups/lab2/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab2\nSystemType = bios64\n[Partition]\nDev = %sp1\nLabel = os\nSize = 40M\nId = 83\nFSType = ext4\nBootable = yes\n[Partition]\nDev = %sp2\nLabel = swap\nSize =\nId = 82\nFSType = swap\n[OS]\nName = Test OS\nBaseImage = testimg\nRoot = %sp1\n' "$LOOP2" "$LOOP2" "$LOOP2")"
eq "group lab2: two partitions on $LOOP2" 200 "$STATUS"
check "host pc2" bhc host add "$MAC2" name=pc2 group=lab2 profile=agentos
ticket2() { bhc host ticket "$MAC2"; }
api POST /api/v1/jobs '{"targets":{"hosts":["pc2"]},"steps":["partition"]}'
J5=$(jq -r .id <<<"$BODY")
"$AGENT" run --server "$BH_URL" --ticket "$(ticket2)" --mac "$MAC2" --once --poll-ms 200 2>"$W/agent2.log"
api GET "/api/v1/jobs/$J5"
eq "partition is done" done "$(jq -r '.hosts[0].steps[0].state' <<<"$BODY")"
dump=$(sfdisk -d "$LOOP2" 2>&1)
contains "an MBR table (SystemType bios64)" "label: dos" "$dump"
contains "partition 1: 40 MiB, Linux, bootable" "size=       81920, type=83, bootable" "$dump"
contains "partition 2: the rest, swap" "type=82" "$dump"
api PUT /api/v1/groups/lab2/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab2\nSystemType = efi64\n[Partition]\nDev = %sp1\nLabel = efi\nSize = 8M\nId = ef\nFSType = vfat\n[Partition]\nDev = %sp2\nLabel = os\nSize =\nId = 83\nFSType = ext4\n' "$LOOP2" "$LOOP2")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc2"]},"steps":["partition"]}'
"$AGENT" run --server "$BH_URL" --ticket "$(ticket2)" --mac "$MAC2" --once --poll-ms 200 2>>"$W/agent2.log"
dump=$(sfdisk -d "$LOOP2" 2>&1)
contains "a GPT table for SystemType efi64" "label: gpt" "$dump"
contains "the EFI system partition's type" "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" "$dump"
contains "GPT partition names from the labels" 'name="efi"' "$dump"

# format: this machine's kernel shows no loop partitions as devices, so the
# file systems go onto whole loop devices named as the group's partitions
truncate -s 40M "$W/p1" "$W/p2"
P1=$(losetup -f --show "$W/p1") && P2=$(losetup -f --show "$W/p2") || { nok "losetup"; finish; exit 1; }
trap 'losetup -d "$LOOP" "$LOOP2" "$P1" "$P2" 2>/dev/null; _cleanup' EXIT
api POST /api/v1/groups '{"name":"lab3"}'
api PUT /api/v1/groups/lab3/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab3\n[Partition]\nDev = %s\nLabel = os\nSize = 40M\nId = 83\nFSType = ext4\n[Partition]\nDev = %s\nLabel = swap\nSize = 40M\nId = 82\nFSType = swap\n' "$P1" "$P2")"
bhc host set pc2 group=lab3 >/dev/null
api POST /api/v1/jobs '{"targets":{"hosts":["pc2"]},"steps":["format:2","format"]}'
J6=$(jq -r .id <<<"$BODY")
"$AGENT" run --server "$BH_URL" --ticket "$(ticket2)" --mac "$MAC2" --once --poll-ms 200 2>>"$W/agent2.log"
api GET "/api/v1/jobs/$J6"
st=$(jq -r '[.hosts[0].steps[].state] | join(" ")' <<<"$BODY")
eq "format:2 and format are done" "done done" "$st"
[ "$st" = "done done" ] || diag "$(jq -r '.hosts[0].steps[].error' <<<"$BODY")"
eq "partition 1 is ext4 labelled os" "ext4 os" "$(blkid -o value -s TYPE "$P1") $(blkid -o value -s LABEL "$P1")"
eq "partition 2 is swap labelled swap" "swap swap" "$(blkid -o value -s TYPE "$P2") $(blkid -o value -s LABEL "$P2")"
MISSING=/dev/bh-test-missing-$$
api PUT /api/v1/groups/lab3/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$(printf '[LINBO]\nServer = 192.0.2.1\nGroup = lab3\n[Partition]\nDev = %s\nSize = 40M\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg\nRoot = %s\n' "$MISSING" "$MISSING")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc2"]},"steps":["sync:1"]}'
J7=$(jq -r .id <<<"$BODY")
"$AGENT" run --server "$BH_URL" --ticket "$(ticket2)" --mac "$MAC2" --once --poll-ms 200 2>>"$W/agent2.log"
contains "sync onto a Root that does not exist fails clearly" "No such file" "$(bhc job show "$J7")"
check "  ... and makes no file in /dev" test ! -e "$MISSING"

# ---- a used ticket ----------------------------------------------------------------
T=$(ticket)
"$AGENT" run --server "$BH_URL" --ticket "$T" --mac "$MAC" --once >/dev/null 2>&1
"$AGENT" run --server "$BH_URL" --ticket "$T" --mac "$MAC" --once 2>"$W/used.log"
eq "a used ticket: the agent exits 1" 1 "$?"
contains "  ... saying why" "used already" "$(cat "$W/used.log")"
finish
