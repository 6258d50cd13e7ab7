#!/bin/sh
# check-format.sh - every C file is as clang-format (with .clang-format) leaves it.
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'fuzz/*.c' 2>/dev/null)
[ -n "$files" ] || files=$(find src tests/unit fuzz -name '*.[ch]')
bad=0
for f in $files; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "check-format: $f needs clang-format (run: make format)" >&2
        bad=1
    fi
done
exit $bad
