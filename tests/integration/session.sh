#!/bin/bash
# session.sh - browser sessions and the console's files, seen with curl as a
# browser would use them: login trades a token for an HttpOnly SameSite=Strict
# cookie (bad, expired, revoked and host tokens get none); the cookie alone
# authenticates; writes need the session's X-CSRF-Token; the role is the
# token's at each request; logout, revocation, idle timeout and the absolute
# lifetime end a session; a WebSocket with the cookie needs its own Origin;
# failed logins are limited per address; only hashes are stored; login and
# logout are in the audit log.  The console's files: content types, ETag and
# 304, gzip siblings, cache lifetimes, the security headers, traversal
# refused, and 503 when the console was not built.
source "$(dirname "$0")/../lib/harness.sh"

D=$(tmpdir)/data
"$BH" init --data "$D" >/dev/null || { nok "init"; finish; exit 1; }

# ---- a console as the build writes it (inside the data directory, so a
# traversal would reach bootherd.db if it were let through) -----------------
W=$D/web
mkdir -p "$W/ui/fonts"
printf '<!doctype html><title>bootherd</title><script src="/ui/app.abc123de.js"></script>\n' >"$W/index.html"
for i in $(seq 1 200); do echo "console.log('bootherd console line $i');"; done >"$W/ui/app.abc123de.js"
gzip -9 -k "$W/ui/app.abc123de.js"
printf 'body{margin:0}\n' >"$W/ui/app.77aa01ee.css"
printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' >"$W/ui/favicon.svg"
printf '{"de":{"hosts":"Rechner"}}\n' >"$W/ui/strings.0badc0de.json"
printf '{"version":3}\n' >"$W/ui/app.abc123de.js.map"
printf '\x89PNG\r\n\x1a\n' >"$W/ui/logo.png"
printf 'wOF2' >"$W/ui/fonts/inter.1234abcd.woff2"
# a file edited after the build: its .gz is older and must not shadow it
printf 'old\n' | gzip >"$W/ui/edited.js.gz"
touch -d '2020-01-01' "$W/ui/edited.js.gz"
printf 'console.log("edited");\n' >"$W/ui/edited.js"
# names that look hashed but are not NAME.HEX.EXT
printf 'x\n' | tee "$W/ui/app.ABCDEFGH.js" "$W/ui/notes.abc123de.v2.js" "$W/ui/.abc123de.js" >/dev/null
printf 'kept-outside-the-console\n' >"$D/outside.txt"
ln -s ../../outside.txt "$W/ui/link.js"

