#!/bin/bash
# api.sh - API read throughput and latency with wrk over 10,000 hosts.
#
#   bench/api.sh [DURATION_SECONDS]     (default 10)
#
# Starts a private bootherd on loopback, loads 50 rooms and 10,000 hosts
# through `bootherd apply` (the real write path), then runs wrk against
#   1. GET /api/v1/hosts/{mac}                (random MAC each request)
#   2. GET /api/v1/hosts?room=rNN&state=known&limit=50   (filtered list)
#   3. GET /api/v1/hosts?selector=role=kiosk,arch!=arm64&limit=50
# at 16 and at 4 connections, and prints requests/s and p99 for each.
# No peer exists for this API; figures go to bench/RESULTS.md by hand.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BH=${BOOTHERD_BIN:-$ROOT/build/bootherd}
DUR=${1:-10}
HOSTS=${HOSTS:-10000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BH" ] || { echo "build first: make" >&2; exit 1; }

work=$(mktemp -d /tmp/bh-bench.XXXXXX)
chmod 755 "$work"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$BH" init --data "$work/data" >/dev/null
"$BH" serve --data "$work/data" --http 127.0.0.1:0 --log-level warn 2>"$work/log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/data/http.addr" ] && break; sleep 0.1; done
URL="http://$(cat "$work/data/http.addr")"
export BH_TOKEN=$(cat "$work/data/admin.token")

echo "loading 50 rooms and $HOSTS hosts through bootherd apply ..."
{
    echo "rooms:"
    for r in $(seq 0 49); do echo "  - name: r$r"; done
    echo "hosts:"
    for i in $(seq 0 $((HOSTS - 1))); do
        printf '  - {mac: "02:00:00:00:%02x:%02x", name: pc%05d, room: r%d, arch: %s, labels: {role: %s}}\n' \
            $((i / 256)) $((i % 256)) "$i" $((i % 50)) \
            "$([ $((i % 10)) -eq 0 ] && echo arm64 || echo x86_64)" \
            "$([ $((i % 3)) -eq 0 ] && echo kiosk || echo desk)"
    done
} >"$work/fleet.yaml"
t0=$(date +%s.%N)
"$BH" --url "$URL" --token "$BH_TOKEN" apply -f "$work/fleet.yaml" | tail -1
t1=$(date +%s.%N)
awk -v n=$((HOSTS + 50)) -v a="$t0" -v b="$t1" 'BEGIN {
    printf "load: %d objects in %.1f s (%.0f writes/s, each durable before the reply)\n", n, b - a, n / (b - a) }'

cat >"$work/get.lua" <<'LUA'
local n = tonumber(os.getenv("HOSTS")) or 10000
local auth = {["Authorization"] = "Bearer " .. os.getenv("BH_TOKEN")}
math.randomseed(os.time())
request = function()
  local i = math.random(0, n - 1)
  local mac = string.format("02:00:00:00:%02x:%02x", math.floor(i / 256), i % 256)
  return wrk.format("GET", "/api/v1/hosts/" .. mac, auth)
end
LUA
cat >"$work/list.lua" <<'LUA'
local auth = {["Authorization"] = "Bearer " .. os.getenv("BH_TOKEN")}
request = function()
  return wrk.format("GET", "/api/v1/hosts?room=r" .. math.random(0, 49) .. "&state=known&limit=50", auth)
end
LUA
cat >"$work/sel.lua" <<'LUA'
local auth = {["Authorization"] = "Bearer " .. os.getenv("BH_TOKEN")}
request = function()
  return wrk.format("GET", "/api/v1/hosts?selector=role%3Dkiosk,arch!%3Darm64&limit=50&offset=" .. math.random(0, 50) * 50, auth)
end
LUA
export HOSTS
# sanity: each script's request answers 200
curl -sf -H "Authorization: Bearer $BH_TOKEN" "$URL/api/v1/hosts/02:00:00:00:00:07" >/dev/null
curl -sf -H "Authorization: Bearer $BH_TOKEN" "$URL/api/v1/hosts?room=r7&state=known&limit=50" >/dev/null

run() { # name script connections
    local out rps p99 p50
    out=$(wrk -t2 -c"$3" -d"${DUR}s" --latency -s "$work/$2" "$URL" 2>&1)
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
    printf '%-34s c=%-3s %10s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$3" "$rps" "$p50" "$p99" "$errs"
}
echo
echo "bootherd $("$BH" version | cut -d' ' -f2), $(nproc) cores, wrk -t2 -d${DUR}s --latency"
for c in 16 4; do
    run "GET /api/v1/hosts/{mac}" get.lua $c
    run "GET /api/v1/hosts?room&state (50)" list.lua $c
    run "GET /api/v1/hosts?selector (50)" sel.lua $c
done
