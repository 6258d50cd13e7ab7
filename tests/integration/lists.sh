#!/bin/bash
# lists.sh - every list of the API has one shape, {"items": [...], "next":
# CURSOR or null}, and one way to page: pass next back as ?after=.  For each
# list endpoint of the route table: the shape, a walk with limit=2 through
# next that meets every item exactly once, and a cursor the list never gave
# out refused with 400 and the same words.  The CLI's --json prints the same
# shape.  (Issue 11, section 4.)
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }
W=$(tmpdir)

# ---- fixtures: five of each kind, a host with events, an image with three
# versions, jobs ------------------------------------------------------------
for i in 1 2 3 4 5; do
    api POST /api/v1/rooms "{\"name\":\"lr$i\"}"
    api POST /api/v1/groups "{\"name\":\"lg$i\"}"
    api POST /api/v1/profiles "{\"name\":\"lp$i\",\"kernel\":\"vmlinuz\"}"
    api POST /api/v1/images "{\"name\":\"li$i\"}"
    api POST /api/v1/tokens "{\"name\":\"lt$i\",\"role\":\"viewer\"}"
    api POST /api/v1/hosts "{\"mac\":\"02:00:00:11:00:0$i\",\"name\":\"lh$i\",\"room\":\"lr1\"}"
done
for i in 1 2 3 4; do api PATCH /api/v1/hosts/lh1 "{\"labels\":{\"n\":\"$i\"}}"; done
for i in 1 2 3; do
    head -c 300000 /dev/urandom >"$W/v$i.raw"
    bhc image import li1 "$W/v$i.raw" >/dev/null 2>&1 || nok "image import $i"
done
for i in 1 2 3 4 5; do
    api POST /api/v1/jobs '{"targets":{"room":"lr1"},"steps":["reboot"]}'
    [ "$STATUS" == 201 ] || { nok "job $i"; diag "$BODY"; }
done

# walk PATH ID_FILTER: every page of PATH with limit=2, following next; prints
# the ids met, one a line, then "pages=N".  PATH may carry a query.
walk() { # PATH ID_FILTER [FIRST_CURSOR]
    local path=$1 f=$2 sep next=${3:-} pages=0
    [[ $path == *\?* ]] && sep="&" || sep="?"
    while :; do
        api GET "$path${sep}limit=2${next:+&after=$next}"
        [ "$STATUS" == 200 ] || { echo "status=$STATUS"; return; }
        jq -r ".items[] | $f" <<<"$BODY"
        pages=$((pages + 1))
        next=$(jq -r '.next // empty' <<<"$BODY")
        [ -n "$next" ] && [ $pages -lt 100 ] || break
        # the events' cursor is never null: an empty page ends the walk
        [ "$(jq '.items | length' <<<"$BODY")" == 0 ] && break
    done
    echo "pages=$pages"
}

# every list endpoint of the route table, and what identifies its items
LISTS=(
    "/api/v1/rooms|.name"
    "/api/v1/groups|.name"
    "/api/v1/hosts|.mac"
    "/api/v1/profiles|.name"
    "/api/v1/images|.name"
    "/api/v1/tokens|.id"
    "/api/v1/hosts/lh1/events|.rev"
    "/api/v1/images/li1/versions|.version"
    "/api/v1/jobs|.id"
    "/api/v1/audit|.id"
    "/api/v1/events|.rev|0"
)
eq "every GET list of the route table is checked here" \
    "$(printf '%s\n' "${LISTS[@]}" | cut -d'|' -f1 | sed 's#/lh1/#/{key}/#; s#/li1/#/{key}/#' | sort)" \
    "$("$BH" routes | awk '$1 == "GET" {print $2}' | grep -E '^/api/v1/(rooms|groups|hosts|profiles|images|tokens|jobs|audit|events)$|/events$|/versions$' | sort)"

for l in "${LISTS[@]}"; do
    IFS='|' read -r path id first <<<"$l"
    api GET "$path${first:+?after=$first}"
    eq "$path: 200" 200 "$STATUS"
    check "$path: {items: [...], next: string or null}" \
        jq -e '(keys == ["items", "next"]) and (.items | type == "array") and (.next == null or (.next | type == "string"))' <<<"$BODY"
    all=$(jq -r ".items[] | $id" <<<"$BODY" | sort)
    check "$path: has items to page through" test "$(wc -l <<<"$all")" -ge 3
    out=$(walk "$path" "$id" "$first")
    eq "$path: paging by next meets every item once" "$all" "$(grep -v '^pages=' <<<"$out" | sort)"
    check "$path: ... over several pages" test "$(sed -n 's/^pages=//p' <<<"$out")" -ge 2
    [[ $path == *\?* ]] && sep="&" || sep="?"
    api GET "$path${sep}after=not-a-cursor"
    eq "$path: a bad cursor is 400" 400 "$STATUS"
    eq "$path: ... saying why" "invalid-query|after must be a cursor this list gave out: the next of an earlier page|after" \
        "$(jq -r '"\(.type | sub(".*:"; ""))|\(.detail)|\(.field)"' <<<"$BODY")"
done

# the last page says there is no next (the event feed excepted: its next is
# where to ask for what happens later)
api GET "/api/v1/rooms?limit=1000"
eq "a list that fits in one page: next is null" null "$(jq .next <<<"$BODY")"
api GET "/api/v1/events?after=0&limit=1000"
check "the event feed's next is the revision to go on from" \
    jq -e --arg r "$(curl -s "$BH_URL/ready" | jq -r .revision)" '.next == $r' <<<"$BODY"
api GET "/api/v1/events?after=99999999"
eq "events: a cursor past the newest revision is a bad cursor" "400|after" "$STATUS|$(jq -r .field <<<"$BODY")"
api GET "/api/v1/hosts?after=-1"
eq "hosts: a negative cursor is a bad cursor" "400|after" "$STATUS|$(jq -r .field <<<"$BODY")"
api GET "/api/v1/hosts?limit=2&count=true"
check "count=true adds total beside items and next" jq -e 'keys == ["items", "next", "total"] and .total >= 5' <<<"$BODY"

# ---- the CLI's --json: the same shape ------------------------------------
for cmd in "room ls" "group ls" "host ls" "profile ls" "image ls" "token ls" "boot log lh1" \
    "image versions li1" "job ls" "audit" "events --since 0"; do
    # shellcheck disable=SC2086
    out=$(bhc --json $cmd 2>&1)
    check "CLI $cmd --json: {items, next}" \
        jq -e '(keys == ["items", "next"]) and (.items | type == "array") and (.items | length > 0)' <<<"$out"
done
out=$(bhc --json room ls --limit 2)
n=$(jq -r .next <<<"$out")
check "CLI room ls --limit 2: next is a cursor" test "$n" != null
eq "CLI room ls --after NEXT: the rest" "lr3 lr4 lr5" "$(bhc --json room ls --after "$n" | jq -r '[.items[].name] | join(" ")')"
out=$(bhc --json job ls --limit 2)
eq "CLI job ls --limit 2 --after NEXT: the next two" \
    "$(api GET '/api/v1/jobs?limit=4'; jq -r '[.items[2:4][].id] | join(" ")' <<<"$BODY")" \
    "$(bhc --json job ls --limit 2 --after "$(jq -r .next <<<"$out")" | jq -r '[.items[].id] | join(" ")')"
out=$(bhc room ls --after bad 2>&1)
rc=$?
eq "CLI ls with a bad cursor: exit 1 and the server's words" "1|after must be a cursor this list gave out: the next of an earlier page" \
    "$rc|$(grep -o 'after must be[^(]*page' <<<"$out")"

finish
