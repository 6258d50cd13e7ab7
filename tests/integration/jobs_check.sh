#!/bin/bash
# jobs_check.sh - a job is checked before it is accepted (issue 11, 3):
#   - each step that cannot work on a target host refuses the whole job:
#     422 with errors [{host, step, field, reason}], and nothing is created
#     (no OS entry N, no group, no start.conf, an image with no version for
#     sync/new, no cache partition for initcache); the CLI prints each one;
#   - wake: each host's outcome in the answer, in `job show` and as a
#     "wol.skipped" host event (no packet leaves this machine: the server
#     has no [dhcp] interface; wol.sh sends, inside namespaces);
#   - a waiting host says why: no boot profile, client OS not built, never
#     booted, boots another profile, boots its local disk.
source "$(dirname "$0")/../lib/harness.sh"
bh_start || { nok "daemon starts"; finish; exit 1; }

startconf() { # GROUP TEXT
    api PUT "/api/v1/groups/$1/start.conf" "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary "$2"
    eq "group $1: start.conf" 200 "$STATUS"
    [ "$STATUS" = 200 ] || diag "$BODY"
}
LAYOUT=$'[LINBO]\nServer = 192.0.2.1\n[Partition]\nDev = /dev/sda1\nSize = 10G\nFSType = ext4\n[Partition]\nDev = /dev/sda2\nFSType = ext4\n'
os() { printf '[OS]\nName = %s\nBaseImage = %s\nRoot = /dev/sda1\n' "$1" "$2"; }
bhc room add r1 >/dev/null
for g in win10 cached nover tagged bare; do bhc group add "$g" >/dev/null; done
startconf win10 "$LAYOUT$(os Win win10.qcow2)"
startconf cached "${LAYOUT/Server = 192.0.2.1/Server = 192.0.2.1$'\n'Cache = /dev/sda2}$(os Win win10.qcow2)"$'\n'"$(os Ubu win10.qcow2)"
startconf nover "$LAYOUT$(os Ghost ghost.qcow2)"
startconf tagged "$LAYOUT$(os Win win10@stable)"
W=$(tmpdir)
head -c 65536 /dev/urandom >"$W/os.raw"
check "image win10 has a version" bhc image import win10 "$W/os.raw"
bhc host add 52:54:00:00:20:01 name=pc01 room=r1 group=win10 >/dev/null
bhc host add 52:54:00:00:20:02 name=pc02 room=r1 group=cached >/dev/null
bhc host add 52:54:00:00:20:03 name=pc03 group=nover >/dev/null
bhc host add 52:54:00:00:20:04 name=pc04 group=tagged >/dev/null
bhc host add 52:54:00:00:20:05 name=pc05 >/dev/null
bhc host add 52:54:00:00:20:06 name=pc06 group=bare >/dev/null

R0=$(curl -s "$BH_URL/ready" | jq -r .revision)
NJOBS=$(bhc --json job ls | jq '.items | length')
# refused HOSTS STEPS FIELD REASON...: 422, the hosts and reasons in order
refused() {
    local what=$1 hosts=$2 steps=$3 field=$4 want=$5
    api POST /api/v1/jobs "{\"targets\":{\"hosts\":$hosts},\"steps\":$steps}"
    eq "$what: 422 job-refused at $field" "422 job-refused $field" \
        "$STATUS $(jq -r '(.type | split(":") | last) + " " + .field' <<<"$BODY")"
    eq "  ... per host, the step and the reason" "$want" \
        "$(jq -r '[.errors[] | "\(.host) \(.step): \(.reason)"] | join(" | ")' <<<"$BODY")"
}

# ---- every refusal, with its exact reason ---------------------------------------------
refused "sync:2, one OS entry" '["pc01"]' '["sync:2"]' 'steps[0]' \
    "pc01 sync:2: group win10 has no OS entry 2 (it has 1)"
