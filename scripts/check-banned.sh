#!/bin/sh
# check-banned.sh - unsafe C calls do not belong in src/.
cd "$(dirname "$0")/.."
pat='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets)[[:space:]]*\('
if grep -rnE "$pat" src/ fuzz/ tests/unit/ --include='*.c' --include='*.h'; then
    echo "check-banned: use bh_strlcpy/snprintf/bh_parse_* instead of the calls above" >&2
    exit 1
fi
exit 0
