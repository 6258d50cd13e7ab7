#!/bin/bash
# agent_api.sh - the client agent's side of the API, driven with curl as
# the agent would: a boot ticket (made by hand here: the iPXE script gives
# one only to the machine that is booting, which loopback is not; see
# boot_proof.sh and the QEMU labs), hello (once per ticket), a host token
# that reaches only the agent endpoints and its group's images and ends at
# the host's next boot, tasks taken in order with progress, failure, a
# report on another host's task refused, and a step that belongs to the
# agent session that started it.
source "$(dirname "$0")/../lib/harness.sh"
bh_start || { nok "daemon starts"; finish; exit 1; }
MAC=52:54:00:aa:00:01
OTHER=52:54:00:aa:00:02

check "profile with a ticket in its command line" bhc profile add agentos kernel=client/vmlinuz \
    "cmdline=console=ttyS0 bootherd.server={{http_base}} bootherd.ticket={{ticket}}"
SC=$'[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = /dev/sda1\nSize = 10G\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg.qcow2\nRoot = /dev/sda1\n'
api POST /api/v1/groups '{"name":"lab"}'
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$SC"
eq "group lab with an OS entry for testimg" 200 "$STATUS"
check "host in group lab booting the agent profile" bhc host add "$MAC" name=pc1 group=lab profile=agentos
check "another host" bhc host add "$OTHER" name=pc2 group=lab profile=agentos

# ---- who gets a ticket --------------------------------------------------------
SCRIPT=$(curl -s "$BH_URL/boot/ipxe?mac=$MAC")
contains "the iPXE script asked for from a foreign address still boots the profile" "client/vmlinuz" "$SCRIPT"
check "  ... but carries no ticket" bash -c '! grep -q "bootherd.ticket=[^ ]" <<<"$1"' _ "$SCRIPT"
sleep 0.5 # the boot worker writes the timeline in batches
api GET /api/v1/hosts/pc1/events
check "  ... and the host's boot log says why" jq -e '[.items[] | select(.type == "boot.ticket_refused")][0].data.why | test("this server itself")' <<<"$BODY"
expect "a viewer cannot make a ticket by hand" 403 POST /api/v1/hosts/pc1/ticket "" "$(mktoken v1 viewer)"
expect "  ... nor an operator" 403 POST /api/v1/hosts/pc1/ticket "" "$(mktoken o1 operator)"
ticket_of() { bhc host ticket "$1"; } # admin: a ticket by hand
T1=$(ticket_of "$MAC")
check "an admin makes a ticket by hand" test -n "$T1"
T2=$(ticket_of "$MAC")
check "each ticket made by hand is fresh" test "$T1" != "$T2"
api GET "/api/v1/audit?kind=host&key=$MAC"
check "  ... and audited with who made it" jq -e '[.items[] | select(.action == "agent.ticket")] | length == 2' <<<"$BODY"

