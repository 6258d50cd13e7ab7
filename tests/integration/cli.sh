#!/bin/bash
# cli.sh - the command-line client end to end: every kind's ls/add/show/set/rm
# (tables and --json), errors that exit non-zero naming what was wrong,
# --data DIR and BOOTHERD_URL/BOOTHERD_TOKEN, audit, events (paging and
# --follow), group startconf both ways, whoami.
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }
T=$(tmpdir)
_DIRS+=("$T")

# run CMD...: sets RC, OUT (stdout) and ERR (stderr)
run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
# ok_run NAME CMD...: the command succeeds
ok_run() {
    local name=$1
    shift
    run "$@"
    if [ "$RC" == 0 ]; then ok "$name"; else nok "$name"; diag "exit $RC: $ERR"; fi
}
# fails NAME RC NEEDLE CMD...: exits with RC and stderr names NEEDLE
fails() {
    local name=$1 want=$2 needle=$3
    shift 3
    run "$@"
    if [ "$RC" == "$want" ] && [[ $ERR == *"$needle"* ]]; then
        ok "$name"
    else
        nok "$name"; diag "want exit $want and stderr with '$needle'"$'\n'"got exit $RC, stderr: $ERR"
    fi
}
js() { jq -r "$1" <<<"$OUT" 2>&1; } # a jq filter over the last stdout
header() { head -1 <<<"$OUT" | tr -s ' ' | sed 's/ $//'; }

# ---- rooms ----------------------------------------------------------------

ok_run "room add" bhc room add lab1 location=B12 subnet=10.0.12.0/24 --label floor=2
contains "room add shows the new room" "B12" "$OUT"
ok_run "room show --json" bhc --json room show lab1
eq "room show --json: fields" "lab1 B12 10.0.12.0/24 2" "$(js '"\(.name) \(.location) \(.subnet) \(.labels.floor)"')"
ok_run "room ls" bhc room ls
eq "room ls: table header" "NAME LOCATION SUBNET DESCRIPTION" "$(header)"
check "room ls: a row for lab1" grep -qE '^lab1 +B12 +10\.0\.12\.0/24 +- *$' <<<"$OUT"
ok_run "room set" bhc room set lab1 location=C3 description="the lab" --label wing=east
ok_run "room show after set" bhc room --json show lab1
eq "room set: fields changed, labels merged" 'C3|the lab|{"floor":"2","wing":"east"}' \
    "$(js '"\(.location)|\(.description)|\(.labels | tojson)"')"
ok_run "room set FIELD= clears it, --unlabel drops a label" bhc room set lab1 description= --unlabel floor
ok_run "room show" bhc room show lab1 --json
eq "room set: cleared" 'null|{"wing":"east"}' "$(js '"\(.description)|\(.labels | tojson)"')"
ok_run "room show (text)" bhc room show lab1
check "room show prints 'field: value' lines" grep -qE '^location: C3$' <<<"$OUT"
ok_run "room add (for removal)" bhc room add spare
ok_run "room rm" bhc room rm spare
contains "room rm says so" "removed room spare" "$OUT"
fails "room show of a removed room" 1 "not found" bhc room show spare
ok_run "rooms (plural) works too" bhc rooms ls --json
eq "rooms ls --json is the API's list shape" 'lab1 null' "$(js '"\([.items[].name] | join(",")) \(.next)"')"

# ---- profiles, groups, images --------------------------------------------

