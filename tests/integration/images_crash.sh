#!/bin/bash
# images_crash.sh - the image store under kill -9 and concurrency:
#   - the daemon killed at random moments during uploads, and during gc,
#     then restarted on the same data: no partial version, `image verify`
#     clean, every version exports bit-exact to the file it came from;
#   - the CLI killed mid-upload: the next import resumes the same upload
#     and sends only what is still missing;
#   - gc running in a loop while uploads run: every committed version stays
#     whole.
# Small chunks (--chunk-avg 16384) make thousands of chunks, so that the
# kills land inside uploads and sweeps rather than between them.
source "$(dirname "$0")/../lib/harness.sh"
W=$(tmpdir)
D=$W/data
bh_start "$D" || { nok "daemon starts"; finish; exit 1; }
AVG=16384

# file N: 24 MiB, a shared part and a part of its own, with zero runs
mkfile() {
    python3 - "$W/f$1.raw" "$1" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
shared, own = random.Random(1), random.Random(1000 + n)
with open(out, "wb") as f:
    for i in range(24):
        if i % 3 == 0:
            f.write(shared.randbytes(1 << 20))
        elif i % 3 == 1:
            f.write(own.randbytes(1 << 20))
        else:
            f.seek(1 << 20, 1)
    f.truncate()
PY
}
for n in 1 2 3 4 5 6 7 8; do mkfile $n; done
head -c $((96 * 1024 * 1024)) /dev/urandom >"$W/r.raw" # for the killed CLI: long enough to kill

restart() {
    kill -9 "$BH_PID" 2>/dev/null
    wait "$BH_PID" 2>/dev/null
    BH_PID=
    bh_start "$D" >/dev/null || { nok "daemon restarts"; finish; exit 1; }
}

# every version of image: export and compare with the file named in its note
check_versions() { # IMAGE LABEL
    local vs n note ok=1
    vs=$(bhc --json image versions "$1") || { nok "$2: versions"; return; }
    for n in $(jq -r '.items[].version' <<<"$vs"); do
        note=$(jq -r ".items[] | select(.version == $n) | .note" <<<"$vs")
        if ! bhc image export "$1@$n" "$W/out.raw" >/dev/null 2>&1 || ! cmp -s "$W/out.raw" "$W/$note"; then
            ok=0; diag "$1@$n ($note) does not export whole"
        fi
    done
    [ "$ok" = 1 ] && ok "$2: every version of $1 exports bit-exact ($(jq '.items | length' <<<"$vs") versions)" ||
        nok "$2: every version of $1 exports bit-exact"
}

# ---- kill -9 of the daemon during uploads -------------------------------------
for round in 1 2 3 4; do
    f=f$round.raw
    "$BH" --url "$BH_URL" --token "$BH_TOKEN" image import crash "$W/$f" --note "$f" \
        --chunk-avg $AVG >"$W/imp.$round" 2>&1 &
    cli=$!
    _PIDS+=("$cli")
    sleep "0.$((RANDOM % 8 + 1))"
    restart
    wait "$cli" 2>/dev/null
done
check "after kills during uploads: verify is clean" bhc image verify
# finish what was interrupted, then every version is whole
for round in 1 2 3 4; do bhc image import crash "$W/f$round.raw" --note "f$round.raw" --chunk-avg $AVG >/dev/null 2>&1; done
check_versions crash "uploads killed"

# ---- the CLI killed mid-upload: the next import resumes -------------------------
"$BH" --url "$BH_URL" --token "$BH_TOKEN" image import resume "$W/r.raw" --note r.raw \
    --chunk-avg $AVG >"$W/res1" 2>&1 &
cli=$!
_PIDS+=("$cli")
# kill it once some chunks, not all, are on the server
base=$(curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/imagestore" | jq -r .new_chunks)
for _ in $(seq 1 500); do
    now=$(curl -s -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/imagestore" | jq -r .new_chunks)
    [ "$((now - base))" -ge 50 ] && break
    sleep 0.01
done
kill -9 "$cli" 2>/dev/null
wait "$cli" 2>/dev/null
up1=$(sed -n 's/^upload \([0-9a-f]*\):.*/\1/p' "$W/res1")
out=$(bhc image import resume "$W/r.raw" --note r.raw --chunk-avg $AVG 2>&1)
check "the import after a killed CLI succeeds" test $? -eq 0
up2=$(sed -n 's/^upload \([0-9a-f]*\):.*/\1/p' <<<"$out")
eq "it resumes the same upload" "$up1" "$up2"
total=$(sed -n 's/^upload [0-9a-f]*: \([0-9]*\) of \([0-9]*\) chunks.*/\2/p' <<<"$out")
left=$(sed -n 's/^upload [0-9a-f]*: \([0-9]*\) of.*/\1/p' <<<"$out")
check "and sends only what is still missing ($left of $total)" test -n "$left" -a "${left:-0}" -lt "${total:-0}"
check_versions resume "CLI killed"

# ---- kill -9 of the daemon during gc --------------------------------------------
for round in 1 2 3; do
    # garbage: versions removed (their own chunks are then unreferenced)
    bhc image import junk "$W/f$((5 + round)).raw" --note x --chunk-avg $AVG >/dev/null 2>&1
    bhc image rmversion junk@latest >/dev/null 2>&1
    curl -s -X POST -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/imagestore/gc" >/dev/null &
    g=$!
    sleep "0.0$((RANDOM % 9 + 1))"
    restart
    wait "$g" 2>/dev/null
    check "round $round: after a kill during gc, verify is clean" bhc image verify
done
check_versions crash "gc killed"
out=$(bhc --json image gc)
check "a gc after the kills completes" test "$(jq -r .dry_run <<<"$out")" = false

# ---- gc in a loop while uploads run ---------------------------------------------
bhc image import junk "$W/f8.raw" --note x --chunk-avg $AVG >/dev/null 2>&1
bhc image rmversion junk@latest >/dev/null 2>&1
(
    end=$((SECONDS + 15))
    while [ $SECONDS -lt $end ]; do
        curl -s -X POST -H "Authorization: Bearer $BH_TOKEN" "$BH_URL/api/v1/imagestore/gc" >>"$W/gc.log"
        echo >>"$W/gc.log"
    done
) &
gcl=$!
_PIDS+=("$gcl")
fails=0
for n in 6 7 8 1 2; do
    bhc image import busy "$W/f$n.raw" --note "f$n.raw" --chunk-avg $AVG >"$W/busy.$n" 2>&1 || {
        fails=$((fails + 1)); diag "$(tail -3 "$W/busy.$n")"; }
done
wait "$gcl"
eq "uploads during gc all succeed" 0 "$fails"
check "gc ran during the uploads" test "$(grep -c '"swept"' "$W/gc.log")" -ge 2
check "after gc + uploads: verify is clean" bhc image verify
check_versions busy "gc during uploads"
check_versions crash "gc during uploads"
finish
