#!/usr/bin/env bash
# Runs one example program against the aidreams260K fixture model and checks what it prints.
#   test_examples.sh score_tokens  SCORE_TOKENS_EXE
#   test_examples.sh tune_prompt   TUNE_PROMPT_EXE SCORE_TOKENS_EXE
#   test_examples.sh quickstart    QUICKSTART_EXE
#   test_examples.sh quickstart_cpp QUICKSTART_CPP_EXE
#   test_examples.sh npc           NPC_EXE
# The model comes from $PTUNE_SHARED or ../shared beside the source root; without it the test
# skips (exit 77), unless CI is set, in which case it fails.
set -uo pipefail

mode=${1:?mode}
exe=${2:?example binary}
root=${PTUNE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
shared=${PTUNE_SHARED:-$root/../shared}
model="$shared/models/aidreams260K.gguf"
if [ ! -f "$model" ]; then
    if [ -n "${CI:-}" ]; then
        echo "fixture model not found at $model (CI is set: failing)" >&2
        exit 1
    fi
    echo "fixture model not found at $model: skipping" >&2
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# run NAME ARGS...: runs the example, keeps stdout+stderr in $tmp/NAME.out, checks exit status 0.
# PTUNE_EXAMPLE_WRAPPER (e.g. "valgrind --error-exitcode=99 ...") prefixes the command.
read -r -a wrapper <<< "${PTUNE_EXAMPLE_WRAPPER:-}"
run() {
    local name=$1
    shift
    "${wrapper[@]}" "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    echo "---- $name: $* (exit $rc)"
    cat "$tmp/$name.out"
    echo "----"
    check "$name exits 0" test "$rc" -eq 0
}

# float comparison: lt A B is true when A < B
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

case "$mode" in
score_tokens)
    run score "$exe" "$model"
    nll=$(sed -n 's/.*mean NLL \([0-9.]*\) over \([0-9]*\) tokens.*/\1/p' "$tmp/score.out")
    check "prints a mean NLL" test -n "$nll"
    check "the NLL is positive and finite" lt 0 "${nll:-0}"
    check "prints 7 log-probabilities" test "$(grep -c 'logprob\[' "$tmp/score.out")" -eq 7
    check "prints the most likely next token" grep -Eq '^most likely next token id: [0-9]+$' "$tmp/score.out"
    ;;
tune_prompt)
    score_exe=${3:?score_tokens binary}
    run tune "$exe" "$model" "$tmp/adapter" 12
    check "writes adapter_config.json" test -s "$tmp/adapter/adapter_config.json"
    check "writes adapter_model.safetensors" test -s "$tmp/adapter/adapter_model.safetensors"
    check "the adapter is a PEFT prompt-tuning config" grep -q '"peft_type": "PROMPT_TUNING"' "$tmp/adapter/adapter_config.json"
    first=$(awk '/^step/ {print $4; exit}' "$tmp/tune.out")
    last=$(awk '/^step/ {v = $4} END {print v}' "$tmp/tune.out")
    check "the loss goes down ($first -> $last)" lt "${last:-1}" "${first:-0}"
    # the saved adapter loads back into the scoring example
    run score_adapter "$score_exe" "$model" "$tmp/adapter"
    check "score_tokens reads the tuned adapter" grep -q 'mean NLL' "$tmp/score_adapter.out"
    ;;
quickstart)
    run quickstart "$exe" "$model" 15
    read -r first last < <(sed -n 's/^tuned 15 steps: loss \([0-9.]*\) -> \([0-9.]*\)$/\1 \2/p' "$tmp/quickstart.out")
    check "reports the tuning run" test -n "${first:-}"
    check "the loss goes down (${first:-?} -> ${last:-?})" lt "${last:-1}" "${first:-0}"
    text=$(sed -n '/^generated: /,$p' "$tmp/quickstart.out" | sed '1s/^generated: //')
    check "generates non-empty text" test -n "$(echo "$text" | tr -d '[:space:]')"
    ;;
quickstart_cpp)
    run quickstart_cpp "$exe" "$model" 15
    n=$(sed -n 's/^generated \([0-9]*\) tokens.*/\1/p' "$tmp/quickstart_cpp.out")
    check "generates tokens" test "${n:-0}" -gt 0
    text=$(sed -n '/^generated [0-9]* tokens/,$p' "$tmp/quickstart_cpp.out" | sed '1s/^[^:]*: //' |
        sed '/^streamed text equals/,$d')
    check "returns non-empty text" test -n "$(echo "$text" | tr -d '[:space:]')"
    check "the streamed pieces add up to the returned text" grep -qx 'streamed text equals returned text: yes' "$tmp/quickstart_cpp.out"
    check "a failing call throws ptune::Error with the library's message" \
        grep -q '^expected error (status -3): ptune_model_load: .*nonexistent' "$tmp/quickstart_cpp.out"
    ;;
npc)
    budget=3
    run npc "$exe" "$model" --frames 48 --budget $budget --verify
    out="$tmp/npc.out"
    max=$(sed -n 's/^frame *[0-9]*  *[A-Za-z]*  *+\([0-9]*\) tok.*/\1/p' "$out" | sort -n | tail -1)
    check "streams tokens in frames" test -n "$max"
    check "no frame exceeds the budget of $budget tokens (max ${max:-?})" test "${max:-99}" -le $budget
    check "some frame spends the whole budget" test "${max:-0}" -eq $budget
    check "one line per frame, 48 frames" test "$(grep -Eo '^frame +[0-9]+' "$out" | sort -u | wc -l)" -eq 48
    for who in Mira Tobin; do
        check "$who answers with text" grep -Eq "^ +$who +reply [0-9]+ done: [1-9][0-9]* tokens over [0-9]+ frames \(.*\): \"[^\"]+" "$out"
    done
    check "a reply spans several frames" grep -Eq 'done: [0-9]+ tokens over ([2-9]|[1-9][0-9]+) frames' "$out"
    check "all 4 requests answered" grep -q '^npc: 4 of 4 requests answered in 48 frames' "$out"
    check "budgeted replies equal uninterrupted generation (4 verified)" \
        test "$(grep -c 'identical to one uninterrupted call' "$out")" -eq 4
    check "no verification mismatch" bash -c "! grep -q MISMATCH '$out'"
    # bounded: a short run stops after its frames even with replies pending
    run npc_short "$exe" "$model" --frames 5 --budget 1
    check "a 5-frame run prints 5 frames" test "$(grep -Eo '^frame +[0-9]+' "$tmp/npc_short.out" | sort -u | wc -l)" -eq 5
    check "a 5-frame run answers nothing yet at 1 token per frame" grep -q '^npc: 0 of 4 requests answered in 5 frames; at most 1 tokens' "$tmp/npc_short.out"
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
