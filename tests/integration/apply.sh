#!/bin/bash
# apply.sh - `bootherd apply -f` with the fleet files in tests/data/fleet:
# creates everything (groups with an inline start_conf), is idempotent,
# --dry-run shows "~ field: old -> new" and changes nothing, changes apply,
# --prune deletes what the file no longer declares, and validation errors
# name FILE:LINE:COL, exit 2 and change nothing.
source "$(dirname "$0")/../lib/harness.sh"

FLEET=$ROOT/tests/data/fleet
bh_start || { nok "daemon starts"; finish; exit 1; }
T=$(tmpdir)
_DIRS+=("$T")

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }
run() { # CMD...: RC OUT ERR
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
apply() { run bhc apply "$@"; }
get() { curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/$1"; }
changes() { grep -E '^[-+~] ' <<<"$OUT"; } # the plan lines

# ---- first apply creates everything ---------------------------------------

R0=$(revision)
apply -f "$FLEET/fleet.yaml"
eq "first apply: exit 0" 0 "$RC"
[ "$RC" == 0 ] || diag "$ERR"
eq "first apply: creates in dependency order" \
    "+ room r101|+ room r202|+ profile linbo|+ group win10|+ group kiosk|+ image win10|+ host 00:11:22:33:44:01|+ host 00:11:22:33:44:02|+ host 00:11:22:33:44:03|+ host 00:11:22:33:44:04" \
    "$(changes | paste -sd'|')"
eq "first apply: summary" "10 to create, 0 to change, 0 to delete, 0 unchanged" "$(tail -1 <<<"$OUT")"
eq "first apply: ten revisions" $((R0 + 10)) "$(revision)"
eq "first apply: no warnings" "" "$ERR"

check "room r101 as declared" jq -e '.location == "Building A, first floor" and .subnet == "10.1.1.0/24" and .labels == {"floor":"1"}' <<<"$(get rooms/r101)"
check "profile linbo as declared" jq -e '.kernel == "linbo64" and .initrds == ["linbofs64.lz"] and (.cmdline | contains("{{server}}"))' <<<"$(get profiles/linbo)"
check "group win10: profile and the inline start_conf" \
    jq -e '.default_profile == "linbo" and .config.linbo.group == "win10" and (.config.partitions | length) == 3 and .config.os[0].name == "Windows 10" and .config.os[0].default_action == "sync"' <<<"$(get groups/win10)"
contains "group win10: start.conf renders" "Group = win10" "$(get groups/win10/start.conf)"
check "group kiosk: labels, no config" jq -e '.labels == {"role":"kiosk"} and .config == null' <<<"$(get groups/kiosk)"
check "image win10 as declared" jq -e '.kind == "partition" and .fstype == "ntfs"' <<<"$(get images/win10)"
check "host 02: dashed MAC normalised, fields set" \
    jq -e '.mac == "00:11:22:33:44:02" and .name == "r101-pc02" and .room == "r101" and .group == "win10" and .arch == "x86_64" and .labels == {"role":"student","seat":"2"}' <<<"$(get hosts/r101-pc02)"
check "host 03: ip" jq -e '.ip == "10.1.2.50" and .group == "kiosk"' <<<"$(get hosts/00:11:22:33:44:03)"
check "host 04: a plain 00:11:... stays a MAC string" jq -e '.name == "r202-teacher" and .description == "teacher'"'"'s desk"' <<<"$(get hosts/00:11:22:33:44:04)"
check "hosts not given a state get the default" jq -e '.state == "known"' <<<"$(get hosts/r101-pc01)"

# ---- idempotent -----------------------------------------------------------

R1=$(revision)
apply -f "$FLEET/fleet.yaml"
eq "second apply: exit 0" 0 "$RC"
eq "second apply: nothing to do" "0 to create, 0 to change, 0 to delete, 10 unchanged" "$OUT"
eq "second apply: no new revision" "$R1" "$(revision)"

# ---- dry run of a change --------------------------------------------------

apply -f "$FLEET/fleet-changed.yaml" --dry-run
eq "dry run: exit 0" 0 "$RC"
DIFF=$'~ room r202\n    location: "Building B" -> "Building C"\n~ host 00:11:22:33:44:01\n    labels: {"role":"student","seat":"1"} -> {"role":"student"}\n~ host 00:11:22:33:44:04\n    description: "teacher\'s desk" -> "teacher\'s desk, by the window"'
eq "dry run: shows each change as ~ with old -> new" "$DIFF" "$(head -n -1 <<<"$OUT")"
eq "dry run: summary" "dry run: 0 to create, 3 to change, 0 to delete, 7 unchanged" "$(tail -1 <<<"$OUT")"
eq "dry run: no new revision" "$R1" "$(revision)"
eq "dry run: room untouched" "Building B" "$(get rooms/r202 | jq -r .location)"

# ---- the change applies ---------------------------------------------------

apply -f "$FLEET/fleet-changed.yaml"
eq "change: exit 0" 0 "$RC"
eq "change: the same diff" "$DIFF" "$(head -n -1 <<<"$OUT")"
eq "change: summary" "0 to create, 3 to change, 0 to delete, 7 unchanged" "$(tail -1 <<<"$OUT")"
eq "change: three revisions" $((R1 + 3)) "$(revision)"
eq "change: room moved" "Building C" "$(get rooms/r202 | jq -r .location)"
eq "change: a label left out of the file is dropped" '{"role":"student"}' "$(get hosts/r101-pc01 | jq -c .labels)"
eq "change: description" "teacher's desk, by the window" "$(get hosts/r202-teacher | jq -r .description)"
apply -f "$FLEET/fleet-changed.yaml"
eq "change: then idempotent" "0 to create, 0 to change, 0 to delete, 10 unchanged" "$OUT"

# fields the file does not mention are left alone; drift in those it does is undone
curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $BH_TOKEN" -H 'Content-Type: application/json' \
    -d '{"description":"set by hand","state":"up","location":"moved by hand"}' "$BH_URL/api/v1/rooms/r101" 2>/dev/null
curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $BH_TOKEN" -H 'Content-Type: application/json' \
    -d '{"description":"set by hand"}' "$BH_URL/api/v1/rooms/r101"
curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $BH_TOKEN" -H 'Content-Type: application/json' \
    -d '{"state":"up","description":"by hand"}' "$BH_URL/api/v1/hosts/r101-pc01"
apply -f "$FLEET/fleet-changed.yaml"
eq "drift in undeclared fields: nothing to do" "0 to create, 0 to change, 0 to delete, 10 unchanged" "$OUT"
check "drift in undeclared fields: kept" jq -e '.state == "up" and .description == "by hand"' <<<"$(get hosts/r101-pc01)"
curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $BH_TOKEN" -H 'Content-Type: application/json' \
    -d '{"arch":"arm64","labels":{"extra":"x"}}' "$BH_URL/api/v1/hosts/r101-pc02"
apply -f "$FLEET/fleet-changed.yaml"
eq "drift in declared fields: undone" \
    $'~ host 00:11:22:33:44:02\n    arch: "arm64" -> "x86_64"\n    labels: {"role":"student","seat":"2","extra":"x"} -> {"role":"student","seat":"2"}' \
    "$(head -n -1 <<<"$OUT")"
check "drift in declared fields: host back as declared" jq -e '.arch == "x86_64" and .labels == {"role":"student","seat":"2"}' <<<"$(get hosts/r101-pc02)"

# ---- prune ----------------------------------------------------------------

R2=$(revision)
apply -f "$FLEET/fleet-pruned.yaml" --prune --dry-run
eq "prune dry run: exit 0" 0 "$RC"
eq "prune dry run: deletes hosts first, rooms last" \
    "- host 00:11:22:33:44:03|- host 00:11:22:33:44:04|- group kiosk|- room r202" "$(changes | paste -sd'|')"
eq "prune dry run: summary" "dry run: 0 to create, 0 to change, 4 to delete, 5 unchanged" "$(tail -1 <<<"$OUT")"
eq "prune dry run: no new revision" "$R2" "$(revision)"
apply -f "$FLEET/fleet-pruned.yaml"
eq "without --prune nothing is deleted" "0 to create, 0 to change, 0 to delete, 5 unchanged" "$OUT"
apply -f "$FLEET/fleet-pruned.yaml" --prune
eq "prune: exit 0" 0 "$RC"
[ "$RC" == 0 ] || diag "$ERR"
eq "prune: summary" "0 to create, 0 to change, 4 to delete, 5 unchanged" "$(tail -1 <<<"$OUT")"
eq "prune: four revisions" $((R2 + 4)) "$(revision)"
eq "prune: the undeclared hosts are gone" "00:11:22:33:44:01 00:11:22:33:44:02" "$(get hosts | jq -r '[.items[].mac] | join(" ")')"
eq "prune: room r202 is gone" "r101" "$(get rooms | jq -r '[.items[].name] | join(" ")')"
eq "prune: group kiosk is gone" "win10" "$(get groups | jq -r '[.items[].name] | join(" ")')"
eq "prune: a section the file leaves out is left alone" "win10" "$(get images | jq -r '[.items[].name] | join(" ")')"
check "prune: a group's config the file leaves out is kept" jq -e '.config.os | length == 1' <<<"$(get groups/win10)"

# back to the full fleet
apply -f "$FLEET/fleet.yaml"
eq "re-apply: recreates what was pruned" \
    "+ room r202|+ group kiosk|~ host 00:11:22:33:44:01|+ host 00:11:22:33:44:03|+ host 00:11:22:33:44:04" \
    "$(changes | paste -sd'|')"
eq "re-apply: summary" "4 to create, 1 to change, 0 to delete, 5 unchanged" "$(tail -1 <<<"$OUT")"

# ---- validation errors: FILE:LINE:COL, exit 2, nothing changed -------------

# invalid NAME FILE WANT...: each WANT is "PREFIX|NEEDLE": a line of stderr
# starts with PREFIX ("FILE:LINE:COL: path:") and names NEEDLE
invalid() {
    local name=$1 f=$FLEET/$2 r w pre needle missing=""
    shift 2
    r=$(revision)
    apply -f "$f"
    eq "$name: exit 2" 2 "$RC"
    for w in "$@"; do
        pre=${w%%|*} needle=${w#*|}
        pre=${pre//FILE/$f}
        awk -v p="$pre" -v n="$needle" 'index($0, p) == 1 && index($0, n) { found = 1 } END { exit !found }' <<<"$ERR" ||
            missing+="$pre ... $needle"$'\n'
    done
    eq "$name: reports FILE:LINE:COL: path and what is wrong" "" "$missing"
    [ -z "$missing" ] || diag "stderr: $ERR"
    eq "$name: nothing applied" "" "$(changes)"
    eq "$name: no new revision" "$r" "$(revision)"
}

invalid "unknown field" bad-unknown-field.yaml \
    "FILE:7:13: hosts[1].colour: |unknown field 'colour'" "FILE: 1 error; nothing was changed|"
invalid "bad MAC" bad-mac.yaml "FILE:4:10: hosts[0].mac: |'00:11:22:33:44'"
invalid "missing required name" bad-missing-name.yaml "FILE:3:5: rooms[1].name: |name"
invalid "duplicate host (same MAC, two spellings)" bad-duplicate-host.yaml \
    "FILE:6:5: hosts[1]: |'00:11:22:33:44:93' is declared twice"
invalid "unknown section" bad-unknown-section.yaml "FILE:4:3: switches: |unknown section 'switches'"
invalid "every error is reported" bad-many.yaml \
    "FILE:4:13: rooms[0].subnet: |subnet" \
    "FILE:6:5: profiles[0].kernel: |kernel" \
    "FILE:9:11: hosts[0].arch: |'sparc'" \
    "FILE: 3 errors; nothing was changed|"
invalid "bad inline start_conf" bad-startconf.yaml \
    "FILE:3:17: groups[0].start_conf: |DefaultAction"
invalid "YAML syntax error" bad-syntax.yaml "FILE:4:6: |flow sequence"
eq "the rejected files created nothing" "" "$(get rooms/r9 | jq -r 'select(.name) | .name')"

apply -f "$T/nope.yaml"
eq "a missing file: exit 2" 2 "$RC"
contains "a missing file: named" "$T/nope.yaml" "$ERR"
apply
eq "no -f: exit 2" 2 "$RC"
contains "no -f: usage" "usage: bootherd apply -f" "$ERR"
# (bounded: a CLI that loops on a bad flag must not hang the suite or fill the disk)
timeout 10 "$BH" --url "$BH_URL" --token "$BH_TOKEN" apply -f "$FLEET/fleet.yaml" --bogus 2>&1 >/dev/null |
    head -c 2000 >"$T/err"
RC=${PIPESTATUS[0]}
ERR=$(cat "$T/err")
eq "unknown flag: exit 2 (promptly)" 2 "$RC"
contains "unknown flag: named" "--bogus" "$ERR"
eq "unknown flag: one complaint, not a flood" 1 "$(grep -c bogus <<<"$ERR")"
VIEWER=$(mktoken apply-viewer viewer)
r=$(revision)
run "$BH" --url "$BH_URL" --token "$VIEWER" apply -f "$FLEET/fleet-changed.yaml"
eq "a viewer's apply fails" 1 "$RC"
contains "a viewer's apply: says 403" "HTTP 403" "$ERR"
eq "a viewer's apply: no new revision" "$r" "$(revision)"
run "$BH" --url "$BH_URL" --token "$VIEWER" apply -f "$FLEET/fleet-changed.yaml" --dry-run
eq "a viewer may dry-run" 0 "$RC"

finish
