#!/usr/bin/env bash
# Checks the shared library's ABI surface: SONAME libptune.so.0 and only ptune_* symbols
# exported (every internal symbol hidden).
set -euo pipefail
lib="$1"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
if [ "$soname" != "libptune.so.0" ]; then
    echo "SONAME is '$soname', expected libptune.so.0" >&2
    exit 1
fi
exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}')
bad=$(echo "$exports" | grep -v '^ptune_' || true)
if [ -n "$bad" ]; then
    echo "non-ptune symbols exported:" >&2
    echo "$bad" >&2
    exit 1
fi
count=$(echo "$exports" | grep -c '^ptune_')
for required in ptune_model_load ptune_forward ptune_last_error ptune_version_number; do
    # a here-string, not a pipe: with pipefail, grep -q closing the pipe early made echo die of
    # SIGPIPE now and then, and the check failed on a symbol that was there
    grep -qx "$required" <<< "$exports" || { echo "missing export $required" >&2; exit 1; }
done
echo "1 passed, 0 failed ($count ptune_* symbols exported, SONAME $soname)"
