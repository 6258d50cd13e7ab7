#!/bin/bash
# hosts_import.sh - POST /api/v1/hosts/import: a LINBO devices.csv, with
# curl and jq against a real daemon.  A real file (BOM, CRLF, comments,
# sixteen fields, nopxe) imports; rooms and groups it names that do not
# exist are errors at their lines unless ?create=rooms,groups; ?dry_run=1
# reports and writes nothing; a second import leaves everything unchanged;
# hosts are matched by MAC (a new one from a DHCP boot is registered, a
# known one renamed and moved); bad lines are reported all at once at their
# line and field, a conflict with a stored host is 409 at its line, and
# nothing is written either way; viewers may not import.
source "$(dirname "$0")/../lib/harness.sh"
bh_start || { nok "daemon starts"; finish; exit 1; }
W=$(tmpdir)

revision() { curl -s "$BH_URL/ready" | jq -r .revision; }
# import FILE [QUERY] [TOKEN] [CONTENT_TYPE]: sets STATUS and BODY
import() {
    api POST "/api/v1/hosts/import${2:-}" "" "${3:-$BH_TOKEN}" \
        -H "Content-Type: ${4:-text/csv}" --data-binary "@$1"
}

printf '\xef\xbb\xbf# /etc/linuxmuster/sophomorix/default-school/devices.csv\n' >"$W/devices.csv"
cat >>"$W/devices.csv" <<'EOF'
# room;hostname;group;mac;ip;officekey;windowskey;dhcpoptions;role;;pxe;;;;comment;options
r101;r101-pc01;win11;52:54:00:d0:00:01;10.1.0.11;;;;classroom-studentcomputer;;1;;;;;
r101;r101-pc02;win11;52-54-00-D0-00-02;DHCP;;;;classroom-studentcomputer;;1;;;;;
r101;r101-lehrer;win11;525400d00003;10.1.0.10;OFFICE;WIN;;classroom-teachercomputer;;2;;;;Lehrerpult;

server;server;nopxe;52:54:00:d0:00:ff;10.1.0.1;;;;server;;0;;;;;
;;;;;;;;;;;;;;;
EOF
sed -i 's/$/\r/' "$W/devices.csv"

# ---- rooms and groups the file names ---------------------------------------------
R0=$(revision)
import "$W/devices.csv"
eq "rooms and groups that do not exist: 422" 422 "$STATUS"
eq "  ... as a problem with every line that names them" \
    "invalid-devices-csv 3:room 3:group 4:room 4:group 5:room 5:group 7:room" \
    "$(jq -r '"\(.type | sub(".*:"; "")) \([.errors[] | "\(.line):\(.field)"] | join(" "))"' <<<"$BODY")"
contains "  ... saying how to create them" "?create=rooms" "$(jq -r '.errors[0].message' <<<"$BODY")"
eq "  ... and the first one in detail and field" "devices.csv:3:1" "$(jq -r .field <<<"$BODY")"
eq "  ... nothing written" "$R0" "$(revision)"

# ---- dry run ------------------------------------------------------------------------
import "$W/devices.csv" "?create=rooms,groups&dry_run=1"
eq "a dry run: 200" 200 "$STATUS"
eq "  ... reports what would happen" "true 4 0 0 r101,server win11" \
    "$(jq -r '"\(.dry_run) \(.created) \(.updated) \(.unchanged) \(.rooms_created | join(",")) \(.groups_created | join(","))"' <<<"$BODY")"
eq "  ... line by line" "3:r101-pc01:created 4:r101-pc02:created 5:r101-lehrer:created 7:server:created" \
    "$(jq -r '[.hosts[] | "\(.line):\(.name):\(.result)"] | join(" ")' <<<"$BODY")"
eq "  ... and writes nothing" "$R0" "$(revision)"
api GET /api/v1/rooms/r101
eq "  ... (no room r101)" 404 "$STATUS"

# ---- for real ----------------------------------------------------------------------
import "$W/devices.csv" "?create=rooms,groups"
eq "import with ?create=rooms,groups: 200" 200 "$STATUS"
eq "  ... four hosts created, two rooms and a group" "false 4 0 0 r101,server win11" \
    "$(jq -r '"\(.dry_run) \(.created) \(.updated) \(.unchanged) \(.rooms_created | join(",")) \(.groups_created | join(","))"' <<<"$BODY")"
eq "  ... one revision each (2 rooms, 1 group, 4 hosts)" "$((R0 + 7))" "$(revision)"
api GET /api/v1/hosts/r101-pc01
eq "a host as the line says: room, group, address, role label, PXE" \
    "52:54:00:d0:00:01 r101 win11 10.1.0.11 classroom-studentcomputer known null" \
    "$(jq -r '"\(.mac) \(.room) \(.group) \(.ip) \(.labels["linbo/role"]) \(.state) \(.boot)"' <<<"$BODY")"
api GET /api/v1/hosts/r101-pc02
eq "DHCP: no fixed address; a MAC in any spelling" "52:54:00:d0:00:02 null" "$(jq -r '"\(.mac) \(.ip)"' <<<"$BODY")"
api GET /api/v1/hosts/r101-lehrer
eq "the comment is the description" "Lehrerpult" "$(jq -r .description <<<"$BODY")"
api GET /api/v1/hosts/server
eq "nopxe: no group, and it boots its disk" "null local" "$(jq -r '"\(.group) \(.boot.action)"' <<<"$BODY")"
api GET "/api/v1/audit?kind=host&key=52:54:00:d0:00:01"
eq "each host has its audit record, with the importer as actor" "created admin" \
    "$(jq -r '.items[0] | "\(.action) \(.actor)"' <<<"$BODY")"

