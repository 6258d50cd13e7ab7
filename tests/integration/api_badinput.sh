#!/bin/bash
# api_badinput.sh - every kind of bad request gets a precise RFC 9457
# problem (application/problem+json with type, title, status, detail and the
# field when one is to blame), writes nothing, and leaves the daemon
# answering.  Ends with raw garbage on the socket and a small max_body.
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }

revision() { curl -s --max-time 5 "$BH_URL/ready" | jq -r .revision; }
hdr() { grep -i "^$1:" <<<"$HDRS" | head -1 | sed 's/^[^:]*: *//'; }

# req METHOD PATH [curl args...]: as admin; sets STATUS BODY HDRS
req() {
    local method=$1 path=$2 hf bf
    shift 2
    hf=$(mktemp) bf=$(mktemp)
    STATUS=$(curl -s --max-time 20 -o "$bf" -D "$hf" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $BH_TOKEN" "$@" "$BH_URL$path")
    BODY=$(tr -d '\0' <"$bf")
    HDRS=$(tr -d '\r' <"$hf")
    rm -f "$hf" "$bf"
}
J=(-H 'Content-Type: application/json')

# problem NAME STATUS TYPE FIELD DETAIL: the last reply is exactly that
# problem.  FIELD "-" means the problem names no field; DETAIL is a substring.
problem() {
    local name=$1 st=$2 type=$3 field=$4 detail=$5 why=""
    [ "$STATUS" == "$st" ] || why+="status $STATUS, want $st; "
    [ "$(hdr Content-Type)" == application/problem+json ] || why+="Content-Type '$(hdr Content-Type)'; "
    jq -e --arg t "$type" --argjson s "$st" \
        '(.type | type == "string" and test("[:/]" + $t + "$")) and (.title | type == "string" and length > 0)
         and .status == $s and (.detail | type == "string" and length > 0)' <<<"$BODY" >/dev/null 2>&1 ||
        why+="not a problem of type $type; "
    if [ "$field" == - ]; then
        jq -e 'has("field") | not' <<<"$BODY" >/dev/null 2>&1 || why+="unexpected field; "
    elif [ -n "$field" ]; then
        [ "$(jq -r .field <<<"$BODY" 2>/dev/null)" == "$field" ] || why+="field is not '$field'; "
    fi
    [ -z "$detail" ] || [[ "$(jq -r .detail <<<"$BODY" 2>/dev/null)" == *"$detail"* ]] || why+="detail lacks '$detail'; "
    if [ -z "$why" ]; then ok "$name"; else nok "$name"; diag "$why"$'\n'"${BODY:0:500}"; fi
}

# unchanged NAME: the revision did not move and the daemon still answers
REV=0
unchanged() {
    local now
    now=$(revision)
    if [ "$now" == "$REV" ] && curl -sf --max-time 5 "$BH_URL/health" >/dev/null; then
        ok "$1: nothing written, daemon alive"
    else
        nok "$1: nothing written, daemon alive"; diag "revision $REV -> $now"
    fi
}

# bad NAME STATUS TYPE FIELD DETAIL METHOD PATH [curl args]: send, check, unchanged
bad() {
    local name=$1 st=$2 type=$3 field=$4 detail=$5
    shift 5
    REV=$(revision)
    req "$@"
    problem "$name" "$st" "$type" "$field" "$detail"
    unchanged "$name"
}

# ---- fixtures -------------------------------------------------------------

req POST /api/v1/rooms "${J[@]}" -d '{"name":"r1"}'
req POST /api/v1/groups "${J[@]}" -d '{"name":"g1"}'
req POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:01","name":"pc1","room":"r1","ip":"10.0.0.1"}'
req GET /api/v1/hosts/pc1
eq "fixtures exist" 200 "$STATUS"
HOST_ETAG=$(hdr ETag)

# ---- the body -------------------------------------------------------------

bad "malformed JSON is 400 naming line and column" 400 malformed-json - "line 2, column" \
    POST /api/v1/rooms "${J[@]}" --data-binary $'{"name": "x",\n  }'
bad "malformed JSON (truncated)" 400 malformed-json - "malformed JSON at line 1" \
    POST /api/v1/rooms "${J[@]}" -d '{"name": "x"'
bad "duplicate JSON keys are 400" 400 malformed-json - "duplicate" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"a","name":"b"}'
bad "empty body is 400" 400 malformed-json - "empty" POST /api/v1/rooms "${J[@]}"
bad "form Content-Type is 415" 415 unsupported-media-type - "application/x-www-form-urlencoded" \
    POST /api/v1/rooms -d '{"name":"x"}'
