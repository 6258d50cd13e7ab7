#!/bin/bash
# jobs_sched.sh - when a job's steps may start, seen by agents (curl with
# host tokens, as the agent asks): at:TIME not before that time;
# next-boot only after the host booted again (a new agent session);
# parallel N at most N hosts in the middle of the job at once, the others
# waiting their turn.
source "$(dirname "$0")/../lib/harness.sh"
bh_start || { nok "daemon starts"; finish; exit 1; }
check "profile with a ticket" bhc profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}"
for i in 1 2 3; do
    check "host pc$i" bhc host add "52:54:00:cc:00:0$i" name="pc$i" profile=agentos
done
# a boot: a fresh ticket (made by hand: loopback is not a booting machine), traded for a host token
boot() {
    local mac=$1 t
    t=$(bhc host ticket "$mac")
    curl -s -X POST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
        -d "{\"mac\":\"$mac\",\"ticket\":\"$t\",\"inventory\":{}}" | jq -r .token
}
next() { api GET /api/v1/agent/task "" "$1"; }
report() { api POST "/api/v1/agent/tasks/$2" "{\"state\":\"$3\"}" "$1"; }
T1=$(boot 52:54:00:cc:00:01)
T2=$(boot 52:54:00:cc:00:02)
T3=$(boot 52:54:00:cc:00:03)

# ---- at:TIME
AT=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
api POST /api/v1/jobs "{\"targets\":{\"hosts\":[\"pc1\"]},\"steps\":[\"reboot\"],\"when\":\"at:$AT\"}"
eq "a job at:$AT is made" 201 "$STATUS"
api GET "/api/v1/jobs/$(jq -r .id <<<"$BODY")"
eq "a host whose agent never asked waits for the host" waiting-for-host "$(jq -r '.hosts[0].state' <<<"$BODY")"
JAT=$(jq -r .id <<<"$BODY")
next "$T1"
eq "before its time the host gets no step" 204 "$STATUS"
api GET "/api/v1/jobs/$JAT"
eq "  ... once its agent asks, the host is queued (its agent is there)" queued "$(jq -r '.hosts[0].state' <<<"$BODY")"
sleep 4
next "$T1"
eq "after its time it does" "200 reboot" "$STATUS $(jq -r .step <<<"$BODY")"
report "$T1" "$(jq -r .task <<<"$BODY")" done

# ---- next-boot
api POST /api/v1/jobs '{"targets":{"hosts":["pc2"]},"steps":["halt"],"when":"next-boot"}'
eq "a next-boot job is made" 201 "$STATUS"
next "$T2"
eq "the agent that was up before gets no step" 204 "$STATUS"
sleep 0.1
T2=$(boot 52:54:00:cc:00:02)
next "$T2"
eq "after the host booted again it gets the step" "200 halt" "$STATUS $(jq -r .step <<<"$BODY")"
report "$T2" "$(jq -r .task <<<"$BODY")" done

# ---- parallel 1: one host at a time, its whole list, then the next
api POST /api/v1/jobs '{"targets":{"hosts":["pc1","pc2","pc3"]},"steps":["reboot","halt"],"parallel":1}'
J=$(jq -r .id <<<"$BODY")
eq "a job for three hosts, one at a time" 201 "$STATUS"
next "$T1"
eq "pc1 gets its first step" "200 reboot" "$STATUS $(jq -r .step <<<"$BODY")"
A=$(jq -r .task <<<"$BODY")
next "$T2"
eq "pc2, asking in the same instant, is offered its first step too" "200 reboot" "$STATUS $(jq -r .step <<<"$BODY")"
B0=$(jq -r .task <<<"$BODY")
report "$T1" "$A" running # (the agent says so at once)
eq "pc1 starts it" 200 "$STATUS"
report "$T2" "$B0" running
eq "pc2 may not: the start is where the limit holds (409)" 409 "$STATUS"
contains "  ... saying why" "parallel limit" "$BODY"
next "$T2"
eq "pc2 waits while pc1 is running" 204 "$STATUS"
next "$T3"
eq "  ... and so does pc3" 204 "$STATUS"
report "$T1" "$A" done
next "$T3"
eq "pc3 still waits while pc1 is between its steps" 204 "$STATUS"
next "$T1"
eq "pc1 goes on with its second step" "200 halt" "$STATUS $(jq -r .step <<<"$BODY")"
report "$T1" "$(jq -r .task <<<"$BODY")" done
next "$T3"
eq "when pc1 is through, the next host's turn comes" "200 reboot" "$STATUS $(jq -r .step <<<"$BODY")"
B=$(jq -r .task <<<"$BODY")
api POST "/api/v1/agent/tasks/$B" '{"state":"failed","error":"test"}' "$T3"
next "$T2"
eq "a host that failed frees its place" "200 reboot" "$STATUS $(jq -r .step <<<"$BODY")"

# ---- Autostart: a machine that boots with nothing to do does DefaultAction
SC=$'[LINBO]\nServer = 192.0.2.1\nGroup = auto\n[Partition]\nDev = /dev/sda1\nSize = 10G\nId = 83\nFSType = ext4\n[OS]\nName = Other\nBaseImage = other\nRoot = /dev/sda1\n[OS]\nName = Test OS\nBaseImage = testimg\nRoot = /dev/sda1\nAutostart = yes\nAutostartTimeout = 2\nDefaultAction = sync\n'
api POST /api/v1/groups '{"name":"auto"}'
api PUT /api/v1/groups/auto/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$SC"
eq "a group whose OS 2 starts by itself" 200 "$STATUS"
check "host pc4 in it" bhc host add 52:54:00:cc:00:04 name=pc4 profile=agentos group=auto
api GET "/api/v1/jobs?limit=100"
n0=$(jq '.items | length' <<<"$BODY")
T4=$(boot 52:54:00:cc:00:04)
api GET "/api/v1/jobs?limit=100"
eq "its boot made one job" "$((n0 + 1))" "$(jq '.items | length' <<<"$BODY")"
JA=$(jq -r '(.items)[0].id' <<<"$BODY")
api GET "/api/v1/jobs/$JA"
eq "  ... sync, postsync and start of OS 2" "sync:2 postsync:2 start:2" "$(jq -r '[.hosts[0].steps[].step] | join(" ")' <<<"$BODY")"
eq "  ... made by autostart" autostart "$(jq -r .created_by <<<"$BODY")"
next "$T4"
eq "  ... after AutostartTimeout (not yet)" 204 "$STATUS"
sleep 2.5
next "$T4"
eq "  ... and then it runs" "200 sync:2" "$STATUS $(jq -r .step <<<"$BODY")"
api POST "/api/v1/jobs/$JA/cancel"
api POST /api/v1/jobs '{"targets":{"hosts":["pc4"]},"steps":["halt"]}'
T4=$(boot 52:54:00:cc:00:04)
api GET "/api/v1/jobs?limit=100"
eq "a machine with a job waiting does not autostart" "$((n0 + 2))" "$(jq '.items | length' <<<"$BODY")"
T1=$(boot 52:54:00:cc:00:01)
api GET "/api/v1/jobs?limit=100"
eq "nor does one whose group has no Autostart" "$((n0 + 2))" "$(jq '.items | length' <<<"$BODY")"
finish