contains "  ... the detail counts the hosts and says nothing was created" \
    "1 of 1 host cannot run these steps, so nothing was created; pc01: sync:2: group win10 has no OS entry 2 (it has 1)" \
    "$(jq -r .detail <<<"$BODY")"
refused "new:2 and start:2 for two groups: only the group that lacks it" '["pc01","pc02"]' '["reboot","new:2","start:2"]' 'steps[1]' \
    "pc01 new:2: group win10 has no OS entry 2 (it has 1) | pc01 start:2: group win10 has no OS entry 2 (it has 1)"
eq "  ... errors_total" 2 "$(jq -r .errors_total <<<"$BODY")"
refused "format:3, two partitions" '["pc01"]' '["format:3"]' 'steps[0]' \
    "pc01 format:3: group win10 has no partition 3 (it has 2)"
refused "a host in no group" '["pc05"]' '["partition","sync:1"]' 'steps[0]' \
    "pc05 partition: the host is in no group, so it has no start.conf | pc05 sync:1: the host is in no group, so it has no start.conf"
refused "a group without start.conf" '["pc06"]' '["start:1"]' 'steps[0]' \
    "pc06 start:1: group bare has no start.conf"
refused "sync of an image with no version" '["pc03"]' '["sync:1"]' 'steps[0]' \
    "pc03 sync:1: image ghost (OS entry 1 of group nover) has no version"
refused "new of an image tag that names no version" '["pc04"]' '["new:1"]' 'steps[0]' \
    "pc04 new:1: image win10 (OS entry 1 of group tagged) has no version 'stable'"
refused "initcache without a cache partition" '["pc01","pc02"]' '["initcache"]' 'steps[0]' \
    "pc01 initcache: group win10 has no cache partition (start.conf: [LINBO] Cache)"
refused "one bad host refuses the room" '["pc01","pc02","pc03"]' '["sync:1","start:1"]' 'steps[0]' \
    "pc03 sync:1: image ghost (OS entry 1 of group nover) has no version"
eq "nothing was written by any refusal" "$R0" "$(curl -s "$BH_URL/ready" | jq -r .revision)"
eq "  ... and no job exists" "$NJOBS" "$(bhc --json job ls | jq '.items | length')"
out=$(bhc job run --host pc01 --host pc02 sync:1 start:2 2>&1 >/dev/null)
eq "bootherd job run of a refused job exits 1" 1 "$?"
contains "  ... the summary line" "Job refused (HTTP 422): 1 of 2 hosts cannot run these steps" "$out"
contains "  ... each refused host and step on its own line" \
    "  refused: pc01: start:2: group win10 has no OS entry 2 (it has 1)" "$out"
eq "  ... and nothing else refused" 1 "$(grep -c refused: <<<"$out")"

# what can work is accepted: start needs no version, create_image none
expect "start:1 and create_image:1 with no version: 201" 201 POST /api/v1/jobs '{"targets":{"hosts":["pc03"]},"steps":["start:1","create_image:1:first"]}'
expect "sync:1 (a version), initcache (a cache), new:2 (OS entry 2): 201" 201 POST /api/v1/jobs '{"targets":{"hosts":["pc02"]},"steps":["sync:1","initcache","new:2"]}'

# ---- wake: each host's outcome -----------------------------------------------------
NOIF="the host has no ip, its room no subnet, and no [dhcp] interface is up"
api POST /api/v1/jobs '{"targets":{"hosts":["pc01","pc05"]},"steps":["reboot"],"wake":true}'
eq "a job with wake: 201" 201 "$STATUS"
JW=$(jq -r .id <<<"$BODY")
eq "the answer: no packet for either host, and why" "pc01 skipped $NOIF|pc05 skipped $NOIF" \
    "$(jq -r '[.hosts[] | "\(.name) \(.wake.state) \(.wake.why)"] | join("|")' <<<"$BODY")"
api GET "/api/v1/jobs/$JW"
eq "GET the job: the same, kept with it" "pc01 skipped $NOIF|pc05 skipped $NOIF" \
    "$(jq -r '[.hosts[] | "\(.name) \(.wake.state) \(.wake.why)"] | join("|")' <<<"$BODY")"
