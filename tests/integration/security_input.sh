#!/bin/bash
# security_input.sh - issue 9, bytes and values from outside that the daemon
# mishandled:
#   - invalid UTF-8 in a URL gave a 500 or no answer at all: a sweep of every
#     route of the OpenAPI document, with %ff, %c0%ae, %ed%a0%80 and a lone
#     %80 in the path and in the query, with no token, a viewer's and an
#     admin's, wants a 4xx problem+json that parses (or a 2xx where the route
#     takes the request), never a 5xx or an empty reply;
#   - a NUL in a URL cut the name short (test.txt%00.png served test.txt): it
#     is refused with 400 on every route, for the path and the query;
#   - boot events keep what the client sent, made valid UTF-8;
#   - values that were stored and should not be get a 422 naming the field:
#     offline_after out of 10..31536000, a subnet with host bits, broadcast,
#     zero and multicast MACs, kernels, initrds and boot files outside the
#     boot root (file:///etc/passwd, ../../etc/shadow).
source "$(dirname "$0")/../lib/harness.sh"

# a console, so / and /ui/ answer as they do once built (not 503)
UI=$(tmpdir)
mkdir -p "$UI/ui" && echo '<!doctype html>' >"$UI/index.html"
printf '[http]\nui_dir = %s\n' "$UI" >"$UI/bootherd.conf"
bh_start "" --config "$UI/bootherd.conf" || { nok "daemon starts"; finish; exit 1; }
VIEWER=$(mktoken si-viewer viewer)
BROOT=$BH_DATA/boot # the default boot root, in the data directory
T=$(tmpdir)

# problem NAME STATUS [FIELD]: the last answer is that status, as a
# problem+json whose body parses and says the same status (and names FIELD)
problem() {
    local name=$1 want=$2 field=${3:-} why=""
    [ "$STATUS" == "$want" ] || why="want HTTP $want, got $STATUS"
    if [ -z "$why" ] && ! grep -qi '^Content-Type: application/problem+json' <<<"$HDRS"; then
        why="not application/problem+json"
    fi
    if [ -z "$why" ] && ! jq -e --argjson s "$want" '.status == $s and (.type | type == "string")' <<<"$BODY" >/dev/null 2>&1; then
        why="the body is not a problem that jq parses"
    fi
    if [ -z "$why" ] && [ -n "$field" ] && [ "$(jq -r .field <<<"$BODY")" != "$field" ]; then
        why="want field '$field', got '$(jq -r .field <<<"$BODY")'"
    fi
    if [ -z "$why" ]; then ok "$name"; else nok "$name"; diag "$why: ${BODY:0:400}"; fi
}

# ---- the issue's reproductions --------------------------------------------

api GET /api/v1/hosts/%ff "" ""
problem "GET /hosts/%ff with no token: 400 problem" 400
eq "  ... the instance is the path, the bad byte as U+FFFD" "/api/v1/hosts/"$'\xef\xbf\xbd' "$(jq -r .instance <<<"$BODY")"
api GET "/api/v1/hosts?selector=a=%ff%fe"
problem "?selector=a=%ff%fe: 400 problem naming the selector" 400 selector
api GET /boot/files/%c0%ae%c0%ae/x "" ""
problem "/boot/files/%c0%ae%c0%ae/x: 400 problem" 400

# an overlong '.' is two bytes of a name, never '.': nothing above the root
printf 'above the boot root\n' >"$BH_DATA/secret.txt"
for p in %c0%ae%c0%ae/secret.txt %e0%80%ae%e0%80%ae/secret.txt %c0%ae%c0%ae%c0%af/secret.txt; do
    api GET "/boot/files/$p" "" ""
    if [[ $STATUS == 4* ]] && [[ $BODY != *"above the boot root"* ]]; then ok "/boot/files/$p: refused, nothing from above the root"; else
        nok "/boot/files/$p: refused, nothing from above the root"; diag "$STATUS ${BODY:0:200}"; fi
done

# ---- a NUL in the URL -----------------------------------------------------

