#!/bin/bash
# console_api.sh - what the web console reads and writes (issue 10), with
# curl and jq against a real daemon: the dashboard's counts
# (GET /api/v1/summary), machines that booted and are not registered (state
# new: MAC, first seen, firmware), registering many at once by name
# pattern (all or nothing, one event and audit record per host, roles),
# hosts with their current step (include=activity, eta_s) and search (q=)
# together with filters, selectors, sort and paging, eta_s in a job, and
# images with their usage and each version's new bytes (kept across a
# restart).  Bad input gets a precise 4xx and writes nothing.
source "$(dirname "$0")/../lib/harness.sh"
bh_start || { nok "daemon starts"; finish; exit 1; }
W=$(tmpdir)

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }
# wait_host MAC: until the boot worker has written the host (it batches)
wait_host() {
    local i
    for i in $(seq 1 200); do
        api GET "/api/v1/hosts/$1"
        [ "$STATUS" == 200 ] && return 0
        sleep 0.02
    done
    return 1
}

check "room r101" bhc room add r101
check "room r102" bhc room add r102
api POST /api/v1/groups '{"name":"lab"}'
SC=$'[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = /dev/sda1\nSize = 10G\nId = 83\nFSType = ext4\n[OS]\nName = Test OS\nBaseImage = testimg.qcow2\nRoot = /dev/sda1\n'
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$SC"
eq "group lab whose OS entry names image testimg" 200 "$STATUS"
check "group other" bhc group add other
check "a known host named r101-pc09" bhc host add 52:54:00:c0:00:09 name=r101-pc09 room=r102

# ---- New devices: machines that booted, in state new --------------------------
# three machines fetch their iPXE script (unknown_hosts = register), one at
# a time so that first seen differs from MAC order: 03, then 01, then 02
M1=52:54:00:c0:00:01 M2=52:54:00:c0:00:02 M3=52:54:00:c0:00:03 M4=52:54:00:c0:00:04
for m in $M3 $M1 $M2; do
    curl -s "$BH_URL/boot/ipxe?mac=$m&arch=x86_64&platform=efi" >/dev/null
    wait_host "$m" || nok "host $m registered by its boot"
done
curl -s "$BH_URL/boot/ipxe?mac=$M4&arch=i386&platform=pcbios" >/dev/null
wait_host "$M4" || nok "host $M4 registered by its boot"
api GET "/api/v1/hosts?state=new&sort=created_at"
eq "new devices in first-seen order" "$M3 $M1 $M2 $M4" "$(jq -r '[.items[].mac] | join(" ")' <<<"$BODY")"
check "  ... each with when it was first seen" jq -e 'all(.items[]; .created_at | test("^20"))' <<<"$BODY"
eq "  ... and its firmware and arch from the boot request" "uefi x86_64,uefi x86_64,uefi x86_64,bios i386" \
    "$(jq -r '[.items[] | "\(.hardware.firmware) \(.arch)"] | join(",")' <<<"$BODY")"
# a new machine that boots again stays new (only its last_seen moves)
curl -s "$BH_URL/boot/ipxe?mac=$M1&arch=x86_64&platform=efi" >/dev/null
for _ in $(seq 1 100); do
    api GET "/api/v1/hosts/$M1"
    [ "$(jq -r .last_seen <<<"$BODY")" != null ] && break
    sleep 0.02
done
eq "a new machine booting again stays new, its last_seen set" "new true" \
    "$(jq -r '"\(.state) \(.last_seen != null)"' <<<"$BODY")"

