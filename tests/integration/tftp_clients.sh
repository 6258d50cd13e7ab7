#!/bin/bash
# tftp_clients.sh - `bootherd tftpd` against real TFTP clients: tftp-hpa,
# atftp, curl and busybox, in two network namespaces joined by a veth
# (server 192.0.2.1, client 192.0.2.2).  Checks: file sizes around the
# block boundaries, a file past block 65535 (rollover), negotiated options,
# netascii, refused names (traversal, symlinks out of the root, control
# bytes, backslashes) with a log line naming the client, write requests,
# malformed requests, "server busy", replies from the address asked, 5%
# loss with reordering, 20 parallel clients sharing one open file, and a
# clean exit on SIGTERM.  Needs root (namespaces).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/netlab.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "ok - $TEST_NAME: skipped, needs root # SKIP"
    exit 0
fi
netlab_init || exit 1
SRV=192.0.2.1
CLI_ADDR=192.0.2.2
netlab_ns srv
netlab_ns cli
netlab_link srv $SRV/24 cli $CLI_ADDR/24
ip -n "$(netlab_name srv)" addr add 192.0.2.3/24 dev v-cli
USER_ARGS=()
id bootherd >/dev/null 2>&1 || USER_ARGS=(--user nobody)

have() { command -v "$1" >/dev/null 2>&1; }
cli() { netlab_exec cli "$@"; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# ---- the boot root -----------------------------------------------------------
R=$(tmpdir)/root
OUT=$(tmpdir)
mkdir -p "$R/sub"
: >"$R/empty"
for n in 511 512 513 4404; do head -c $n /dev/urandom >"$R/f$n"; done # 4404 = 3 x 1468
head -c $((64 * 1024)) /dev/urandom >"$R/f64k"
head -c $((128 * 1024)) /dev/urandom >"$R/f128k"
head -c $((256 * 1024)) /dev/urandom >"$R/f256k"
head -c $((1024 * 1024)) /dev/urandom >"$R/f1m"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$R/f3m"
# 65538 blocks of 512: the block number rolls over past 65535
head -c $((32 * 1024 * 1024 + 1000)) /dev/urandom >"$R/big"
printf 'line one\nline two\r\nbare cr\rend\n' >"$R/sub/text.cfg"
ln -s /etc/passwd "$R/escape-abs"
ln -s ../../../../../../../etc/passwd "$R/escape-rel"
ln -s f512 "$R/alias"
chmod -R a+rX "$R"

LOG=$TEST_TMP/tftpd.log
start_server() { # LOG ARGS...
    local log=$1
    shift
    netlab_bg srv "$BH" tftpd --root "$R" "${USER_ARGS[@]}" "$@" >"$log" 2>&1
    local i
    for i in $(seq 1 100); do
        grep -q 'msg="tftp listening"' "$log" 2>/dev/null && return 0
        kill -0 "$NL_LAST_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "tftpd did not start:"
    cat "$log"
    return 1
}
start_server "$LOG" --listen $SRV:69 --timeout-ms 100 --retries 6 || exit 1
# finish() stops it with SIGTERM and checks the exit status and sanitizers
BH_PID=$NL_LAST_PID
BH_LOG=$LOG

# fetch CLIENT NAME OUTFILE [blksize] [windowsize]
fetch() {
    local c=$1 name=$2 out=$3 blk=${4:-} win=${5:-}
    rm -f "$out"
    case $c in
    tftp-hpa) cli tftp -m octet $SRV -c get "$name" "$out" 2>&1 | grep -v '^$' ;;
    atftp)
        local opts=()
        [ -n "$blk" ] && opts+=(--option "blksize $blk")
        [ -n "$win" ] && opts+=(--option "windowsize $win")
        cli atftp "${opts[@]}" -g -r "$name" -l "$out" $SRV ;;
    # curl asks for "timeout 6" (RFC 2349), which the server honours as its
    # retransmit interval; --connect-timeout 3 makes it ask for 1 second
    curl) cli curl -sS --connect-timeout 3 ${blk:+--tftp-blksize $blk} -o "$out" \
        "tftp://$SRV/$name" ;;
    busybox) cli busybox tftp -g -r "$name" -l "$out" ${blk:+-b $blk} $SRV ;;
    esac
    [ -f "$out" ] || : >"$out" # curl writes nothing for an empty file
}