hello() { api POST /api/v1/agent/hello "{\"mac\":\"$1\",\"ticket\":\"$2\",\"inventory\":{\"dmi\":{\"product\":\"Standard PC\"},\"disks\":[{\"name\":\"sda\",\"size\":2147483648}]}}" ""; }
hello "$OTHER" "$T1"
eq "a ticket for another machine: 401" 401 "$STATUS"
contains "  ... saying so" "another machine" "$BODY"
last=${T1: -1}
hello "$MAC" "${T1%?}$([ "$last" = 0 ] && echo 1 || echo 0)" # a different last hex digit
eq "a tampered ticket: 401" 401 "$STATUS"
hello "$MAC" "$T1"
eq "hello with the ticket: 200" 200 "$STATUS"
HT=$(jq -r .token <<<"$BODY")
eq "hello returns the host" pc1 "$(jq -r .host.name <<<"$BODY")"
eq "hello returns the group's OS entries" testimg.qcow2 "$(jq -r '.group.config.os[0].base_image' <<<"$BODY")"
hello "$MAC" "$T1"
eq "the same ticket twice: 401" 401 "$STATUS"
contains "  ... used already" "used already" "$BODY"
eq "the host token lives for its boot session (hours), not a week" 1 \
    "$(jq -r --argjson now "$(date +%s%3N)" '(.expires_ms - $now) / 3600000 | (. > 3.9 and . < 4.1)' <<<"$(curl -s -XPOST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' -d "{\"mac\":\"$MAC\",\"ticket\":\"$(ticket_of "$MAC")\"}")" | sed 's/true/1/')"
# that hello was a new boot: the token before it ended with it
expect "a host token ends at the host's next boot (401)" 401 GET /api/v1/agent/task "" "$HT"
hello "$MAC" "$T2"
HT=$(jq -r .token <<<"$BODY")
expect "  ... the new boot's token works" 204 GET /api/v1/agent/task "" "$HT"
api GET /api/v1/hosts/pc1/events
check "the inventory is on the host's timeline" jq -e '[.items[] | select(.type == "agent.hello")][0].data.disks[0].size == 2147483648' <<<"$BODY"

# ---- what the host token may do ---------------------------------------------
expect "host token: no host list" 403 GET /api/v1/hosts "" "$HT"
expect "host token: no jobs" 403 POST /api/v1/jobs '{"targets":{"room":"x"},"steps":["halt"]}' "$HT"
expect "host token: no task yet (204)" 204 GET /api/v1/agent/task "" "$HT"
expect "admin token: not an agent (403)" 403 GET /api/v1/agent/task
head -c 200000 /dev/urandom >"$TEST_TMP/t.raw"
bhc image import testimg "$TEST_TMP/t.raw" >/dev/null 2>&1
bhc image import otherimg "$TEST_TMP/t.raw" >/dev/null 2>&1
expect "host token reads its group's image manifest" 200 GET /api/v1/images/testimg/versions/latest/manifest "" "$HT"
expect "  ... but not another image's" 403 GET /api/v1/images/otherimg/versions/latest/manifest "" "$HT"
curl -s -H "Authorization: Bearer $HT" "$BH_URL/api/v1/images/testimg/versions/latest/manifest" -o "$TEST_TMP/m"
chunk=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); print(next(b[o+16:o+48].hex() for o in range(64,len(b),48) if b[o]==0))' "$TEST_TMP/m")
expect "host token reads chunks" 200 GET "/api/v1/chunks/$chunk" "" "$HT"
expect "no token: no chunk" 401 GET "/api/v1/chunks/$chunk" "" ""

# ---- tasks -----------------------------------------------------------------
api POST /api/v1/jobs '{"targets":{"hosts":["pc1","pc2"]},"steps":["partition","sync:1","start:1"]}'
JOB=$(jq -r .id <<<"$BODY")
api GET /api/v1/agent/task "" "$HT"
eq "the first step comes first" partition "$(jq -r .step <<<"$BODY")"
TK=$(jq -r .task <<<"$BODY")
R_TASK=$(curl -s "$BH_URL/ready" | jq -r .revision)
expect "progress report" 200 POST "/api/v1/agent/tasks/$TK" '{"state":"running","progress":{"phase":"sfdisk","done":1,"total":3,"rate":2}}' "$HT"
eq "the job runs" running "$(jq -r .state <<<"$BODY")"
# the progress event carries the task, so a console updates that host alone
VIEWER=$(mktoken evviewer viewer)
api GET "/api/v1/events?since=$R_TASK&kind=job" "" "$VIEWER"
eq "a viewer sees the progress event with its task" \
    "progress $JOB running $TK $MAC pc1 partition running sfdisk 1 null running" \
    "$(jq -r '.items[0] | "\(.type) \(.data.id) \(.data.state) \(.data.task.id) \(.data.task.host) \(.data.task.name) \(.data.task.step) \(.data.task.state) \(.data.task.progress.phase) \(.data.task.eta_s) \(.data.task.error) \(.data.host_state)"' <<<"$BODY")"
