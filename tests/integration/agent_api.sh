#!/bin/bash
# agent_api.sh - the client agent's side of the API, driven with curl as
# the agent would: the boot ticket from the iPXE script, hello (once per
# ticket), a host token that reaches only the agent endpoints and its
# group's images, tasks taken in order with progress, failure and a report
# on another host's task refused.
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
check "another host" bhc host add "$OTHER" name=pc2 profile=agentos

ticket_of() { # MAC: the ticket in that machine's iPXE script
    curl -s "$BH_URL/boot/ipxe?mac=$1" | sed -n 's/.*bootherd\.ticket=\([^ ]*\).*/\1/p' | head -1
}
T1=$(ticket_of "$MAC")
check "the iPXE script carries a ticket" test -n "$T1"
T2=$(ticket_of "$MAC")
check "each script has a fresh ticket" test "$T1" != "$T2"

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
api GET /api/v1/hosts/pc1/events
check "the inventory is on the host's timeline" jq -e '[.events[] | select(.type == "agent.hello")][0].data.disks[0].size == 2147483648' <<<"$BODY"

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
expect "progress report" 200 POST "/api/v1/agent/tasks/$TK" '{"state":"running","progress":{"phase":"sfdisk","done":1,"total":3}}' "$HT"
eq "the job runs" running "$(jq -r .state <<<"$BODY")"
expect "done" 200 POST "/api/v1/agent/tasks/$TK" '{"state":"done"}' "$HT"
api GET /api/v1/agent/task "" "$HT"
eq "then sync:1" "sync:1" "$(jq -r .step <<<"$BODY")"
TK2=$(jq -r .task <<<"$BODY")
expect "failed needs an error text" 422 POST "/api/v1/agent/tasks/$TK2" '{"state":"failed"}' "$HT"
expect "a bad state: 422" 422 POST "/api/v1/agent/tasks/$TK2" '{"state":"sleeping"}' "$HT"
expect "failed, with the reason" 200 POST "/api/v1/agent/tasks/$TK2" '{"state":"failed","error":"sync:1: /dev/sda1: chunk 12ab... does not match its id"}' "$HT"
api GET "/api/v1/jobs/$JOB"
eq "pc1 failed" failed "$(jq -r '.hosts[] | select(.name == "pc1") | .state' <<<"$BODY")"
eq "its later step is cancelled" cancelled "$(jq -r '.hosts[] | select(.name == "pc1") | .steps[2].state' <<<"$BODY")"
eq "pc2 goes on: its agent has not asked yet, so it waits for the host" waiting-for-host "$(jq -r '.hosts[] | select(.name == "pc2") | .state' <<<"$BODY")"
contains "the operator sees the reason" "does not match its id" "$(bhc job show "$JOB")"
PC2TASK=$(jq -r '.hosts[] | select(.name == "pc2") | .steps[0].task' <<<"$BODY")
expect "a report on another host's task: 409" 409 POST "/api/v1/agent/tasks/$PC2TASK" '{"state":"done"}' "$HT"
expect "a finished task cannot be reported again: 409" 409 POST "/api/v1/agent/tasks/$TK" '{"state":"running"}' "$HT"
expect "no more tasks for pc1 (204)" 204 GET /api/v1/agent/task "" "$HT"
check "the agent key is the server's secret (0600)" test "$(stat -c %a "$BH_DATA/agent.key")" = 600
finish
