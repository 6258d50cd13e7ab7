#!/bin/bash
# api_crud.sh - create/read/list/patch/put/delete for every kind: ETags and
# preconditions, merge-patch semantics, PUT of a GET body, list filters,
# label selectors, sorting and paging, Location headers, the audit log and
# the JSON event feed.
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }
hdr() { grep -i "^$1:" <<<"$HDRS" | head -1 | sed 's/^[^:]*: *//'; }
etag_of_body() { echo "\"$(jq -r .rev <<<"$BODY")\""; }

# ---- the life of one object of every kind ---------------------------------

# lifecycle PLURAL KEY CREATE_BODY PATCH_BODY LOCATION_KEY_FIELD
lifecycle() {
    local p=$1 key=$2 create=$3 patch=$4 keyf=$5 r0 etag old loc writes=4
    [ "$p" == tokens ] && writes=3
    r0=$(revision)

    api POST "/api/v1/$p" "$create"
    eq "$p: create is 201" 201 "$STATUS"
    loc="/api/v1/$p/$(jq -r ".$keyf" <<<"$BODY")"
    eq "$p: Location names the new object" "$loc" "$(hdr Location)"
    etag=$(hdr ETag)
    eq "$p: ETag is the quoted rev" "$(etag_of_body)" "$etag"
    eq "$p: the create is revision +1" $((r0 + 1)) "$(jq -r .rev <<<"$BODY")"
    [ "$p" == tokens ] && key=$(jq -r .id <<<"$BODY")

    api GET "$loc"
    eq "$p: read by Location" 200 "$STATUS"
    eq "$p: read has the same ETag" "$etag" "$(hdr ETag)"
    api GET "/api/v1/$p/$key" "" "$BH_TOKEN" -H "If-None-Match: $etag"
    eq "$p: If-None-Match with the ETag is 304" 304 "$STATUS"
    eq "$p: 304 has no body" "" "$BODY"
    eq "$p: 304 repeats the ETag" "$etag" "$(hdr ETag)"
    api GET "/api/v1/$p/$key" "" "$BH_TOKEN" -H 'If-None-Match: "1"'
    eq "$p: If-None-Match with another ETag is 200" 200 "$STATUS"
    api GET "/api/v1/$p?limit=1000"
    check "$p: the list holds it" jq -e --arg k "${loc##*/}" "any(.items[]; .$keyf == \$k)" <<<"$BODY"

    api PATCH "/api/v1/$p/$key" "$patch" "$BH_TOKEN" -H 'If-Match: "1"'
    eq "$p: PATCH with a stale If-Match is 412" 412 "$STATUS"
    eq "$p: 412 is problem+json" "application/problem+json" "$(hdr Content-Type)"
    eq "$p: a failed precondition writes nothing" $((r0 + 1)) "$(revision)"
    api PATCH "/api/v1/$p/$key" "$patch" "$BH_TOKEN" -H "If-Match: $etag"
    eq "$p: PATCH with the current If-Match is 200" 200 "$STATUS"
    old=$etag
    etag=$(hdr ETag)
    eq "$p: PATCH gives a new ETag" "\"$((r0 + 2))\"" "$etag"
    check "$p: PATCH applied" jq -e '.description == "patched"' <<<"$BODY"

    if [ "$p" != tokens ]; then
        api GET "/api/v1/$p/$key"
        local put
        put=$(jq -c '.description = "put back"' <<<"$BODY")
        api PUT "/api/v1/$p/$key" "$put" "$BH_TOKEN" -H "If-Match: $old"
        eq "$p: PUT with a stale If-Match is 412" 412 "$STATUS"
        api PUT "/api/v1/$p/$key" "$put" "$BH_TOKEN" -H "If-Match: $etag"
        eq "$p: PUT of the GET body (read-only fields and all) is 200" 200 "$STATUS"
        check "$p: PUT applied" jq -e '.description == "put back"' <<<"$BODY"
        etag=$(hdr ETag)
    fi

    api DELETE "/api/v1/$p/$key" "" "$BH_TOKEN" -H "If-Match: $old"
    eq "$p: DELETE with a stale If-Match is 412" 412 "$STATUS"
    api DELETE "/api/v1/$p/$key" "" "$BH_TOKEN" -H "If-Match: $etag"
    eq "$p: DELETE with the current If-Match is 204" 204 "$STATUS"
    api GET "/api/v1/$p/$key"
    eq "$p: gone after DELETE" 404 "$STATUS"
    eq "$p: 404 is problem+json" "application/problem+json" "$(hdr Content-Type)"
    api DELETE "/api/v1/$p/$key"
    eq "$p: second DELETE is 404" 404 "$STATUS"
    eq "$p: exactly $writes revisions for $writes writes" $((r0 + writes)) "$(revision)"

    # one audit record and one event per change
    local kind=${p%s} akey want="deleted updated updated created"
    [ "$p" == tokens ] && want="deleted updated created"
    api GET "/api/v1/audit?kind=$kind&limit=1"
    akey=$(jq -r '.items[0].key' <<<"$BODY")
    api GET "/api/v1/audit?kind=$kind&key=$akey"
    eq "$p: audit has each change, newest first" "$want" "$(jq -r '[.items[].action] | join(" ")' <<<"$BODY")"
    check "$p: audit says who, and before/after" jq -e \
        'all(.items[]; .actor == "admin" and (.token_id | length == 12))
         and (.items[0].before != null and .items[0].after == null)
         and (.items[-1].before == null and .items[-1].after != null)
         and (.items[1].before.description != .items[1].after.description)' <<<"$BODY"
    api GET "/api/v1/events?since=$r0"
    eq "$p: one event per change, in order" \
        "$(for t in created updated $([ "$p" == tokens ] || echo updated) deleted; do printf '%s:%s ' "$kind" "$t"; done | sed 's/ $//')" \
        "$(jq -r '[.items[] | "\(.kind):\(.type)"] | join(" ")' <<<"$BODY")"
}