# verify NAME CLIENT FILE OUT: same bytes
verify() {
    local want got
    want=$(sha "$R/$3")
    got=$(sha "$4" 2>/dev/null)
    eq "$1" "$want" "$got"
}

# ---- every client, sizes around the block boundaries ----------------------------
CLIENTS=()
for c in tftp-hpa atftp curl busybox; do
    bin=$c
    [ $c = tftp-hpa ] && bin=tftp
    if have $bin; then CLIENTS+=($c); else echo "ok - $TEST_NAME: $c not installed # SKIP"; fi
done
for c in "${CLIENTS[@]}"; do
    blk=1468 win=
    [ $c = tftp-hpa ] && blk=   # RFC 1350 only: 512-byte blocks
    [ $c = atftp ] && win=16
    for f in empty f511 f512 f513 f4404 f3m; do
        fetch $c $f "$OUT/$c-$f" $blk $win >/dev/null 2>&1
        verify "$c gets $f (blksize ${blk:-512}${win:+, windowsize $win})" $c $f "$OUT/$c-$f"
    done
done

# ---- rollover: > 32 MiB at blksize 512 ---------------------------------------------
for c in tftp-hpa curl; do
    [[ " ${CLIENTS[*]} " == *" $c "* ]] || continue
    fetch $c big "$OUT/$c-big" 512 >/dev/null 2>&1
    verify "$c gets 32 MiB + 1000 bytes at blksize 512 (block number rolls over)" $c big \
        "$OUT/$c-big"
    rm -f "$OUT/$c-big"
done
contains "server logged the rollover transfer" "path=big ok=true bytes=$((32 * 1024 * 1024 + 1000))" \
    "$(cat "$LOG")"

# ---- negotiated options --------------------------------------------------------------
if have atftp; then
    tr=$(cli atftp --trace --option "blksize 1468" --option "windowsize 16" --option "tsize 0" \
        -g -r f1m -l "$OUT/opt" $SRV 2>&1)
    contains "atftp sees OACK windowsize 16" "windowsize: 16" "$tr"
    contains "atftp sees OACK blksize 1468" "blksize: 1468" "$tr"
    contains "atftp sees OACK tsize = file size" "tsize: 1048576" "$tr"
    verify "atftp windowsize 16 file verifies" atftp f1m "$OUT/opt"
    # asks beyond the limits: blksize clamped to the veth MTU (1500 - 32),
    # windowsize to 64
    tr=$(cli atftp --trace --option "blksize 9000" --option "windowsize 200" \
        -g -r f1m -l "$OUT/opt" $SRV 2>&1)
    contains "blksize 9000 answered 1468 (path MTU)" "blksize: 1468" "$tr"
    contains "windowsize 200 answered 64" "windowsize: 64" "$tr"
    verify "atftp windowsize 64 file verifies" atftp f1m "$OUT/opt"
    for w in 4 64; do
        fetch atftp f3m "$OUT/w$w" 1468 $w >/dev/null 2>&1
        verify "atftp windowsize $w gets f3m" atftp f3m "$OUT/w$w"
    done
fi
if have curl; then
    v=$(cli curl -v --tftp-blksize 1468 -o "$OUT/curlv" "tftp://$SRV/f4404" 2>&1)
    contains "curl sees blksize 1468 in the OACK" "blksize parsed from OACK (1468)" "$v"
    contains "curl sees tsize in the OACK" "tsize parsed from OACK (4404)" "$v"
fi
contains "server logs blksize and windowsize per transfer" "blksize=1468 windowsize=16" \
    "$(cat "$LOG")"

