#!/bin/bash
# agent_channel.sh - the agent's WebSocket: an agent that polls only every
# minute still starts a new job's step within seconds, because the server
# nudges it over its channel; after the server is killed and restarted the
# agent connects again by itself and is nudged again.  The channel is for
# host tokens and WebSockets only.
source "$(dirname "$0")/../lib/harness.sh"
AGENT=${BOOTHERD_AGENT_BIN:-$(dirname "$BH")/bootherd-agent}
W=$(tmpdir)
bh_start "$W/data" || { nok "daemon starts"; finish; exit 1; }
PORT=${BH_URL##*:}
MAC=52:54:00:dd:00:01
check "profile with a ticket" bhc profile add agentos kernel=client/vmlinuz "cmdline=bootherd.ticket={{ticket}}"
check "host pc1" bhc host add "$MAC" name=pc1 profile=agentos
T=$(bhc host ticket "$MAC")
"$AGENT" run --server "$BH_URL" --ticket "$T" --mac "$MAC" --poll-ms 60000 2>"$W/agent.log" &
APID=$!
_PIDS+=("$APID")
# job STEP: made now; echoes how many seconds until it was done (or "never")
job_time() {
    api POST /api/v1/jobs "{\"targets\":{\"hosts\":[\"pc1\"]},\"steps\":[\"$1\"]}"
    local id i
    id=$(jq -r .id <<<"$BODY")
    for i in $(seq 1 40); do
        api GET "/api/v1/jobs/$id"
        [ "$(jq -r .state <<<"$BODY")" = done ] || [ "$(jq -r .state <<<"$BODY")" = failed ] && {
            echo "$((i / 4))"; return; }
        sleep 0.25
    done
    echo never
}
sleep 2 # hello, then the channel
j1=$(job_time "shell:echo one")
check "a new job's step starts within 5 s, though the agent polls every 60 s (took ${j1} s)" test "$j1" != never -a "${j1/never/99}" -le 5

restart() {
    kill -9 "$BH_PID" 2>/dev/null
    wait "$BH_PID" 2>/dev/null
    bh_start "$BH_DATA" --http "127.0.0.1:$PORT"
}
restart || nok "daemon restarts on port $PORT"
for _ in $(seq 1 40); do grep -q "channel: .*again in" "$W/agent.log" && break; sleep 0.25; done
contains "the agent saw its channel go" "channel:" "$(cat "$W/agent.log")"
sleep 4 # its pause before connecting again (1 s, then 2 s)
j2=$(job_time "shell:echo two")
check "after the restart it is nudged again (took ${j2} s)" test "$j2" != never -a "${j2/never/99}" -le 5
check "the agent is still running" kill -0 "$APID"

api GET /api/v1/agent/channel
eq "the channel needs a host token" 403 "$STATUS"
HT=$(curl -s -X POST "$BH_URL/api/v1/agent/hello" -H 'Content-Type: application/json' \
    -d "{\"mac\":\"$MAC\",\"ticket\":\"$(bhc host ticket "$MAC")\",\"inventory\":{}}" | jq -r .token)
api GET /api/v1/agent/channel "" "$HT"
eq "  ... and a WebSocket" 400 "$STATUS"
kill "$APID" 2>/dev/null
finish