out=$(bhc job show "$JW")
contains "job show prints it" "wake: skipped: $NOIF" "$out"
api GET /api/v1/hosts/pc05/events
eq "a wol.skipped event on the host, with why" "$NOIF" \
    "$(jq -r '[.items[] | select(.type == "wol.skipped")][0].data.why' <<<"$BODY")"
api GET "/api/v1/events?since=0&limit=1000"
check "the job has its 'woken' event" jq -e "[.items[] | select(.kind == \"job\" and .key == \"$JW\" and .type == \"woken\")] | length == 1" <<<"$BODY"
api POST /api/v1/wake '{"hosts":["pc06"]}'
eq "POST /wake says why too" "202 pc06 $NOIF" "$STATUS $(jq -r '.skipped[0] | "\(.host) \(.why)"' <<<"$BODY")"
api POST /api/v1/jobs '{"targets":{"hosts":["pc06"]},"steps":["reboot"]}'
check "a job without wake has no wake report" jq -e '.hosts[0] | has("wake") | not' <<<"$BODY"

# ---- why a host waits ----------------------------------------------------------------
api POST /api/v1/jobs '{"targets":{"hosts":["pc05"]},"steps":["halt"]}'
JH=$(jq -r .id <<<"$BODY")
waiting() { # WHAT CODE REASON
    api GET "/api/v1/jobs/$JH"
    eq "$1" "waiting-for-host $2 $3" "$(jq -r '.hosts[0] | "\(.state) \(.waiting) \(.waiting_reason)"' <<<"$BODY")"
}
waiting "no bootherd-client profile" no-profile \
    "no boot profile: profile 'bootherd-client' does not exist (bootherd client build makes bootherd-client)"
out=$(bhc job show "$JH")
contains "job show prints why" "waiting: no boot profile: profile 'bootherd-client' does not exist" "$out"
api POST /api/v1/profiles '{"name":"bootherd-client","kernel":"client/vmlinuz","initrds":["client/initrd.img"],"cmdline":"bootherd.server={{http_base}} bootherd.ticket={{ticket}}"}'
eq "the client profile made" 201 "$STATUS"
waiting "the client OS is not in the boot root" client-not-built \
    "client OS not built: client/vmlinuz (of profile 'bootherd-client') is not in the boot root; run bootherd client build"
mkdir -p "$BH_DATA/boot/client" && echo k >"$BH_DATA/boot/client/vmlinuz"
waiting "  ... nor its initrd" client-not-built \
    "client OS not built: client/initrd.img (of profile 'bootherd-client') is not in the boot root; run bootherd client build"
echo i >"$BH_DATA/boot/client/initrd.img"
waiting "built, but the host never booted" never-booted \
    "never booted: no network boot seen from it yet; wake it or switch it on"
curl -s "$BH_URL/boot/ipxe?mac=52:54:00:00:20:05" >/dev/null
for _ in $(seq 1 100); do
    [ "$(bhc --json host show pc05 | jq -r '.last_seen // empty')" ] && break
    sleep 0.1
done
SEEN=$(bhc --json host show pc05 | jq -r .last_seen)
waiting "booted: its agent has not asked" agent-silent \
    "booted (last seen $SEEN), but its agent has not asked for work since"
api POST /api/v1/profiles '{"name":"memtest","kernel":"memtest.bin"}'
bhc host set pc05 profile=memtest >/dev/null
waiting "a profile that does not start the client OS" other-profile \
    "boots another profile: 'memtest' does not start the client OS (its cmdline passes no bootherd.ticket)"
api PATCH /api/v1/hosts/pc05 '{"boot":{"action":"local"}}'
eq "boot action local set" 200 "$STATUS"
waiting "boot action local" local-boot \
    "boots from its local disk (boot action local), not into the client OS"
bh_stop
finish
