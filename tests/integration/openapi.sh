#!/bin/bash
# openapi.sh - GET /api/v1/openapi.json is an OpenAPI 3.1.0 document that
# matches the server: every operation in it is answered (with a status it
# documents), every route of `bootherd routes` is in it and nothing else,
# every $ref resolves, and objects the server returns fit their schemas.
source "$(dirname "$0")/../lib/harness.sh"

# a console to serve (the build's web/ may not be there)
UI=$(tmpdir)
mkdir -p "$UI/ui" && echo '<!doctype html>' >"$UI/index.html" && echo 'x' >"$UI/ui/oa.js"
printf '[http]\nui_dir = %s\n' "$UI" >"$UI/bootherd.conf"
bh_start "" --config "$UI/bootherd.conf" || { nok "daemon starts"; finish; exit 1; }

api GET /api/v1/openapi.json "" ""
eq "openapi.json: 200 without a token" 200 "$STATUS"
contains "openapi.json: JSON" "application/json" "$(grep -i '^Content-Type:' <<<"$HDRS")"
DOC=$BODY
eq "openapi: 3.1.0" 3.1.0 "$(jq -r .openapi <<<"$DOC")"
check "info has a title and the server's version" \
    jq -e --arg v "$(curl -s "$BH_URL/health" | jq -r .version)" '.info.title and .info.version == $v' <<<"$DOC"
check "bearer and cookie security schemes, either used by default" \
    jq -e '.components.securitySchemes.bearer == {"type":"http","scheme":"bearer"} and .components.securitySchemes.cookie.in == "cookie" and .components.securitySchemes.cookie.name == "bh_session" and .security == [{"bearer":[]},{"cookie":[]}]' <<<"$DOC"

# ---- the document and the route table agree ------------------------------

OPS=$(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(ascii_upcase) \($p)"' <<<"$DOC" | sort)
ROUTES=$("$BH" routes | awk '{print $1, $2}' | sed "s/\*}/}/" | sort)
check "bootherd routes lists routes" test "$(wc -l <<<"$ROUTES")" -gt 30
eq "every route is in the document, and nothing else" "$ROUTES" "$OPS"
eq "operationIds are unique" "" "$(jq -r '[.paths[][] | .operationId] | group_by(.) | map(select(length > 1)) | .[][0]' <<<"$DOC")"
PUBLIC=$("$BH" routes | awk '$3 == "public" {print $1, $2}' | sed "s/\*}/}/" | sort)
eq "public routes have security: []" "$PUBLIC" \
    "$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | select(.value.security == []) | "\(.key | ascii_upcase) \($p)"' <<<"$DOC" | sort)"
eq "protected routes document 401 and 403" "" \
    "$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | select(.value.security != []) | select((.value.responses | has("401") and has("403")) | not) | "\(.key) \($p)"' <<<"$DOC")"
eq "every {key} path declares the key parameter" "" \
    "$(jq -r '.paths | to_entries[] | select(.key | contains("{key}")) | .key as $p | .value | to_entries[] | select([.value.parameters[]? | select(.name == "key" and .in == "path" and .required)] | length != 1) | "\(.key) \($p)"' <<<"$DOC")"

# ---- every $ref resolves --------------------------------------------------

REFS=$(jq -r '[.. | objects | select(has("$ref")) | .["$ref"]] | unique | .[]' <<<"$DOC")
check "the document uses \$ref" test -n "$REFS"
bad=""
for r in $REFS; do
    if [[ $r != "#/"* ]]; then bad+="$r (not local) "; continue; fi
    jq -e --arg r "${r#\#/}" 'getpath($r | split("/")) | type == "object"' <<<"$DOC" >/dev/null || bad+="$r "
done
eq "every \$ref resolves ($(wc -w <<<"$REFS") distinct)" "" "$bad"
eq "every schema is referenced or a kind" "" \
    "$(jq -r --argjson used "$(jq -R . <<<"$REFS" | jq -s .)" '.components.schemas | keys[] | select(("#/components/schemas/" + .) as $r | $used | index($r) | not)' <<<"$DOC")"

# ---- every operation is answered ------------------------------------------

SC=$ROOT/tests/data/startconf/efi-gpt.conf
create_body() { # PLURAL NAME (a host's MAC is derived from its name)
    local h
    h=$(cksum <<<"$2" | cut -d' ' -f1)
    case $1 in
    rooms | groups | images) echo "{\"name\":\"$2\"}" ;;
    profiles) echo "{\"name\":\"$2\",\"kernel\":\"vmlinuz\"}" ;;
    hosts) printf '{"mac":"02:00:%02x:%02x:%02x:%02x","name":"%s"}' $((h >> 24 & 255)) $((h >> 16 & 255)) $((h >> 8 & 255)) $((h & 255)) "$2" ;;
    tokens) echo "{\"name\":\"$2\",\"role\":\"viewer\"}" ;;
    esac
}
key_of() { # PLURAL: the key the fixture of that kind answers to
    echo "oa-$1"
}
for p in rooms groups hosts profiles images tokens; do
    api POST "/api/v1/$p" "$(create_body $p "oa-$p")"
    [ "$STATUS" == 201 ] || { nok "fixture $p"; diag "$BODY"; }