printf '[http]\nui_dir = %s\n' "$W" >"$D/one.conf"
bh_start "$D" --config "$D/one.conf" || { nok "daemon starts"; finish; exit 1; }
HOSTPORT=${BH_URL#http://}

# hdr NAME: the value of response header NAME in HDRS (last one)
hdr() { grep -i "^$1:" <<<"$HDRS" | tail -1 | cut -d' ' -f2- ; }
# login TOKEN: POST /api/v1/session; sets STATUS BODY HDRS, SECRET and CSRF
login() {
    api POST /api/v1/session "{\"token\":\"$1\"}" ""
    SECRET=$(grep -i '^Set-Cookie: bh_session=' <<<"$HDRS" | sed 's/^[^=]*=\([^;]*\).*/\1/')
    CSRF=$(jq -r .csrf <<<"$BODY" 2>/dev/null)
}
# capi METHOD PATH [BODY] [extra curl args]: with the session cookie only
capi() {
    local m=$1 p=$2 b=${3:-}
    shift 3 2>/dev/null || shift $#
    api "$m" "$p" "$b" "" -b "bh_session=$SECRET" "$@"
}
# problem type of BODY
ptype() { jq -r .type <<<"$BODY" 2>/dev/null; }

VIEWER=$(mktoken s-viewer viewer)
OPERATOR=$(mktoken s-operator operator)
REVOKEME=$(mktoken s-revoke operator)
api POST /api/v1/tokens '{"name":"s-expired","role":"admin","expires_at":"2020-01-01T00:00:00Z"}'
EXPIRED=$(jq -r .token <<<"$BODY")

# ---- login refused: no cookie ---------------------------------------------

for c in "bh_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:an unknown token" \
    "${VIEWER%?}$([ "${VIEWER: -1}" = A ] && echo B || echo A):a wrong secret" \
    "not-a-token:a malformed token" "$EXPIRED:an expired token"; do
    login "${c%%:*}"
    eq "login with ${c#*:}: 401" 401 "$STATUS"
    eq "login with ${c#*:}: no Set-Cookie" "" "$(grep -i '^Set-Cookie' <<<"$HDRS")"
    contains "login with ${c#*:}: a problem" "application/problem+json" "$(hdr Content-Type)"
done
eq "login as text/plain (what a cross-site form can send): 415" 415 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary "{\"token\":\"$BH_TOKEN\"}" "$BH_URL/api/v1/session")"
api POST /api/v1/session "" "" --data-binary "{\"token\":\"$BH_TOKEN\"}"
eq "login as a urlencoded form: 415" 415 "$STATUS"
api POST /api/v1/session "" "" --data-binary "{\"token\":\"$BH_TOKEN\"}" -H 'Content-Type:'
eq "login without Content-Type: 415" 415 "$STATUS"
api POST /api/v1/session '{"token":' ""
eq "login with malformed JSON: 400" 400 "$STATUS"
api POST /api/v1/session "{\"token\":\"$BH_TOKEN\",\"remember\":true}" ""
eq "login with an unknown field: 422" "422 unknown-field remember" \
    "$STATUS $(jq -r '(.type | sub(".*:"; "")) + " " + .field' <<<"$BODY")"
api POST /api/v1/session '{"token":42}' ""
eq "login with a token that is not a string: 422" "422 token" "$STATUS $(jq -r .field <<<"$BODY")"
api POST /api/v1/session "{\"token\":\"$BH_TOKEN\"}" "" -H 'Origin: http://evil.example'
eq "login from another site's page (Origin): 403, no cookie" "403 " \
    "$STATUS $(grep -i '^Set-Cookie' <<<"$HDRS")"

# a client agent's host token opens no console session
api POST /api/v1/profiles '{"name":"s-agent","kernel":"vmlinuz","cmdline":"bootherd.ticket={{ticket}}"}'
api POST /api/v1/hosts '{"mac":"02:00:00:5e:55:01","name":"s-host","profile":"s-agent"}'
api POST /api/v1/agent/hello "{\"mac\":\"02:00:00:5e:55:01\",\"ticket\":\"$(bhc host ticket 02:00:00:5e:55:01)\"}" ""
HOSTTOK=$(jq -r .token <<<"$BODY")
if [[ $HOSTTOK == bh_* ]]; then
    login "$HOSTTOK"
    eq "login with a host token: 403, no cookie" "403 " "$STATUS $(grep -i '^Set-Cookie' <<<"$HDRS")"
else
    nok "a host token for the test"; diag "$BODY"
fi

# ---- login --------------------------------------------------------------

login "$BH_TOKEN"
eq "login as admin: 201" 201 "$STATUS"
COOKIE=$(grep -i '^Set-Cookie: bh_session=' <<<"$HDRS")
check "Set-Cookie: HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP" \
    jq -en --arg c "$COOKIE" '$c | test("; HttpOnly(;|$)") and test("; SameSite=Strict(;|$)") and test("; Path=/(;|$)") and (test("Secure") | not)'
check "the cookie's secret: 43 characters of base64url" jq -en --arg s "$SECRET" '$s | test("^[A-Za-z0-9_-]{43}$")'
check "the answer: name, role, csrf (43 chars), idle_timeout 1800, expires (RFC 3339)" \
    jq -e '.name == "admin" and .role == "admin" and (.csrf | test("^[A-Za-z0-9_-]{43}$")) and .idle_timeout == 1800 and (.expires | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))' <<<"$BODY"