# ---- the summary ------------------------------------------------------------
VIEW=$(mktoken view1 viewer)
OP=$(mktoken op1 operator)
api GET /api/v1/summary "" "$VIEW"
eq "summary: 200 for a viewer" 200 "$STATUS"
S=$BODY
eq "summary: hosts by state" '{"booting":0,"known":1,"new":4,"offline":0,"up":0}' "$(jq -cS .hosts.by_state <<<"$S")"
eq "summary: total, busy, failed" "5 0 0" "$(jq -r '"\(.hosts.total) \(.hosts.busy) \(.hosts.failed)"' <<<"$S")"
eq "summary: rooms, groups, profiles, images" "2 2 0 0" "$(jq -r '"\(.rooms) \(.groups) \(.profiles) \(.images)"' <<<"$S")"
eq "summary: no jobs" '{"running":0,"waiting":0}' "$(jq -cS .jobs <<<"$S")"
check "summary: its revision is one the server has reached" test "$(jq -r .rev <<<"$S")" -le "$(revision)"
check "summary: the image store's figures" jq -e '.store | has("chunks") and has("stored_bytes") and has("logical_bytes") and has("dedup_ratio")' <<<"$S"
eq "summary: boot services (no DHCP interface here)" '"off" [] 0 0' \
    "$(jq -r '"\(.boot.dhcp_mode | tojson) \(.boot.interfaces | tojson) \(.boot.leases) \(.boot.tftp_transfers)"' <<<"$S")"
check "summary: boot HTTP connections counted" jq -e '.boot.http_connections | type == "number"' <<<"$S"
check "summary: nothing of the settings (addresses, ranges, policies)" \
    jq -e '[paths | map(tostring) | join(".")] | map(select(test("server_ip|http_base|subnet|range|unknown_hosts"))) | length == 0' <<<"$S"
api GET "/api/v1/summary?room=r102" "" "$VIEW"
eq "summary of one room" "1 r102" "$(jq -r '"\(.hosts.total) \(.room)"' <<<"$BODY")"
eq "  ... its hosts by state" '{"booting":0,"known":1,"new":0,"offline":0,"up":0}' "$(jq -cS .hosts.by_state <<<"$BODY")"
expect "summary of a room that does not exist: 404" 404 GET "/api/v1/summary?room=nope" "" "$VIEW"
eq "  ... naming the room" room "$(jq -r .field <<<"$BODY")"
expect "summary with an unknown parameter: 400" 400 GET "/api/v1/summary?rooom=r101" "" "$VIEW"
expect "summary without a token: 401" 401 GET /api/v1/summary "" ""

