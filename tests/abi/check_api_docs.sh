#!/usr/bin/env bash
# Checks that the API reference is complete and current:
#   - every ptune_* symbol libptune.so exports has a row of its own in the reference part of
#     docs/api.md (a table row starting "| `ptune_name`", before "## Names kept from DESIGN.md");
#   - every such row names a function the library exports (no stale entries);
#   - the header's PTUNE_API declarations and the exported symbols are the same set.
# usage: check_api_docs.sh LIBPTUNE_SO HEADER API_MD
set -uo pipefail
lib=${1:?libptune.so}
header=${2:?ptune.h}
doc=${3:?docs/api.md}

exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 ~ /^ptune_/ {print $3}' | sort -u)
declared=$(tr '\n' ' ' <"$header" | grep -oE 'PTUNE_API[^;{(]*\(' | grep -oE 'ptune_[A-Za-z0-9_]+ *\($' |
    tr -d ' (' | sort -u)
# the reference is everything before the trailing notes ("## Names kept from DESIGN.md" ...)
documented=$(awk '/^## Names kept from DESIGN.md/ {exit} {print}' "$doc" | grep -oE '^\| *`ptune_[A-Za-z0-9_]+`' |
    grep -oE 'ptune_[A-Za-z0-9_]+' | sort -u)

failed=0
report() { # report MESSAGE LIST
    if [ -n "$2" ]; then
        echo "$1:" >&2
        echo "$2" | sed 's/^/  /' >&2
        failed=1
    fi
}
report "exported but without a reference row in $doc" "$(comm -23 <(echo "$exports") <(echo "$documented"))"
report "documented in $doc but not exported" "$(comm -13 <(echo "$exports") <(echo "$documented"))"
report "declared PTUNE_API in $header but not exported" "$(comm -13 <(echo "$exports") <(echo "$declared"))"
report "exported but not declared in $header" "$(comm -23 <(echo "$exports") <(echo "$declared"))"

n=$(echo "$exports" | grep -c .)
if [ "$n" -lt 50 ]; then
    echo "only $n ptune_* exports found in $lib: is this the right library?" >&2
    failed=1
fi
if [ "$failed" -ne 0 ]; then
    echo "0 passed, 1 failed" >&2
    exit 1
fi
echo "1 passed, 0 failed ($n exported functions, all declared in the header and documented)"