ok_run "profile add" bhc profile add p1 kernel=vmlinuz initrds=a.img,b.img cmdline="quiet splash" arch=x86_64
ok_run "profile show --json" bhc --json profile show p1
eq "profile: initrds split on commas" '["a.img","b.img"]' "$(js '.initrds | tojson')"
ok_run "profile ls" bhc profile ls
eq "profile ls: header" "NAME ARCH KERNEL DESCRIPTION" "$(header)"
ok_run "profile set" bhc profile set p1 kernel=vmlinuz-6
ok_run "group add" bhc group add g1 default_profile=p1 --label os=win
ok_run "group show --json" bhc group show g1 --json
eq "group: profile reference" p1 "$(js .default_profile)"
ok_run "group ls" bhc group ls
eq "group ls: header" "NAME DEFAULT_PROFILE DESCRIPTION" "$(header)"
check "group ls: row" grep -qE '^g1 +p1 +- *$' <<<"$OUT"
ok_run "group set" bhc group set g1 description=windows
fails "profile rm while a group uses it" 1 "still used" bhc profile rm p1
ok_run "image add" bhc image add win10 kind=disk description=base
ok_run "image ls" bhc image ls
eq "image ls: header" "NAME KIND FSTYPE AUTO_PROMOTE DESCRIPTION" "$(header)"
check "image ls: row" grep -qE '^win10 +disk +- +false +base$' <<<"$OUT"
ok_run "image set" bhc image set win10 fstype=ntfs kind=partition
ok_run "image show" bhc --json image show win10
eq "image set applied" "partition ntfs" "$(js '"\(.kind) \(.fstype)"')"
ok_run "image rm" bhc image rm win10

# ---- hosts ----------------------------------------------------------------

ok_run "host add" bhc host add 02-00-00-AA-00-01 name=pc-1 room=lab1 group=g1 arch=x86_64 --label role=kiosk
ok_run "host show by name --json" bhc --json host show pc-1
eq "host: normalised MAC, references, label" "02:00:00:aa:00:01 lab1 g1 kiosk" \
    "$(js '"\(.mac) \(.room) \(.group) \(.labels.role)"')"
ok_run "host show by MAC" bhc host show 02:00:00:aa:00:01
check "host show (text) has the name" grep -qE '^name: pc-1$' <<<"$OUT"
ok_run "host add another" bhc host add 02:00:00:aa:00:02 name=pc-2 room=lab1 arch=arm64 --label role=lab
ok_run "host add a third" bhc host add 02:00:00:aa:00:03 name=pc-3 arch=x86_64
ok_run "host ls" bhc host ls
eq "host ls: header" "MAC NAME ROOM GROUP ARCH STATE LAST_SEEN" "$(header)"
check "host ls: row" grep -qE '^02:00:00:aa:00:01 +pc-1 +lab1 +g1 +x86_64 +known +-$' <<<"$OUT"
ok_run "host ls --room" bhc --json host ls --room lab1
eq "host ls --room filters" "pc-1,pc-2" "$(js '[.items[].name] | join(",")')"
ok_run "host ls -l selector" bhc --json host ls -l 'role in (kiosk,lab),arch!=arm64'
eq "host ls -l filters by selector" "pc-1" "$(js '[.items[].name] | join(",")')"
ok_run "host ls --sort -name" bhc --json host ls --sort -name
eq "host ls --sort -name orders" "pc-3,pc-2,pc-1" "$(js '[.items[].name] | join(",")')"
ok_run "host ls --limit 2" bhc --json host ls --limit 2
eq "host ls --limit 2 gives two" 2 "$(js '.items | length')"
NEXT=$(js .next)
check "host ls --limit 2: next is a cursor" test "$NEXT" != null
ok_run "host ls --after NEXT" bhc --json host ls --after "$NEXT"
eq "host ls --after: the rest, once" "pc-3 null" "$(js '"\([.items[].name] | join(",")) \(.next)"')"
ok_run "host set" bhc host set pc-1 state=up hardware='{"cpu":"i5","ram":8}' --unlabel role --label tier=1
ok_run "host show after set" bhc --json host show pc-1
eq "host set: state, JSON field, labels" 'up|{"cpu":"i5","ram":8}|{"tier":"1"}' \
    "$(js '"\(.state)|\(.hardware | tojson)|\(.labels | tojson)"')"
printf '{"disk":"ssd"}' >"$T/hw.json"
ok_run "host set FIELD=@file" bhc host set pc-1 hardware=@"$T/hw.json"
ok_run "host show" bhc --json host show pc-1
eq "host set @file read the JSON (merged, as set is a merge patch)" '{"cpu":"i5","disk":"ssd","ram":8}' \
    "$(jq -cS .hardware <<<"$OUT")"
