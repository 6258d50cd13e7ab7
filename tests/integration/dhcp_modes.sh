#!/bin/bash
# dhcp_modes.sh - `bootherd serve` with DHCP on a bridge in a namespace made
# here (root; 192.0.2.0/24 only; removed on exit).  The interface's mode is
# switched at run time through the settings API, and real clients see the
# change without a restart:
#
#   proxy   udhcpc (no PXE class) gets nothing; nmap sending a PXE class
#           gets a proxy offer with the boot file
#   full    udhcpc gets an address of the range; the lease is in
#           leases.db, which belongs to the service user
#   off     udhcpc and the PXE client get nothing
#   unset   back to the configured mode (proxy)
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/netlab.sh"
netlab_init || { echo "ok - $TEST_NAME: skipped (needs root) # SKIP"; exit 0; }
for tool in udhcpc nmap curl jq sqlite3; do
    command -v "$tool" >/dev/null || { nok "tool $tool installed"; finish; exit 1; }
done
T=$TEST_TMP

netlab_ns srv
netlab_bridge srv 192.0.2.1/24
netlab_ns c1
netlab_veth_to_bridge srv c1
netlab_ns c2 # nmap wants an addressed interface
netlab_veth_to_bridge srv c2 192.0.2.70/24

CONF=$'[http]\nlisten = 192.0.2.1:8080\n[dhcp]\ninterfaces = br0\nmode = proxy\ncommit_ms = 2\n[subnet]\nnetwork = 192.0.2.0/24\nrange = 192.0.2.50-192.0.2.60\nrouter = 192.0.2.1\nlease_time = 600'
"$BH" init --data "$T/data" >/dev/null || { nok "init"; finish; exit 1; }
"$BH" assets install --data "$T/data" >"$T/assets.log" 2>&1 || { nok "assets install"; diag "$(cat "$T/assets.log")"; }
if ! netlab_bootherd srv "$CONF" --log-level debug >"$T/start.log"; then
    nok "serve starts with [dhcp]"; diag "$(cat "$T/start.log")"; finish; exit 1
fi
ok "serve starts with [dhcp] (proxy)"

# the API listens inside the namespace
napi() { # METHOD PATH [BODY]
    local args=(-s -o "$T/api.body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $BH_TOKEN")
    [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    STATUS=$(netlab_exec srv curl "${args[@]}" "$BH_URL$2")
    BODY=$(cat "$T/api.body")
}
set_mode() { # MODE (or null)
    local v=null
    [ "$1" != null ] && v="{\"br0\":\"$1\"}"
    napi PATCH /api/v1/settings "{\"dhcp_modes\":$v}"
    [ "$STATUS" = 200 ] || { nok "PATCH settings dhcp_modes=$1"; diag "$STATUS $BODY"; }
}
plain_client() { # prints the address udhcpc obtained, or nothing
    netlab_exec c1 timeout 12 udhcpc -i eth0 -q -n -t 3 -T 1 -s /bin/true -f 2>&1 |
        sed -n 's/.*lease of \([0-9.]*\) obtained.*/\1/p'
}
sed 's/local options = {}/local options = {{number = 60, type = "string", value = "PXEClient:Arch:00000:UNDI:002001"}, {number = 55, type = "string", value = "\\x01\\x03\\x2b\\x3c\\x42\\x43"}}/' \
    /usr/share/nmap/scripts/broadcast-dhcp-discover.nse >"$T/pxe-dhcp-discover.nse"
pxe_client() {
    netlab_exec c2 nmap -e eth0 --script "$T/pxe-dhcp-discover.nse" \
        --script-args pxe-dhcp-discover.timeout=2 2>&1
}
effective_mode() {
    napi GET /api/v1/settings/effective
    jq -r '.dhcp_interfaces[]? | select(.name == "br0") | .mode' <<<"$BODY" 2>/dev/null
}

# ---- proxy (configured) ----------------------------------------------------
eq "effective mode is the configured one" proxy "$(effective_mode)"
ip=$(plain_client)
eq "proxy: a plain client gets no address" "" "$ip"
out=$(pxe_client)
contains "proxy: a PXE client gets the proxy offer" "Bootfile Name: undionly.kpxe" "$out"

# ---- full, switched at run time --------------------------------------------
set_mode full
eq "effective mode follows settings.dhcp_modes" full "$(effective_mode)"
ip=$(plain_client)
case "$ip" in
192.0.2.5[0-9] | 192.0.2.60) ok "full: the plain client got $ip from the range" ;;
*) nok "full: plain client gets an address (got '$ip')"; diag "$(tail -20 "$BH_LOG")" ;;
esac
n=$(sqlite3 "$BH_DATA/leases.db" "SELECT count(*) FROM leases WHERE state = 2" 2>&1)
eq "full: the lease is in leases.db" 1 "$n"
if id bootherd >/dev/null 2>&1; then
    eq "leases.db belongs to the service user" bootherd "$(stat -c %U "$BH_DATA/leases.db")"
fi

# ---- off, through the CLI ----------------------------------------------------
out=$(netlab_exec srv "$BH" --url "$BH_URL" --token "$BH_TOKEN" settings set 'dhcp_modes={"br0":"off"}' 2>&1)
check "bootherd settings set dhcp_modes" test $? -eq 0
out=$(netlab_exec srv "$BH" --url "$BH_URL" --token "$BH_TOKEN" settings effective 2>&1)
contains "bootherd settings effective shows br0 off" '  - name: br0
    mode: off' "$out"
ip=$(plain_client)
eq "off: a plain client gets no address" "" "$ip"
out=$(pxe_client)
if [[ "$out" == *"Server Identifier: 192.0.2.1"* ]]; then
    nok "off: a PXE client gets no offer"; diag "$out"
else
    ok "off: a PXE client gets no offer"
fi

# ---- unset: back to the config ---------------------------------------------
set_mode null
eq "unset: effective mode is the configured one again" proxy "$(effective_mode)"
out=$(pxe_client)
contains "unset: the PXE client gets the proxy offer again" "Bootfile Name: undionly.kpxe" "$out"
grep -q "dhcp listening.*iface=br0.*mode=proxy" "$BH_LOG" &&
    ok "the log names the interface and its mode" || nok "dhcp listening log line"

kill -TERM "$BH_PID"
for _ in $(seq 1 50); do kill -0 "$BH_PID" 2>/dev/null || break; sleep 0.1; done
wait "$BH_PID" 2>/dev/null
eq "serve exits 0 on SIGTERM" 0 "$?"
finish