printf 'the test file\n' >"$BROOT/test.txt"
api GET /boot/files/test.txt "" ""
eq "the boot root serves test.txt" "200 the test file" "$STATUS $BODY"
api GET /boot/files/test.txt%00.png "" ""
problem "test.txt%00.png: 400, not test.txt" 400
contains "  ... saying why" "NUL" "$(jq -r .detail <<<"$BODY")"
api POST /api/v1/rooms '{"name":"si-room"}'
api GET /api/v1/rooms/si-room%00junk
problem "a NUL in a path parameter: 400, not si-room" 400
api DELETE /api/v1/rooms/si-room%00x
problem "DELETE with a NUL in the key: 400" 400
api GET /api/v1/rooms/si-room
eq "  ... and si-room is still there" 200 "$STATUS"
api GET "/boot/ipxe?mac=52:54:00:00:00:0a%00junk" "" ""
problem "a NUL in a query value: 400" 400
api GET "/api/v1/hosts?na%00me=x"
problem "a NUL in a query key: 400" 400
api GET "/api/v1/nosuch%00/x" "" ""
problem "a NUL in a path no route has: 400 all the same" 400
# the refusal is one request's: the client's next request is served
out=$(curl -s -o /dev/null -o /dev/null -w '%{http_code}\n' "$BH_URL/boot/files/test.txt%00.png" "$BH_URL/health")
eq "after a NUL, the client's next request is served" "400|200" "$(paste -sd'|' <<<"$out")"

# ---- boot events keep what the client sent, as valid UTF-8 ----------------

MAC=52:54:00:00:51:01
api POST /api/v1/hosts "{\"mac\":\"$MAC\",\"name\":\"si-host\"}"
eq "a host for boot events" 201 "$STATUS"
st=$(curl -s -o /dev/null -w '%{http_code}' -H $'Range: bytes=0-3\xff' "$BH_URL/boot/files/test.txt?mac=$MAC")
eq "a Range header with a bad byte: the file is served (whole)" 200 "$st"
for i in $(seq 1 100); do # boot events are written in the background
    api GET "/api/v1/hosts/$MAC/events"
    jq -e '.items[] | select(.type == "boot.file")' <<<"$BODY" >/dev/null 2>&1 && break
    sleep 0.05
done
eq "the boot.file event names the file and keeps the Range, bad byte as U+FFFD" \
    "test.txt|bytes=0-3"$'\xef\xbf\xbd' \
    "$(jq -r '[.items[] | select(.type == "boot.file")][0] | "\(.data.file)|\(.data.range)"' <<<"$BODY")"

# ---- request headers quoted in problems -------------------------------------

api POST /api/v1/rooms "" "$BH_TOKEN" -H $'Content-Type: text/x\xff\xfe' --data-binary '{"name":"x"}'
problem "a Content-Type with bad bytes: 415 problem+json that parses" 415
contains "  ... quoting it as U+FFFD" "text/x"$'\xef\xbf\xbd' "$(jq -r .detail <<<"$BODY")"
api GET /api/v1/whoami "" $'bh_\xff'
problem "a token with bad bytes: 401 problem+json" 401

# ---- every route, invalid UTF-8 in the path and in the query --------------

curl -s "$BH_URL/api/v1/openapi.json" >"$T/openapi.json"
NROUTES=$(jq '[.paths[] | keys[]] | length' "$T/openapi.json")
check "the route list comes from openapi.json ($NROUTES routes)" test "$NROUTES" -gt 60

