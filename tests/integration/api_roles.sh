#!/bin/bash
# api_roles.sh - every endpoint under every kind of caller: no token, a bad
# token, an expired token, viewer, operator and admin.  Checks 401 (with
# WWW-Authenticate), 403 and the 2xx of each route, that refused writes change
# nothing, that token records stay with admins, and that token secrets are
# stored only as hashes.
source "$(dirname "$0")/../lib/harness.sh"

bh_start || { nok "daemon starts"; finish; exit 1; }

# ---- callers --------------------------------------------------------------

ROLES=(none bad unknown expired revoked viewer operator admin)

VIEWER=$(mktoken t-viewer viewer)
OPERATOR=$(mktoken t-operator operator)
api POST /api/v1/tokens '{"name":"t-expired","role":"admin","expires_at":"2020-01-01T00:00:00Z"}'
EXPIRED=$(jq -r .token <<<"$BODY")
api POST /api/v1/tokens '{"name":"t-later","role":"viewer","expires_at":"2099-01-01T00:00:00Z"}'
LATER=$(jq -r .token <<<"$BODY")
REVOKED=$(mktoken t-revoked admin)
expect "revoke a token" 204 DELETE /api/v1/tokens/t-revoked
# a well-formed token of a real id with a wrong secret, and an unknown id
BAD="${VIEWER%?}$([ "${VIEWER: -1}" = A ] && echo B || echo A)"
UNKNOWN="bh_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

for t in VIEWER OPERATOR EXPIRED LATER REVOKED; do
    [[ ${!t} == bh_* ]] || { nok "token $t was created"; diag "${!t}"; }
done

tok() {
    case $1 in
    none) echo "" ;;
    bad) echo "$BAD" ;;
    unknown) echo "$UNKNOWN" ;;
    expired) echo "$EXPIRED" ;;
    revoked) echo "$REVOKED" ;;
    viewer) echo "$VIEWER" ;;
    operator) echo "$OPERATOR" ;;
    admin) echo "$BH_TOKEN" ;;
    esac
}

rank() {
    case $1 in viewer) echo 1 ;; operator) echo 2 ;; admin) echo 3 ;; *) echo 0 ;; esac
}

# want ROLE NEED OK: the status ROLE should get from a route needing NEED
want() {
    local r
    r=$(rank "$1")
    if [ "$2" == none ]; then # public
        echo "$3"
    elif [ "$r" -eq 0 ]; then
        echo 401
    elif [ "$r" -ge "$(rank "$2")" ]; then
        echo "$3"
    else
        echo 403
    fi
}

# call NAME ROLE NEED OK METHOD PATH [BODY]: one request, status as expected;
# a 401 must carry WWW-Authenticate: Bearer, every refusal a problem+json
call() {
    local name=$1 role=$2 need=$3 okst=$4 method=$5 path=$6 body=${7:-} w why=""
    w=$(want "$role" "$need" "$okst")
    api "$method" "$path" "$body" "$(tok "$role")"
    [ "$STATUS" == "$w" ] || why="want HTTP $w, got $STATUS"
    if [ -z "$why" ] && [ "$w" == 401 ] && ! grep -qi '^WWW-Authenticate: Bearer' <<<"$HDRS"; then
        why="401 without WWW-Authenticate: Bearer"
    fi
    if [ -z "$why" ] && [[ $w == 40* ]] && ! grep -qi '^Content-Type: application/problem+json' <<<"$HDRS"; then
        why="refusal is not application/problem+json"
    fi
    if [ -z "$why" ]; then ok "$name [$role]"; else nok "$name [$role]"; diag "$why: ${BODY:0:400}"; fi
}

# ---- resources ------------------------------------------------------------

N=0
# body PLURAL NAME SEQ: a valid new object (SEQ makes host MACs unique)
body() {
    case $1 in
    rooms | groups | images) echo "{\"name\":\"$2\"}" ;;
    profiles) echo "{\"name\":\"$2\",\"kernel\":\"vmlinuz\"}" ;;
    hosts) printf '{"mac":"02:00:00:00:%02x:%02x","name":"%s"}' $(($3 / 256)) $(($3 % 256)) "$2" ;;
    tokens) echo "{\"name\":\"$2\",\"role\":\"viewer\"}" ;;
    esac
}

# fixtures the refused callers aim at
declare -A FIX_REV
for p in rooms groups hosts profiles images tokens; do
    N=$((N + 1))
    api POST "/api/v1/$p" "$(body $p fix-$p $N)"
    [ "$STATUS" == 201 ] || { nok "fixture $p"; diag "$STATUS $BODY"; }
    FIX_REV[$p]=$(jq -r .rev <<<"$BODY")
