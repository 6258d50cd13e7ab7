#!/bin/bash
# jobs.sh - jobs through the API and the CLI: targets by host, room, group
# and label selector; step syntax; roles; cancel and retry; events.  What
# is checked before a job is accepted (refusals, wake reports, waiting
# reasons) is in jobs_check.sh.
source "$(dirname "$0")/../lib/harness.sh"
bh_start || { nok "daemon starts"; finish; exit 1; }

# start.conf: win has one OS entry and two partitions, lab two OS entries
startconf() { # GROUP NOS
    local sc=$'[LINBO]\nServer = 192.0.2.1\n[Partition]\nDev = /dev/sda1\nSize = 10G\nFSType = ext4\n[Partition]\nDev = /dev/sda2\nFSType = ext4\n' n
    for n in $(seq 1 "$2"); do sc+=$'[OS]\nName = OS '"$n"$'\nBaseImage = os'"$n"$'.qcow2\nRoot = /dev/sda1\n'; done
    api PUT "/api/v1/groups/$1/start.conf" "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$sc"
    eq "group $1 with $2 OS entries" 200 "$STATUS"
}
check "room r101" bhc room add r101
check "group lab" bhc group add lab
check "group win" bhc group add win
startconf lab 2
startconf win 1
# sync:N and new:N deploy OS N's image: it needs a version
W=$(tmpdir)
head -c 65536 /dev/urandom >"$W/os.raw"
check "image os1 imported" bhc image import os1 "$W/os.raw"
check "image os2 imported" bhc image import os2 "$W/os.raw"
for i in 1 2 3 4; do
    bhc host add "52:54:00:00:10:0$i" name="pc0$i" room=r101 group=win >/dev/null
done
bhc host set pc04 room= group=lab labels='{"role":"kiosk"}' >/dev/null
api GET /api/v1/hosts/pc04
eq "pc04 is in group lab only" "lab" "$(jq -r .group <<<"$BODY")"

# ---- create, by every kind of target ----------------------------------------
api POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["partition","format","sync:1","start:1"],"wake":true}'
eq "a job for a room: 201" 201 "$STATUS"
J1=$(jq -r .id <<<"$BODY")
eq "every host of the room has the job" "pc01 pc02 pc03" "$(jq -r '[.hosts[].name] | join(" ")' <<<"$BODY")"
eq "each host has the steps in order" "partition format sync:1 start:1" "$(jq -r '[.hosts[0].steps[].step] | join(" ")' <<<"$BODY")"
eq "a new job is queued" queued "$(jq -r .state <<<"$BODY")"
# these hosts have no address and the server no [dhcp] interface: nothing
# may be sent from this test (wol.sh sends, inside its own namespaces)
check "wake: true answers per host (here: skipped, with the reason)" jq -e '.wake.skipped | length == 3 and all(.why | length > 0)' <<<"$BODY"
contains "Location names the job" "/api/v1/jobs/$J1" "$HDRS"
api POST /api/v1/jobs '{"targets":{"group":"lab","hosts":["pc01","52:54:00:00:10:01"]},"steps":["sync:1"]}'
eq "group + hosts, duplicates once" "pc01 pc04" "$(jq -r '[.hosts[].name] | sort | join(" ")' <<<"$BODY")"
api POST /api/v1/jobs '{"targets":{"selector":"role=kiosk"},"steps":["reboot"]}'
eq "a label selector picks pc04" "pc04" "$(jq -r '[.hosts[].name] | join(" ")' <<<"$BODY")"
out=$(bhc job run --room r101 --wake new:1 start:1)
check "bootherd job run" test $? -eq 0
contains "job run prints the hosts" "pc03" "$out"

# ---- validation -----------------------------------------------------------------
expect "unknown step: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["explode"]}'
contains "  ... naming what is accepted" "partition, format" "$BODY"
expect "sync without N: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["sync"]}'
expect "N out of range: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["start:0"]}'
expect "no steps: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":[]}'
api POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["reboot","start:0"]}'
eq "a bad step is named by its index: steps[1]" "422 steps[1]" "$STATUS $(jq -r .field <<<"$BODY")"

