#!/bin/bash
# image_promote.sh - captured versions wait for a decision, and "latest" is
# bootherd's alone (issue 9, item 2 and M3), against a real daemon with
# curl, the CLI and bootherd-agent: a version committed with a host token
# (a create_image capture) is a candidate: not latest, no tag on it, its
# manifest refused to hosts (also by number: image@N), seen and diffed by
# viewers; an operator's promote releases it, with an event and an audit
# record naming the operator; auto_promote releases captures at once;
# deleting a candidate (a reject) leaves latest alone; the parent of an
# import is the highest released version; PUT/DELETE tags/latest are 409;
# a host's commit with tags is refused as such, not as bad tag syntax.
source "$(dirname "$0")/../lib/harness.sh"
AGENT=${BOOTHERD_AGENT_BIN:-$(dirname "$BH")/bootherd-agent}
for tool in jq cmp; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
W=$(tmpdir)
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }
MAC=52:54:00:cd:00:01
MF=application/vnd.bootherd.manifest

# host_token MAC: a host token for that machine, got as its agent gets one
# (the ticket in its boot script, traded at hello).  The one place to change
# when tickets go only to the machine that really boots.
host_token() {
    local t
    t=$(bhc host ticket "$1") # by hand: loopback is not a booting machine
    curl -s -X POST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
        -d "{\"mac\":\"$1\",\"ticket\":\"$t\",\"inventory\":{}}" | jq -r .token
}

check "agent profile" bhc profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}"
api POST /api/v1/groups '{"name":"lab"}'
api PUT /api/v1/groups/lab/start.conf "" "$BH_TOKEN" -H 'Content-Type: text/plain' --data-binary \
    $'[LINBO]\nServer = 192.0.2.1\nGroup = lab\n[Partition]\nDev = /dev/sda1\nSize = 10G\nId = 83\nFSType = ext4\n[OS]\nName = Lab OS\nBaseImage = capimg.qcow2\nRoot = /dev/sda1\n'
eq "group lab: OS 1 is image capimg" 200 "$STATUS"
check "host pc1 in group lab" bhc host add "$MAC" name=pc1 group=lab profile=agentos
OP=$(mktoken op1 operator)
VIEW=$(mktoken view1 viewer)
HT=$(host_token "$MAC")
check "a host token for pc1" test -n "$HT" -a "$HT" != null

for f in a b c d e f; do head -c 400000 /dev/urandom >"$W/$f.raw"; done
check "capimg v1 imported (released)" bhc image import capimg "$W/a.raw" --note base
# the content the "captures" upload: versions of another image (b, c, d)
for f in b c d; do bhc image import src "$W/$f.raw" >/dev/null 2>&1; done
for n in 1 2 3; do
    curl -s -H "Authorization: Bearer $BH_TOKEN" -o "$W/src$n.mf" "$BH_URL/api/v1/images/src/versions/$n/manifest"
done
check "manifests of src 1..3 saved" test -s "$W/src1.mf" -a -s "$W/src2.mf" -a -s "$W/src3.mf"

latest() { api GET /api/v1/images/capimg/versions/latest; jq -r .version <<<"$BODY"; }
n_events() { # TYPE: events of that type on image capimg
    api GET "/api/v1/events?since=0&kind=image&key=capimg&limit=1000"
    jq --arg t "$1" '[.items[] | select(.type == $t)] | length' <<<"$BODY"
}

# ---- latest is never set by hand ----------------------------------------------------
eq "v1 is latest" 1 "$(latest)"
api PUT /api/v1/images/capimg/tags/latest '{"version":1}'
eq "PUT tags/latest: 409" 409 "$STATUS"
contains "  ... as problem+json" "application/problem+json" "$(grep -i '^content-type' <<<"$HDRS")"
contains "  ... saying bootherd moves it" "cannot be set or removed by hand" "$(jq -r .detail <<<"$BODY")"
expect "PUT tags/latest to a tag: 409" 409 PUT /api/v1/images/capimg/tags/latest '{"version":"latest"}'
expect "DELETE tags/latest: 409" 409 DELETE /api/v1/images/capimg/tags/latest

# ---- a capture -------------------------------------------------------------------------
# capture MANIFEST BODY: a create_image:1 job for pc1, whose task the host
# takes as its agent does, uploads MANIFEST with the host token and commits
# with BODY; CSTATUS/CBODY are the commit's answer; the task is then done
capture() {
    local tk up
    api POST /api/v1/jobs '{"targets":{"hosts":["pc1"]},"steps":["create_image:1"]}'
    api GET /api/v1/agent/task "" "$HT"
    tk=$(jq -r .task <<<"$BODY")
    api POST "/api/v1/agent/tasks/$tk" '{"state":"running"}' "$HT"
    api POST /api/v1/images/capimg/uploads "" "$HT" -H "Content-Type: $MF" --data-binary @"$1"
    up=$(jq -r .upload <<<"$BODY")
    api POST "/api/v1/uploads/$up/commit" "$2" "$HT"
    CSTATUS=$STATUS CBODY=$BODY UPLOAD=$up
    api POST "/api/v1/agent/tasks/$tk" '{"state":"done"}' "$HT"
}