done

rev_of() { # PLURAL KEY (as admin)
    api GET "/api/v1/$1/$2" "" "$BH_TOKEN"
    jq -r .rev <<<"$BODY"
}

for p in rooms groups hosts profiles images tokens; do
    rd=viewer wr=operator
    [ "$p" == tokens ] && rd=admin wr=admin
    for role in "${ROLES[@]}"; do
        name="$role-$p"
        target=fix-$p
        N=$((N + 1))
        newbody=$(body "$p" "$name" $N)
        call "POST /$p" "$role" "$wr" 201 POST "/api/v1/$p" "$newbody"
        if [ "$STATUS" == 201 ]; then
            target=$name
            loc=$(grep -i '^Location:' <<<"$HDRS" | sed 's/^[^:]*: *//')
            if [ "$p" == tokens ]; then
                eq "Location of the new $p [$role]" "/api/v1/$p/$(jq -r .id <<<"$BODY")" "$loc"
            elif [ "$p" == hosts ]; then
                eq "Location of the new $p [$role]" "/api/v1/$p/$(jq -r .mac <<<"$BODY")" "$loc"
            else
                eq "Location of the new $p [$role]" "/api/v1/$p/$name" "$loc"
            fi
        fi
        call "GET /$p" "$role" "$rd" 200 GET "/api/v1/$p"
        call "GET /$p/{key}" "$role" "$rd" 200 GET "/api/v1/$p/$target"
        if [ "$p" != tokens ]; then
            # PUT back what GET gave, read-only fields and all
            api GET "/api/v1/$p/$target" "" "$BH_TOKEN"
            putbody=$(jq -c '.description = "replaced"' <<<"$BODY")
            call "PUT /$p/{key}" "$role" "$wr" 200 PUT "/api/v1/$p/$target" "$putbody"
        fi
        call "PATCH /$p/{key}" "$role" "$wr" 200 PATCH "/api/v1/$p/$target" '{"description":"patched"}'
        call "DELETE /$p/{key}" "$role" "$wr" 204 DELETE "/api/v1/$p/$target"
        if [ "$target" == "fix-$p" ]; then
            eq "refused writes left fix-$p alone [$role]" "${FIX_REV[$p]}" "$(rev_of "$p" "fix-$p")"
        fi
    done
done

# tokens have no PUT, whoever asks
expect "PUT /tokens/{key} is not a route" 405 PUT /api/v1/tokens/fix-tokens '{"name":"x","role":"viewer"}'

# ---- start.conf -----------------------------------------------------------

SC=$ROOT/tests/data/startconf/efi-gpt.conf
api POST /api/v1/groups '{"name":"sc-group"}'
for role in "${ROLES[@]}"; do
    call "GET /groups/{key}/start.conf" "$role" viewer 200 GET /api/v1/groups/sc-group/start.conf
    w=$(want "$role" operator 200)
    t=$(tok "$role")
    auth=()
    [ -n "$t" ] && auth=(-H "Authorization: Bearer $t")
    st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: text/plain' "${auth[@]}" \
        --data-binary "@$SC" "$BH_URL/api/v1/groups/sc-group/start.conf")
    eq "PUT /groups/{key}/start.conf [$role]" "$w" "$st"
done

# ---- the other endpoints --------------------------------------------------

for role in "${ROLES[@]}"; do
    call "GET /metrics" "$role" viewer 200 GET /metrics
    call "GET /api/v1/audit" "$role" operator 200 GET /api/v1/audit
    call "GET /api/v1/events" "$role" viewer 200 GET "/api/v1/events?since=0"
    call "GET /api/v1/summary" "$role" viewer 200 GET /api/v1/summary
    call "GET /api/v1/whoami" "$role" viewer 200 GET /api/v1/whoami
    if [ "$STATUS" == 200 ]; then
        eq "whoami names the role [$role]" "$role" "$(jq -r .role <<<"$BODY")"
        eq "whoami names the token [$role]" \
            "$(case $role in admin) echo admin ;; *) echo "t-$role" ;; esac)" "$(jq -r .name <<<"$BODY")"
    fi
    for path in /health /ready /api/v1 /api/v1/openapi.json; do
        call "public GET $path" "$role" none 200 GET "$path"
    done
done

