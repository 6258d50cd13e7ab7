#!/bin/bash
# ui-screenshots.sh - the console's screenshots in docs/ui/, as the browser
# tests take them.  Runs the scenarios that shoot every screen (tests/ui:
# `screens`, `german` for the German room page, `devices` for the
# devices.csv import and, as root, `dhcp_devices` for machines seen by
# DHCP), which write
# tests/out/ui/<screen>.png at 1280 px wide, then copies each into docs/ui/
# reduced to a 256-colour palette with pngquant (a UI has few colours: the
# set shrinks to about a third and reads the same), and removes from
# docs/ui/ the PNGs no scenario made any more.  docs/ui.md embeds them.
#
#   scripts/ui-screenshots.sh        (after `make`; needs chromium and pngquant)
#
# Owner: the docs (docs/ui.md).  The scenarios are tests/ui/scenarios/*.mjs.
set -eu
cd "$(dirname "$0")/.."
BH=${BOOTHERD_BIN:-$PWD/build/bootherd}
OUT=tests/out/ui
DOCS=docs/ui
MAX_TOTAL=$((1536 * 1024)) # keep the set under ~1.5 MB

command -v pngquant >/dev/null || { echo "pngquant is missing: apt-get install pngquant" >&2; exit 1; }
command -v node >/dev/null || { echo "node is missing: scripts/deps.sh" >&2; exit 1; }
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ] || { echo "chromium is missing: apt-get install chromium" >&2; exit 1; }
[ -x "$BH" ] || { echo "build first: make" >&2; exit 1; }

rm -f "$OUT"/*.png
scenarios="devices screens german"
[ "$(id -u)" -eq 0 ] && scenarios="$scenarios dhcp_devices" # network namespaces
# shellcheck disable=SC2086 # a list of names
if ! BOOTHERD_BIN=$BH node tests/ui/run.mjs $scenarios >"$OUT.log" 2>&1; then
    grep -A5 '^not ok' "$OUT.log" >&2 || tail -20 "$OUT.log" >&2
    echo "ui-screenshots: a scenario failed (whole output: $OUT.log); docs/ui/ left as it was" >&2
    exit 1
fi
tail -1 "$OUT.log"
shopt -s nullglob
shots=("$OUT"/*.png)
[ ${#shots[@]} -gt 0 ] || { echo "ui-screenshots: no screenshot taken (a SKIP? see $OUT.log)" >&2; exit 1; }

mkdir -p "$DOCS"
total=0
for f in "${shots[@]}"; do
    name=$(basename "$f")
    # width and height from the PNG header (IHDR: bytes 16..23, big-endian)
    read -r w h < <(od -An -tu1 -j16 -N8 "$f" | awk '{ print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }')
    [ "$w" -eq 1280 ] || { echo "ui-screenshots: $name is $w px wide, not 1280" >&2; exit 1; }
    pngquant --force --quality=70-95 --speed 1 --strip --output "$DOCS/$name" -- "$f"
    size=$(stat -c %s "$DOCS/$name")
    total=$((total + size))
    printf '  %-20s %4s x %-5s %7d bytes (from %d)\n' "$name" "$w" "$h" "$size" "$(stat -c %s "$f")"
done
# screenshots of screens that are gone
for f in "$DOCS"/*.png; do
    [ -f "$OUT/$(basename "$f")" ] || { echo "  removed $(basename "$f") (no scenario takes it)"; rm -f "$f"; }
done
echo "ui-screenshots: ${#shots[@]} screenshots in $DOCS/, $((total / 1024)) KB"
[ "$total" -le "$MAX_TOTAL" ] || { echo "ui-screenshots: over $((MAX_TOTAL / 1024)) KB" >&2; exit 1; }