done

api GET /api/v1/hosts/oa-hosts
FIXTURE_MAC=$(jq -r .mac <<<"$BODY")

# an agent of the host fixture: a profile with a ticket, a hello
api POST /api/v1/profiles '{"name":"oa-agent","kernel":"vmlinuz","cmdline":"bootherd.ticket={{ticket}}"}'
api PATCH /api/v1/hosts/oa-hosts '{"profile":"oa-agent"}'
oa_ticket() { bhc host ticket "$FIXTURE_MAC"; }
api POST /api/v1/agent/hello "{\"mac\":\"$FIXTURE_MAC\",\"ticket\":\"$(oa_ticket)\"}" ""
OA_HT=$(jq -r .token <<<"$BODY")
check "fixture: an agent token" test -n "$OA_HT" -a "$OA_HT" != null

# a job for the host fixture (in no group: steps that need no start.conf)
api POST /api/v1/jobs '{"targets":{"hosts":["oa-hosts"]},"steps":["shell:true","reboot"]}'
OA_JOB=$(jq -r .id <<<"$BODY")
check "fixture: a job" test -n "$OA_JOB" -a "$OA_JOB" != null

# image fixtures: two versions of oa-images, a tag, a chunk, a manifest
head -c 300000 /dev/urandom >"$TEST_TMP/oa.raw"
for _ in 1 2; do bhc image import oa-images "$TEST_TMP/oa.raw" --tag oa-tag >/dev/null 2>&1; done
curl -s -H "Authorization: Bearer $BH_TOKEN" -o "$TEST_TMP/oa.mf" "$BH_URL/api/v1/images/oa-images/versions/1/manifest"
printf 'openapi' >"$TEST_TMP/oa.chunk"
OA_CHUNK=$(sha256sum "$TEST_TMP/oa.chunk" | cut -c1-64)
zstd -q -f "$TEST_TMP/oa.chunk" -o "$TEST_TMP/oa.chunk.zst"
# an upload to query, delete and commit
new_upload() {
    api POST /api/v1/images/oa-images/uploads "" "$BH_TOKEN" --data-binary @"$TEST_TMP/oa.mf" \
        -H 'Content-Type: application/vnd.bootherd.manifest'
    jq -r .upload <<<"$BODY"
}