# the reasons are told apart
api GET /api/v1/whoami "" "$EXPIRED"
contains "expired token: the problem says so" "expired" "$(jq -r .detail <<<"$BODY")"
api GET /api/v1/whoami "" ""
contains "no token: the problem says how to send one" "Bearer" "$(jq -r .detail <<<"$BODY")"
api GET /api/v1/whoami "" "$LATER"
eq "a token expiring in the future works" 200 "$STATUS"
api GET /api/v1/whoami "" "Bearer-less garbage"
eq "a garbage token is 401" 401 "$STATUS"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic YWRtaW46YWRtaW4=" "$BH_URL/api/v1/whoami")
eq "Basic auth is 401" 401 "$st"
api GET /api/v1/tokens/t-viewer "" "$OPERATOR"
contains "403 names the role needed" "admin" "$(jq -r .detail <<<"$BODY")"

# ---- token records are for admins ----------------------------------------

# a fresh token event and audit record, for sure among the newest
mktoken t-late viewer >/dev/null
api GET "/api/v1/events?since=0" "" "$BH_TOKEN"
check "admin sees token events" jq -e '[.items[] | select(.kind == "token")] | length > 0' <<<"$BODY"
for role in viewer operator; do
    api GET "/api/v1/events?since=0" "" "$(tok $role)"
    check "$role sees no token events" jq -e '(.items | length > 0) and ([.items[] | select(.kind == "token")] | length == 0)' <<<"$BODY"
    api GET "/api/v1/events?since=0&kind=token" "" "$(tok $role)"
    eq "$role asking for kind=token gets none" 0 "$(jq '.items | length' <<<"$BODY")"
done
api GET "/api/v1/audit?limit=1000" "" "$BH_TOKEN"
check "admin sees token audit records" jq -e '[.items[] | select(.kind == "token")] | length > 0' <<<"$BODY"
api GET "/api/v1/audit?limit=1000" "" "$OPERATOR"
check "operator sees no token audit records" jq -e '(.items | length > 0) and ([.items[] | select(.kind == "token")] | length == 0)' <<<"$BODY"
api GET "/api/v1/audit?kind=token" "" "$OPERATOR"
eq "operator asking audit for kind=token gets none" 0 "$(jq '.items | length' <<<"$BODY")"

# ---- events of every kind, for every role ---------------------------------

# An event reaches exactly the callers whose role may read its kind through
# the REST routes (tokens and settings: admins; rooms, groups, hosts,
# profiles, images and jobs: viewers and up), on the JSON page and on the
# WebSocket stream alike; the audit log follows the same rule.  A host token
# reads no events at all.
R0=$(curl -s "$BH_URL/ready" | jq -r .revision)
EVMAC=02:00:00:00:ee:01
api POST /api/v1/rooms '{"name":"ev-room"}'
api POST /api/v1/groups '{"name":"ev-group"}'
api POST /api/v1/profiles '{"name":"ev-prof","kernel":"vmlinuz","cmdline":"bootherd.ticket={{ticket}}"}'
api POST /api/v1/hosts "{\"mac\":\"$EVMAC\",\"name\":\"ev-host\",\"profile\":\"ev-prof\"}"
api POST /api/v1/images '{"name":"ev-image"}'
mktoken ev-token viewer >/dev/null
api PATCH /api/v1/settings '{"snponly":true}'
eq "a settings event (PATCH /settings)" 200 "$STATUS"
api POST /api/v1/jobs '{"targets":{"hosts":["ev-host"]},"steps":["halt"]}'
eq "a job event (POST /jobs)" 201 "$STATUS"
# boot events of the host (not CRUD): its iPXE script (with boot.ticket_refused:
# loopback is not the booting machine), and the agent's hello with a ticket
# made by hand, which also gives a host token
curl -s "$BH_URL/boot/ipxe?mac=$EVMAC" >/dev/null
EVT=$("$BH" --url "$BH_URL" --token "$BH_TOKEN" host ticket "$EVMAC")
api POST /api/v1/agent/hello "{\"mac\":\"$EVMAC\",\"ticket\":\"$EVT\"}" ""
HOSTTOK=$(jq -r '.token // empty' <<<"$BODY" 2>/dev/null)
for i in $(seq 1 100); do # boot events are written in the background
    api GET "/api/v1/events?since=$R0&kind=host&key=$EVMAC" "" "$BH_TOKEN"
    jq -e '[.items[].type] | index("boot.script")' <<<"$BODY" >/dev/null && break
    sleep 0.05
done
check "a host boot event (boot.script)" jq -e '[.items[].type] | index("boot.script")' <<<"$BODY"
api POST /api/v1/rooms '{"name":"ev-last"}' # the last event: streams read up to it

