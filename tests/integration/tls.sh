#!/bin/bash
# tls.sh - HTTPS (issue 10): `bootherd init --tls` makes a certificate and
# turns TLS on; the API speaks HTTPS, checked by curl, openssl s_client, the
# CLI (pinned by itself through --data, or with --pin / --cacert) and a
# WebSocket over TLS; plain HTTP on that port is sent to https (308); the
# plain boot listener serves booting machines and refuses the API; bad or
# slow TLS clients are cut and the daemon keeps serving; an admin's own
# certificate works and a key that does not fit it stops the start.
source "$(dirname "$0")/../lib/harness.sh"

PROBE="python3 $ROOT/tests/lib/tlsprobe.py"
HAVE_PY=1
command -v python3 >/dev/null || HAVE_PY=0
T=$(tmpdir)
D=$T/data

# ---- bootherd init --tls ------------------------------------------------------
out=$("$BH" init --data "$D" --tls --tls-name boot.example.org 2>&1)
eq "init --tls exits 0" 0 $?
PIN=$(sed -n 's/^pin: //p' <<<"$out")
check "init --tls prints the pin ($PIN)" grep -qE '^sha256//[A-Za-z0-9+/]{43}=$' <<<"$PIN"
eq "the key is the owner's alone (0600)" 600 "$(stat -c %a "$D/tls/key.pem")"
eq "the certificate is readable (0644)" 644 "$(stat -c %a "$D/tls/cert.pem")"
eq "the pin is curl's: SHA-256 of the public key (openssl computes the same)" "$PIN" \
    "sha256//$(openssl x509 -in "$D/tls/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)"
san=$(openssl x509 -in "$D/tls/cert.pem" -noout -ext subjectAltName 2>&1)
for n in "DNS:localhost" "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1" "DNS:boot.example.org"; do
    contains "  ... names $n" "$n" "$san"
done
check "  ... and is a server's certificate, not a CA's" \
    bash -c 'openssl x509 -in "$1" -noout -ext basicConstraints | grep -q "CA:FALSE"' _ "$D/tls/cert.pem"
check "init --tls turns TLS on in bootherd.conf" grep -qx 'tls_cert = tls/cert.pem' "$D/bootherd.conf"
out=$("$BH" init --data "$D" --tls 2>&1)
eq "init --tls again keeps the certificate (same pin)" "$PIN" "$(sed -n 's/^pin: //p' <<<"$out")"
eq "  ... and does not add TLS to the config twice" 1 "$(grep -c '^tls_cert' "$D/bootherd.conf")"
check "a plain init makes no certificate" bash -c '"$1" init --data "$2" >/dev/null && test ! -e "$2/tls"' _ "$BH" "$T/plain"

# short head deadline (slow handshakes), boot listener on a free port
printf '[http]\nheader_timeout = 2\nboot_listen = 127.0.0.1:0\n' >>"$D/bootherd.conf"