check "the session ends within 12 h (session_max)" jq -e '(.expires | sub("\\.[0-9]+Z$"; "Z") | fromdate) - now | . > 11.9*3600 and . <= 12*3600' <<<"$BODY"
eq "the token is not in the answer" "" "$(grep -F "$BH_TOKEN" <<<"$BODY")"
ADMIN_SECRET=$SECRET
ADMIN_CSRF=$CSRF

capi GET /api/v1/session
eq "GET /session with the cookie alone: 200" 200 "$STATUS"
eq "GET /session gives the same CSRF token" "$ADMIN_CSRF" "$(jq -r .csrf <<<"$BODY")"
capi GET /api/v1/whoami
eq "the cookie alone authenticates an API request" "200 admin" "$STATUS $(jq -r .name <<<"$BODY")"
api GET /api/v1/session
eq "GET /session with a Bearer token and no cookie: 401" 401 "$STATUS"
api GET /api/v1/session "" ""
eq "GET /session with nothing: 401" 401 "$STATUS"
api GET /api/v1/whoami "" "" -b "bh_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
eq "an unknown session cookie: 401" 401 "$STATUS"
contains "an unknown session cookie is cleared" "Max-Age=0" "$(hdr Set-Cookie)"
api GET /api/v1/whoami "" "" -b "theme=dark; bh_session=junk; bh_session=\"$SECRET\"; lang=de"
eq "a malformed bh_session before the real one (quoted), among other cookies" "200 admin" \
    "$STATUS $(jq -r .name <<<"$BODY")"

# ---- CSRF -------------------------------------------------------------------

capi POST /api/v1/rooms '{"name":"s-room1"}'
eq "a write with the cookie and no X-CSRF-Token: 403 csrf" "403 urn:bootherd:problem:csrf" "$STATUS $(ptype)"
eq "the csrf problem names the header" X-CSRF-Token "$(jq -r .field <<<"$BODY")"
capi POST /api/v1/rooms '{"name":"s-room1"}' -H "X-CSRF-Token: ${ADMIN_CSRF%?}x"
eq "a write with a wrong X-CSRF-Token: 403 csrf" "403 urn:bootherd:problem:csrf" "$STATUS $(ptype)"
capi DELETE /api/v1/rooms/s-room1 "" -H "X-CSRF-Token: $ADMIN_CSRF$ADMIN_CSRF"
eq "a write with a too long X-CSRF-Token: 403 csrf" "403 urn:bootherd:problem:csrf" "$STATUS $(ptype)"
api GET /api/v1/rooms/s-room1
eq "the refused writes wrote nothing" 404 "$STATUS"
capi POST /api/v1/rooms '{"name":"s-room1"}' -H "X-CSRF-Token: $ADMIN_CSRF"
eq "a write with the cookie and its X-CSRF-Token: 201" 201 "$STATUS"
api GET '/api/v1/audit?kind=room&key=s-room1'
eq "the write is audited as the session's token" admin "$(jq -r '.items[0].actor' <<<"$BODY")"
api POST /api/v1/rooms '{"name":"s-room2"}' "$BH_TOKEN" -b "bh_session=$ADMIN_SECRET"
eq "a Bearer token needs no X-CSRF-Token, cookie or not" 201 "$STATUS"

# ---- roles ------------------------------------------------------------------

