#!/usr/bin/env bash
# The main job, offline and self-contained: installs missing Debian packages, builds, then tells
# the PEFT prompt-tuning tutorial's story on the demo model that ships in models/demo/ —
# generations before tuning, prompt tuning with a progress bar and held-out evaluation,
# generations with the tuned prompt side by side, and where the outputs were written.
# Options (environment): MODEL (GGUF file or HF directory; default models/demo/demo.gguf),
# OUT (output directory; default runs/quickstart).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
PTUNE=./build/cli/ptune
MODEL=${MODEL:-models/demo/demo.gguf}
OUT=${OUT:-runs/quickstart}
CONFIG=examples/quickstart/config.yaml
start=$(date +%s)

# Three trades the training rows never mention (examples/quickstart/proverbs_heldout.csv).
INPUTS=("I want you to act as a thatcher." "I want you to act as a shipwright." "I want you to act as a herbalist.")
generate() { # generate TEXT [ADAPTER]: greedy, repetition penalty 1.5 as in the tutorial
    local extra=()
    [ $# -gt 1 ] && extra=(--prompt "$2")
    "$PTUNE" generate "$MODEL" "${extra[@]}" --text "$1" --max-new-tokens 48 --temperature 0 \
        --repetition-penalty 1.5 2>/dev/null
}

echo "== model: $MODEL"
"$PTUNE" info "$MODEL" | grep -E '"(architecture|n_params|n_vocab|n_ctx|dtype_on_disk)"' | tr -d '",' | sed 's/^ */   /'

declare -a before
for i in "${!INPUTS[@]}"; do before[i]=$(generate "${INPUTS[i]}"); done

echo
echo "== prompt tuning: $CONFIG (20 random virtual tokens, AdamW, 50 rows of trade proverbs)"
"$PTUNE" train "$CONFIG" --set model="$MODEL" --set output_dir="$OUT"

echo
side_by_side() { # side_by_side LEFT RIGHT: two columns of 46 characters
    local w=46 l r i
    mapfile -t l < <(fold -s -w $w <<<"$1")
    mapfile -t r < <(fold -s -w $w <<<"$2")
    for ((i = 0; i < ${#l[@]} || i < ${#r[@]}; i++)); do
        printf '   %-*s | %s\n' $w "${l[i]:-}" "${r[i]:-}"
    done
}
echo "== the same inputs, untuned (left) and tuned (right): greedy, repetition penalty 1.5"
for i in "${!INPUTS[@]}"; do
    after=$(generate "${INPUTS[i]}" "$OUT")
    echo
    echo "   \"${INPUTS[i]}\""
    side_by_side "${before[i]:-(nothing: the untuned model ends the passage here)}" "${after:-(nothing)}"
done

# The held-out loss before tuning (the step-0 record) and after (the last evaluation).
evals=$(grep -o '"eval_loss":[0-9.eE+-]*' "$OUT/metrics.jsonl" | cut -d: -f2)
first=$(head -n1 <<<"$evals")
last=$(tail -n1 <<<"$evals")
echo
awk -v a="$first" -v b="$last" 'BEGIN { printf "== held-out loss (12 unseen trades): %.3f before, %.3f after tuning (%+.1f%%)\n", a, b, 100 * (b - a) / a }'
echo "== outputs"
echo "   tuned prompt (PEFT format): $OUT/adapter_config.json, $OUT/adapter_model.safetensors"
echo "   metrics:                    $OUT/metrics.jsonl"
echo "   loss plot:                  $OUT/loss.svg"
echo "   (ran in $(( $(date +%s) - start )) s; next: docs/getting-started.md — the same flow with bigscience/bloomz-560m)"