# sweep WHO TOKEN: every route with each bad sequence as every path
# parameter, and with each query name (one of them as its value), in one
# curl run (a config of all the requests); then every answer is checked
sweep() {
    local who=$1 tok=$2 dir=$T/sweep-$1 n
    mkdir -p "$dir"
    python3 - "$T/openapi.json" "$BH_URL" "$dir" "$tok" >"$dir.cfg" <<'EOF'
import json, re, sys
spec, url, d, tok = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
bad = ["%ff", "%c0%ae", "%ed%a0%80", "%80"]
names = ["mac", "selector", "kind", "key", "a", "b", "since", "limit", "image", "sort",
         "serial", "dry_run", "before", "actor", "offset"]
reqs = []
for path, ops in spec["paths"].items():
    for m in ops:
        m = m.upper()
        if "{" in path:
            reqs += [(m, re.sub(r"\{[^}]*\}", "x" + b, path), "path") for b in bad]
        p = re.sub(r"\{[^}]*\}", "nosuch", path)
        reqs += [(m, f"{p}?{q}=v{bad[i % len(bad)]}", "query") for i, q in enumerate(names)]
        reqs += [(m, p + "?%ff%fe=x", "query-key"), (m, p + "?selector=a=%ff%fe", "query")]
for n, (m, p, what) in enumerate(reqs, 1):
    print(f'url = "{url}{p}"\nrequest = "{m}"\noutput = "{d}/{n}"\nsilent\nmax-time = 10')
    print(f'write-out = "{n} %{{http_code}} %{{content_type}} {m} {p} {what}\\n"')
    if tok:
        print(f'header = "Authorization: Bearer {tok}"')
    print("next")
EOF
    n=$(grep -c '^url' "$dir.cfg")
    curl -K "$dir.cfg" >"$dir.out" 2>"$dir.err"
    python3 - "$dir" "$dir.out" "$n" <<'EOF'
import json, sys
d, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen, bad = set(), []
for line in open(out, encoding="utf-8", errors="replace"):
    num, code, ctype, method, path, what = line.split(" ", 5)
    seen.add(num)
    code = int(code)
    try:
        body = open(f"{d}/{num}", "rb").read()
    except OSError:
        body = b""
    why = None
    if code == 0:
        why = "no answer"
    elif code >= 500:
        why = "a 5xx"
    elif 400 <= code < 500:
        if not ctype.startswith("application/problem+json"):
            why = f"Content-Type {ctype}"
        else:
            try:
                j = json.loads(body)
                if j.get("status") != code or not isinstance(j.get("type"), str):
                    why = "problem without its status or type"
            except ValueError as e:
                why = f"body is not JSON ({e})"
    elif not 200 <= code < 300:
        why = "neither 2xx nor 4xx"
    elif "json" in ctype:
        try:
            json.loads(body)
        except ValueError as e:
            why = f"a 2xx whose JSON does not parse ({e})"
    if why:
        bad.append(f"{method} {path} ({what.strip()}): HTTP {code}: {why}: {body[:160]!r}")
missing = n - len(seen)
if missing:
    bad.append(f"{missing} of {n} requests have no answer line")
print(f"{n} requests, {len(bad)} bad")
for b in bad[:25]:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
for who in none viewer admin; do
    tok=""
    [ "$who" == viewer ] && tok=$VIEWER
    [ "$who" == admin ] && tok=$BH_TOKEN
    t0=$(date +%s%N)
    check "sweep: every route, invalid UTF-8 in path and query: 4xx problem+json or 2xx, never 5xx or nothing [$who]" sweep "$who" "$tok"
    ms=$((($(date +%s%N) - t0) / 1000000))
    check "sweep [$who] took ${ms} ms (under 20 s)" test "$ms" -lt 20000
done
curl -sf "$BH_URL/health" >/dev/null
eq "the daemon is still up after the sweeps" 0 $?

# ---- values the model refuses ---------------------------------------------

for v in -1 0 9 31536001 9223372036854775807; do
    api PATCH /api/v1/settings "{\"offline_after\":$v}"
    problem "settings offline_after=$v: 422" 422 offline_after
done
api PATCH /api/v1/settings '{"offline_after":10}'
eq "settings offline_after=10 (the config file's minimum): 200" 200 "$STATUS"
api PATCH /api/v1/settings '{"offline_after":31536000}'
eq "settings offline_after=31536000 (a year, the maximum): 200" 200 "$STATUS"
api GET /api/v1/openapi.json "" ""
eq "the OpenAPI schema says the same range" "10 31536000" \
    "$(jq -r '[.. | objects | select(has("offline_after")) | .offline_after | select(.type == "integer")][0] | "\(.minimum) \(.maximum)"' <<<"$BODY")"

api POST /api/v1/rooms '{"name":"si-net","subnet":"10.0.0.1/24"}'
problem "room subnet 10.0.0.1/24 (host bits set): 422" 422 subnet
contains "  ... saying which network was meant" "10.0.0.0/24" "$(jq -r .detail <<<"$BODY")"
api POST /api/v1/rooms '{"name":"si-net","subnet":"10.0.0.0/24"}'
eq "room subnet 10.0.0.0/24: 201" 201 "$STATUS"
api PATCH /api/v1/rooms/si-net '{"subnet":"192.168.1.129/25"}'
problem "PATCH subnet 192.168.1.129/25: 422" 422 subnet

for mac in ff:ff:ff:ff:ff:ff 00:00:00:00:00:00 01:00:5e:00:00:01 33:33:00:00:00:01; do
    api POST /api/v1/hosts "{\"mac\":\"$mac\"}"
    problem "host mac $mac: 422" 422 mac
done
api GET "/api/v1/hosts?count=true"
eq "no such host was stored" 0 "$(jq '[.items[].mac | select(. == "ff:ff:ff:ff:ff:ff" or . == "00:00:00:00:00:00")] | length' <<<"$BODY")"
api PUT /api/v1/hosts/$MAC '{"mac":"ff:ff:ff:ff:ff:ff","name":"si-host"}'
problem "PUT a host to the broadcast MAC: 422" 422 mac
"$BH" --url "$BH_URL" --token "$BH_TOKEN" host add FF-FF-FF-FF-FF-FF >"$T/cli.out" 2>&1
rc=$?
eq "CLI host add FF-FF-FF-FF-FF-FF: exit 1" 1 "$rc"
contains "  ... naming the field" "[field: mac]" "$(cat "$T/cli.out")"
cat >"$T/fleet.yaml" <<'EOF'
hosts:
  - mac: "00:00:00:00:00:00"
    name: zero
EOF
"$BH" --url "$BH_URL" --token "$BH_TOKEN" apply -f "$T/fleet.yaml" >"$T/apply.out" 2>&1
rc=$?
check "apply with an all-zero MAC: refused" test "$rc" -ne 0
contains "  ... naming the MAC" "00:00:00:00:00:00" "$(cat "$T/apply.out")"
api GET /api/v1/hosts/zero
eq "  ... and nothing was stored" 404 "$STATUS"

for k in file:///etc/passwd ../../etc/shadow /etc/passwd client/../../x; do
    api POST /api/v1/profiles "{\"name\":\"si-prof\",\"kernel\":\"$k\"}"
    problem "profile kernel $k: 422" 422 kernel
    api POST /api/v1/profiles "{\"name\":\"si-prof\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.img\",\"$k\"]}"
    problem "profile initrd $k: 422" 422 initrds
done
api POST /api/v1/profiles '{"name":"si-prof","kernel":"client/vmlinuz","initrds":["client/initrd.img","http://192.0.2.1/extra.img"],"cmdline":"bootherd.server={{http_base}} bootherd.ticket={{ticket}}"}'
eq "profile with boot-root paths, a URL and {{...}} in the command line: 201" 201 "$STATUS"
api PATCH /api/v1/profiles/si-prof '{"kernel":"https://boot.example/vmlinuz"}'
eq "profile kernel as an https:// URL: 200" 200 "$STATUS"
api PATCH /api/v1/profiles/si-prof '{"kernel":"file:///etc/passwd"}'
problem "PATCH kernel file:///etc/passwd: 422" 422 kernel

api PATCH /api/v1/hosts/$MAC '{"boot":{"files":{"bios":"../../../etc/passwd"}}}'
problem "host boot.files.bios ../../../etc/passwd: 422" 422 boot.files.bios
api POST /api/v1/groups '{"name":"si-group","boot":{"files":{"efi64":"/etc/passwd"}}}'
problem "group boot.files.efi64 /etc/passwd: 422" 422 boot.files.efi64
api POST /api/v1/groups '{"name":"si-group","boot":{"files":{"efi64":"ipxe.efi","http":"http://192.0.2.1:8080/boot/files/ipxe.efi"}}}'
eq "group boot files inside the root and a URL: 201" 201 "$STATUS"
api GET /api/v1/hosts/$MAC
eq "the refused boot files were not stored" null "$(jq -c .boot <<<"$BODY")"

finish