login "$VIEWER"
eq "login as viewer" "201 viewer" "$STATUS $(jq -r .role <<<"$BODY")"
VIEWER_SECRET=$SECRET
VIEWER_CSRF=$CSRF
capi GET /api/v1/rooms
eq "a viewer session reads" 200 "$STATUS"
capi POST /api/v1/rooms '{"name":"s-room3"}' -H "X-CSRF-Token: $VIEWER_CSRF"
eq "a viewer session writes: 403 even with its CSRF token" "403 urn:bootherd:problem:forbidden" "$STATUS $(ptype)"
capi GET /api/v1/tokens
eq "a viewer session lists tokens: 403" 403 "$STATUS"
capi POST /api/v1/rooms '{"name":"s-room3"}' -H "X-CSRF-Token: $ADMIN_CSRF"
eq "another session's CSRF token does not do: 403 csrf" "403 urn:bootherd:problem:csrf" "$STATUS $(ptype)"
api PATCH /api/v1/tokens/s-viewer '{"role":"operator"}'
capi POST /api/v1/rooms '{"name":"s-room3"}' -H "X-CSRF-Token: $VIEWER_CSRF"
eq "the role is the token's at each request: raised to operator, the same session writes" 201 "$STATUS"
capi GET /api/v1/session
eq "GET /session shows the new role" operator "$(jq -r .role <<<"$BODY")"

# ---- logout -----------------------------------------------------------------

capi DELETE /api/v1/session
eq "logout without X-CSRF-Token: 403" 403 "$STATUS"
capi DELETE /api/v1/session "" -H "X-CSRF-Token: $VIEWER_CSRF"
eq "logout: 204" 204 "$STATUS"
check "logout clears the cookie" grep -qiE '^Set-Cookie: bh_session=; .*Max-Age=0' <<<"$HDRS"
capi GET /api/v1/session
eq "after logout, GET /session with the old cookie: 401" 401 "$STATUS"
capi GET /api/v1/rooms
eq "after logout, the old cookie reads nothing: 401" 401 "$STATUS"
SECRET=$ADMIN_SECRET
capi GET /api/v1/whoami
eq "logging out one session leaves the others" 200 "$STATUS"

# ---- revoking or expiring the token ends its sessions ----------------------

login "$REVOKEME"
capi GET /api/v1/whoami
eq "a session of a token to revoke works" "200 s-revoke" "$STATUS $(jq -r .name <<<"$BODY")"
REVOKED_SECRET=$SECRET
expect "revoke the token" 204 DELETE /api/v1/tokens/s-revoke
SECRET=$REVOKED_SECRET
capi GET /api/v1/whoami
eq "revoking the token ends its session: 401" 401 "$STATUS"
login "$OPERATOR"
OP_SECRET=$SECRET
api PATCH /api/v1/tokens/s-operator '{"expires_at":"2020-01-01T00:00:00Z"}'
capi GET /api/v1/whoami
eq "a token that expires ends its session: 401" 401 "$STATUS"

# ---- WebSocket: the cookie needs the server's own Origin -------------------

ws() { # ORIGIN-HEADER-or-empty [curl args]
    local o=$1
    shift
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade'
        -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
    [ -n "$o" ] && args+=(-H "Origin: $o")
    curl "${args[@]}" "$@" "$BH_URL/api/v1/events"
}
eq "WebSocket with the cookie and a foreign Origin: 403" 403 "$(ws http://evil.example -b "bh_session=$ADMIN_SECRET")"
eq "WebSocket with the cookie and another port: 403" 403 "$(ws "http://127.0.0.1:1" -b "bh_session=$ADMIN_SECRET")"
eq "WebSocket with the cookie and https for an http server: 403" 403 "$(ws "https://$HOSTPORT" -b "bh_session=$ADMIN_SECRET")"
eq "WebSocket with the cookie and no Origin: 403" 403 "$(ws "" -b "bh_session=$ADMIN_SECRET")"
eq "WebSocket with the cookie and the same Origin: 101" 101 "$(ws "http://$HOSTPORT" -b "bh_session=$ADMIN_SECRET")"
eq "WebSocket with a Bearer token and a foreign Origin: 101 (no cookie, no check)" 101 \
    "$(ws http://evil.example -H "Authorization: Bearer $BH_TOKEN")"

# ---- audit and storage ----------------------------------------------------

api GET '/api/v1/audit?kind=token&limit=1000'
check "login and logout are in the audit log (kind token), with the address" \
    jq -e '[.items[] | select(.key == "s-viewer") | .action] as $a | ($a | index("session.login")) and ($a | index("session.logout")) and ([.items[] | select(.action == "session.login")][0].remote == "127.0.0.1")' <<<"$BODY"