ok_run "host rm two at once" bhc host rm pc-2 02:00:00:aa:00:03
eq "host rm says what it removed" $'removed host pc-2\nremoved host 02:00:00:aa:00:03' "$OUT"
ok_run "host ls after rm" bhc --json host ls
eq "only pc-1 is left" pc-1 "$(js '[.items[].name] | join(",")')"

# ---- errors name what was wrong -------------------------------------------

fails "unknown field: exit 2, named" 2 "no field 'colour'" bhc host add 02:00:00:aa:00:09 colour=red
fails "bad MAC: exit 1, names the field and value" 1 "'zz'" bhc host add zz
contains "bad MAC: names the field" "[field: mac]" "$ERR"
contains "bad MAC: shows the HTTP status" "HTTP 422" "$ERR"
fails "missing room: exit 1, named" 1 "nosuch" bhc host add 02:00:00:aa:00:09 room=nosuch
fails "bad enum" 1 "'sparc'" bhc host set pc-1 arch=sparc
fails "duplicate name" 1 "already exists" bhc room add lab1
fails "not JSON for a JSON field" 2 "not JSON" bhc host set pc-1 hardware='{bad'
fails "FIELD=VALUE expected" 2 "expected FIELD=VALUE" bhc host set pc-1 justaword
fails "set with nothing to set" 2 "nothing to set" bhc host set pc-1
fails "show a missing host" 1 "'nope'" bhc host show nope
fails "rm a missing room" 1 "not found" bhc room rm nope
fails "unknown command" 2 "unknown command 'frobnicate'" "$BH" --url "$BH_URL" frobnicate
fails "unknown verb" 2 "unknown command 'host frob'" bhc host frob x
fails "ls with a stray argument" 2 "unexpected 'stray'" bhc host ls stray
fails "bad query parameter via ls" 1 "unknown query parameter 'colour'" bhc host ls --colour red
fails "bad selector via ls" 1 "selector" bhc host ls -l 'role in kiosk'
fails "bad token" 1 "HTTP 401" "$BH" --url "$BH_URL" --token bh_0123456789ab_nope whoami
fails "no server there" 1 "cannot reach bootherd" "$BH" --url http://127.0.0.1:1 --token x whoami
fails "--url without a value" 2 "--url needs a value" "$BH" whoami --url
VIEWER=$(mktoken cli-viewer viewer)
fails "a viewer cannot add" 1 "HTTP 403" "$BH" --url "$BH_URL" --token "$VIEWER" room add nope
fails "a missing start.conf file" 2 "nope.conf" bhc group startconf g1 -f "$T/nope.conf"

# ---- --help is help, and an unknown option is no name -----------------------