# ---- steps against the target hosts' groups (more in jobs_check.sh) ---------------
R0=$(curl -s "$BH_URL/ready" | jq -r .revision)
api POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["partition","sync:9"]}'
eq "sync:9 for a group with one OS entry: 422 at steps[1]" "422 steps[1]" "$STATUS $(jq -r .field <<<"$BODY")"
eq "  ... per host, naming the group and how many OS entries it has" \
    "pc01 pc02 pc03|group win has no OS entry 9 (it has 1)" \
    "$(jq -r '([.errors[].host] | join(" ")) + "|" + ([.errors[].reason] | unique | join(";"))' <<<"$BODY")"
for s in "new:2" "create_image:2:note" "start:2" "postsync:2" "format:3"; do
    api POST /api/v1/jobs "{\"targets\":{\"room\":\"r101\"},\"steps\":[\"$s\"]}"
    eq "$s is checked too" 422 "$STATUS"
done
eq "  ... nothing written by any of them" "$R0" "$(curl -s "$BH_URL/ready" | jq -r .revision)"
bhc host add 52:54:00:00:10:05 name=pc05 >/dev/null
bhc group add bare >/dev/null
expect "steps that need no start.conf run anywhere" 201 POST /api/v1/jobs '{"targets":{"hosts":["pc05"]},"steps":["reboot","halt"]}'
out=$(bhc job run --host pc01 sync:5 2>&1)
check "bootherd job run refuses it too" test $? -ne 0
contains "  ... with the server's message" "group win has no OS entry 5 (it has 1)" "$out"
expect "unknown host: 422" 422 POST /api/v1/jobs '{"targets":{"hosts":["nope"]},"steps":["reboot"]}'
contains "  ... naming it" "nope" "$BODY"
expect "unknown room: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r999"},"steps":["reboot"]}'
expect "a selector matching nothing: 422" 422 POST /api/v1/jobs '{"targets":{"selector":"role=nothing"},"steps":["reboot"]}'
expect "an unknown field: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["reboot"],"colour":"red"}'
expect "a bad time: 422" 422 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["reboot"],"when":"at:tomorrow"}'
expect "at:TIME accepted" 201 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["reboot"],"when":"at:2026-12-01T06:30:00Z"}'
expect "next-boot accepted" 201 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["reboot"],"when":"next-boot"}'

# ---- roles ----------------------------------------------------------------
OP=$(mktoken op1 operator)
VIEW=$(mktoken view1 viewer)
expect "a viewer may list jobs" 200 GET /api/v1/jobs "" "$VIEW"
expect "a viewer may not create one" 403 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["halt"]}' "$VIEW"
expect "an operator may not run a shell step" 403 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["shell:id"]}' "$OP"
expect "an admin may" 201 POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["shell:id"]}'

# ---- cancel, retry, list, show ------------------------------------------------
api POST "/api/v1/jobs/$J1/cancel"
eq "cancel: 200" 200 "$STATUS"
eq "a cancelled job" cancelled "$(jq -r .state <<<"$BODY")"
eq "every step cancelled" "cancelled" "$(jq -r '[.hosts[].steps[].state] | unique | join(" ")' <<<"$BODY")"
out=$(bhc job retry "$J1")
contains "job retry: queued again" "queued" "$out"
out=$(bhc job ls)
contains "job ls lists the steps" "partition format sync:1 start:1" "$out"
out=$(bhc --json job show "$J1")
eq "job show --json" "$J1" "$(jq -r .id <<<"$out")"
expect "unknown job: 404" 404 GET /api/v1/jobs/999999
expect "job id not a number: 404" 404 GET /api/v1/jobs/abc
api GET "/api/v1/events?since=0&limit=1000"
check "job events are on the stream" jq -e "[.items[] | select(.kind == \"job\" and .key == \"$J1\") | .type] | index(\"created\") and index(\"cancelled\") and index(\"retried\")" <<<"$BODY"
api GET "/api/v1/audit?kind=job&key=$J1"
check "job changes are audited" jq -e '.items | length >= 3' <<<"$BODY"
finish