# ---- register: bad input writes nothing --------------------------------------
R0=$(revision)
reg() { api POST /api/v1/hosts/register "$1" "${2-$BH_TOKEN}"; }
bad_reg() { # NAME FIELD BODY [TOKEN]: a 422 whose field is FIELD
    reg "$3" "${4-$BH_TOKEN}"
    if [ "$STATUS" == 422 ] && [ "$(jq -r .field <<<"$BODY")" == "$2" ]; then
        ok "$1"
    else
        nok "$1"; diag "want 422 field $2, got $STATUS: $BODY"
    fi
}
THREE="\"$M1\",\"$M2\",\"$M3\""
bad_reg "register: a pattern without a range" pattern "{\"hosts\":[$THREE],\"pattern\":\"r101-pc\"}"
bad_reg "register: {a..b} is not a range" pattern "{\"hosts\":[$THREE],\"pattern\":\"pc{a..b}\"}"
bad_reg "register: two ranges" pattern "{\"hosts\":[$THREE],\"pattern\":\"pc{1..3}-{1..3}\"}"
bad_reg "register: not enough numbers in the range" pattern "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{1..2}\"}"
contains "  ... saying how many it gives" "gives 2 names (r101-pc1 to r101-pc2), but 3 hosts" "$(jq -r .detail <<<"$BODY")"
bad_reg "register: names that are no host names" pattern "{\"hosts\":[$THREE],\"pattern\":\"r101_pc{1..3}\"}"
bad_reg "register: one MAC that is no host" hosts "{\"hosts\":[\"$M1\",\"52:54:00:c0:00:99\",\"$M2\"],\"pattern\":\"r101-pc{01..30}\"}"
contains "  ... naming it" "52:54:00:c0:00:99" "$(jq -r .detail <<<"$BODY")"
bad_reg "register: a malformed MAC" "hosts[1]" "{\"hosts\":[\"$M1\",\"52:54:00:zz\"],\"pattern\":\"r101-pc{01..30}\"}"
bad_reg "register: a MAC twice (in another spelling)" "hosts[1]" "{\"hosts\":[\"$M1\",\"52-54-00-C0-00-01\"],\"pattern\":\"r101-pc{01..30}\"}"
bad_reg "register: a host that is not new" hosts "{\"hosts\":[\"$M1\",\"52:54:00:c0:00:09\"],\"pattern\":\"r101-pc{01..30}\"}"
eq "  ... its type" not-new "$(jq -r .type <<<"$BODY" | sed 's/.*://')"
contains "  ... naming it" "52:54:00:c0:00:09" "$(jq -r .detail <<<"$BODY")"
bad_reg "register: a name taken by another host" pattern "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{07..30}\"}"
contains "  ... naming the host that would get it" "$M3: " "$(jq -r .detail <<<"$BODY")"
contains "  ... and the name" "r101-pc09" "$(jq -r .detail <<<"$BODY")"
bad_reg "register: an unknown room" room "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\",\"room\":\"r999\"}"
bad_reg "register: an unknown group" group "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\",\"group\":\"nope\"}"
bad_reg "register: an unknown order" order "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\",\"order\":\"random\"}"
bad_reg "register: an unknown field" colour "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\",\"colour\":\"red\"}"
bad_reg "register: no pattern" pattern "{\"hosts\":[$THREE]}"
bad_reg "register: no hosts" hosts '{"hosts":[],"pattern":"r101-pc{01..30}"}'
reg '{"hosts":' 
eq "register: a body that is not JSON: 400" 400 "$STATUS"
reg "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\"}" "$VIEW"
eq "register: a viewer may not (403)" 403 "$STATUS"
reg "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\"}" ""
eq "register: no token (401)" 401 "$STATUS"
eq "refused registrations wrote nothing" "$R0" "$(revision)"
api GET "/api/v1/hosts?state=new"
eq "  ... the hosts are still new and unnamed" "4 0" "$(jq -r '"\(.items | length) \([.items[] | select(.name != null)] | length)"' <<<"$BODY")"

# ---- register: three hosts by first seen ------------------------------------
reg "{\"hosts\":[$THREE],\"pattern\":\"r101-pc{01..30}\",\"order\":\"first_seen\",\"room\":\"r101\",\"group\":\"lab\"}" "$OP"
eq "an operator registers three hosts: 200" 200 "$STATUS"
eq "  ... named in first-seen order" "$M3=r101-pc01 $M1=r101-pc02 $M2=r101-pc03" \
    "$(jq -r '[.hosts[] | "\(.mac)=\(.name)"] | join(" ")' <<<"$BODY")"
eq "  ... filed in the room and group, known" "r101 lab known" \
    "$(jq -r '[.hosts[] | "\(.room) \(.group) \(.state)"] | unique | join(",")' <<<"$BODY")"
eq "  ... one revision per host" "$((R0 + 3))" "$(revision)"
api GET "/api/v1/events?since=$R0"
eq "  ... one event per host" "$M3 $M1 $M2" "$(jq -r '[.items[] | select(.type == "updated") | .key] | join(" ")' <<<"$BODY")"
api GET "/api/v1/audit?kind=host&key=$M1" "" "$OP"
eq "  ... audited with who did it" op1 "$(jq -r '.items[0].actor' <<<"$BODY")"
api GET "/api/v1/hosts?state=new"
eq "  ... and they left New devices" "$M4" "$(jq -r '[.items[].mac] | join(" ")' <<<"$BODY")"
reg "{\"hosts\":[\"$M1\"],\"pattern\":\"x{1..1}\"}"
eq "registering a registered host again: 422 (not new)" 422 "$STATUS"