api GET '/api/v1/audit?kind=token' "" "$(mktoken s-op2 operator)"
eq "an operator does not see the logins (token records are for admins)" 0 "$(jq '[.items[] | select(.action | startswith("session."))] | length' <<<"$BODY")"

if command -v sqlite3 >/dev/null; then
    check "sessions are stored as SHA-256 hashes" test "$(sqlite3 "$D/bootherd.db" \
        "SELECT count(*) FROM web_sessions WHERE hash = '$(printf %s "$ADMIN_SECRET" | sha256sum | cut -c1-64)'")" = 1
    leaked=""
    for s in "$ADMIN_SECRET" "$ADMIN_CSRF" "$VIEWER_CSRF"; do
        cat "$D"/bootherd.db* | grep -aqF "$s" && leaked+="${s:0:6}.. "
    done
    eq "no session secret or CSRF token in the database files" "" "$leaked"
    eq "last use is not written at every request (at most once a minute)" 1 \
        "$(sqlite3 "$D/bootherd.db" "SELECT last_ms = created_ms OR last_ms - created_ms >= 60000 FROM web_sessions WHERE hash = '$(printf %s "$ADMIN_SECRET" | sha256sum | cut -c1-64)'")"
    eq "the revoked token's sessions are gone from the store" 0 \
        "$(sqlite3 "$D/bootherd.db" "SELECT count(*) FROM web_sessions w LEFT JOIN tokens t ON t.tid = w.token_tid WHERE t.tid IS NULL")"
else
    skip "sessions are stored as SHA-256 hashes" "no sqlite3"
fi

# ---- the console's files ----------------------------------------------------

CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
api GET / "" ""
eq "GET / without a token: 200" 200 "$STATUS"
eq "GET / is index.html" "$(cat "$W/index.html")" "$BODY"
eq "GET /: text/html" "text/html; charset=utf-8" "$(hdr Content-Type)"
eq "GET /: Cache-Control no-cache" no-cache "$(hdr Cache-Control)"
eq "GET /: Content-Security-Policy" "$CSP" "$(hdr Content-Security-Policy)"
eq "GET /: X-Frame-Options DENY" DENY "$(hdr X-Frame-Options)"
eq "GET /: Referrer-Policy no-referrer" no-referrer "$(hdr Referrer-Policy)"
eq "GET /: X-Content-Type-Options nosniff" nosniff "$(hdr X-Content-Type-Options)"
eq "GET / over plain HTTP: no HSTS" "" "$(hdr Strict-Transport-Security)"
ETAG=$(hdr ETag)
api GET / "" "" -H "If-None-Match: $ETAG"
eq "GET / with If-None-Match: 304" 304 "$STATUS"
api GET / "" "" -H "If-None-Match: \"nope\", W/$ETAG"
eq "If-None-Match as a list with a weak tag: 304" 304 "$STATUS"
api GET / "" "" -H 'If-None-Match: "nope"'
eq "If-None-Match of another version: 200" 200 "$STATUS"
eq "HEAD /: 200" 200 "$(curl -s -I -o /dev/null -w '%{http_code}' "$BH_URL/")"

api GET /ui/app.abc123de.js "" ""
eq "a hashed script: 200 text/javascript, not compressed unasked" \
    "200 text/javascript; charset=utf-8 " "$STATUS $(hdr Content-Type) $(hdr Content-Encoding)"
