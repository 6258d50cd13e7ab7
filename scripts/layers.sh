#!/bin/sh
# layers.sh SRCDIR OUTDIR FOLDER=DEP,DEP ... - the include tree of each layer.
#
# Meson runs this at configure time.  For each FOLDER it makes OUTDIR/FOLDER/
# holding one link per folder FOLDER may include (itself, its declared DEPs
# and, through them, everything below): the library of FOLDER is compiled
# with -I OUTDIR/FOLDER and not with -I src, so `#include "cli/cli.h"` in a
# folder that may not use cli finds no file and the build fails.
set -eu
src=$1
out=$2
shift 2
deps_of() { # folder -> its declared deps (comma list)
    for spec in $SPECS; do
        [ "${spec%%=*}" = "$1" ] && { echo "${spec#*=}"; return 0; }
    done
    echo "layers.sh: folder '$1' is used but not declared" >&2
    exit 1
}
SPECS="$*"
closure() { # folder -> itself and all it reaches, one per line
    seen=" $1 "
    todo=$1
    while [ -n "$todo" ]; do
        set -- $todo
        f=$1
        shift
        todo=$*
        for d in $(deps_of "$f" | tr ',' ' '); do
            case "$seen" in
            *" $d "*) ;;
            *) seen="$seen$d "; todo="$todo $d" ;;
            esac
        done
    done
    echo $seen
}
rm -rf "$out"
for spec in $SPECS; do
    f=${spec%%=*}
    [ -d "$src/$f" ] || { echo "layers.sh: no folder src/$f" >&2; exit 1; }
    mkdir -p "$out/$f"
    for d in $(closure "$f"); do
        ln -s "$src/$d" "$out/$f/$d"
    done
done