# call METHOD PATTERN: a plausible request for the operation; sets STATUS BODY
call() {
    local m=$1 pat=$2 path plural body
    plural=$(cut -d/ -f4 <<<"$pat")
    path=${pat//\{key\}/$(key_of "$plural")}
    case "$m $pat" in
    "POST /api/v1/jobs") api POST "$path" '{"targets":{"hosts":["oa-hosts"]},"steps":["reboot"]}' ;;
    "POST /api/v1/agent/hello") # a new boot: the host token before it ends
        api POST "$path" "{\"mac\":\"$FIXTURE_MAC\",\"ticket\":\"$(oa_ticket)\"}" ""
        OA_HT=$(jq -r .token <<<"$BODY") ;;
    "GET /api/v1/agent/task") api GET "$path" "" "$OA_HT" ;;
    "GET /api/v1/agent/channel") # a real WebSocket handshake: 101, then the channel
        STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade' \
            -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
            -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H "Authorization: Bearer $OA_HT" \
            "$BH_URL$path")
        BODY="" ;;
    "POST /api/v1/agent/boot-local") # then take the one-shot, so later boot scripts carry tickets
        api POST "$path" "" "$OA_HT"
        curl -s "$BH_URL/boot/ipxe?mac=$FIXTURE_MAC" >/dev/null ;;
    "POST /api/v1/agent/tasks/{id}")
        api POST /api/v1/jobs '{"targets":{"hosts":["oa-hosts"]},"steps":["halt"]}'
        api GET /api/v1/agent/task "" "$OA_HT"
        api POST "/api/v1/agent/tasks/$(jq -r .task <<<"$BODY")" '{"state":"running"}' "$OA_HT" ;;
    *"/jobs/{id}"*) api "$m" "${path//\{id\}/$OA_JOB}" ;;
    "DELETE /api/v1/images/{key}/versions/{ref}") api DELETE "${path//\{ref\}/1}" ;;
    "DELETE /api/v1/images/{key}/tags/{tag}") api DELETE "${path//\{tag\}/oa-tag}" ;;
    "PUT /api/v1/images/{key}/tags/{tag}") api PUT "${path//\{tag\}/oa-tag2}" '{"version":"latest"}' ;;
    *"/versions/{ref}"*) api "$m" "${path//\{ref\}/latest}" ;;
    "GET /api/v1/images/{key}/diff") api GET "$path?a=latest&b=latest" ;;
    "POST /api/v1/images/{key}/uploads")
        api POST "$path" "" "$BH_TOKEN" --data-binary @"$TEST_TMP/oa.mf" -H 'Content-Type: application/vnd.bootherd.manifest' ;;
    *"/uploads/{id}/commit") api POST "/api/v1/uploads/$(new_upload)/commit" '{"note":"openapi"}' ;;
    *"/uploads/{id}") api "$m" "/api/v1/uploads/$(new_upload)" ;;
    "PUT /api/v1/chunks/{id}")
        api PUT "/api/v1/chunks/$OA_CHUNK" "" "$BH_TOKEN" --data-binary @"$TEST_TMP/oa.chunk.zst" -H 'Content-Type: application/zstd' ;;
    "GET /api/v1/chunks/{id}")
        api PUT "/api/v1/chunks/$OA_CHUNK" "" "$BH_TOKEN" --data-binary @"$TEST_TMP/oa.chunk.zst" -H 'Content-Type: application/zstd'
        api GET "/api/v1/chunks/$OA_CHUNK" ;;
    "DELETE "*"{key}")
        # a fresh object to delete, so the fixtures stay for the rest
        api POST "/api/v1/$plural" "$(create_body "$plural" "del-$plural")"
        path=${pat//\{key\}/del-$plural}
        api DELETE "$path"
        ;;
    "PUT "*"/start.conf")
        STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $BH_TOKEN" \
            -H 'Content-Type: text/plain' --data-binary "@$SC" "$BH_URL$path")
        BODY=""
        ;;
    "PUT "*)
        api GET "$path"
        body=$(jq -c '.description = "via openapi"' <<<"$BODY")
        api PUT "$path" "$body"
        ;;
    "PATCH /api/v1/settings") api PATCH "$path" '{"snponly":true}' ;;
    "PATCH "*) api PATCH "$path" '{"description":"patched via openapi"}' ;;
    "GET /boot/ipxe") api GET "/boot/ipxe?mac=$FIXTURE_MAC" "" "" ;;
    *" /boot/up") api "$m" "/boot/up?mac=$FIXTURE_MAC" "" "" ;;
    "GET /boot/files/{path}")
        mkdir -p "$BH_DATA/boot" && echo oa >"$BH_DATA/boot/oa.txt"
        api GET /boot/files/oa.txt "" ""
        ;;
    "POST /api/v1/wake") api POST "$path" '{"hosts":["oa-hosts"]}' ;;
    "POST /api/v1/session") api POST "$path" "{\"token\":\"$BH_TOKEN\"}" "" ;;
    *" /api/v1/session") # with a session's cookie (and its CSRF token)
        api POST "$path" "{\"token\":\"$BH_TOKEN\"}" ""
        api "$m" "$path" "" "" -b "bh_session=$(grep -i '^Set-Cookie:' <<<"$HDRS" | sed 's/^[^=]*=\([^;]*\).*/\1/')" \
            -H "X-CSRF-Token: $(jq -r .csrf <<<"$BODY")" ;;
    "GET /") api GET / "" "" ;;
    "GET /ui/{path}") api GET /ui/oa.js "" "" ;;
    "POST /api/v1/hosts/register") # a machine that booted (state new), then named
        curl -s "$BH_URL/boot/ipxe?mac=02:00:00:0b:00:01" >/dev/null
        for _ in $(seq 1 100); do
            api GET /api/v1/hosts/02:00:00:0b:00:01
            [ "$STATUS" == 200 ] && break
            sleep 0.02
        done
        api POST "$path" '{"hosts":["02:00:00:0b:00:01"],"pattern":"oa-reg{1..1}"}' ;;
    "POST /api/v1/hosts/import") # a LINBO devices.csv, as a dry run
        api POST "$path?dry_run=1&create=rooms,groups" "" "$BH_TOKEN" -H 'Content-Type: text/csv' \
            --data-binary $'oa-room;oa-import;oa-group;02:00:00:0b:00:02;DHCP;;;;;;1\n' ;;
    "POST "*) api POST "$path" "$(create_body "$plural" "new-$plural")" ;;
    *) api "$m" "$path" ;;
    esac
}