bad "text/plain Content-Type is 415" 415 unsupported-media-type - "text/plain" \
    POST /api/v1/rooms -H 'Content-Type: text/plain' -d '{"name":"x"}'
bad "415 on PATCH too" 415 unsupported-media-type - "" \
    PATCH /api/v1/rooms/r1 -H 'Content-Type: application/xml' -d '{"description":"x"}'
bad "a JSON array is 422" 422 invalid-value "" "array" POST /api/v1/rooms "${J[@]}" -d '[{"name":"x"}]'
bad "a bare JSON string is 400" 400 malformed-json - "expected" POST /api/v1/rooms "${J[@]}" -d '"x"'
bad "unknown field is 422 unknown-field" 422 unknown-field bogus "bogus" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"x","bogus":1}'
bad "internal field hash is unknown" 422 unknown-field hash "" \
    POST /api/v1/tokens "${J[@]}" -d '{"name":"x","role":"viewer","hash":"00"}'
bad "unknown field in a PATCH" 422 unknown-field colour "" \
    PATCH /api/v1/rooms/r1 "${J[@]}" -d '{"colour":"red"}'
bad "read-only field on create" 422 read-only-field created_at "" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"x","created_at":"2020-01-01T00:00:00Z"}'
bad "rev on create" 422 read-only-field rev "" POST /api/v1/rooms "${J[@]}" -d '{"name":"x","rev":5}'
bad "read-only field in a PATCH" 422 read-only-field last_seen "" \
    PATCH /api/v1/hosts/pc1 "${J[@]}" -d '{"last_seen":"2020-01-01T00:00:00Z"}'
bad "wrong type: number for a string" 422 wrong-type name "integer" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":5}'
bad "wrong type: array for labels" 422 wrong-type labels "" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"x","labels":["a"]}'
bad "wrong type: string for initrds" 422 wrong-type initrds "" \
    POST /api/v1/profiles "${J[@]}" -d '{"name":"x","kernel":"k","initrds":"a.img"}'
bad "wrong type: array for hardware" 422 wrong-type hardware "" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:99","hardware":[1]}'
bad "wrong type: boolean for a MAC" 422 wrong-type mac "" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":true}'
bad "wrong type via PATCH (checked after the merge)" 422 wrong-type description "" \
    PATCH /api/v1/hosts/pc1 "${J[@]}" -d '{"description":{"a":1}}'
bad "label value must be a string" 422 invalid-value labels.a "" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"x","labels":{"a":1}}'
bad "bad label key" 422 invalid-value "labels.bad key" "bad key" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"x","labels":{"bad key":"v"}}'
bad "bad MAC" 422 invalid-value mac "'02:00:00:00:00'" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00"}'
bad "bad MAC (not hex)" 422 invalid-value mac "0g:00:00:00:00:01" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"0g:00:00:00:00:01"}'
bad "bad MAC via PATCH" 422 invalid-value mac "" PATCH /api/v1/hosts/pc1 "${J[@]}" -d '{"mac":"nope"}'
bad "bad enum: arch" 422 invalid-value arch "'sparc'" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:98","arch":"sparc"}'
bad "bad enum: state" 422 invalid-value state "'broken'" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:98","state":"broken"}'
bad "bad enum: image kind" 422 invalid-value kind "partition" \
    POST /api/v1/images "${J[@]}" -d '{"name":"x","kind":"tape"}'
