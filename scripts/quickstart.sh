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
TEXT="Echoes of vectors unfold, a gentle hum of precision"
echo "== ptune tokenize $MODEL --special --text \"$TEXT\""
./build/cli/ptune tokenize "$MODEL" --special --text "$TEXT"
echo "== ptune score $MODEL --text \"$TEXT\"   (log-probability of every token after BOS)"
./build/cli/ptune score "$MODEL" --text "$TEXT"