while read -r m pat; do
    call "$m" "$pat"
    documented=$(jq -r --arg p "$pat" --arg m "${m,,}" '.paths[$p][$m].responses | keys | join(" ")' <<<"$DOC")
    why=""
    [ "$STATUS" == 405 ] && why="405 from the router"
    [ "$STATUS" == 404 ] && [[ $BODY == *"no such endpoint"* ]] && why="the router does not know it"
    [[ $STATUS == 2* || $STATUS == 101 ]] || why+=" not a success"
    [[ " $documented " == *" $STATUS "* ]] || why+=" status $STATUS is not among the documented ($documented)"
    if [ -z "$why" ]; then ok "$m $pat answered $STATUS"; else nok "$m $pat is answered as documented"; diag "$why: HTTP $STATUS ${BODY:0:300}"; fi
done <<<"$OPS"

# ---- what the server returns fits the schemas -----------------------------

for p in rooms groups hosts profiles images tokens; do
    schema=$(jq -r --arg p "$p" '.paths["/api/v1/\($p)/{key}"].get.responses["200"].content["application/json"].schema["$ref"] | split("/") | last' <<<"$DOC")
    api GET "/api/v1/$p/oa-$p"
    obj=$BODY
    eq "$p: the object has only the schema's properties" "" \
        "$(jq -r --argjson o "$obj" --arg s "$schema" '.components.schemas[$s].properties as $pr | $o | keys[] | select(in($pr) | not)' <<<"$DOC")"
    eq "$p: the object has every required property" "" \
        "$(jq -r --argjson o "$obj" --arg s "$schema" '.components.schemas[$s].required[] | select(in($o) | not)' <<<"$DOC")"
    eq "$p: the object has every property the schema lists" "" \
        "$(jq -r --argjson o "$obj" --arg s "$schema" '.components.schemas[$s].properties | keys[] | select(in($o) | not)' <<<"$DOC")"
    eq "$p: the list's items are the same schema" "#/components/schemas/$schema" \
        "$(jq -r --arg p "$p" '.paths["/api/v1/\($p)"].get.responses["200"].content["application/json"].schema.properties.items.items["$ref"]' <<<"$DOC")"
done
check "enums in the schema match the server: host arch" \
    jq -e '.components.schemas.Host.properties.arch.enum == ["","x86_64","i386","arm64","arm32"]' <<<"$DOC"
api POST /api/v1/hosts '{"mac":"02:00:00:0a:ff:01","arch":"sparc"}'
contains "the server refuses what the enum leaves out" "'sparc' is not one of '', 'x86_64', 'i386', 'arm64', 'arm32'" "$BODY"
api GET /api/v1/rooms/nope
eq "a problem has only the Problem schema's properties" "" \
    "$(jq -r --argjson o "$BODY" '.components.schemas.Problem.properties as $pr | $o | keys[] | select(in($pr) | not)' <<<"$DOC")"