# order mac and given, on hosts made for it
for m in 52:54:00:c0:01:02 52:54:00:c0:01:01; do
    curl -s "$BH_URL/boot/ipxe?mac=$m" >/dev/null
    wait_host "$m" || nok "host $m registered by its boot"
done
reg '{"hosts":["52:54:00:c0:01:02","52:54:00:c0:01:01"],"pattern":"lab-{8..9}","order":"mac"}'
eq "order mac: by MAC, not as listed" "52:54:00:c0:01:01=lab-8 52:54:00:c0:01:02=lab-9" \
    "$(jq -r '[.hosts[] | "\(.mac)=\(.name)"] | join(" ")' <<<"$BODY")"
eq "  ... no room or group given: none set" "null null" "$(jq -r '"\(.hosts[0].room) \(.hosts[0].group)"' <<<"$BODY")"

# ---- hosts with their activity ----------------------------------------------
# (start:1, not sync:1: testimg has no version yet, and a job that deploys
# an image with none is refused; jobs_check.sh)
api POST /api/v1/jobs '{"targets":{"room":"r101"},"steps":["partition","start:1"]}'
eq "a job for room r101" 201 "$STATUS"
JOB=$(jq -r .id <<<"$BODY")
agent_token() {
    local t
    t=$(bhc host ticket "$1")
    curl -s -X POST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
        -d "{\"mac\":\"$1\",\"ticket\":\"$t\",\"inventory\":{}}" | jq -r .token
}
T1=$(agent_token "$M1") # r101-pc02: partition done, sync running
api GET /api/v1/agent/task "" "$T1"
api POST "/api/v1/agent/tasks/$(jq -r .task <<<"$BODY")" '{"state":"done"}' "$T1"
api GET /api/v1/agent/task "" "$T1"
TASK=$(jq -r .task <<<"$BODY")
api POST "/api/v1/agent/tasks/$TASK" '{"state":"running","progress":{"phase":"deploying","done":1000,"total":11000,"rate":400}}' "$T1"
eq "the agent reports progress" 200 "$STATUS"
T2=$(agent_token "$M2") # r101-pc03: partition fails
api GET /api/v1/agent/task "" "$T2"
api POST "/api/v1/agent/tasks/$(jq -r .task <<<"$BODY")" '{"state":"failed","error":"no disk"}' "$T2"

api GET "/api/v1/hosts?room=r101&include=activity&sort=name" "" "$VIEW"
eq "include=activity: 200 for a viewer" 200 "$STATUS"
A=$BODY
eq "each host's step and its state" "r101-pc01 partition queued,r101-pc02 start:1 running,r101-pc03 partition failed" \
    "$(jq -r '[.items[] | "\(.name) \(.activity.step) \(.activity.state)"] | join(",")' <<<"$A")"
eq "  ... the running one's progress and time left" "deploying 25" \
    "$(jq -r '.items[1].activity | "\(.progress.phase) \(.eta_s)"' <<<"$A")"
eq "  ... the job and task" "$JOB $TASK" "$(jq -r '.items[1].activity | "\(.job) \(.task)"' <<<"$A")"
eq "  ... the failed one's error" "no disk" "$(jq -r '.items[2].activity.error' <<<"$A")"
check "  ... each with when it last changed" jq -e 'all(.items[]; .activity.updated | test("^20"))' <<<"$A"
eq "  ... no time left for what does not run" "null null" "$(jq -r '"\(.items[0].activity.eta_s) \(.items[2].activity.eta_s)"' <<<"$A")"
api GET "/api/v1/hosts?room=r102&include=activity"
eq "a host that never ran a step: activity null" "r101-pc09 null" "$(jq -r '.items[0] | "\(.name) \(.activity)"' <<<"$BODY")"
api GET "/api/v1/hosts?room=r101&include=activity&sort=-name&limit=2&offset=1&count=true&selector=state=known"
eq "with sort, paging, count and a selector" "3 r101-pc02,r101-pc01 start:1,partition" \
    "$(jq -r '"\(.total) \([.items[].name] | join(",")) \([.items[].activity.step] | join(","))"' <<<"$BODY")"