bad "bad enum: token role" 422 invalid-value role "viewer" \
    POST /api/v1/tokens "${J[@]}" -d '{"name":"x","role":"root"}'
bad "bad time" 422 invalid-value expires_at "tomorrow" \
    POST /api/v1/tokens "${J[@]}" -d '{"name":"x","role":"viewer","expires_at":"tomorrow"}'
bad "bad IPv4" 422 invalid-value ip "'ip'" POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:98","ip":"10.0.0.256"}'
bad "bad UUID" 422 invalid-value uuid "'uuid'" POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:98","uuid":"xyz"}'
bad "bad subnet" 422 invalid-value subnet "'subnet'" POST /api/v1/rooms "${J[@]}" -d '{"name":"x","subnet":"10.0.0.0/33"}'
bad "bad name characters" 422 invalid-value name "'a b'" POST /api/v1/rooms "${J[@]}" -d '{"name":"a b"}'
bad "name too long" 422 invalid-value name "63" \
    POST /api/v1/rooms "${J[@]}" -d "{\"name\":\"$(printf 'a%.0s' {1..64})\"}"
bad "control characters" 422 invalid-value description "control" \
    POST /api/v1/rooms "${J[@]}" -d '{"name":"x","description":"a\u0001b"}'
bad "missing required field" 422 missing-field kernel "kernel" POST /api/v1/profiles "${J[@]}" -d '{"name":"x"}'
bad "required field null" 422 missing-field name "" POST /api/v1/rooms "${J[@]}" -d '{"name":null}'
bad "required field cleared by PATCH" 422 missing-field name "" PATCH /api/v1/rooms/r1 "${J[@]}" -d '{"name":null}'
bad "too many labels" 422 invalid-value labels "64" POST /api/v1/rooms "${J[@]}" \
    -d "$(jq -cn '{name:"x", labels:([range(65)] | map({key:"k\(.)", value:"v"}) | from_entries)}')"
bad "invalid start.conf in a group config" 422 invalid-value "" "" \
    POST /api/v1/groups "${J[@]}" -d '{"name":"x","config":{"os":[{"bogus":1}]}}'

# ---- uniqueness and references --------------------------------------------

bad "duplicate room name is 409" 409 conflict name "already exists" POST /api/v1/rooms "${J[@]}" -d '{"name":"r1"}'
bad "duplicate MAC is 409" 409 conflict mac "already exists" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:01"}'
bad "duplicate MAC in another spelling is 409" 409 conflict mac "" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02-00-00-00-00-01"}'
bad "duplicate host name is 409" 409 conflict name "" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:02","name":"pc1"}'
bad "duplicate IP is 409" 409 conflict ip "" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:02","ip":"10.0.0.1"}'
req POST /api/v1/rooms "${J[@]}" -d '{"name":"r2"}'
bad "rename onto an existing name is 409" 409 conflict name "" PATCH /api/v1/rooms/r2 "${J[@]}" -d '{"name":"r1"}'
bad "missing room is 422 missing-reference" 422 missing-reference room "nosuch" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:03","room":"nosuch"}'
bad "missing group is 422 missing-reference" 422 missing-reference group "nosuch" \
    POST /api/v1/hosts "${J[@]}" -d '{"mac":"02:00:00:00:00:03","group":"nosuch"}'
bad "missing profile of a group" 422 missing-reference default_profile "" \
    POST /api/v1/groups "${J[@]}" -d '{"name":"g2","default_profile":"nosuch"}'
bad "missing reference via PATCH" 422 missing-reference room "" PATCH /api/v1/hosts/pc1 "${J[@]}" -d '{"room":"nosuch"}'
bad "deleting a room in use is 409" 409 conflict "" "still used" DELETE /api/v1/rooms/r1
bad "PATCH of a missing object is 404" 404 not-found "" "not found" PATCH /api/v1/rooms/nosuch "${J[@]}" -d '{"description":"x"}'

