#!/bin/bash
# cli_help.sh - `--help` and `-h` on every command and subcommand, found by
# walking the help texts themselves (top level, then each command's own
# usage): each prints that command's usage on stdout, exits 0, writes
# nothing to stderr, needs no server, and leaves an empty working directory
# and the --data directory exactly as they were, wherever the global
# options stand.  Also: the top level lists every global option and the job
# options --when and --parallel; an unknown command still exits 2.
source "$(dirname "$0")/../lib/harness.sh"

W=$(tmpdir)
mkdir -p "$W/cwd" "$W/data"
echo keep >"$W/data/marker"
snap() { (cd "$W" && find . -printf '%p %s %T@\n' | sort); }
BEFORE=$(snap)

# run ARGS...: RC, OUT, ERR, from the empty working directory, no server
run() {
    (cd "$W/cwd" && env -u BOOTHERD_URL -u BOOTHERD_TOKEN "$BH" "$@" >"$W/../out" 2>"$W/../err")
    RC=$?
    OUT=$(cat "$W/../out")
    ERR=$(cat "$W/../err")
}

# helpok NAME WANT ARGS...: exit 0, stdout has "usage"/"bootherd" and WANT,
# stderr empty
helpok() {
    local name=$1 want=$2
    shift 2
    run "$@"
    if [ "$RC" == 0 ] && [ -z "$ERR" ] && [[ $OUT == *"$want"* ]] && [[ $OUT == *usage* ]]; then
        ok "$name"
    else
        nok "$name"; diag "want exit 0, '$want' and 'usage' on stdout, empty stderr"$'\n'"got exit $RC, stdout: ${OUT:0:300}"$'\n'"stderr: $ERR"
    fi
}

run --help
TOP=$OUT
eq "bootherd --help exits 0" 0 "$RC"
run help
eq "bootherd help prints the same text" "$TOP" "$OUT"
run -h
eq "bootherd -h prints the same text" "$TOP" "$OUT"
for opt in --url --token --data --cacert --pin --json --help --when --parallel; do
    contains "top-level help lists $opt" "$opt" "$TOP"
done

# the commands: every "  bootherd WORD[|WORD...] ..." line of the top help
mapfile -t CMDS < <(sed -n 's/^  bootherd \([a-z|]*\).*/\1/p' <<<"$TOP" | tr '|' '\n' | grep -v '^$' | sort -u)
[ "${#CMDS[@]}" -ge 20 ] && ok "the top-level help names ${#CMDS[@]} commands" || nok "too few commands found: ${CMDS[*]}"
for want in init serve assets client tftpd dhcpd host room group profile image token job apply boot wake settings audit events whoami routes version help; do
    [[ " ${CMDS[*]} " == *" $want "* ]] && ok "top-level help lists $want" || nok "top-level help lists $want"
done

# the subcommands of each: "bootherd CMD SUB" in the command's own usage,
# SUB split at '|'
PAIRS=()
for c in "${CMDS[@]}"; do
    PAIRS+=("$c")
    run "$c" --help
    mapfile -t subs < <(grep -o "bootherd $c [a-z|]*" <<<"$OUT" | awk '{print $3}' | tr '|' '\n' | grep -v '^$' | sort -u)
    for s in "${subs[@]}"; do PAIRS+=("$c $s"); done
done
# and those the top level names after a command ("image import|export|...")
mapfile -t extra < <(sed -n 's/^  bootherd \([a-z]*\) \([a-z|]*\).*/\1 \2/p' <<<"$TOP" | awk '{n=split($2,a,"|"); for(i=1;i<=n;i++) if(a[i]!="") print $1" "a[i]}')
PAIRS+=("${extra[@]}")
mapfile -t PAIRS < <(printf '%s\n' "${PAIRS[@]}" | sort -u)
[ "${#PAIRS[@]}" -ge 50 ] && ok "walking ${#PAIRS[@]} commands and subcommands" || nok "too few subcommands found: ${PAIRS[*]}"

for p in "${PAIRS[@]}"; do
    read -r c s <<<"$p"
    # what the usage must name: the command ("hosts" answers as "host")
    want="bootherd ${c%s}"
    case $c in help | version | settings | boot | events | wake) want="bootherd $c" ;; esac
    [ "$c" == help ] && want="bootherd"
    # shellcheck disable=SC2086
    helpok "$p --help" "$want" --data "$W/data" $c $s --help
    # shellcheck disable=SC2086
    helpok "$p -h, global options after" "$want" $c $s -h --data "$W/data" --json --url http://127.0.0.1:9
done
helpok "--help before the command" "bootherd image import" --help image import
helpok "--help between command and subcommand" "bootherd job run" job --help run
helpok "--help after arguments" "bootherd image import" image import win11 /nonexistent --help
helpok "init --help with its own options" "bootherd init" init --data "$W/data/new" --tls --help
helpok "serve --help with its own options" "bootherd serve" serve --data "$W/newdata" --http 127.0.0.1:0 --help
helpok "token add --help makes no token" "bootherd token" token add --help

eq "nothing was created or deleted by any --help" "$BEFORE" "$(snap)"

# global options before a server command reach it
run --data "$W/d2" init
eq "bootherd --data DIR init: the options before the command reach it" "0 yes" "$RC $(test -s "$W/d2/admin.token" && echo yes)"

# what is no help still fails
run nosuchcommand --help
eq "an unknown command with --help exits 2" 2 "$RC"
eq "... and says so" "bootherd: unknown command 'nosuchcommand' (see bootherd --help)" "$ERR"
run
eq "no command at all exits 2" 2 "$RC"
run version extra
eq "version takes no argument" "2 usage: bootherd version   print bootherd's version" "$RC $ERR"

finish