# serve_tls DATA [args]: start; sets PID, U (https URL), B (boot URL)
serve_tls() {
    local d=$1
    shift
    rm -f "$d/http.url" "$d/boot.url"
    "$BH" serve --data "$d" --http 127.0.0.1:0 "$@" >>"$d.log" 2>&1 &
    PID=$!
    _PIDS+=("$PID")
    local i
    for i in $(seq 1 200); do
        [ -s "$d/http.url" ] && break
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.05
    done
    U=$(cat "$d/http.url") B=$(cat "$d/boot.url" 2>/dev/null)
}
serve_tls "$D" || { nok "daemon starts with TLS"; diag "$(tail "$D.log")"; finish; exit 1; }
TOKEN=$(cat "$D/admin.token")
HP=${U#https://} PORT=${U##*:} BPORT=${B##*:}
check "http.url says https ($U)" grep -q '^https://127.0.0.1:' <<<"$U"
check "boot.url names the plain boot listener ($B)" grep -q '^http://127.0.0.1:' <<<"$B"
contains "the log names the pin" "tls_pin=\"$PIN\"" "$(cat "$D.log")"

# ---- HTTPS with curl ------------------------------------------------------------
CA=(--cacert "$D/tls/cert.pem")
st=$(curl -s -o /dev/null -w '%{http_code}' "${CA[@]}" "$U/api/v1")
eq "curl --cacert: GET /api/v1 over https is 200" 200 "$st"
hdrs=$(curl -s -D - -o /dev/null "${CA[@]}" -H "Authorization: Bearer $TOKEN" "$U/api/v1/hosts")
check "  ... with HSTS (Strict-Transport-Security: max-age=31536000)" \
    grep -qi '^Strict-Transport-Security: max-age=31536000' <<<"$hdrs"
hdrs=$(curl -s -D - -o /dev/null "${CA[@]}" "$U/")
eq "  ... and the console's page carries HSTS once" 1 "$(grep -ci '^Strict-Transport-Security:' <<<"$hdrs")"
st=$(curl -s -o /dev/null -w '%{http_code}' "${CA[@]}" "https://localhost:$PORT/health")
eq "  ... by the name localhost too" 200 "$st"
st=$(curl -s -o /dev/null -w '%{http_code}' --pinnedpubkey "$PIN" -k "$U/health")
eq "curl --pinnedpubkey with the pin: 200" 200 "$st"
curl -s -o /dev/null --pinnedpubkey "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" -k "$U/health"
eq "  ... with another pin: refused (curl exit 90)" 90 $?
curl -s -o /dev/null "$U/health"
eq "curl without trusting the certificate fails verification (exit 60)" 60 $?
if command -v openssl >/dev/null; then
    so=$(openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$D/tls/cert.pem" -verify_return_error \
        -verify_hostname localhost -servername localhost </dev/null 2>&1)
    contains "openssl s_client verifies the certificate" "Verify return code: 0 (ok)" "$so"
    check "  ... and speaks TLS 1.2 or 1.3" grep -qE 'Protocol *: TLSv1\.[23]|New, TLSv1\.[23]' <<<"$so"
    so=$(openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1)
    check "  ... TLS 1.1 is refused" bash -c '! grep -q "Cipher is [A-Z]" <<<"$1"' _ "$so"
else
    skip "openssl s_client" "openssl is not installed"
fi

# ---- plain HTTP on the TLS port ----------------------------------------------------
hdrs=$(curl -s -D - -o "$T/body" "http://$HP/api/v1/hosts?limit=1&q=a%20b" | tr -d '\r')
check "plain HTTP on the TLS port: 308" grep -q '^HTTP/1.1 308 ' <<<"$hdrs"
check "  ... to the same target over https" grep -qx "Location: https://$HP/api/v1/hosts?limit=1&q=a%20b" <<<"$hdrs"
eq "  ... with a problem body" "urn:bootherd:problem:https-required" "$(jq -r .type "$T/body")"
hdrs=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' \
    -H 'Host: boot.example.org:8443' "http://$HP/api/v1/jobs" | tr -d '\r')
check "  ... a POST too (308 keeps the method), to the Host it named" \
    grep -qx "Location: https://boot.example.org:8443/api/v1/jobs" <<<"$hdrs"
st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.com/x' "http://$HP/")
eq "  ... a Host no Location could carry: 400" 400 "$st"
st=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -L "${CA[@]}" "http://localhost:$PORT/health")
eq "  ... a client that follows it lands on https" "200 " "$st"

# ---- the plain boot listener -------------------------------------------------------
st=$(curl -s -o "$T/ipxe" -w '%{http_code}' "$B/boot/boot.ipxe")
eq "boot listener: /boot/boot.ipxe over plain HTTP" 200 "$st"
check "  ... chains to the boot listener" grep -q "chain http://127.0.0.1:$BPORT/boot/ipxe" "$T/ipxe"
eq "boot listener: /health" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/health")"
hdrs=$(curl -s -D - -o "$T/body" -H "Authorization: Bearer $TOKEN" "$B/api/v1/hosts" | tr -d '\r')
check "boot listener refuses /api/v1/hosts (421)" grep -q '^HTTP/1.1 421 ' <<<"$hdrs"
eq "  ... saying where the API is" "urn:bootherd:problem:https-required" "$(jq -r .type "$T/body")"
check "  ... and sends no HSTS over plain HTTP" bash -c '! grep -qi "^Strict-Transport" <<<"$1"' _ "$hdrs"
for p in /api/v1 /api/v1/openapi.json /metrics; do
    eq "boot listener refuses $p (421)" 421 "$(curl -s -o /dev/null -w '%{http_code}' "$B$p")"
done
curl -s "${CA[@]}" "$U/boot/boot.ipxe" -o "$T/ipxe2"
check "a boot script fetched over https still names the plain listener" \
    grep -q "chain http://127.0.0.1:$BPORT/boot/ipxe" "$T/ipxe2"

# ---- the CLI ---------------------------------------------------------------------
out=$("$BH" --data "$D" whoami 2>&1)
eq "CLI with --data: pins DATA/tls/cert.pem by itself" 0 $?
contains "  ... and talks to the server" "admin" "$out"
X=$T/addr-only # a data directory without http.url (an older serve wrote only http.addr)
mkdir -p "$X/tls" && cp "$D/admin.token" "$X/" && cp "$D/tls/cert.pem" "$X/tls/"
echo "$HP" >"$X/http.addr"
out=$("$BH" --data "$X" whoami 2>&1)
eq "CLI with DATA/http.addr and DATA/tls/cert.pem: https (never the token in the clear)" 0 $?
contains "  ... and talks to the server" "admin" "$out"
out=$("$BH" --url "$U" --token "$TOKEN" --pin "$PIN" whoami 2>&1)
eq "CLI --pin PIN: works" 0 $?
out=$(BOOTHERD_PIN=$PIN "$BH" --url "$U" --token "$TOKEN" whoami 2>&1)
eq "CLI BOOTHERD_PIN: works" 0 $?
out=$("$BH" --url "$U" --token "$TOKEN" --cacert "$D/tls/cert.pem" whoami 2>&1)
eq "CLI --cacert FILE: works" 0 $?
out=$("$BH" --url "$U" --token "$TOKEN" --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" whoami 2>&1)
eq "CLI with a wrong pin: fails" 1 $?
contains "  ... saying the key is not the pinned one" "is not the server pinned by --pin" "$out"
out=$("$BH" --url "$U" --token "$TOKEN" whoami 2>&1)
eq "CLI without trust: fails" 1 $?
contains "  ... saying the certificate cannot be verified" "cannot verify the certificate" "$out"
out=$("$BH" --url "http://$HP" --token "$TOKEN" whoami 2>&1)
contains "CLI with http:// on the TLS port: told to use https" "speaks HTTPS: use https://$HP" "$out"
out=$("$BH" --url "$U" --token "$TOKEN" --pin nonsense whoami 2>&1)
eq "CLI --pin that is no pin: usage error" 2 $?
check "CLI writes over https (room add)" "$BH" --data "$D" room add r101
out=$(timeout 5 "$BH" --data "$D" events --since 0 --follow 2>&1 | head -3)
contains "CLI events --follow over wss:// (pinned)" "r101" "$out"
out=$(timeout 5 "$BH" --url "$U" --token "$TOKEN" --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" events --follow 2>&1)
contains "  ... and refuses a server with another key" "is not the server pinned" "$out"

# ---- a client agent on the boot listener ------------------------------------------
MAC=52:54:00:aa:10:01
"$BH" --data "$D" host add "$MAC" name=pc1 >/dev/null
TICKET=$("$BH" --data "$D" host ticket "$MAC")
resp=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"mac\":\"$MAC\",\"ticket\":\"$TICKET\"}" "$B/api/v1/agent/hello")
eq "agent hello on the boot listener" 200 "${resp##*$'\n'}"
HT=$(jq -r .token <<<"${resp%$'\n'*}")
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HT" "$B/api/v1/agent/task")
eq "  ... the agent's host token works there (204: no task)" 204 "$st"

# ---- WebSocket over TLS, and its budget -----------------------------------------------
metric() {
    curl -s "${CA[@]}" -H "Authorization: Bearer $TOKEN" "$U/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
if [ "$HAVE_PY" = 1 ]; then
    $PROBE wss 127.0.0.1 "$PORT" "$TOKEN" "$D/tls/cert.pem" 3 >"$T/wss" 2>&1 &
    WPID=$!
    for _ in $(seq 1 40); do grep -q opcode "$T/wss" && break; sleep 0.05; done
    check "WebSocket over TLS: 101" grep -q "^HTTP/1.1 101" "$T/wss"
    check "  ... and events arrive (a text frame)" grep -qx "opcode 1" "$T/wss"
    eq "  ... counted in the WebSocket budget" 1 "$(metric 'bootherd_http_connections{pool="ws"}')"
    wait "$WPID"
else
    skip "WebSocket over TLS" "python3 is not installed"
fi

# ---- bad and slow TLS clients -------------------------------------------------------
if [ "$HAVE_PY" = 1 ]; then
    to0=$(metric 'bootherd_http_connections_refused_total{reason="header_timeout"}')
    eq "a handshake record that is no ClientHello gets a TLS alert (21)" 21 \
        "$($PROBE garbage 127.0.0.1 "$PORT")"
    eq "half a ClientHello, then silence: cut by the head deadline" closed \
        "$($PROBE half 127.0.0.1 "$PORT" 15)"
    eq "a whole ClientHello and no more of the handshake: cut too" closed \
        "$($PROBE stall 127.0.0.1 "$PORT" 15)"
    to1=$(metric 'bootherd_http_connections_refused_total{reason="header_timeout"}')
    eq "  ... both counted as header timeouts" 2 "$((to1 - to0))"
    mal=$(metric 'bootherd_http_connections_refused_total{reason="malformed"}')
    check "  ... the bad hello counted as malformed ($mal)" test "${mal:-0}" -ge 1
else
    skip "bad and slow TLS clients" "python3 is not installed"
fi
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' | timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
st=$(curl -s -o /dev/null -w '%{http_code}' "${CA[@]}" "$U/health")
eq "after the garbage and a truncated hello the daemon still serves https" 200 "$st"
eq "  ... and plain boot" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/boot/boot.ipxe")"
eq "  ... and counts TLS connections" 1 "$(test "$(metric bootherd_http_connections_tls_total)" -gt 5 && echo 1)"

kill -TERM "$PID"
wait "$PID"
eq "SIGTERM: exits 0" 0 $?
check "  ... http.url and boot.url removed" test ! -e "$D/http.url" -a ! -e "$D/boot.url"

# ---- an admin's own certificate -------------------------------------------------------
A=$T/adm
"$BH" init --data "$A" >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$T/own-key.pem" -out "$T/own-cert.pem" >/dev/null 2>&1
printf '[http]\ntls_cert = %s\ntls_key = %s\nboot_listen = 127.0.0.1:0\n' \
    "$T/own-cert.pem" "$T/own-key.pem" >"$A/bootherd.conf"
if serve_tls "$A"; then
    st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/own-cert.pem" "$U/health")
    eq "an admin's certificate (openssl req, RSA): https works" 200 "$st"
    out=$("$BH" --data "$A" whoami 2>&1)
    eq "  ... CLI --data without DATA/tls/cert.pem uses the CA rules (no pin): refused" 1 $?
    out=$("$BH" --data "$A" --cacert "$T/own-cert.pem" whoami 2>&1)
    eq "  ... CLI --cacert: works" 0 $?
    kill -TERM "$PID"
    wait "$PID"
else
    nok "the daemon starts with an admin's certificate"; diag "$(tail "$A.log")"
fi

# a key that is not the certificate's, a missing file, one of the two
printf '[http]\ntls_cert = %s\ntls_key = %s\n' "$T/own-cert.pem" "$D/tls/key.pem" >"$A/bootherd.conf"
"$BH" serve --data "$A" --http 127.0.0.1:0 >"$T/mismatch.log" 2>&1
eq "a key that does not fit the certificate: serve refuses to start" 1 $?
contains "  ... saying so" "the key does not belong to the certificate" "$(cat "$T/mismatch.log")"
check "  ... and listens on nothing (no http.url)" test ! -e "$A/http.url"
printf '[http]\ntls_cert = %s\ntls_key = %s\n' "$T/none.pem" "$D/tls/key.pem" >"$A/bootherd.conf"
"$BH" serve --data "$A" --http 127.0.0.1:0 >"$T/missing.log" 2>&1
eq "a missing certificate file: serve refuses to start" 1 $?
contains "  ... naming it" "tls_cert = $T/none.pem" "$(cat "$T/missing.log")"
printf '[http]\ntls_cert = %s\n' "$T/own-cert.pem" >"$A/bootherd.conf"
out=$("$BH" serve --data "$A" --http 127.0.0.1:0 2>&1)
eq "tls_cert without tls_key: a config error (exit 2)" 2 $?
contains "  ... saying they go together" "tls_cert and tls_key go together" "$out"

for f in "$D.log" "$A.log" "$T/mismatch.log" "$T/missing.log"; do
    if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" 2>/dev/null; then
        nok "no sanitizer findings in $(basename "$f")"
        diag "$(grep -A30 -E 'Sanitizer|runtime error' "$f" | head -60)"
    fi
done
finish
