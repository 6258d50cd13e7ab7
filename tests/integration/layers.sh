#!/bin/bash
# layers.sh - the folders under src/ are layers, and the build holds them to
# the graph declared in meson.build (`layers`): each folder's library is
# compiled with only the folders it may use in sight.  Here, for every pair
# of folders, a one-line probe that includes a header of the other folder is
# compiled with the very command the build uses for a file of the first:
# it must build where the graph allows it and fail ("No such file") where
# it does not.  And every #include "X/..." written in src/F today is one F
# may use.  Needs the build's compile_commands.json (beside BOOTHERD_BIN).
source "$(dirname "$0")/../lib/harness.sh"

BUILD=$(dirname "$BH")
SRC=$(cd "$(dirname "$0")/../.." && pwd)/src
CC_JSON=$BUILD/compile_commands.json
[ -f "$CC_JSON" ] || { nok "the build has $CC_JSON"; finish; exit 1; }
W=$(tmpdir)

# the declared graph, as `folder dep dep ...` lines, read from meson.build
python3 - "$SRC/../meson.build" >"$W/graph" <<'PY' || { nok "meson.build declares the layers"; finish; exit 1; }
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^layers = \{(.*?)^\}", text, re.S | re.M)
for name, deps in re.findall(r"'(\w+)'\s*:\s*\[([^\]]*)\]", m.group(1)):
    print(name, *re.findall(r"'(\w+)'", deps))
PY
declare -A DEPS
while read -r f deps; do DEPS[$f]="$deps"; done <"$W/graph"
FOLDERS=$(cut -d' ' -f1 "$W/graph")
check "the graph names the ten folders of src/" test "$(wc -l <"$W/graph")" -ge 10
for d in "$SRC"/*/; do
    d=$(basename "$d")
    [ -n "${DEPS[$d]+x}" ] || nok "src/$d is in the layer graph"
done

# what f may use: itself and all it reaches
reach() {
    local seen=" $1 " todo=$1 f d
    while [ -n "$todo" ]; do
        set -- $todo
        f=$1
        shift
        todo="$*"
        for d in ${DEPS[$f]}; do
            case "$seen" in *" $d "*) ;; *) seen="$seen$d " todo="$todo $d" ;; esac
        done
    done
    echo "$seen"
}

# the build's own compile command for one file of folder f, with the
# probe in place of the file and -fsyntax-only
command_for() {
    python3 - "$CC_JSON" "$1" "$2" <<'PY'
import json, shlex, sys
db, folder, probe = sys.argv[1:]
for c in json.load(open(db)):
    if f"/src/{folder}/" in c["file"] and c["file"].endswith(".c") and "/main.c" not in c["file"]:
        args = shlex.split(c["command"])
        out, skip = [], False
        for a in args:
            if skip:
                skip = False
                continue
            if a in ("-o", "-MF", "-MQ", "-c"):
                skip = True
                continue
            if a == c["file"] or a.endswith(c["file"].split("/src/", 1)[1]):
                continue
            out.append(a)
        print(c["directory"])
        print(shlex.join(out + ["-fsyntax-only", probe]))
        break
PY
}

# one header of folder d that stands alone (the first that compiles by itself)
header_of() {
    ls "$SRC/$1"/*.h 2>/dev/null | head -1 | xargs -r basename
}

for f in $FOLDERS; do
    mapfile -t CMD < <(command_for "$f" "$W/probe.c")
    if [ ${#CMD[@]} -lt 2 ]; then
        nok "$f: the build compiles a file of src/$f"
        continue
    fi
    allowed=$(reach "$f")
    for d in $FOLDERS; do
        h=$(header_of "$d")
        [ -n "$h" ] || continue
        printf '#include "%s/%s"\n' "$d" "$h" >"$W/probe.c"
        (cd "${CMD[0]}" && eval "${CMD[1]}") >"$W/err" 2>&1
        rc=$?
        case "$allowed" in
        *" $d "*)
            if [ $rc == 0 ]; then ok "$f may include $d/$h, and it builds"; else
                nok "$f may include $d/$h, and it builds"; diag "$(head -5 "$W/err")"; fi ;;
        *)
            if [ $rc != 0 ] && grep -q "No such file" "$W/err"; then ok "$f may not include $d/$h: the build fails"; else
                nok "$f may not include $d/$h: the build fails"; diag "exit $rc: $(head -5 "$W/err")"; fi ;;
        esac
    done
done

# the includes written today all follow the graph
bad=""
for f in $FOLDERS; do
    allowed=$(reach "$f")
    while IFS=: read -r file inc; do
        d=${inc#*\"}
        d=${d%%/*}
        case "$allowed" in *" $d "*) ;; *) bad="$bad$file includes $d/"$'\n' ;; esac
    done < <(grep -Ho '#include "[a-z_]*/' "$SRC/$f"/*.[ch] 2>/dev/null)
done
if [ -z "$bad" ]; then ok "no include in src/ crosses the declared order"; else
    nok "no include in src/ crosses the declared order"; diag "$bad"; fi

# no cycle between folders
python3 - "$W/graph" >"$W/cycle" <<'PY'
import sys
g = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1]) if l.strip()}
state = {}
def visit(n, path):
    if state.get(n) == 1:
        print(" -> ".join(path + [n])); sys.exit(0)
    if state.get(n) == 2:
        return
    state[n] = 1
    for d in g.get(n, []):
        visit(d, path + [n])
    state[n] = 2
for n in g:
    visit(n, [])
PY
if [ ! -s "$W/cycle" ]; then ok "the layer graph has no cycle"; else
    nok "the layer graph has no cycle"; diag "$(cat "$W/cycle")"; fi
finish