capture "$W/src1.mf" '{"note":"captured on pc1","tags":["stable"]}'
eq "a host's commit with tags: 403" 403 "$CSTATUS"
contains "  ... saying agents may not set tags" "client agents may not set tags" "$(jq -r .detail <<<"$CBODY")"
eq "  ... naming the field" tags "$(jq -r .field <<<"$CBODY")"
# a real tag-syntax error (an operator's commit) says something else
api POST /api/v1/images/capimg/uploads "" "$OP" -H "Content-Type: $MF" --data-binary @"$W/src1.mf"
OPUP=$(jq -r .upload <<<"$BODY")
api POST "/api/v1/uploads/$OPUP/commit" '{"tags":["no spaces allowed"]}' "$OP"
eq "an operator's commit with a bad tag: 400" 400 "$STATUS"
contains "  ... saying what a tag is" "1-64 letters" "$(jq -r .detail <<<"$BODY")"
expect "  ... (the upload is dropped)" 204 DELETE "/api/v1/uploads/$OPUP" "" "$OP"

capture "$W/src1.mf" '{"note":"captured on pc1"}'
eq "a host's commit: 201" 201 "$CSTATUS"
eq "  ... makes version 2" 2 "$(jq -r .version <<<"$CBODY")"
eq "  ... a candidate" candidate "$(jq -r .state <<<"$CBODY")"
eq "  ... made by the agent" "agent:$MAC" "$(jq -r .created_by <<<"$CBODY")"
eq "  ... with no tags" "[]" "$(jq -c .tags <<<"$CBODY")"
eq "  ... its parent is v1" 1 "$(jq -r .parent <<<"$CBODY")"
eq "latest is still v1" 1 "$(latest)"

# ---- what hosts and viewers see of a candidate ------------------------------------------
expect "the host reads latest's manifest" 200 GET /api/v1/images/capimg/versions/latest/manifest "" "$HT"
api GET /api/v1/images/capimg/versions/2/manifest "" "$HT"
eq "the host may not read the candidate's manifest (capimg@2): 403" 403 "$STATUS"
contains "  ... saying it waits for a promote" "candidate that waits for an operator's promote" "$(jq -r .detail <<<"$BODY")"
if [ -x "$AGENT" ]; then
    out=$("$AGENT" deploy --server "$BH_URL" --token "$HT" --image capimg@2 --device "$W/dev2" --retry-secs 1 2>&1)
    rc=$?
    check "bootherd-agent deploy capimg@2 with the host token fails" test "$rc" -ne 0
    contains "  ... saying why" "candidate" "$out"
    check "  ... and writes nothing" test ! -s "$W/dev2"
    "$AGENT" deploy --server "$BH_URL" --token "$HT" --image capimg --device "$W/dev1" >/dev/null 2>&1
    check "deploy capimg (latest) with the host token gives v1" cmp -n 400000 "$W/a.raw" "$W/dev1"
else
    skip "deploy of a candidate by number" "bootherd-agent not built at $AGENT"
fi
api GET /api/v1/images/capimg/versions "" "$VIEW"
eq "a viewer sees every version with its state" "1:released 2:candidate" \
    "$(jq -r '[.items[] | "\(.version):\(.state)"] | join(" ")' <<<"$BODY")"
expect "a viewer reads the candidate's manifest" 200 GET /api/v1/images/capimg/versions/2/manifest "" "$VIEW"
api GET "/api/v1/images/capimg/diff?a=1&b=2" "" "$VIEW"
eq "a viewer diffs it against v1" "200 false" "$STATUS $(jq -r .identical <<<"$BODY")"
out=$("$BH" --url "$BH_URL" --token "$VIEW" image versions capimg)
contains "image versions shows the state" "candidate" "$(grep '^2 ' <<<"$out")"
contains "  ... and who captured it" "agent:$MAC" "$(grep '^2 ' <<<"$out")"
api PUT /api/v1/images/capimg/tags/stable '{"version":2}'
eq "no tag may point at a candidate: 409" 409 "$STATUS"
contains "  ... saying so" "is a candidate" "$(jq -r .detail <<<"$BODY")"

# ---- the parent of an import is the highest released version -----------------------------
check "an operator imports capimg v3" bhc image import capimg "$W/e.raw"
api GET /api/v1/images/capimg/versions/3
eq "v3 is released at once" released "$(jq -r .state <<<"$BODY")"
eq "  ... its parent is v1, not the candidate" 1 "$(jq -r .parent <<<"$BODY")"
eq "latest is v3" 3 "$(latest)"

