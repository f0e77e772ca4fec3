#!/usr/bin/env bash
# The main job: installs missing packages, builds, then shows what the library does today on a
# small real model (aidreams260K from ../shared): its description and a scored token sequence.
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
# BOS + "Echoes of vectors unfold, a gentle hum of precision" (ids from the model's tokenizer)
IDS=1,388,355,260,275,429,339,315,374,327,446,262,421,392,275,280,269,440,270,283
echo "== ptune score $MODEL --ids $IDS"
./build/cli/ptune score "$MODEL" --ids "$IDS"
