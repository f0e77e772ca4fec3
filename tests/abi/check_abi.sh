#!/usr/bin/env bash
# Compares libptune's ABI with the checked-in baseline abi/libptune.abi (libabigail).
#
#   check_abi.sh SOURCE_ROOT ABI_LIB SHIPPED_LIB      check (the abi_baseline test)
#   check_abi.sh --update SOURCE_ROOT ABI_LIB         rewrite abi/libptune.abi from ABI_LIB
#   PTUNE_ABI_UPDATE=1 meson test -C build abi_baseline   the same update through meson
#
# ABI_LIB is build/tests/libptune.so.0: the library built from the same sources with -g (the
# release libptune.so.0 carries no DWARF, and abidiff needs it to compare types). The check first
# makes sure ABI_LIB exports exactly the shipped library's symbols, then runs abidiff with the
# suppressions in abi/ptune.abignore. It fails on an incompatible change (abidiff bit 8: a
# removed or changed symbol) and on any other reported ABI change (bit 4: a type used by the API
# changed in size or layout, a parameter type changed ...). Functions added since the baseline are
# compatible: they are listed, and the test passes; refresh the baseline when releasing.
# Exit 77 (skip) when abidw/abidiff are missing (Debian package abigail-tools).
set -uo pipefail

update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
[ -n "${PTUNE_ABI_UPDATE:-}" ] && update=1
root=${1:?source root}
abi_lib=${2:?library built with debug info}
shipped=${3:-}
baseline="$root/abi/libptune.abi"
suppressions="$root/abi/ptune.abignore"
headers="$root/include/ptune"

if ! command -v abidiff >/dev/null || ! command -v abidw >/dev/null; then
    echo "abidiff/abidw not found (install abigail-tools): skipping" >&2
    exit 77
fi

# The flags matter: --exported-interfaces-only links every exported function to its definition
# (without it libabigail 2.2 loses the link for functions that other translation units call, and
# changes to them go unnoticed); --drop-private-types with --headers-dir keeps only the public
# types (the handles stay opaque); no paths or line numbers, so the file does not change when the
# header is merely edited or the tree lives elsewhere.
dump() {
    abidw --no-corpus-path --no-comp-dir-path --no-show-locs --exported-interfaces-only \
        --drop-private-types --headers-dir "$headers" --out-file "$1" "$abi_lib"
}

if [ "$update" -eq 1 ]; then
    dump "$baseline" || { echo "abidw failed" >&2; exit 1; }
    n=$(grep -c "<elf-symbol name='ptune_" "$baseline")
    echo "wrote $baseline ($n ptune_* functions); review it with git diff and commit it"
    exit 0
fi

[ -n "$shipped" ] || { echo "usage: $0 SOURCE_ROOT ABI_LIB SHIPPED_LIB" >&2; exit 2; }
if [ ! -f "$baseline" ]; then
    echo "no baseline at $baseline: create it with PTUNE_ABI_UPDATE=1 meson test -C build abi_baseline" >&2
    exit 1
fi

exports() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u; }
if ! diff <(exports "$shipped") <(exports "$abi_lib") >/dev/null; then
    echo "the debug-info build and the shipped library export different symbols:" >&2
    diff <(exports "$shipped") <(exports "$abi_lib") >&2
    exit 1
fi

report=$(abidiff --exported-interfaces-only --no-added-syms --suppressions "$suppressions" "$baseline" "$abi_lib" 2>&1)
rc=$?
echo "$report"
if [ $((rc & 3)) -ne 0 ]; then
    echo "abidiff failed to run (exit $rc)" >&2
    exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
    echo "FAIL: incompatible ABI change against abi/libptune.abi (see above)" >&2
    exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
    echo "FAIL: ABI change against abi/libptune.abi (see above). If it is deliberate and allowed by" >&2
    echo "docs/embedding.md, update the baseline: PTUNE_ABI_UPDATE=1 meson test -C build abi_baseline" >&2
    exit 1
fi

added=$(comm -13 <(grep -o "<elf-symbol name='[A-Za-z0-9_]*'" "$baseline" | sed "s/.*name='//; s/'//" | sort -u) \
    <(exports "$abi_lib"))
if [ -n "$added" ]; then
    echo "note: $(echo "$added" | wc -l) function(s) added since the baseline (compatible):"
    echo "$added" | sed 's/^/  /'
fi
count=$(exports "$abi_lib" | wc -l)
echo "1 passed, 0 failed (ABI matches abi/libptune.abi; $count symbols exported)"