lifecycle rooms lc-room '{"name":"lc-room","location":"A","subnet":"10.1.2.0/24"}' '{"description":"patched"}' name
lifecycle groups lc-group '{"name":"lc-group"}' '{"description":"patched"}' name
lifecycle hosts lc-host '{"mac":"02-AA-BB-CC-DD-01","name":"lc-host","arch":"x86_64"}' '{"description":"patched"}' mac
lifecycle profiles lc-prof '{"name":"lc-prof","kernel":"vmlinuz","initrds":["a.img","b.img"]}' '{"description":"patched"}' name
lifecycle images lc-img '{"name":"lc-img","kind":"disk"}' '{"description":"patched"}' name
lifecycle tokens lc-tok '{"name":"lc-tok","role":"viewer"}' '{"description":"patched"}' id

# hosts answer to their MAC in any spelling and to their name
api POST /api/v1/hosts '{"mac":"02AABBCCDD02","name":"keyed"}'
eq "host MAC is normalised" "02:aa:bb:cc:dd:02" "$(jq -r .mac <<<"$BODY")"
for k in 02:aa:bb:cc:dd:02 02-AA-BB-CC-DD-02 02aa.bbcc.dd02 keyed; do
    api GET "/api/v1/hosts/$k"
    eq "host found by key $k" "02:aa:bb:cc:dd:02" "$(jq -r .mac <<<"$BODY")"
done
# tokens answer to their id and their name
api POST /api/v1/tokens '{"name":"keyed-tok","role":"viewer"}'
tid=$(jq -r .id <<<"$BODY")
api GET "/api/v1/tokens/keyed-tok"
eq "token found by name" "$tid" "$(jq -r .id <<<"$BODY")"
api GET "/api/v1/tokens/$tid"
eq "token found by id" "keyed-tok" "$(jq -r .name <<<"$BODY")"

# ---- PATCH is a JSON merge patch ------------------------------------------

api POST /api/v1/rooms '{"name":"mp","description":"D","location":"L1","labels":{"a":"1","b":"2"}}'
r0=$(revision)
api PATCH /api/v1/rooms/mp '{"labels":{"a":null,"c":"3"},"description":null}'
eq "merge patch: 200" 200 "$STATUS"
eq "merge patch: null removes a label, others merge" '{"b":"2","c":"3"}' "$(jq -cS .labels <<<"$BODY")"
eq "merge patch: null clears a field" null "$(jq -c .description <<<"$BODY")"
eq "merge patch: fields not named stay" L1 "$(jq -r .location <<<"$BODY")"
api PATCH /api/v1/rooms/mp '{"labels":{"c":"4"}}' "$BH_TOKEN" -H 'Content-Type: application/merge-patch+json'
eq "merge patch: application/merge-patch+json accepted" 200 "$STATUS"
eq "merge patch: label value replaced" '{"b":"2","c":"4"}' "$(jq -cS .labels <<<"$BODY")"
api PATCH /api/v1/rooms/mp '{"labels":null}'
eq "merge patch: labels null clears them all" '{}' "$(jq -c .labels <<<"$BODY")"
eq "merge patch: three patches, three revisions" $((r0 + 3)) "$(revision)"
api GET /api/v1/audit?kind=room\&key=mp
n_audit=$(jq '.items | length' <<<"$BODY")
api PATCH /api/v1/rooms/mp '{"location":"L1"}'
eq "no-op patch: 200" 200 "$STATUS"
eq "no-op patch: same rev" $((r0 + 3)) "$(jq -r .rev <<<"$BODY")"
eq "no-op patch: no new revision" $((r0 + 3)) "$(revision)"
api GET /api/v1/audit?kind=room\&key=mp
eq "no-op patch: no audit record" "$n_audit" "$(jq '.items | length' <<<"$BODY")"