# ---- netascii, a subdirectory, a symlink inside the root, a leading slash ----------------
if have tftp; then
    cli tftp -m netascii $SRV -c get sub/text.cfg "$OUT/text" >/dev/null 2>&1
    verify "netascii round trip (tftp-hpa converts back)" tftp sub/text.cfg "$OUT/text"
    cli tftp -m octet $SRV -c get /alias "$OUT/alias" >/dev/null 2>&1
    verify "leading slash stripped, symlink inside the root followed" tftp f512 "$OUT/alias"
fi

# ---- refused requests: error code and a log line naming the client ----------------------
# tftp_error NAME: the "Error code N" tftp-hpa prints for a get of NAME
tftp_error() {
    cli tftp -m octet $SRV -c get "$1" "$OUT/refused" 2>&1 | grep -o 'Error code [0-9]*' | head -1
}
if have tftp; then
    eq "missing file -> error 1" "Error code 1" "$(tftp_error no-such-file)"
    eq "/etc/passwd is looked up below the root -> error 1" "Error code 1" "$(tftp_error /etc/passwd)"
    for name in ../etc/passwd /../.. //etc/passwd sub/../../etc/passwd escape-abs escape-rel \
        'a\b' $'ctl\001name' $'new\nline' sub; do
        eq "refused: $(printf %q "$name") -> error 2" "Error code 2" "$(tftp_error "$name")"
    done
    [ -s "$OUT/refused" ] && nok "no refused file has content" || ok "no refused file has content"
    cli tftp -m octet $SRV -c put "$R/f511" upload >"$OUT/put.txt" 2>&1
    contains "write request -> error 2" "Error code 2" "$(cat "$OUT/put.txt")"
    [ -e "$R/upload" ] && nok "nothing written" || ok "nothing written"
fi
if have curl; then
    cli curl -s --path-as-is -o /dev/null "tftp://$SRV/../etc/passwd"
    eq "curl: traversal -> permission error (69)" 69 $?
    cli curl -s -o /dev/null "tftp://$SRV/missing"
    eq "curl: missing -> not found (68)" 68 $?
fi
log=$(cat "$LOG")
contains "refusal logged with client address and name" \
    "msg=\"tftp request refused\" client=$CLI_ADDR:" "$log"
contains "traversal refusal logged" "path=../etc/passwd code=2" "$log"
contains "symlink escape refusal logged" "path=escape-abs code=2" "$log"
contains "control bytes logged escaped" 'path="ctl\x01name"' "$log"