eq "a hashed script's body" "$(cat "$W/ui/app.abc123de.js")" "$BODY"
eq "a hashed name is cached a year, immutable" "public, max-age=31536000, immutable" "$(hdr Cache-Control)"
eq "a script varies with Accept-Encoding" Accept-Encoding "$(hdr Vary)"
eq "a script carries the CSP too" "$CSP" "$(hdr Content-Security-Policy)"
GZ=$TEST_TMP/app.js.gz
STATUS=$(curl -s -o "$GZ" -D "$TEST_TMP/gz.h" -w '%{http_code}' -H 'Accept-Encoding: gzip, deflate' "$BH_URL/ui/app.abc123de.js")
HDRS=$(tr -d '\r' <"$TEST_TMP/gz.h")
eq "Accept-Encoding: gzip gets the .gz sibling" "200 gzip $(stat -c %s "$W/ui/app.abc123de.js.gz")" \
    "$STATUS $(hdr Content-Encoding) $(hdr Content-Length)"
eq "the gzip body is the script" "$(cat "$W/ui/app.abc123de.js")" "$(gunzip -c "$GZ")"
eq "gzip: the same type and Vary" "text/javascript; charset=utf-8 Accept-Encoding" "$(hdr Content-Type) $(hdr Vary)"
GZ_ETAG=$(hdr ETag)
api GET /ui/app.abc123de.js "" ""
check "the gzip and the plain answer have different ETags" test "$GZ_ETAG" != "$(hdr ETag)"
api GET /ui/app.abc123de.js "" "" -H 'Accept-Encoding: gzip;q=0, identity'
eq "gzip;q=0: not compressed" "200 " "$STATUS $(hdr Content-Encoding)"
api GET /ui/app.abc123de.js "" "" -H 'Accept-Encoding: *'
eq "Accept-Encoding: *: compressed" gzip "$(hdr Content-Encoding)"
api GET /ui/app.abc123de.js "" "" -H "If-None-Match: $GZ_ETAG" -H 'Accept-Encoding: gzip'
eq "the gzip answer revalidates: 304" 304 "$STATUS"
api GET /ui/app.77aa01ee.css "" "" -H 'Accept-Encoding: gzip'
eq "a css without a .gz sibling: plain text/css" "200 text/css; charset=utf-8 " \
    "$STATUS $(hdr Content-Type) $(hdr Content-Encoding)"
for f in "favicon.svg:image/svg+xml:no-cache" "strings.0badc0de.json:application/json:public, max-age=31536000, immutable" \
    "app.abc123de.js.map:application/json:public, max-age=31536000, immutable" "logo.png:image/png:no-cache" \
    "fonts/inter.1234abcd.woff2:font/woff2:public, max-age=31536000, immutable"; do
    IFS=: read -r name type cache <<<"$f"
    api GET "/ui/$name" "" ""
    eq "/ui/$name: $type, $cache" "200 $type $cache" "$STATUS $(hdr Content-Type) $(hdr Cache-Control)"
done
for name in app.ABCDEFGH.js notes.abc123de.v2.js .abc123de.js; do
    api GET "/ui/$name" "" ""
    eq "/ui/$name is not NAME.HEX.EXT: revalidated (no-cache)" "200 no-cache" "$STATUS $(hdr Cache-Control)"
done
STATUS=$(curl -s -o "$GZ" -D "$TEST_TMP/gz.h" -w '%{http_code}' -H 'Accept-Encoding: gzip' "$BH_URL/ui/edited.js")
HDRS=$(tr -d '\r' <"$TEST_TMP/gz.h")
eq "a .gz older than its file is not sent: the file as it is now" \
    "200  console.log(\"edited\");" "$STATUS $(hdr Content-Encoding) $(cat "$GZ")"
api GET /ui/missing.0123abcd.js "" ""
eq "a missing console file: 404" 404 "$STATUS"
contains "a 404 carries nosniff too" nosniff "$(hdr X-Content-Type-Options)"

for p in /ui/../../bootherd.db /ui/%2e%2e/%2e%2e/bootherd.db /ui/..%2f..%2fbootherd.db /ui/../index.html \
    /ui/link.js /ui/../../outside.txt /ui//etc/passwd /ui/./app.abc123de.js '/ui/..\..\bootherd.db'; do
    api GET "$p" "" "" --path-as-is
    if [ "$STATUS" == 404 ] && [[ $BODY != *SQLite* && $BODY != *kept-outside* && $BODY != *root:* ]]; then
        ok "traversal refused: $p"
    else
        nok "traversal refused: $p"; diag "HTTP $STATUS ${BODY:0:200}"
    fi
