#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for a given time each (clang, ASan + UBSan).
#
#   scripts/fuzz.sh [-t SECONDS] [-j PARALLEL] [--save-corpus] [TARGET ...]
#
# Default: every target, 600 s each, 2 at a time. Builds build-fuzz/ (CC=clang, -Dfuzzing=true)
# and uses build/ (scripts/build.sh) for the replay runners, whose --list-seeds gives each
# target's seeds from ../shared and the tree. Work dirs: build-fuzz/work/<target>/ (corpus,
# crash artifacts, log). --save-corpus merges each corpus (libFuzzer -merge=1) and copies the
# inputs of at most 64 KiB that are not seed files into tests/fuzz/corpus/<target>/, which the
# test suite replays — only for the targets seeded from the tree: the others' inputs are
# mutations of ../shared files, which stay out of the repository (CI replays their seeds and
# the regression inputs added by hand). Exit status 1 when a target found a crash, leak or
# timeout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=600
parallel=2
save=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    -t) seconds=$2; shift 2 ;;
    -j) parallel=$2; shift 2 ;;
    --save-corpus) save=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
    esac
done
all=(gguf safetensors hf_config tokenizer_json peft_adapter run_config dataset tokenize)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

command -v clang >/dev/null || { echo "clang not found (apt-get install clang)" >&2; exit 1; }
[ -d build ] || ./scripts/build.sh
ninja -C build >/dev/null
if [ ! -d build-fuzz ]; then
    CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dwerror=false >/dev/null
fi
ninja -C build-fuzz $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
    local t=$1 work="build-fuzz/work/$1"
    mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
    ./build/tests/fuzz/replay_"$t" --list-seeds | while read -r f; do ln -sf "$f" "$work/seeds/"; done
    local dirs=("$work/corpus" "$work/seeds")
    [ -d "tests/fuzz/corpus/$t" ] && dirs+=("tests/fuzz/corpus/$t") # committed only for some targets
    local start=$(date +%s)
    ./build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
        -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
        "${dirs[@]}" >"$work/log" 2>&1 || true
    local took=$(( $(date +%s) - start ))
    local execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo '?')
    local cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | grep -o '[0-9]*' || echo '?')
    local found=$(ls "$work/artifacts" | wc -l)
    echo "$t: ${took}s, $execs runs, coverage $cov edges, corpus $(ls "$work/corpus" | wc -l) new inputs, $found findings"
}

pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$parallel" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait

status=0
for t in "${targets[@]}"; do
    work="build-fuzz/work/$t"
    if [ -n "$(ls "$work/artifacts")" ]; then
        echo "FINDINGS in $t:" >&2
        ls -l "$work/artifacts" >&2
        status=1
    elif ! grep -q 'stat::number_of_executed_units' "$work/log"; then
        echo "$t did not run; the end of $work/log:" >&2 # a fuzzer that never started is no result
        tail -3 "$work/log" >&2
        status=1
    fi
    if [ $save -eq 1 ] && [[ " run_config dataset tokenize " == *" $t "* ]]; then
        merged="$work/merged"
        rm -rf "$merged" && mkdir -p "$merged"
        ./build-fuzz/tests/fuzz/fuzz_"$t" -merge=1 "$merged" "tests/fuzz/corpus/$t" "$work/corpus" >/dev/null 2>&1 || true
        seeds=$(./build/tests/fuzz/replay_"$t" --list-seeds | xargs -r sha1sum | cut -d' ' -f1)
        for f in "$merged"/*; do
            [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] || continue
            sum=$(sha1sum "$f" | cut -d' ' -f1)
            grep -qx "$sum" <<< "$seeds" && continue
            cp "$f" "tests/fuzz/corpus/$t/$sum"
        done
        echo "$t: tests/fuzz/corpus/$t holds $(ls "tests/fuzz/corpus/$t" | wc -l) inputs"
    fi
done
exit $status