# ---- malformed requests, raw -------------------------------------------------------------------
# raw ADDR PORT PKT...: send each packet (python bytes literals) from its own
# socket; print the first reply of each: "DATA n", "OACK", "ERROR code msg"
# or "none"; with SRC=1 also the reply's source address
raw() {
    cli python3 - "$@" <<'PY'
import socket, sys, ast
addr, port = sys.argv[1], int(sys.argv[2])
socks = []
for lit in sys.argv[3:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(ast.literal_eval(lit), (addr, port))
    socks.append(s)
for s in socks:
    try:
        d, src = s.recvfrom(70000)
    except socket.timeout:
        print("none"); continue
    op = int.from_bytes(d[:2], "big")
    where = " from %s" % src[0]
    if op == 5:
        print("ERROR %d %s%s" % (int.from_bytes(d[2:4], "big"), d[4:-1].decode(), where))
    elif op == 3:
        print("DATA %d%s" % (int.from_bytes(d[2:4], "big"), where))
    elif op == 6:
        print("OACK%s" % where)
    else:
        print("op %d%s" % (op, where))
PY
}
if have python3; then
    eq "unknown mode -> error 4" "ERROR 4 unknown transfer mode from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01f511\x00binary\x00'")"
    eq "mail mode -> error 4" "ERROR 4 mail mode not supported from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01f511\x00mail\x00'")"
    eq "empty filename -> error 4" "ERROR 4 empty filename from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01\x00octet\x00'")"
    eq "unterminated -> error 4" "ERROR 4 mode not terminated from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01f511\x00octet'")"
    eq "unknown opcode -> error 4" "ERROR 4 unknown opcode from $SRV" \
        "$(raw $SRV 69 "b'\x00\x09f511\x00octet\x00'")"
    eq "duplicate option -> error 8" "ERROR 8 duplicate option from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01f511\x00octet\x00blksize\x00512\x00BLKSIZE\x00512\x00'")"
    eq "option without value -> error 8" "ERROR 8 option without value from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01f511\x00octet\x00blksize\x00'")"
    eq "error packet is not answered" "none" "$(raw $SRV 69 "b'\x00\x05\x00\x00x\x00'")"
    eq "unknown option ignored, no OACK" "DATA 1 from $SRV" \
        "$(raw $SRV 69 "b'\x00\x01f511\x00octet\x00frobnicate\x007\x00'")"
    # a busy server, listening on every address: replies leave from the
    # address the request was sent to (IP_PKTINFO)
    BLOG=$TEST_TMP/busy.log
    if start_server "$BLOG" --listen 0.0.0.0:70 --max-transfers 2; then
        BUSY_PID=$NL_LAST_PID
        got=$(raw 192.0.2.3 70 "b'\x00\x01big\x00octet\x00'" "b'\x00\x01big\x00octet\x00'" \
            "b'\x00\x01big\x00octet\x00'")
        eq "max transfers: two served, the third told busy" \
            "DATA 1 from 192.0.2.3"$'\n'"DATA 1 from 192.0.2.3"$'\n'"ERROR 0 server busy from 192.0.2.3" \
            "$got"
        kill -TERM $BUSY_PID
        rc=0
        wait $BUSY_PID || rc=$?
        eq "busy server exits 0 on SIGTERM with transfers open" 0 $rc
        contains "open transfers aborted at stop" 'error="server shutting down"' "$(cat "$BLOG")"
    fi
fi

# ---- 5% loss and reordering on the link ---------------------------------------------------
# This kernel has no netem (CONFIG_NET_SCH_NETEM off), so: nftables drops
# LOSS % of the UDP packets arriving on DEV at random (at ingress, so the
# sender sees no error), and REORDER % of those leaving it take a slow HTB
# lane (5 Mbit/s) that later packets overtake.
lossy() { # NS DEV LOSS REORDER
    local n
    n=$(netlab_name "$1")
    ip netns exec "$n" tc qdisc replace dev "$2" root handle 1: htb default 10 || return 1
    ip netns exec "$n" tc class add dev "$2" parent 1: classid 1:10 htb rate 10gbit quantum 60000
    ip netns exec "$n" tc class add dev "$2" parent 1: classid 1:20 htb rate 5mbit burst 1600 \
        cburst 1600
    ip netns exec "$n" nft -f - <<EOF
table netdev bhloss {
    chain in {
        type filter hook ingress device "$2" priority 0; policy accept;
        meta l4proto udp numgen random mod 100 < $3 drop
    }
}
table ip bhreorder {
    chain out {
        type filter hook output priority 0; policy accept;
        meta l4proto udp numgen random mod 100 < $4 meta priority set 1:20
    }
}
EOF
}
unlossy() { # NS DEV
    local n
    n=$(netlab_name "$1")
    ip netns exec "$n" nft delete table netdev bhloss
    ip netns exec "$n" nft delete table ip bhreorder
    ip netns exec "$n" tc qdisc del dev "$2" root
}
if ! have nft; then
    echo "ok - $TEST_NAME: loss test skipped, nft (Debian package nftables) missing # SKIP"