api GET "/api/v1/hosts?q=PC02&include=activity"
eq "q: a part of the name, any case" "r101-pc02 running" "$(jq -r '[.items[] | "\(.name) \(.activity.state)"] | join(",")' <<<"$BODY")"
api GET "/api/v1/hosts?q=c0-00-03"
eq "q: a part of the MAC, spelt with dashes" "$M3" "$(jq -r '[.items[].mac] | join(" ")' <<<"$BODY")"
api GET "/api/v1/hosts?q=c00003"
eq "q: ... or without separators" "$M3" "$(jq -r '[.items[].mac] | join(" ")' <<<"$BODY")"
bhc host set r101-pc01 ip=192.0.2.61 >/dev/null
api GET "/api/v1/hosts?q=2.61&room=r101&count=true"
eq "q: a part of the address, with a filter" "1 r101-pc01" "$(jq -r '"\(.total) \(.items[0].name)"' <<<"$BODY")"
api GET "/api/v1/hosts?q=%25"
eq "q: '%' is only itself" 0 "$(jq '.items | length' <<<"$BODY")"
api GET "/api/v1/hosts?q=r101_pc"
eq "q: '_' is only itself" 0 "$(jq '.items | length' <<<"$BODY")"
expect "q: longer than 64 bytes: 400" 400 GET "/api/v1/hosts?q=$(printf 'a%.0s' $(seq 1 65))"
eq "  ... naming q" q "$(jq -r .field <<<"$BODY")"
expect "q: 64 bytes are fine" 200 GET "/api/v1/hosts?q=$(printf 'a%.0s' $(seq 1 64))"
expect "q: a control character: 400" 400 GET "/api/v1/hosts?q=a%01b"
expect "include: an unknown value: 400" 400 GET "/api/v1/hosts?include=jobs"
eq "  ... naming include" include "$(jq -r .field <<<"$BODY")"
expect "include: a known and an unknown value: 400" 400 GET "/api/v1/hosts?include=activity,jobs"
expect "include: empty: 400" 400 GET "/api/v1/hosts?include="
expect "an unknown parameter still: 400" 400 GET "/api/v1/hosts?inclde=activity"
contains "  ... the message lists q and include" "q, include" "$(jq -r .detail <<<"$BODY")"
expect "q on a kind without search fields: 400" 400 GET "/api/v1/rooms?q=r1"

# ---- the job: time left per host; the list's counts ---------------------------
api GET "/api/v1/jobs/$JOB" "" "$VIEW"
eq "job: eta_s per host (null unless a step runs)" "r101-pc01=null r101-pc02=25 r101-pc03=null" \
    "$(jq -r '[.hosts[] | "\(.name)=\(.eta_s)"] | sort | join(" ")' <<<"$BODY")"
api GET /api/v1/jobs "" "$VIEW"
eq "jobs list: counts by host state, one request" '{"failed":1,"queued":1,"running":1}' \
    "$(jq -cS --argjson id "$JOB" '.items[] | select(.id == $id) | .host_states' <<<"$BODY")"
api GET /api/v1/summary
eq "summary: busy, failed, jobs running" "1 1 1 0" \
    "$(jq -r '"\(.hosts.busy) \(.hosts.failed) \(.jobs.running) \(.jobs.waiting)"' <<<"$BODY")"