# ---- preconditions --------------------------------------------------------

bad "If-Match not quoted is 412" 412 precondition-failed - "If-Match" \
    PATCH /api/v1/hosts/pc1 "${J[@]}" -H 'If-Match: 42' -d '{"description":"x"}'
bad "If-Match not a number is 412" 412 precondition-failed - "" \
    PATCH /api/v1/hosts/pc1 "${J[@]}" -H 'If-Match: "abc"' -d '{"description":"x"}'
bad "If-Match empty quotes is 412" 412 precondition-failed - "" \
    DELETE /api/v1/hosts/pc1 -H 'If-Match: ""'
bad "If-Match negative is 412" 412 precondition-failed - "" PUT /api/v1/rooms/r2 "${J[@]}" -H 'If-Match: "-3"' -d '{"name":"r2"}'
bad "If-Match stale is 412 naming both revisions" 412 precondition-failed - "revision 1," \
    PATCH /api/v1/hosts/pc1 "${J[@]}" -H 'If-Match: "1"' -d '{"description":"x"}'
bad "malformed If-Match on start.conf PUT" 412 precondition-failed - "" \
    PUT /api/v1/groups/g1/start.conf -H 'If-Match: nope' -H 'Content-Type: text/plain' \
    --data-binary "@$ROOT/tests/data/startconf/efi-gpt.conf"
# RFC 9110 13.1.1: "If-Match: *" is true whenever the object exists
REV=$(revision)
req PATCH /api/v1/hosts/pc1 "${J[@]}" -H 'If-Match: *' -d '{"description":"star"}'
eq "If-Match: * on an existing object is honoured (RFC 9110)" 200 "$STATUS"
req PATCH /api/v1/hosts/pc1 "${J[@]}" -H "If-Match: $HOST_ETAG" -d '{"description":"etag"}'
[ "$(revision)" -gt "$REV" ] && ok "If-Match with the current ETag writes" || nok "If-Match with the current ETag writes"

# ---- queries --------------------------------------------------------------

bad "unknown query parameter is 400" 400 invalid-query foo "'foo'" GET "/api/v1/hosts?foo=1"
bad "a non-filter field is not a parameter" 400 invalid-query description "" GET "/api/v1/hosts?description=x"
bad "bad filter enum is 400" 400 invalid-query state "" GET "/api/v1/hosts?state=broken"
for s in 'a%20in%20b' 'a%3D%3D%3D' '%3Db' 'a,' 'a%20in%20(b' 'a%20notin%20()' 'a%21b' 'a%3Db%20c'; do
    bad "bad selector '$s' is 400" 400 invalid-query selector "selector" GET "/api/v1/hosts?selector=$s"
done
for s in bogus description -- 'name,,' 'name,mac,arch,state,room' '-'; do
    bad "bad sort '$s' is 400" 400 invalid-query sort "sort" GET "/api/v1/hosts?sort=$s"
done
for l in 0 1001 -1 abc 1.5 ''; do
    bad "bad limit '$l' is 400" 400 invalid-query limit "limit" GET "/api/v1/hosts?limit=$l"
done
bad "bad offset is 400" 400 invalid-query offset "offset" GET "/api/v1/hosts?offset=-1"
bad "bad count is 400" 400 invalid-query count "count" GET "/api/v1/hosts?count=maybe"
bad "bad events since is 400" 400 invalid-query "" "since" GET "/api/v1/events?since=-1"
bad "bad events limit is 400" 400 invalid-query "" "limit" GET "/api/v1/events?since=0&limit=0"
bad "bad audit limit is 400" 400 invalid-query "" "limit" GET "/api/v1/audit?limit=5000"
bad "bad audit before is 400" 400 invalid-query "" "before" GET "/api/v1/audit?before=x"

# ---- routes and methods ---------------------------------------------------

