#!/usr/bin/env bash
# The main job: installs missing packages, builds, then runs the PEFT tutorial's story on a small
# real model (aidreams260K from ../shared): baseline generation, prompt tuning, tuned generation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
SHARED=${PTUNE_SHARED:-../shared}
MODEL="$SHARED/models/aidreams260K.gguf"
if [ ! -f "$MODEL" ]; then
    echo "error: $MODEL not found (set PTUNE_SHARED to the shared/ directory)" >&2
    exit 1
fi
echo "== ptune info $MODEL"
./build/cli/ptune info "$MODEL"
TEXT="I want you to act as a logistician. "
echo
echo "== baseline: ptune generate $MODEL --text \"$TEXT\" --repetition-penalty 1.5"
./build/cli/ptune generate "$MODEL" --text "$TEXT" --max-new-tokens 40 --temperature 0 --repetition-penalty 1.5
echo
echo "== prompt tuning: the PEFT tutorial's recipe (examples/logistician/config.yaml) on this model"
./build/cli/ptune train examples/logistician/config.yaml --set model="$MODEL" \
    --set output_dir=runs/quickstart --set data.max_length=96
echo
echo "== tuned: ptune generate $MODEL --prompt runs/quickstart --text \"$TEXT\" --repetition-penalty 1.5"
./build/cli/ptune generate "$MODEL" --prompt runs/quickstart --text "$TEXT" --max-new-tokens 40 --temperature 0 \
    --repetition-penalty 1.5
echo
echo "The tuned prompt (a PEFT adapter), metrics.jsonl and loss.svg are in runs/quickstart/."