api POST /api/v1/jobs '{"targets":{"hosts":["lab-8"]},"steps":["reboot"]}'
api GET "/api/v1/summary?room=r101"
eq "summary: a job not begun is waiting; busy and failed of the room" "1 1 1 1" \
    "$(jq -r '"\(.hosts.busy) \(.hosts.failed) \(.jobs.running) \(.jobs.waiting)"' <<<"$BODY")"

# ---- images: usage, and what each version brings -------------------------------
head -c 400000 /dev/urandom >"$W/a.raw"
head -c 400000 /dev/urandom >"$W/b.raw"
bhc image import testimg "$W/a.raw" >/dev/null 2>&1
bhc image import testimg "$W/b.raw" >/dev/null 2>&1
bhc image import testimg "$W/a.raw" >/dev/null 2>&1 # back to a: nothing new
bhc image import spare "$W/b.raw" >/dev/null 2>&1
api GET /api/v1/images/testimg/versions "" "$VIEW"
V=$(jq .items <<<"$BODY")
eq "three versions" 3 "$(jq length <<<"$V")"
check "version 1 brings all it stores" jq -e '.[0].new_bytes == .[0].stored_size and .[0].new_bytes > 0' <<<"$V"
check "version 2 (other data) brings all it stores" jq -e '.[1].new_bytes == .[1].stored_size' <<<"$V"
check "version 3 (version 1 again) brings nothing new, though its parent lacks it" \
    jq -e '.[2].new_bytes == 0 and .[2].added_bytes > 0' <<<"$V"
api GET "/api/v1/images?include=usage&sort=name" "" "$VIEW"
eq "include=usage: 200 for a viewer" 200 "$STATUS"
U=$BODY
eq "usage: versions, latest, groups" "spare 1 1 [] | testimg 3 3 [\"lab\"]" \
    "$(jq -r '[.items[] | "\(.name) \(.usage.versions) \(.usage.latest) \(.usage.groups | tojson)"] | join(" | ")' <<<"$U")"
eq "usage: stored bytes are what the versions brought" \
    "$(jq '[.[].new_bytes] | add' <<<"$V")" "$(jq '.items[] | select(.name == "testimg") | .usage.stored_bytes' <<<"$U")"
eq "usage: logical bytes of the latest version" "400000 0" \
    "$(jq -r '.items[] | select(.name == "testimg") | "\(.usage.logical_bytes) \(.usage.candidates)"' <<<"$U")"
api GET "/api/v1/images?q=test"
eq "q on images: 400 (hosts only)" 400 "$STATUS"
expect "include=usage on a page of one" 200 GET "/api/v1/images?include=usage&limit=1&offset=1&count=true"
eq "  ... the second image, with the total" "testimg 2 3" "$(jq -r '"\(.items[0].name) \(.total) \(.items[0].usage.versions)"' <<<"$BODY")"
expect "include: an unknown value for images: 400" 400 GET "/api/v1/images?include=activity"
api GET /api/v1/images
check "without include, no usage" jq -e 'all(.items[]; has("usage") | not)' <<<"$BODY"
api GET /api/v1/hosts
check "without include, no activity" jq -e 'all(.items[]; has("activity") | not)' <<<"$BODY"
api GET /api/v1/summary
eq "summary: the store's logical bytes are every version's" 1600000 "$(jq -r .store.logical_bytes <<<"$BODY")"
check "summary: dedup ratio over stored bytes" jq -e '.store.stored_bytes > 0 and .store.dedup_ratio > 1' <<<"$BODY"

# ---- new_bytes of versions made before it was kept: filled in at start -------------
bh_stop
sqlite3 "$BH_DATA/bootherd.db" "UPDATE image_versions SET new_bytes = NULL"
bh_start "$BH_DATA" || { nok "daemon starts again"; finish; exit 1; }
api GET /api/v1/images/testimg/versions
eq "new_bytes worked out again at start" "$(jq -c '[.[].new_bytes]' <<<"$V")" "$(jq -c '[.items[].new_bytes]' <<<"$BODY")"
finish
