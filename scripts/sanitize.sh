#!/usr/bin/env bash
# The sanitizer jobs (part of scripts/test.sh; PTUNE_SANITIZERS=0 skips them):
#   1. ASan + UBSan: a debug build in build-asan/ runs every test suite, the fuzz corpora replay
#      included, except the Python bindings (an ASan library cannot load into an uninstrumented
#      python3);
#   2. TSan: build-tsan/ runs the concurrency tests (threads, shared models, concurrent
#      tokenisation and generation, thread-local errors, ranks of a data-parallel group);
#   3. valgrind memcheck of the example programs (the release build in build/), failing on any
#      error or definite leak.
# Any finding fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

asan=${ASAN_BUILD_DIR:-build-asan}
tsan=${TSAN_BUILD_DIR:-build-tsan}

echo "== ASan + UBSan: every suite but python"
[ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined -Dbuildtype=debug >/dev/null
ninja -C "$asan" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$asan" --no-suite python --print-errorlogs --timeout-multiplier 4

echo "== TSan: the concurrency tests"
[ -f "$tsan/build.ninja" ] || meson setup "$tsan" -Db_sanitize=thread -Dbuildtype=debug >/dev/null
ninja -C "$tsan" >/dev/null
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    meson test -C "$tsan" --print-errorlogs --timeout-multiplier 4 \
    core_error core_threads_rng tokenizer_bpe tokenizer_pretok tuning_forward_api generate_generate \
    reliability_thread_contract train_data_parallel

echo "== valgrind memcheck: the examples"
build=${BUILD_DIR:-build}
PTUNE_EXAMPLE_WRAPPER='valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite' \
    meson test -C "$build" --print-errorlogs --timeout-multiplier 20 \
    example_score_tokens example_tune_prompt example_quickstart example_quickstart_cpp example_npc
