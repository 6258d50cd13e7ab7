#!/bin/bash
# lint.sh FILE - lint an OpenAPI document with the @redocly/cli pinned in
# package-lock.json beside this script (its recommended rules).  Installs
# the pinned version first (npm ci) when node_modules is missing or older
# than the lock, as the console's build does for web/.
# Prints every problem, errors first; exit 0 with no error (warnings are
# printed, not counted), 1 with errors, 77 when it cannot run (no node or
# npm, a node too old for the linter, or the install failed) with the
# reason on the last line.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
DOC=$1
# no usage data leaves the machine, no update check
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are not installed (scripts/deps.sh)"; exit 77; }
# the linter's engines: node >= 20.19
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a == 20 && b >= 19) ? 0 : 1)'; then
    echo "node $(node --version) is older than the linter needs (20.19)"; exit 77
fi
BIN=$DIR/node_modules/@redocly/cli/bin/cli.js
if [ ! -f "$BIN" ] || [ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
    if ! (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$DIR/npm-ci.log" 2>&1; then
        tail -5 "$DIR/npm-ci.log"
        echo "npm ci in tests/openapi failed (see tests/openapi/npm-ci.log)"; exit 77
    fi
fi
OUT=$(cd "$DIR" && node "$BIN" lint "$DOC" --format=json --max-problems 10000 2>/dev/null)
if ! jq -e '.problems | type == "array"' <<<"$OUT" >/dev/null 2>&1; then
    echo "the linter gave no report:"; (cd "$DIR" && node "$BIN" lint "$DOC" 2>&1 | tail -20); exit 1
fi
jq -r '.problems | sort_by(.severity != "error") | .[] |
    "\(.severity) \(.ruleId) \(.location[0].pointer // ""): \(.message)"' <<<"$OUT"
errors=$(jq '[.problems[] | select(.severity == "error")] | length' <<<"$OUT")
echo "$errors errors, $(jq '[.problems[] | select(.severity != "error")] | length' <<<"$OUT") warnings"
[ "$errors" -eq 0 ]