api POST /api/v1/hosts '{"mac":"02:aa:bb:cc:dd:03","hardware":{"cpu":"i5","ram":8,"disk":{"size":256,"model":"x"}}}'
api PATCH /api/v1/hosts/02:aa:bb:cc:dd:03 '{"hardware":{"cpu":null,"ram":16,"disk":{"model":null}}}'
eq "merge patch: nested objects merge recursively" '{"disk":{"size":256},"ram":16}' "$(jq -cS .hardware <<<"$BODY")"
api PATCH /api/v1/hosts/02:aa:bb:cc:dd:03 '{"name":"renamed-host","state":"up"}'
check "patch sets name and state" jq -e '.name == "renamed-host" and .state == "up"' <<<"$BODY"
api PATCH /api/v1/hosts/02:aa:bb:cc:dd:03 '{"created_at":"2000-01-01T00:00:00Z"}'
eq "patch of a read-only field is 422" 422 "$STATUS"

# ---- PUT replaces ---------------------------------------------------------

api POST /api/v1/rooms '{"name":"rp","description":"D","location":"L","labels":{"x":"1"}}'
created_at=$(jq -r .created_at <<<"$BODY")
etag=$(hdr ETag)
api PUT /api/v1/rooms/rp '{"name":"rp","location":"L2","created_at":"2000-01-01T00:00:00Z","updated_at":"2000-01-01T00:00:00Z","rev":1}' "$BH_TOKEN" -H "If-Match: $etag"
eq "PUT with read-only fields: 200" 200 "$STATUS"
eq "PUT ignores created_at from the body" "$created_at" "$(jq -r .created_at <<<"$BODY")"
check "PUT ignores rev and updated_at from the body" jq -e '.rev > 1 and (.updated_at | startswith("2000") | not)' <<<"$BODY"
eq "PUT replaces: fields left out are cleared" 'null {}' "$(jq -c '.description, .labels' <<<"$BODY" | xargs)"
eq "PUT replaces: fields given are set" L2 "$(jq -r .location <<<"$BODY")"
api PUT /api/v1/rooms/rp '{"location":"L3"}'
eq "PUT without a required field is 422" 422 "$STATUS"
api PUT /api/v1/rooms/nosuch '{"name":"nosuch"}'
eq "PUT of a missing object is 404" 404 "$STATUS"

# ---- lists: filters, selectors, sorting, paging ---------------------------

