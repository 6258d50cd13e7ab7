#!/bin/bash
# cli_output.sh - what the CLI prints for people, and that --json stays
# for programs: one object as indented `key: value` text (nested objects
# indented under their key, lists as "- ", never a line of JSON), sizes in
# KiB/MiB/GiB in tables and text with exact bytes in --json, and every
# command that changes something saying in one line what it did (add, set,
# rm, tag, untag, rmversion, settings set), nothing else on stdout with --json
# for a 204.
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }
W=$(tmpdir)
run() {
    "$@" >"$W/out" 2>"$W/err"
    RC=$?
    OUT=$(cat "$W/out")
    ERR=$(cat "$W/err")
}
# says NAME LINE CMD...: exit 0 and the first stdout line is LINE
says() {
    local name=$1 want=$2
    shift 2
    run "$@"
    if [ "$RC" == 0 ] && [ "$(head -1 <<<"$OUT")" == "$want" ]; then ok "$name"; else
        nok "$name"; diag "want exit 0 and first line: $want"$'\n'"got exit $RC: ${OUT:0:300} $ERR"; fi
}

says "room add says so" "added room r1" bhc room add r1 location=B12
says "host add says so" "added host 02:00:00:00:00:01" bhc host add 02:00:00:00:00:01 name=pc1 room=r1 --label floor=2 --label wing=east
says "host set says so" "updated host pc1" bhc host set pc1 arch=x86_64
says "settings set says so" "settings updated" bhc settings set offline_after=300

# ---- one object as text ------------------------------------------------------
run bhc host show pc1
eq "host show exits 0" 0 "$RC"
check "host show: top-level 'key: value' lines" grep -qx 'name: pc1' <<<"$OUT"
check "host show: nested object under its key, indented" grep -qzE $'\nlabels:\n  floor: "?2"?\n  wing: east\n' <<<"$OUT"
check "host show: no line of JSON" test -z "$(grep -E '^[[:space:]]*[{[]|": ' <<<"$OUT")"
run bhc --json host show pc1
eq "host show --json stays JSON" "pc1 east" "$(jq -r '"\(.name) \(.labels.wing)"' <<<"$OUT")"

# a list inside an object: gc's images, stats
head -c $((3 * 1024 * 1024)) /dev/urandom >"$W/a.raw"
run bhc image import disk "$W/a.raw"
eq "import exits 0" 0 "$RC"
contains "import says the size in MiB and bytes" "disk version 1: 3.0 MiB (3145728 bytes)," "$OUT"
run bhc image stats
check "image stats: a list item as '- key: value'" grep -qE '^  - image: disk$' <<<"$OUT"
check "image stats: the item's other keys under it" grep -qE '^    versions: 1$' <<<"$OUT"
check "image stats: a size in human units with its bytes" grep -qE '^stored_bytes: 3\.0 MiB \([0-9]+ bytes\)$' <<<"$OUT"
run bhc --json image stats
check "image stats --json: bytes exact" test "$(jq .stored_bytes <<<"$OUT")" -gt 3000000

# ---- sizes in tables --------------------------------------------------------
run bhc image versions disk
eq "versions table: size in MiB" "1 released 3.0 MiB" "$(sed -n 2p <<<"$OUT" | awk '{print $1, $2, $3, $4}')"
run bhc --json image versions disk
eq "versions --json: bytes" 3145728 "$(jq '.items[0].logical_size' <<<"$OUT")"

# ---- commands that changed something say what ------------------------------
says "image tag says so" "tagged disk@1 as stable" bhc image tag disk stable 1
says "image untag says so" "removed tag stable of image disk" bhc image untag disk stable
bhc image import disk "$W/a.raw" >/dev/null 2>&1
says "image rmversion says so" "removed version 1 of image disk" bhc image rmversion disk@1
run bhc --json image rmversion disk@2
eq "rmversion --json: nothing on stdout" "0 " "$RC $OUT"
says "host rm says so" "removed host pc1" bhc host rm pc1
says "room rm says so" "removed room r1" bhc room rm r1
says "token add says so" "added token t1" bhc token add t1 role=viewer
says "token rm (revoke) says so" "removed token t1" bhc token rm t1
run bhc image untag disk nosuchtag
eq "untag of a missing tag still fails" 1 "$RC"

finish