expect "a host token reads no events, task or not" 403 GET "/api/v1/events?since=$R_TASK" "" "$HT"
expect "done" 200 POST "/api/v1/agent/tasks/$TK" '{"state":"done"}' "$HT"
api GET /api/v1/agent/task "" "$HT"
eq "then sync:1" "sync:1" "$(jq -r .step <<<"$BODY")"
TK2=$(jq -r .task <<<"$BODY")
expect "failed needs an error text" 422 POST "/api/v1/agent/tasks/$TK2" '{"state":"failed"}' "$HT"
expect "a bad state: 422" 422 POST "/api/v1/agent/tasks/$TK2" '{"state":"sleeping"}' "$HT"
R_FAIL=$(curl -s "$BH_URL/ready" | jq -r .revision)
expect "failed, with the reason" 200 POST "/api/v1/agent/tasks/$TK2" '{"state":"failed","error":"sync:1: /dev/sda1: chunk 12ab... does not match its id"}' "$HT"
api GET "/api/v1/events?since=$R_FAIL&kind=job" "" "$VIEWER"
eq "the failed event carries the task, its error and the host's state" \
    "failed $TK2 sync:1 failed failed" \
    "$(jq -r '.items[0] | "\(.type) \(.data.task.id) \(.data.task.step) \(.data.task.state) \(.data.host_state)"' <<<"$BODY")"
contains "  ... the error" "does not match its id" "$(jq -r '.items[0].data.task.error' <<<"$BODY")"
api GET "/api/v1/jobs/$JOB"
eq "pc1 failed" failed "$(jq -r '.hosts[] | select(.name == "pc1") | .state' <<<"$BODY")"
eq "its later step is cancelled" cancelled "$(jq -r '.hosts[] | select(.name == "pc1") | .steps[2].state' <<<"$BODY")"
eq "pc2 goes on: its agent has not asked yet, so it waits for the host" waiting-for-host "$(jq -r '.hosts[] | select(.name == "pc2") | .state' <<<"$BODY")"
contains "the operator sees the reason" "does not match its id" "$(bhc job show "$JOB")"
PC2TASK=$(jq -r '.hosts[] | select(.name == "pc2") | .steps[0].task' <<<"$BODY")
expect "a report on another host's task: 409" 409 POST "/api/v1/agent/tasks/$PC2TASK" '{"state":"done"}' "$HT"
expect "a finished task cannot be reported again: 409" 409 POST "/api/v1/agent/tasks/$TK" '{"state":"running"}' "$HT"
expect "no more tasks for pc1 (204)" 204 GET /api/v1/agent/task "" "$HT"

# ---- a step belongs to the agent session that started it --------------------
api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["partition","halt"]}'
api GET /api/v1/agent/task "" "$HT"
TK3=$(jq -r .task <<<"$BODY")
expect "session 1 starts the step" 200 POST "/api/v1/agent/tasks/$TK3" '{"state":"running"}' "$HT"
hello "$MAC" "$(ticket_of "$MAC")"
HT2=$(jq -r .token <<<"$BODY")
expect "session 1's token is gone with the new boot" 401 POST "/api/v1/agent/tasks/$TK3" '{"state":"done"}' "$HT"
expect "session 2 may not report session 1's step done: 409" 409 POST "/api/v1/agent/tasks/$TK3" '{"state":"done"}' "$HT2"
contains "  ... saying who holds it" "claimed by agent session" "$BODY"
api GET /api/v1/hosts/pc1/events
check "  ... and the host's timeline shows the conflict" jq -e --argjson t "$TK3" '[.items[] | select(.type == "agent.conflict")][0].data.task == $t' <<<"$BODY"
expect "session 2 starts the step again (the holder has ended): 200" 200 POST "/api/v1/agent/tasks/$TK3" '{"state":"running"}' "$HT2"
expect "  ... and finishes it" 200 POST "/api/v1/agent/tasks/$TK3" '{"state":"done"}' "$HT2"
expect "the host token works until ..." 200 GET /api/v1/agent/task "" "$HT2"
check "  ... the host is deleted" bhc host rm pc1
expect "  ... and then no more (401)" 401 GET /api/v1/agent/task "" "$HT2"
check "the agent key is the server's secret (0600)" test "$(stat -c %a "$BH_DATA/agent.key")" = 600
finish