for r in ra rb; do api POST /api/v1/rooms "{\"name\":\"$r\"}"; done
for g in ga gb; do api POST /api/v1/groups "{\"name\":\"$g\"}"; done
mkhost() { # N ROOM GROUP ARCH STATE LABELS
    local doc
    doc=$(jq -cn --arg n "h$1" --arg m "02:00:00:00:01:0$1" --arg r "$2" --arg g "$3" \
        --arg a "$4" --arg s "$5" --argjson l "$6" \
        '{mac:$m, name:$n, arch:$a, state:$s, labels:$l}
         + (if $r == "" then {} else {room:$r} end) + (if $g == "" then {} else {group:$g} end)')
    api POST /api/v1/hosts "$doc"
    [ "$STATUS" == 201 ] || { nok "create host h$1"; diag "$BODY"; }
}
mkhost 1 ra ga x86_64 up '{"role":"kiosk"}'
mkhost 2 ra gb arm64 up '{"role":"kiosk"}'
mkhost 3 rb ga x86_64 offline '{"role":"lab"}'
mkhost 4 rb "" x86_64 known '{}'
mkhost 5 "" "" i386 new '{"role":"kiosk","tier":"1"}'
mkhost 6 ra ga arm64 booting '{"role":"lab","tier":"2"}'
mkhost 7 rb gb "" up '{"team":"x"}'

# names QUERY: the h* host names a list returns, in order
names() {
    api GET "/api/v1/hosts?$1"
    if [ "$STATUS" != 200 ]; then echo "HTTP $STATUS: $BODY"; return; fi
    jq -r '[.items[].name | select(startswith("h"))] | join(",")' <<<"$BODY"
}
lq() { eq "list ?$1" "$2" "$(names "$1")"; }

lq "room=ra" h1,h2,h6
lq "group=gb" h2,h7
lq "state=up" h1,h2,h7
lq "arch=arm64" h2,h6
lq "room=ra&arch=arm64" h2,h6
lq "room=rb&state=up" h7
lq "room=nosuch" ""
lq "selector=role%3Dkiosk" h1,h2,h5
lq "selector=role%3Dkiosk,arch!%3Darm64" h1,h5
lq "selector=role!%3Dkiosk" h3,h4,h6,h7
lq "selector=role%20in%20(kiosk,lab)" h1,h2,h3,h5,h6
lq "selector=role%20notin%20(kiosk)" h3,h4,h6,h7
lq "selector=role" h1,h2,h3,h5,h6
lq "selector=!role" h4,h7
lq "selector=tier%20in%20(1,2),role%3Dlab" h6
lq "selector=state%3Dup,team" h7
lq "selector=room%3Dra,role%3Dlab" h6
lq "room=ra&selector=role%3Dkiosk" h1,h2
lq "sort=name" h1,h2,h3,h4,h5,h6,h7
lq "sort=-name" h7,h6,h5,h4,h3,h2,h1
lq "sort=arch,-name" h7,h6,h2,h5,h4,h3,h1
lq "sort=-state,name" h1,h2,h7,h3,h5,h4,h6

# paging, over the five h* hosts with a role of kiosk or lab: h1 h2 h3 h5 h6
page() { # QUERY -> "names|next|total"
    api GET "/api/v1/hosts?$1"
    jq -r '[([.items[].name] | join(",")), (.next // "none" | tostring), (.total // "none" | tostring)] | join("|")' <<<"$BODY"
}
SEL='selector=role%20in%20(kiosk,lab)'
eq "page: limit=2" "h1,h2|2|none" "$(page "sort=name&limit=2&$SEL")"
eq "page: offset=2" "h3,h5|4|none" "$(page "sort=name&limit=2&offset=2&$SEL")"
eq "page: the last page has next null" "h6|none|none" "$(page "sort=name&limit=2&offset=4&$SEL")"
eq "page: past the end is empty" "|none|none" "$(page "sort=name&limit=2&offset=50&$SEL")"
eq "page: an exact fit has next null" "h1,h2,h3,h5,h6|none|none" "$(page "sort=name&limit=5&$SEL")"
eq "count=true with a filter" "h1|1|3" "$(page "sort=name&limit=1&count=true&room=ra")"
api GET "/api/v1/hosts?limit=1000"
n_hosts=$(jq '.items | length' <<<"$BODY")
api GET "/api/v1/hosts?limit=1&count=true"
eq "count=true counts every host" "$n_hosts" "$(jq -r .total <<<"$BODY")"
api GET "/api/v1/hosts?limit=2&offset=2"
check "a page is {items, next}, nothing else" jq -e 'keys == ["items", "next"] and (.next | type == "string")' <<<"$BODY"
n1=$(page "sort=name&limit=2&$SEL" | cut -d'|' -f2)
eq "page: after=NEXT is the next page" "h3,h5" "$(page "sort=name&limit=2&after=$n1&$SEL" | cut -d'|' -f1)"
api GET "/api/v1/rooms?sort=-name&selector=!zz"
check "rooms sort=-name" jq -e '[.items[].name] == ([.items[].name] | sort | reverse)' <<<"$BODY"

# ---- audit: who, what, before, after --------------------------------------

OPS=$(mktoken auditor operator)
api GET /api/v1/whoami "" "$OPS"
ops_id=$(jq -r .token_id <<<"$BODY")
api POST /api/v1/rooms '{"name":"aud","location":"L1"}' "$OPS"
api PATCH /api/v1/rooms/aud '{"location":"L2"}' "$OPS"
api DELETE /api/v1/rooms/aud "" "$OPS"
api GET "/api/v1/audit?kind=room&key=aud"
eq "audit: three records for three changes" 3 "$(jq '.items | length' <<<"$BODY")"
eq "audit: newest first, actions" "deleted updated created" "$(jq -r '[.items[].action] | join(" ")' <<<"$BODY")"
check "audit: who (actor, token id, remote)" jq -e --arg t "$ops_id" \
    'all(.items[]; .actor == "auditor" and .token_id == $t and .remote == "127.0.0.1")' <<<"$BODY"
check "audit: created has no before, the object after" \
    jq -e '.items[2] | .before == null and .after.name == "aud" and .after.location == "L1"' <<<"$BODY"
check "audit: updated has before and after" \
    jq -e '.items[1] | .before.location == "L1" and .after.location == "L2"' <<<"$BODY"
check "audit: deleted has before, no after" \
    jq -e '.items[0] | .before.location == "L2" and .after == null' <<<"$BODY"
check "audit: ids descend and timestamps are RFC 3339" \
    jq -e '(.items[0].id > .items[1].id) and (.items[1].id > .items[2].id) and all(.items[]; .ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' <<<"$BODY"
api GET "/api/v1/audit?actor=auditor"
eq "audit ?actor= filters by who" "aud aud aud" "$(jq -r '[.items[].key] | join(" ")' <<<"$BODY")"
api GET "/api/v1/audit?limit=2"
check "audit paging: limit=2 gives a next cursor" jq -e '(.items | length == 2) and (.next | type == "string")' <<<"$BODY"
nb=$(jq -r .next <<<"$BODY")
last=$(jq -r '.items[1].id' <<<"$BODY")
api GET "/api/v1/audit?limit=2&after=$nb"
check "audit paging: after=NEXT continues below" jq -e --argjson b "$last" 'all(.items[]; .id < $b) and (.items | length == 2)' <<<"$BODY"
api GET "/api/v1/audit?limit=2&before=$last"
check "audit paging: before=ID is kept" jq -e --argjson b "$last" 'all(.items[]; .id < $b) and (.items | length == 2)' <<<"$BODY"

# ---- events since a revision ----------------------------------------------

since=$(revision)
api POST /api/v1/images '{"name":"ev-img"}'
api PATCH /api/v1/images/ev-img '{"kind":"disk"}'
api POST /api/v1/hosts '{"mac":"02:aa:bb:cc:dd:09","name":"ev-host"}'
api DELETE /api/v1/images/ev-img
api GET "/api/v1/events?since=$since"
eq "events: 200" 200 "$STATUS"
eq "events: JSON" application/json "$(hdr Content-Type)"
eq "events: exactly the four changes, in order" \
    "$((since + 1)):image:ev-img:created $((since + 2)):image:ev-img:updated $((since + 3)):host:02:aa:bb:cc:dd:09:created $((since + 4)):image:ev-img:deleted" \
    "$(jq -r '[.items[] | "\(.rev):\(.kind):\(.key):\(.type)"] | join(" ")' <<<"$BODY")"
eq "events: next is the last revision" $((since + 4)) "$(jq -r .next <<<"$BODY")"
check "events: data is the object, actor the token" \
    jq -e '.items[1].data.kind == "disk" and .items[1].actor == "admin" and .items[3].data.name == "ev-img"' <<<"$BODY"
api GET "/api/v1/events?since=$((since + 4))"
eq "events: nothing new after next" "0 $((since + 4))" "$(jq -r '"\(.items | length) \(.next)"' <<<"$BODY")"
api GET "/api/v1/events?since=$since&kind=host"
eq "events: kind filter" "host" "$(jq -r '[.items[].kind] | unique | join(",")' <<<"$BODY")"
api GET "/api/v1/events?since=$since&key=ev-img"
eq "events: key filter" 3 "$(jq '.items | length' <<<"$BODY")"
# paging with limit: collect everything since 0 two at a time
from=0 revs=""
for _ in $(seq 1 1000); do
    api GET "/api/v1/events?after=$from&limit=50"
    revs+=$(jq -r '.items[].rev' <<<"$BODY" | tr '\n' ' ')
    next=$(jq -r .next <<<"$BODY")
    [ "$next" -le "$from" ] && break
    from=$next
done
eq "events: paging with limit visits every revision once" "$(seq 1 "$(revision)" | tr '\n' ' ')" "$revs"
api GET "/api/v1/events"
check "events: without since starts now (no backlog)" jq -e --argjson r "$(revision)" '(.items | length == 0) and .next == ($r | tostring)' <<<"$BODY"

finish
