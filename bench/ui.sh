#!/bin/bash
# ui.sh - the web console's figures (issue 10), printed, never pass/fail:
# first useful paint of the dashboard and of a room of 100 hosts among
# 10,000 in 100 rooms (cold and warm cache), one event to a visible tile
# change while host writes stream through the API, the bundle gzipped, the
# API requests of every screen, and a full reload of the room page against
# one live tile.  The work is in bench/ui.mjs (headless Debian Chromium
# through playwright-core, reusing tests/ui/lib.mjs); it starts its own
# bootherd on loopback and loads the fleet with one `bootherd apply -f`.
#
#   bench/ui.sh                 (make bench-ui; after `make`)
#   RUNS=7 RATE=1000 DURATION=20 VISIBLE=0.1 CONC=4 bench/ui.sh
#
# Two passes.  The first runs everything with the daemon's data on disk, as
# deployed: there every write is its own fsynced transaction, one at a
# time, and that caps the stream below the 1,000 writes/s the goal names on
# this machine.  The second (skip it with TMPFS=0) loads the fleet again
# with the data on tmpfs (/dev/shm), where a write costs no fsync, and runs
# only the event stream, so the console is measured at the goal's rate.
# Figures go to bench/RESULTS.md by hand.
#
# Owner: the benchmarks (bench/).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BOOTHERD_BIN=${BOOTHERD_BIN:-$ROOT/build/bootherd}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null || { echo "node is missing: scripts/deps.sh" >&2; exit 1; }
[ -x "$CHROMIUM" ] || { echo "$CHROMIUM is missing: apt-get install chromium" >&2; exit 1; }
[ -x "$BOOTHERD_BIN" ] || { echo "build first: make" >&2; exit 1; }
[ -f "$(dirname "$BOOTHERD_BIN")/web/index.html" ] || { echo "the console is not built: make (with -Dweb=true)" >&2; exit 1; }
[ -d web/node_modules/playwright-core ] || { echo "playwright-core is missing: make (it runs npm ci in web/)" >&2; exit 1; }

echo "### pass 1: the daemon's data on disk"
node bench/ui.mjs
if [ "${TMPFS:-1}" != 0 ] && [ -d /dev/shm ]; then
    echo
    echo "### pass 2: the daemon's data on tmpfs (/dev/shm), the event stream alone"
    TMPDIR=/dev/shm PARTS=live node bench/ui.mjs
fi