for p in /api/v2/hosts /api/v1/hostz /api/v1/hosts/pc1/extra /api/v1/hosts/ /nope "/api/v1/$(printf 'x%.0s' {1..300})"; do
    bad "unknown route $p is 404" 404 not-found - "no such endpoint" GET "$p"
done
st=$(curl -s -o /dev/null -w '%{http_code}' "$BH_URL/api/v1/secret")
eq "unknown route is 404 even without a token" 404 "$st"
bad "DELETE on a collection is 405" 405 method-not-allowed - "" DELETE /api/v1/hosts
eq "405 names the allowed methods" "GET, POST" "$(hdr Allow)"
bad "PUT on a token is 405" 405 method-not-allowed - "" PUT /api/v1/tokens/admin "${J[@]}" -d '{}'
eq "405 Allow for a token" "GET, PATCH, DELETE" "$(hdr Allow)"
bad "POST /health is 405" 405 method-not-allowed - "" POST /health "${J[@]}" -d '{}'
eq "405 Allow for /health" "GET" "$(hdr Allow)"
bad "POST on start.conf is 405" 405 method-not-allowed - "" POST /api/v1/groups/g1/start.conf -d x
eq "405 Allow for start.conf" "GET, PUT" "$(hdr Allow)"
bad "invalid start.conf is 422" 422 invalid-startconf "" "" \
    PUT /api/v1/groups/g1/start.conf -H 'Content-Type: text/plain' --data-binary $'[OS]\nDefaultAction = boot\n'

# ---- sizes ----------------------------------------------------------------