ALL_KINDS="group host image job profile room settings token"
VIEWER_KINDS="group host image job profile room"
kinds_seen() { jq -rs '[.[].kind] | unique | join(" ")'; }
ev_follow() { # ROLE: the stream since R0 through the CLI (WebSocket), up to ev-last
    local out=$TEST_TMP/ev-$1 i
    "$BH" --url "$BH_URL" --token "$(tok "$1")" --json events --follow --since "$R0" >"$out" 2>"$out.err" &
    local pid=$!
    _PIDS+=("$pid")
    for i in $(seq 1 100); do
        grep -qs '"key":"ev-last"' "$out" && break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    cat "$out"
}
for role in viewer operator admin; do
    want=$VIEWER_KINDS
    [ "$role" == admin ] && want=$ALL_KINDS
    api GET "/api/v1/events?since=$R0&limit=1000" "" "$(tok $role)"
    eq "events page: the kinds $role may read, and only those [$role]" "$want" "$(jq -c '.items[]' <<<"$BODY" | kinds_seen)"
    check "events page: host boot events reach $role" jq -e '[.items[] | select(.kind == "host") | .type] | index("boot.script") and index("agent.hello")' <<<"$BODY"
    eq "event stream: the kinds $role may read, and only those [$role]" "$want" "$(ev_follow $role | kinds_seen)"
    api GET "/api/v1/events?since=$R0&kind=settings" "" "$(tok $role)"
    n=$(jq '.items | length' <<<"$BODY")
    if [ "$role" == admin ]; then
        check "admin asking for kind=settings gets them" test "$n" -gt 0
    else
        eq "$role asking for kind=settings gets none" 0 "$n"
    fi
done
api GET "/api/v1/audit?kind=settings" "" "$OPERATOR"
eq "operator asking audit for kind=settings gets none" 0 "$(jq '.items | length' <<<"$BODY")"
api GET "/api/v1/audit?kind=settings" "" "$BH_TOKEN"
check "admin sees settings audit records" jq -e '.items | length > 0' <<<"$BODY"
api GET "/api/v1/audit?limit=1000" "" "$OPERATOR"
check "operator sees the audit records of jobs and rooms" jq -e '[.items[].kind] | index("job") and index("room")' <<<"$BODY"
check "a host token (ticket made by hand, hello)" test -n "$HOSTTOK"
api GET "/api/v1/events?since=$R0" "" "$HOSTTOK"
eq "events page: a host token is refused" 403 "$STATUS"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $HOSTTOK" \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$BH_URL/api/v1/events?since=$R0")
eq "event stream: a host token is refused" 403 "$st"

# ---- secrets at rest ------------------------------------------------------

eq "admin.token is mode 0600" 600 "$(stat -c %a "$BH_DATA/admin.token")"
api GET /api/v1/tokens "" "$BH_TOKEN"
check "token listings show neither hash nor secret" \
    jq -e '(.items | length > 0) and all(.items[]; has("hash") | not) and all(.items[]; has("token") | not)' <<<"$BODY"
api GET /api/v1/tokens/t-viewer "" "$BH_TOKEN"
check "a token read shows neither hash nor secret" jq -e 'has("hash") or has("token") | not' <<<"$BODY"

secret_stored() { # SECRET: is it anywhere in the database (dump or raw files)?
    local s=$1
    sqlite3 "$BH_DATA/bootherd.db" .dump 2>/dev/null | grep -qF "$s" && return 0
    # the part after the id, in case only the secret half leaked
    sqlite3 "$BH_DATA/bootherd.db" .dump 2>/dev/null | grep -qF "${s:16}" && return 0
    cat "$BH_DATA"/bootherd.db* 2>/dev/null | grep -aqF "${s:16}" && return 0
    return 1
}
dumped=$(sqlite3 "$BH_DATA/bootherd.db" 'SELECT count(*) FROM tokens' 2>&1)
[[ $dumped =~ ^[0-9]+$ ]] && [ "$dumped" -gt 0 ] && ok "sqlite3 reads the token table" ||
    { nok "sqlite3 reads the token table"; diag "$dumped"; }
for t in BH_TOKEN VIEWER OPERATOR EXPIRED LATER; do
    if secret_stored "${!t}"; then nok "no plaintext $t in the database"; else ok "no plaintext $t in the database"; fi
done
check "the database holds SHA-256 hashes" test "$(sqlite3 "$BH_DATA/bootherd.db" \
    "SELECT count(*) FROM tokens WHERE length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'")" -gt 0

finish