done

api GET /api/v1/nothing "" ""
eq "X-Content-Type-Options on an API 404" nosniff "$(hdr X-Content-Type-Options)"
api GET /api/v1/rooms "" ""
eq "X-Content-Type-Options on a 401" "401 nosniff" "$STATUS $(hdr X-Content-Type-Options)"

bh_stop

# ---- idle timeout and absolute lifetime; no console built -------------------

printf '[http]\nui_dir = %s/nowhere\nsession_idle = 2\nsession_max = 4\n' "$D" >"$D/two.conf"
bh_start "$D" --config "$D/two.conf" || { nok "daemon starts again"; finish; exit 1; }
login "$BH_TOKEN"
eq "login, session_idle = 2" "201 2" "$STATUS $(jq -r .idle_timeout <<<"$BODY")"
capi GET /api/v1/whoami
eq "the session works at once" 200 "$STATUS"
sleep 3
capi GET /api/v1/whoami
eq "idle for longer than session_idle: 401" 401 "$STATUS"
contains "... and it says why" "idle" "$BODY"

login "$BH_TOKEN"
codes=""
for i in 1 2 3; do # used every second: never idle, but over session_max
    sleep 1
    capi GET /api/v1/whoami
    codes+="$STATUS "
done
eq "a session in use within session_max works" "200 200 200 " "$codes"
sleep 1.5
capi GET /api/v1/whoami
eq "past session_max: 401" 401 "$STATUS"
contains "... and it says why" "reached its end" "$BODY"

api GET / "" ""
eq "no console built: GET / is 503" 503 "$STATUS"
eq "no console built: a short text" "console not built: run make" "$BODY"
contains "no console built: text/plain" "text/plain" "$(hdr Content-Type)"
api GET /ui/app.abc123de.js "" ""
eq "no console built: /ui/... is 503" 503 "$STATUS"
expect "the API runs without a console" 200 GET /api/v1/whoami

# ---- failed logins are limited per address (last: it locks 127.0.0.1 out
# of logging in for a minute; a fresh daemon counts from zero) ----------------

codes=""
for i in $(seq 1 12); do
    login "$BH_TOKEN"
    codes+="$STATUS "
done
eq "12 good logins in a row: 201 each (a good token is no failure)" "$(printf '201 %.0s' $(seq 1 12))" "$codes"
OLD=$SECRET
api POST /api/v1/session "{\"token\":\"$BH_TOKEN\"}" "" -b "bh_session=$OLD"
eq "a login from a browser holding a session: 201" 201 "$STATUS"
capi GET /api/v1/session
eq "  ... ends the session it held" 401 "$STATUS"

# 20 bad tries at once: each is counted before its check, so exactly 10 are
# checked (401) and 10 refused (429), however they interleave
par=()
for i in $(seq 10 29); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"token\":\"bh_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$i\"}" \
        "$BH_URL/api/v1/session" >"$TEST_TMP/par.$i" &
    par+=($!)
done
wait "${par[@]}"
eq "20 failed logins at once: 10 checked (401), 10 refused (429)" "10 401|10 429" \
    "$(cat "$TEST_TMP"/par.* | sort | uniq -c | awk '{print $1, $2}' | paste -sd'|')"
login "bh_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"
eq "the 11th within a minute: 429" "429 urn:bootherd:problem:too-many-requests" "$STATUS $(ptype)"
check "429 says when to try again (Retry-After, at most 60 s)" test "$(hdr Retry-After)" -ge 1 -a "$(hdr Retry-After)" -le 60
login "$BH_TOKEN"
eq "meanwhile even a good token gets 429 from that address, and no cookie" "429 " \
    "$STATUS $(grep -i '^Set-Cookie' <<<"$HDRS")"

finish