elif lossy cli v-srv 5 5 && lossy srv v-cli 5 5; then
    # sizes so that each client takes a few seconds (a lost packet costs a
    # retransmit timeout; lock-step clients lose one in ~10 round trips)
    lossy_file() {
        case $1 in
        atftp) echo f1m ;; busybox) echo f256k ;; curl) echo f64k ;; *) echo f128k ;;
        esac
    }
    pids=()
    for c in "${CLIENTS[@]}"; do
        blk=1468 win=
        [ $c = tftp-hpa ] && blk=
        [ $c = atftp ] && win=16
        fetch $c "$(lossy_file $c)" "$OUT/lossy-$c" $blk $win >"$OUT/lossy-$c.out" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait $p; done
    for c in "${CLIENTS[@]}"; do
        f=$(lossy_file $c)
        # A client may give up under loss: atftp aborts with "unexpected
        # OACK" when the server resends its OACK because atftp's ACK of it
        # was lost (RFC 2347 servers do resend; atftp should re-ACK).  As
        # firmware retries a failed boot, it gets up to two more tries; each
        # failure is shown with what the client and the server said.
        for try in 2 3; do
            cmp -s "$OUT/lossy-$c" "$R/$f" 2>/dev/null && break
            diag "$c, try $((try - 1)): $(tail -3 "$OUT/lossy-$c.out")"$'\n'"server: $(grep "path=$f " "$LOG" | tail -2)"
            blk=1468 win=
            [ $c = tftp-hpa ] && blk=
            [ $c = atftp ] && win=16
            rm -f "$OUT/lossy-$c"
            fetch $c "$f" "$OUT/lossy-$c" $blk $win >"$OUT/lossy-$c.out" 2>&1
        done
        verify "$c gets $f through 5% loss + 5% reordering" $c $f "$OUT/lossy-$c"
    done
    unlossy cli v-srv
    unlossy srv v-cli
    contains "retransmits counted under loss" "retransmits=" \
        "$(grep -E 'path=f(64k|128k|256k|1m) ok=true' "$LOG" | grep -v 'retransmits=0 ')"
else
    nok "could not set up the lossy link"
fi

# ---- 20 parallel clients share one open file --------------------------------------------------
if have tftp; then
    pids=()
    for i in $(seq 1 20); do
        cli tftp -m octet $SRV -c get f3m "$OUT/par$i" >/dev/null 2>&1 &
        pids+=($!)
    done
    max_files=0 max_socks=0
    while :; do
        running=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
        fds=$(ls -l /proc/$BH_PID/fd 2>/dev/null)
        nf=$(grep -c "$R/f3m" <<<"$fds")
        ns=$(grep -c 'socket:' <<<"$fds")
        [ "$nf" -gt "$max_files" ] && max_files=$nf
        [ "$ns" -gt "$max_socks" ] && max_socks=$ns
        [ $running = 1 ] || break
        sleep 0.02
    done
    for p in "${pids[@]}"; do wait $p; done
    bad=0
    for i in $(seq 1 20); do [ "$(sha "$OUT/par$i")" = "$(sha "$R/f3m")" ] || bad=$((bad + 1)); done
    eq "20 parallel clients all verify" 0 $bad
    eq "one descriptor for the file however many transfers" 1 $max_files
    if [ "$max_socks" -gt 3 ]; then ok "transfers overlapped ($((max_socks - 1)) sockets)"; else
        nok "transfers overlapped"; diag "max sockets $max_socks"; fi
    rm -f "$OUT"/par*
fi

# ---- stop: SIGTERM exits 0 (checked by finish), counters add up ------------------------------
kill -TERM "$BH_PID"
rc=0
wait "$BH_PID" || rc=$?
BH_PID=
eq "tftpd exits 0 on SIGTERM" 0 $rc
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"; then
    nok "no sanitizer findings"
    diag "$(grep -A30 -E 'Sanitizer|runtime error' "$LOG" | head -60)"
fi
totals=$(grep 'msg="tftp totals"' "$LOG")
contains "totals logged at stop, nothing left active" "active=0" "$totals"
completed=$(grep -c 'msg="tftp transfer" .* ok=true' "$LOG")
contains "completed count matches the transfer lines" "completed=$completed " "$totals"
if [[ "$totals" =~ refused=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 15 ]; then
    ok "refusals counted (${BASH_REMATCH[1]})"
else
    nok "refusals counted"; diag "$totals"
fi

finish