# ---- promote --------------------------------------------------------------------------
expect "a viewer may not promote" 403 POST /api/v1/images/capimg/versions/2/promote "" "$VIEW"
expect "a host may not promote" 403 POST /api/v1/images/capimg/versions/2/promote "" "$HT"
p0=$(n_events version.promoted)
api POST /api/v1/images/capimg/versions/2/promote "" "$OP"
eq "an operator promotes v2: 200" 200 "$STATUS"
eq "  ... it is released" released "$(jq -r .state <<<"$BODY")"
eq "  ... promoted by the operator" op1 "$(jq -r .promoted_by <<<"$BODY")"
eq "latest stays v3, the highest released" 3 "$(latest)"
eq "an event version.promoted on the image" $((p0 + 1)) "$(n_events version.promoted)"
api GET "/api/v1/audit?kind=image&key=capimg&limit=100"
eq "the audit log: the agent captured v2" "agent:$MAC" \
    "$(jq -r '[.items[] | select(.action == "version.created" and .after.version == 2)][0].actor' <<<"$BODY")"
eq "  ... and op1 approved it" op1 \
    "$(jq -r '[.items[] | select(.action == "version.promoted" and .after.version == 2)][0].actor' <<<"$BODY")"
eq "  ... (before: candidate, after: released)" "candidate released" \
    "$(jq -r '[.items[] | select(.action == "version.promoted")][0] | "\(.before.state) \(.after.state)"' <<<"$BODY")"
expect "the host now reads v2's manifest" 200 GET /api/v1/images/capimg/versions/2/manifest "" "$HT"
api POST /api/v1/images/capimg/versions/2/promote "" "$OP"
eq "promoting a released version again: 200" "200 released" "$STATUS $(jq -r .state <<<"$BODY")"
eq "  ... and no new event" $((p0 + 1)) "$(n_events version.promoted)"
expect "promote of a missing version: 404" 404 POST /api/v1/images/capimg/versions/99/promote "" "$OP"

capture "$W/src2.mf" '{"note":"second capture"}'
eq "a second capture: version 4, a candidate" "201 4 candidate" "$CSTATUS $(jq -r '"\(.version) \(.state)"' <<<"$CBODY")"
eq "  ... its parent is the released latest, v3" 3 "$(jq -r .parent <<<"$CBODY")"
eq "latest stays v3" 3 "$(latest)"
out=$("$BH" --url "$BH_URL" --token "$OP" image promote capimg 4)
check "bootherd image promote capimg 4 (operator)" test $? -eq 0
contains "  ... shows the released version" "released" "$out"
eq "latest moves to v4" 4 "$(latest)"
if [ -x "$AGENT" ]; then
    "$AGENT" deploy --server "$BH_URL" --token "$HT" --image capimg --device "$W/dev4" >/dev/null 2>&1
    check "the host now deploys v4 as latest (the captured bytes)" cmp -n 400000 "$W/c.raw" "$W/dev4"
fi

# ---- reject: delete the candidate ------------------------------------------------------
capture "$W/src3.mf" '{"note":"to be rejected"}'
eq "a third capture: version 5, a candidate" "201 5 candidate" "$CSTATUS $(jq -r '"\(.version) \(.state)"' <<<"$CBODY")"
expect "an operator rejects it (DELETE)" 204 DELETE /api/v1/images/capimg/versions/5 "" "$OP"
eq "latest stays v4" 4 "$(latest)"
check "the next import" bhc image import capimg "$W/f.raw"
api GET /api/v1/images/capimg/versions/latest
eq "  ... is v6 (5 is never given again), latest, with the released latest v4 as parent" "6 4 released" \
    "$(jq -r '"\(.version) \(.parent) \(.state)"' <<<"$BODY")"

# ---- auto_promote ----------------------------------------------------------------------
api GET /api/v1/images/capimg
eq "auto_promote is off by default" false "$(jq -r .auto_promote <<<"$BODY")"
expect "auto_promote must be a boolean" 422 PATCH /api/v1/images/capimg '{"auto_promote":"yes"}'
check "bootherd image set capimg auto_promote=true" bhc image set capimg auto_promote=true
capture "$W/src3.mf" '{"note":"auto"}'
eq "with auto_promote a capture is released at once" "201 7 released" "$CSTATUS $(jq -r '"\(.version) \(.state)"' <<<"$CBODY")"
eq "  ... and is latest" 7 "$(latest)"
expect "  ... and the host reads it" 200 GET /api/v1/images/capimg/versions/7/manifest "" "$HT"
api GET /api/v1/images/capimg/versions/7
eq "  ... still made by the agent, promoted by nobody" "agent:$MAC null" "$(jq -r '"\(.created_by) \(.promoted_by)"' <<<"$BODY")"
finish