check "read-only fields are marked readOnly" \
    jq -e '.components.schemas.Host.properties | .created_at.readOnly and .updated_at.readOnly and .last_seen.readOnly and .rev.readOnly and (.name.readOnly | not)' <<<"$DOC"
check "internal fields are not documented" jq -e '.components.schemas.Token.properties | has("hash") | not' <<<"$DOC"

# ---- lists: {items, next} --------------------------------------------------

eq "every GET list documents {items, next} and takes ?after=" "" \
    "$(jq -r '.paths | to_entries[] | .key as $p | select(.value.get) | .value.get |
        select(.responses["200"].content["application/json"].schema.properties.items.type == "array") |
        select((.responses["200"].content["application/json"].schema.required != ["items", "next"]) or
               ([.parameters[] | select(.name == "after" and .in == "query")] | length != 1)) | $p' <<<"$DOC")"
eq "the lists documented are every list of the API" \
    "/api/v1/audit /api/v1/events /api/v1/groups /api/v1/hosts /api/v1/hosts/{key}/events /api/v1/images /api/v1/images/{key}/versions /api/v1/jobs /api/v1/profiles /api/v1/rooms /api/v1/tokens" \
    "$(jq -r '[.paths | to_entries[] | select(.value.get.responses["200"].content["application/json"].schema.required == ["items", "next"]) | .key] | sort | join(" ")' <<<"$DOC")"
eq "every path parameter is declared" "" \
    "$(jq -r '.paths | to_entries[] | .key as $p | ([$p | scan("\\{([^}]+)\\}")[0]] | sort) as $want | .value | to_entries[] | select(([.value.parameters[]? | select(.in == "path") | .name] | sort) != $want) | "\(.key) \($p)"' <<<"$DOC")"
check "operationIds are URL-safe words" jq -e '[.paths[][] | .operationId | test("^[a-z]+[A-Za-z0-9]*$")] | all' <<<"$DOC"
check "the document names its server" jq -e '.servers == [{"url": "/", "description": "the server that serves this document"}]' <<<"$DOC"

# ---- @redocly/cli lint: no error ------------------------------------------
# the linter pinned in tests/openapi/package-lock.json, on the document as
# the daemon serves it

jq . <<<"$DOC" >"$TEST_TMP/openapi.json"
LINT=$("$ROOT/tests/openapi/lint.sh" "$TEST_TMP/openapi.json" 2>&1)
rc=$?
if [ $rc == 77 ]; then
    skip "@redocly/cli lint: 0 errors" "$(tail -1 <<<"$LINT")"
elif [ $rc == 0 ]; then
    ok "@redocly/cli lint: 0 errors ($(tail -1 <<<"$LINT"))"
    diag "$(grep '^warn' <<<"$LINT")"
else
    nok "@redocly/cli lint: 0 errors"
    diag "$(grep -v '^warn' <<<"$LINT")"
fi
# the lint catches what it is there for
jq '.paths["/api/v1/jobs/{id}"].get.operationId = "GET /api/v1/jobs/{id}" | del(.servers)' <<<"$DOC" >"$TEST_TMP/bad.json"
LINT=$("$ROOT/tests/openapi/lint.sh" "$TEST_TMP/bad.json" 2>&1)
rc=$?
if [ $rc == 77 ]; then
    skip "@redocly/cli lint finds a bad operationId and no servers" "$(tail -1 <<<"$LINT")"
else
    eq "@redocly/cli lint finds a bad operationId and no servers" "1|2 errors" \
        "$rc|$(tail -1 <<<"$LINT" | cut -d, -f1)"
fi

# ---- unknown paths --------------------------------------------------------

for p in /api/v1/openapi.yaml /api/v1/openapi /api/v2/openapi.json /openapi.json /api/v1/hosts/x/start.conf; do
    api GET "$p"
    eq "unknown path $p: 404" 404 "$STATUS"
done
api GET /api/v1/openapi.json "" "" -H "If-None-Match: x"
contains "openapi.json may be cached" "max-age" "$(grep -i '^Cache-Control:' <<<"$HDRS")"

finish