big=$(mktemp)
_DIRS+=("$big")
{ printf '{"name":"big","description":"'; head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' 'a'; printf '"}'; } >"$big"
bad "body over 1 MiB is 413" 413 too-large - "1048576" POST /api/v1/rooms "${J[@]}" --data-binary "@$big"
bad "chunked body over 1 MiB is 413" 413 too-large - "1048576" \
    POST /api/v1/rooms "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$big"
bad "huge Content-Length is 413 before any body" 413 too-large - "" \
    POST /api/v1/rooms "${J[@]}" -H 'Content-Length: 99999999999999' -d '{}'

# ---- garbage --------------------------------------------------------------

alive() { # NAME
    if curl -sf --max-time 5 "$BH_URL/health" >/dev/null && [ "$(revision)" == "$REV" ]; then
        ok "$1: daemon still answers, nothing written"
    else
        nok "$1: daemon still answers, nothing written"
    fi
}

# raw: send stdin on a fresh TCP connection, print what comes back (5 s max)
raw() {
    local hp=${BH_URL#http://}
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; cat >&3; timeout 2 cat <&3' _ "${hp%:*}" "${hp##*:}" 2>/dev/null
}

REV=$(revision)
post_file() { # NAME FILE: a JSON body from a file must be refused with 400
    req POST /api/v1/rooms "${J[@]}" --data-binary "@$2"
    problem "$1: 400" 400 malformed-json - ""
    alive "$1"
}
f=$(mktemp)
_DIRS+=("$f")
printf '{"name":"\xff\xfe\xfd"}' >"$f"
post_file "invalid UTF-8" "$f"
printf '{"name":"a\0b"}' >"$f"
post_file "a NUL byte inside a string" "$f"
printf '{"name":"ab"}\0\0\0' >"$f"
post_file "NUL bytes after the JSON" "$f"
printf '{"name":"a\\u0000b"}' >"$f"
post_file "an escaped NUL" "$f"
head -c 100000 /dev/zero | tr '\0' '[' >"$f"
post_file "100000 nested arrays" "$f"
{ for _ in $(seq 1 100000); do printf '{"a":'; done; } >"$f"
post_file "100000 nested objects (unterminated)" "$f"
python3 -c 'import sys; sys.stdout.write("{\"mac\":\"02:00:00:00:00:77\",\"hardware\":" + "{\"a\":" * 100000 + "1" + "}" * 100001)' >"$f"
req POST /api/v1/hosts "${J[@]}" --data-binary "@$f"
[[ $STATUS == 4* ]] && ok "100000 nested objects in a field: refused ($STATUS)" || { nok "100000 nested objects in a field: refused"; diag "HTTP $STATUS"; }
alive "100000 nested objects in a field"
req PATCH /api/v1/hosts/pc1 "${J[@]}" --data-binary "@$f"
[[ $STATUS == 4* ]] && ok "deep PATCH refused ($STATUS)" || { nok "deep PATCH refused"; diag "HTTP $STATUS"; }
alive "deep PATCH"
head -c 200000 /dev/urandom >"$f"
req POST /api/v1/hosts "${J[@]}" --data-binary "@$f"
eq "random bytes: 400" 400 "$STATUS"
alive "random bytes"

out=$(printf 'GARBAGE\r\n\r\n' | raw)
alive "a garbage request line"
out=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n' | raw)
alive "a header without a colon"
out=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n' | raw)
alive "a NUL in a header"
out=$(printf '\x00\x01\x02\xff\xfe\r\n\r\n' | raw)
alive "binary noise"
out=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nConnection: close\r\n\r\n' "$(head -c 200000 /dev/zero | tr '\0' 'h')" | raw)
alive "a 200 kB header"
out=$(printf 'GET /%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$(head -c 100000 /dev/zero | tr '\0' 'u')" | raw)
alive "a 100 kB URL"
out=$(printf 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":' "$BH_TOKEN" | raw)
alive "a body shorter than its Content-Length, then hang-up"
out=$(printf 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n' "$BH_TOKEN" | raw)
alive "a bad chunk size"
out=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw)
contains "a well-formed raw request still works" "200 OK" "$out"
# 1000 short parameters (a 9 kB URL): some 4xx, and promptly
q=$(for i in $(seq 1 1000); do printf 'k%d=v&' "$i"; done)
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/hosts?$q")
[[ $st == 4* ]] && ok "1000 query parameters: answered with a 4xx ($st)" ||
    { nok "1000 query parameters: answered with a 4xx within 5 s"; diag "got HTTP $st (000 = no answer)"; }
alive "1000 query parameters"
# a handful of half-open connections at once, then all dropped
pids=()
for _ in $(seq 1 20); do
    (printf 'POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{' | raw >/dev/null) &
    pids+=($!)
done
wait "${pids[@]}"
alive "20 half-open connections"

# ---- a small [http] max_body from a config file ---------------------------

bh_stop
conf=$(tmpdir)/small.conf
_DIRS+=("$(dirname "$conf")")
printf '[http]\nmax_body = 2K\n' >"$conf"
bh_start "" --config "$conf" || { nok "daemon starts with max_body = 2K"; finish; exit 1; }
_DIRS+=("${BH_DATA%/data}")
REV=$(revision)
body1k=$(jq -cn --arg d "$(head -c 1000 /dev/zero | tr '\0' 'd')" --arg l "$(head -c 250 /dev/zero | tr '\0' 'l')" \
    '{name:"small", description:$d, location:$l, labels:{a:"x", b:"y"}}')
eq "max_body 2K: the small body is over 1 kB" 1 "$(( ${#body1k} > 1024 ))"
body3k=$(jq -cn --arg d "$(head -c 3000 /dev/zero | tr '\0' 'd')" '{name:"large", description:$d}')
req POST /api/v1/rooms "${J[@]}" -d "$body3k"
problem "max_body 2K: a 3 kB body is 413" 413 too-large - "2048"
unchanged "max_body 2K: 3 kB body"
req POST /api/v1/rooms "${J[@]}" -H 'Transfer-Encoding: chunked' -d "$body3k"
problem "max_body 2K: a chunked 3 kB body is 413" 413 too-large - ""
unchanged "max_body 2K: chunked 3 kB body"
req POST /api/v1/rooms "${J[@]}" -d "$body1k"
eq "max_body 2K: a 1.5 kB body is fine" 201 "$STATUS"

finish
