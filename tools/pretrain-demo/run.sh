#!/usr/bin/env bash
# Rebuilds models/demo/ from scratch, offline: Debian packages → corpus → tokenizer → pretraining
# → export (GGUF + HF, F16) → verification through libptune. Usage, from the repository root:
#   tools/pretrain-demo/run.sh [WORK_DIR]        # default WORK_DIR: build/pretrain-demo
# Deterministic for a given machine and thread count (seeds fixed, no data sampling outside the
# seeded generator); ≈ 41 minutes on 2 cores (README.md here has the numbers).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-build/pretrain-demo}
need=()
for pkg in bible-kjv bible-kjv-text python3-torch python3-sentencepiece python3-numpy; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get install -y "${need[@]}"
fi
PY=/usr/bin/python3   # Debian's interpreter: the one python3-torch is installed for
T=tools/pretrain-demo
mkdir -p "$WORK"
$PY $T/prepare_corpus.py --out "$WORK"
$PY $T/train_tokenizer.py --corpus "$WORK/train.txt" --out "$WORK"
start=$(date +%s)
$PY $T/train.py --data "$WORK" --out "$WORK/run" --steps 900 --batch 32 --lr 2e-3 --warmup 60 \
    --seed 20261126 --threads 2
echo "pretraining took $(( $(date +%s) - start )) s"
$PY $T/export.py --checkpoint "$WORK/run/checkpoint.pt" --tokenizer "$WORK/tokenizer.model" --out "$WORK/export"
scripts/build.sh
$PY $T/verify.py --checkpoint "$WORK/run/checkpoint.pt" --tokenizer "$WORK/tokenizer.model" \
    --val "$WORK/val.txt" --export "$WORK/export"
mkdir -p models/demo
cp "$WORK/export/demo.gguf" models/demo/demo.gguf
rm -rf models/demo/hf && cp -r "$WORK/export/hf" models/demo/hf
cp "$WORK/run/summary.json" models/demo/training-summary.json
echo "models/demo/ updated"