tokens_now() { curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/tokens?count=true" | jq -r .total; }
ntok=$(tokens_now)
ok_run "token add --help: exit 0" bhc token add --help
contains "token add --help prints the usage" "usage: bootherd token" "$OUT"
eq "token add --help creates no token" "$ntok" "$(tokens_now)"
api GET /api/v1/tokens/--help
eq "no token named --help" 404 "$STATUS"
ok_run "token add -h: exit 0" bhc token add -h
eq "token add -h creates no token" "$ntok" "$(tokens_now)"
fails "token add --bogus: refused as an option, exit 2" 2 "unknown option '--bogus'" bhc token add --bogus role=viewer
eq "token add --bogus creates no token" "$ntok" "$(tokens_now)"
# every subcommand alike: --help prints its usage on stdout and exits 0
for c in "room add" "host rm" "group startconf" "image tag" "image import" "job run" "job show" \
    "settings set" "wake" "apply" "audit" "events" "whoami" "boot log"; do
    # shellcheck disable=SC2086
    run bhc $c --help
    if [ "$RC" == 0 ] && [[ $OUT == *"usage: bootherd ${c%% *}"* ]]; then ok "$c --help: usage, exit 0"; else
        nok "$c --help: usage, exit 0"; diag "exit $RC, stdout: ${OUT:0:200}, stderr: ${ERR:0:200}"; fi
done
ok_run "routes --help" "$BH" routes --help
contains "routes --help prints its usage" "usage: bootherd routes" "$OUT"
fails "host show -x: unknown option" 2 "unknown option '-x'" bhc host show -x
fails "room rm a name and an option: refused before removing any" 2 "unknown option '--all'" bhc room rm lab1 --all
ok_run "room lab1 is still there" bhc room show lab1
fails "job run with an unknown option" 2 "unknown option '--now'" bhc job run --now --host pc-1 halt
fails "boot log -x" 2 "unknown option" bhc boot log --last

# ---- where the server and token come from ---------------------------------

ok_run "--data DIR finds the server and the admin token" "$BH" --data "$BH_DATA" whoami --json
eq "--data: admin" "admin admin" "$(js '"\(.name) \(.role)"')"
ok_run "--data after the command" "$BH" host ls --data "$BH_DATA" --json
eq "--data: lists hosts" pc-1 "$(js '.items[0].name')"
fails "--data DIR without a server" 1 "$T/empty/http.addr" "$BH" --data "$T/empty" whoami
ok_run "BOOTHERD_URL and BOOTHERD_TOKEN" env BOOTHERD_URL="$BH_URL" BOOTHERD_TOKEN="$VIEWER" "$BH" whoami --json
eq "env: the viewer token is used" "cli-viewer viewer" "$(js '"\(.name) \(.role)"')"
ok_run "--token beats BOOTHERD_TOKEN" env BOOTHERD_URL="$BH_URL" BOOTHERD_TOKEN="$VIEWER" "$BH" --token "$BH_TOKEN" whoami --json
eq "--token wins" admin "$(js .role)"
ok_run "BOOTHERD_URL beats --data" env BOOTHERD_URL="$BH_URL" "$BH" --data "$T/empty" --token "$BH_TOKEN" whoami --json
eq "env URL used" admin "$(js .role)"
ok_run "a URL with a trailing slash" "$BH" --url "$BH_URL/" --token "$BH_TOKEN" room ls --json
eq "trailing slash works" lab1 "$(js '.items[0].name')"

# ---- tokens ---------------------------------------------------------------

ok_run "token add" bhc --json token add bob role=operator description=ci
BOB=$(js .token)
check "token add prints the secret once" grep -q '^bh_' <<<"$BOB"
ok_run "token ls" bhc token ls
eq "token ls: header" "ID NAME ROLE EXPIRES_AT CREATED_BY" "$(header)"
check "token ls: no secrets" bash -c "! grep -qF '$BOB' '$T/out'"
ok_run "the new token works" "$BH" --url "$BH_URL" --token "$BOB" --json whoami
eq "whoami with bob" "bob operator" "$(js '"\(.name) \(.role)"')"
ok_run "token set" bhc token set bob role=viewer
ok_run "token show" bhc --json token show bob
eq "token set applied" viewer "$(js .role)"
check "token show has no secret or hash" jq -e 'has("token") or has("hash") | not' <<<"$OUT"
ok_run "token rm" bhc token rm bob
fails "a removed token is refused" 1 "HTTP 401" "$BH" --url "$BH_URL" --token "$BOB" whoami

# ---- whoami ---------------------------------------------------------------

ok_run "whoami" bhc whoami
check "whoami (text)" grep -qE '^role: admin$' <<<"$OUT"
fails "whoami takes no arguments" 2 "usage" bhc whoami extra

# ---- start.conf both ways -------------------------------------------------

SC=$ROOT/tests/data/startconf/efi-gpt.conf
ok_run "group startconf -f" bhc group startconf g1 -f "$SC"
contains "startconf -f reports the update" "start.conf of group g1 updated" "$OUT"
ok_run "group startconf (read)" bhc group startconf g1
first=$OUT
contains "start.conf has the LINBO section" "[LINBO]" "$first"
contains "start.conf has the group key" "Group = r202-efi" "$first"
eq "start.conf has the two OS entries" 2 "$(grep -c '^\[OS\]' <<<"$first")"
eq "start.conf has the five partitions" 5 "$(grep -c '^\[Partition\]' <<<"$first")"
printf '%s\n' "$first" >"$T/back.conf"
ok_run "the rendered start.conf goes back in" bhc group startconf g1 -f "$T/back.conf"
ok_run "and reads back the same" bhc group startconf g1
eq "start.conf round trip is stable" "$first" "$OUT"
ok_run "group show --json after startconf" bhc --json group show g1
eq "the config holds the OS entries" "Windows 10,Ubuntu" "$(js '[.config.os[].name] | join(",")')"
printf '[OS]\nDefaultAction = boot\n' >"$T/bad.conf"
fails "a bad start.conf names the line" 1 "start.conf:2" bhc group startconf g1 -f "$T/bad.conf"
contains "a bad start.conf names the key" "DefaultAction" "$ERR"
fails "startconf of a missing group" 1 "not found" bhc group startconf nogroup

# ---- audit ----------------------------------------------------------------

ok_run "audit" bhc audit --kind room --key lab1
eq "audit: header" "ID TS ACTOR ACTION KIND KEY" "$(header)"
eq "audit: room lab1 records, newest first" "updated updated created" \
    "$(tail -n +2 <<<"$OUT" | awk '{print $4}' | xargs)"
ok_run "audit --json --actor --limit" bhc --json audit --actor admin --limit 3
eq "audit --json: three records" 3 "$(js '.items | length')"
check "audit --json: newest first" jq -e '.items[0].id > .items[2].id' <<<"$OUT"
fails "audit with a bad flag" 2 "unexpected '--bogus'" bhc audit --bogus x

# ---- events: paging -------------------------------------------------------

# push the revision well past one page (1000) with parallel creates
bulk() {
    local i=$1 j args=()
    for j in $(seq 1 210); do
        [ "$j" -gt 1 ] && args+=(--next)
        args+=(-s -o /dev/null -H "Authorization: Bearer $BH_TOKEN" -H 'Content-Type: application/json'
            -d "$(printf '{"mac":"02:10:00:%02x:%02x:%02x"}' "$i" $((j / 256)) $((j % 256)))" "$BH_URL/api/v1/hosts")
    done
    curl "${args[@]}"
}
pids=()
for i in 1 2 3 4 5; do bulk "$i" & pids+=($!); done
wait "${pids[@]}"
REV=$(curl -s "$BH_URL/ready" | jq -r .revision)
check "over 1000 revisions now" test "$REV" -gt 1000
ok_run "host ls pages through more than 1000 hosts" bhc --json host ls
eq "host ls: all 1051 hosts, each once" "1051 1051 null" "$(js '"\(.items | length) \([.items[].mac] | unique | length) \(.next)"')"
ok_run "host ls --limit 1020 crosses a page" bhc --json host ls --limit 1020
eq "host ls --limit 1020" 1020 "$(js '.items | length')"
check "host ls --limit 1020: next is the cursor after the last" jq -e '.next | type == "string"' <<<"$OUT"
ok_run "events --since 0 pages through everything" bhc events --since 0
eq "events: one line per revision, in order" "$(seq 1 "$REV" | xargs)" "$(awk '{print $1}' <<<"$OUT" | xargs)"
ok_run "events --json --since" bhc --json events --since $((REV - 3))
eq "events --json: the last three, in the list shape" "$((REV - 2)) $((REV - 1)) $REV|$REV" "$(js '"\([.items[].rev] | join(" "))|\(.next)"')"
ok_run "events (default: the last 100)" bhc events
eq "events: the last 100 by default" 100 "$(wc -l <<<"$OUT")"
ok_run "events --kind room" bhc --json events --since 0 --kind room
eq "events --kind room: only rooms" room "$(js '[.items[].kind] | unique | join(" ")')"
fails "events with a bad --since" 2 "--since wants a revision" bhc events --since x

# ---- events --follow -------------------------------------------------------

# wait_lines FILE N: until FILE has N lines (10 s)
wait_lines() {
    local i
    for i in $(seq 1 200); do
        [ "$(wc -l <"$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
# started directly (not via the bhc function) so $! is the client itself;
# registered with the harness so they die with the test whatever happens
"$BH" --url "$BH_URL" --token "$BH_TOKEN" --json events --follow >"$T/follow" 2>"$T/follow.err" &
FOLLOW=$!
"$BH" --url "$BH_URL" --token "$BH_TOKEN" --json events --follow --kind image >"$T/follow-img" 2>"$T/follow-img.err" &
FOLLOW_IMG=$!
_PIDS+=("$FOLLOW" "$FOLLOW_IMG")
# the followers connect before they see anything: make sure they are in
for i in $(seq 1 100); do
    n=$(curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/metrics" | awk '/^bootherd_ws_connections /{print $2}')
    [ "${n:-0}" -ge 2 ] && break
    sleep 0.05
done
R0=$(curl -s "$BH_URL/ready" | jq -r .revision)
bhc room add follow-room >/dev/null
bhc image add follow-img >/dev/null
bhc room set follow-room location=X >/dev/null
bhc room rm follow-room >/dev/null
if wait_lines "$T/follow" 4; then ok "events --follow prints new events"; else nok "events --follow prints new events"; diag "$(cat "$T/follow" "$T/follow.err")"; fi
eq "events --follow: exactly the changes, in order" \
    "$((R0 + 1)) room created|$((R0 + 2)) image created|$((R0 + 3)) room updated|$((R0 + 4)) room deleted" \
    "$(jq -r '"\(.rev) \(.kind) \(.type)"' "$T/follow" | paste -sd'|')"
wait_lines "$T/follow-img" 1
sleep 0.2 # anything wrong would show up now
eq "events --follow --kind image: only the image" "image follow-img" "$(jq -r '"\(.kind) \(.key)"' "$T/follow-img" | paste -sd'|')"
kill "$FOLLOW" "$FOLLOW_IMG"
wait "$FOLLOW" "$FOLLOW_IMG" 2>/dev/null
check "the followers are gone" bash -c "! kill -0 $FOLLOW 2>/dev/null && ! kill -0 $FOLLOW_IMG 2>/dev/null"
eq "events --follow wrote nothing to stderr" "" "$(cat "$T/follow.err" "$T/follow-img.err")"

# text (non-JSON) follow lines: REV TS KIND KEY TYPE ACTOR
"$BH" --url "$BH_URL" --token "$BH_TOKEN" events --follow --since "$R0" >"$T/follow-txt" 2>&1 &
FOLLOW=$!
_PIDS+=("$FOLLOW")
wait_lines "$T/follow-txt" 4
kill "$FOLLOW"
wait "$FOLLOW" 2>/dev/null
check "events --follow --since resumes, as text lines" \
    grep -qE "^$((R0 + 1)) +[0-9T:.Z-]+ +room +follow-room +created +admin$" "$T/follow-txt"

# run-time boot settings
check "settings set" bhc settings set offline_after=120 unknown_hosts=ignore
out=$(bhc --json settings show)
eq "settings show reads them back" "120 ignore" "$(jq -r '"\(.offline_after) \(.unknown_hosts)"' <<<"$out")"
out=$(bhc --json settings effective)
eq "settings effective has them in force" "120 ignore" "$(jq -r '"\(.offline_after) \(.unknown_hosts)"' <<<"$out")"
check "settings set FIELD= resets it" bhc settings set unknown_hosts=
eq "the config's value is in force again" register "$(bhc --json settings effective | jq -r .unknown_hosts)"
out=$(bhc settings set unknown_hosts=sometimes 2>&1)
contains "settings set rejects a bad value" "unknown_hosts" "$out"
out=$(bhc settings frob 2>&1)
contains "settings with a bad verb prints its usage" "bootherd settings effective" "$out"

finish