R1=$(revision)
import "$W/devices.csv" "?create=rooms,groups"
eq "the same file again: all unchanged" "0 0 4" "$(jq -r '"\(.created) \(.updated) \(.unchanged)"' <<<"$BODY")"
eq "  ... and nothing written" "$R1" "$(revision)"

# ---- matched by MAC ---------------------------------------------------------------
# a machine that booted (state new), and a known host moved and renamed
M9=52:54:00:d0:00:09
curl -s "$BH_URL/boot/ipxe?mac=$M9&arch=x86_64&platform=efi" >/dev/null
for _ in $(seq 1 200); do
    api GET "/api/v1/hosts/$M9"
    [ "$STATUS" == 200 ] && break
    sleep 0.02
done
eq "a machine that booted is new" new "$(jq -r .state <<<"$BODY")"
check "room r102" bhc room add r102
printf 'r101;r101-pc01;win11;52:54:00:d0:00:01;10.1.0.11;;;;classroom-studentcomputer;;1\nr102;r102-pc01;win11;52:54:00:d0:00:02;10.1.2.11;;;;;;1\nr102;r102-pc09;win11;%s;DHCP;;;;;;1\n' \
    "$M9" >"$W/move.csv"
import "$W/move.csv"
eq "matched by MAC: one unchanged, one updated, the new one registered" \
    "1:unchanged 2:updated 3:updated" "$(jq -r '[.hosts[] | "\(.line):\(.result)"] | join(" ")' <<<"$BODY")"
api GET "/api/v1/hosts/52:54:00:d0:00:02"
eq "  ... renamed and moved, its role label gone with the role" "r102-pc01 r102 10.1.2.11 null" \
    "$(jq -r '"\(.name) \(.room) \(.ip) \(.labels["linbo/role"])"' <<<"$BODY")"
api GET "/api/v1/hosts/$M9"
eq "  ... the new machine is registered: named, filed, known" "r102-pc09 r102 win11 known" \
    "$(jq -r '"\(.name) \(.room) \(.group) \(.state)"' <<<"$BODY")"

# ---- bad lines -----------------------------------------------------------------------
R2=$(revision)
cat >"$W/bad.csv" <<'EOF'
r101;r101-pc01;win11;52:54:00:d0:00:01;10.1.0.11;;;;;;1
r101;pc_03;win11;zz:zz;10.1.0.300;;;;;;yes
r101;r101-pc04;win11;52:54:00:d0:00:01;10.1.0.11
just;three;fields
EOF
import "$W/bad.csv"
eq "bad lines: 422, nothing written" "422 $R2" "$STATUS $(revision)"
eq "  ... every bad field at its line and field" \
    "2:2:hostname 2:4:mac 2:5:ip 2:11:pxeFlag 3:4:mac 3:5:ip 4:0:" \
    "$(jq -r '[.errors[] | "\(.line):\(.column):\(.field)"] | join(" ")' <<<"$BODY")"
eq "  ... counted" 7 "$(jq -r .errors_total <<<"$BODY")"
contains "  ... a repeated MAC names the line it is on first" "is on line 1 already" \
    "$(jq -r '.errors[4].message' <<<"$BODY")"
contains "  ... the detail quotes the first" "line 2: hostname: 'pc_03'" "$(jq -r .detail <<<"$BODY")"

printf 'r101;server;win11;52:54:00:d0:00:0a;DHCP\nr101;r101-pc0b;win11;52:54:00:d0:00:0b;10.1.0.10\n' >"$W/taken.csv"
import "$W/taken.csv"
eq "a name and an address other hosts hold: 409, nothing written" "409 $R2" "$STATUS $(revision)"
eq "  ... each at its line" "1:hostname 2:ip" "$(jq -r '[.errors[] | "\(.line):\(.field)"] | join(" ")' <<<"$BODY")"
contains "  ... saying who holds it" "a host with name 'server' already exists" "$(jq -r '.errors[0].message' <<<"$BODY")"
api GET /api/v1/hosts/52:54:00:d0:00:0a
eq "  ... the good line was not written either" 404 "$STATUS"

printf '# only a comment\n\n' >"$W/empty.csv"
import "$W/empty.csv"
eq "a file without devices: 422" 422 "$STATUS"
import "$W/devices.csv" "" "$BH_TOKEN" application/json
eq "not text/csv: 415" 415 "$STATUS"
import "$W/devices.csv" "?create=rooms,hosts"
eq "?create takes rooms and groups only: 400" "400 create" "$STATUS $(jq -r .field <<<"$BODY")"
import "$W/devices.csv" "?dry=1"
eq "an unknown parameter: 400" 400 "$STATUS"
import "$W/devices.csv" "?dry_run=maybe"
eq "dry_run is a boolean: 400" 400 "$STATUS"
eq "  ... nothing written by any of them" "$R2" "$(revision)"

# ---- roles ------------------------------------------------------------------------------
VIEWER=$(mktoken viewer1 viewer)
OPER=$(mktoken oper1 operator)
import "$W/devices.csv" "" "$VIEWER"
eq "a viewer may not import: 403" 403 "$STATUS"
import "$W/devices.csv" "?dry_run=1" "$OPER"
eq "an operator may" 200 "$STATUS"

api GET /api/v1/openapi.json
eq "the OpenAPI document has the route, its parameters and the report" "true true true" \
    "$(jq -r '.paths["/api/v1/hosts/import"].post | "\(.parameters | map(.name) | contains(["dry_run","create"])) \(.requestBody.content | has("text/csv")) \(.responses["200"] != null)"' <<<"$BODY")"
finish
