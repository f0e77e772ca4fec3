#!/usr/bin/env bash
# `ptune train --mpi` on loopback (suite mpi, built with -Dmpi=enabled): the repository's demo
# model tuned on the quickstart data by 1 process, by `mpirun -np 2` and by `mpirun -np 4
# --oversubscribe` gives the same losses and final prompt (within 1e-5); a 2-rank run resumed
# from its checkpoint ends where the uninterrupted one did; a rank that fails, or is killed,
# takes the whole job down with a message and leaves no adapter behind.
# usage: test_mpi_train.sh PTUNE_EXE SOURCE_ROOT
set -euo pipefail
ptune=${1:?ptune executable}
root=${2:?source root}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# containers run CI as root; loopback only
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_tcp_if_include=lo
mpirun_() { timeout 600 mpirun --oversubscribe "$@"; }

cat >"$work/run.yaml" <<EOF
model: $root/models/demo/demo.gguf
output_dir: $work/unused
seed: 42
threads: 1
data:
  train: $root/examples/quickstart/proverbs.csv
  eval: $root/examples/quickstart/proverbs_heldout.csv
  text_column: prompt
  max_length: 96
  add_eos: true
prompt: {n_virtual: 8, init: random}
optimizer: {name: adamw, lr: 0.05}
train: {epochs: 2, batch_size: 8, eval_every: 3}
checkpoint: {every: 3, keep: 10}
EOF

run() { # run NAME NP [extra args]: trains into $work/NAME
    local name=$1 np=$2
    shift 2
    if [ "$np" = 0 ]; then
        "$ptune" train "$work/run.yaml" --set output_dir="$work/$name" "$@" 2>"$work/$name.log"
    else
        mpirun_ -np "$np" "$ptune" train "$work/run.yaml" --mpi --set output_dir="$work/$name" "$@" \
            >"$work/$name.log" 2>&1
    fi || { echo "run $name failed:"; cat "$work/$name.log"; exit 1; }
}

run one 0
run two 2
run four 4

# same steps, losses, eval losses and prompt values, within 1e-5
python3 - "$work" <<'EOF'
import json, struct, sys

def prompt(d):
    with open(d + "/adapter_model.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        t = head["prompt_embeddings"]
        f.seek(8 + n + t["data_offsets"][0])
        raw = f.read(t["data_offsets"][1] - t["data_offsets"][0])
    return struct.unpack("<%df" % (len(raw) // 4), raw)

def metrics(d):
    with open(d + "/metrics.jsonl") as f:
        return [json.loads(line) for line in f]

work = sys.argv[1]
ref_p, ref_m = prompt(work + "/one"), metrics(work + "/one")
assert len(ref_m) > 5, ref_m
worst = 0.0
for name in ("two", "four"):
    p, m = prompt(work + "/" + name), metrics(work + "/" + name)
    assert len(p) == len(ref_p) and len(m) == len(ref_m), name
    for a, b in zip(m, ref_m):
        assert a["step"] == b["step"], (name, a, b)
        for key in ("loss", "eval_loss"):
            if key in b:
                d = abs(a[key] - b[key])
                assert d <= 1e-5, (name, key, a, b)
                worst = max(worst, d)
    d = max(abs(x - y) for x, y in zip(p, ref_p))
    assert d <= 1e-5, (name, "prompt", d)
    worst = max(worst, d)
print("1 vs 2 vs 4 ranks: %d steps, max |difference| %.2e" % (ref_m[-1]["step"], worst))
EOF

# rank 0 alone wrote the outputs: one set, no stray files
test -f "$work/two/adapter_model.safetensors" -a -d "$work/two/checkpoints/checkpoint-3"

# resume under MPI from step 3 ends as the uninterrupted 2-rank run
run resumed 2 --resume "$work/two/checkpoints/checkpoint-3"
cmp "$work/two/adapter_model.safetensors" "$work/resumed/adapter_model.safetensors"
echo "2-rank resume from checkpoint-3: final prompt bit-identical"

# a rank failing (a missing data file: every rank fails alike) ends the job with a message
if mpirun_ -np 2 "$ptune" train "$work/run.yaml" --mpi --set output_dir="$work/bad" \
    --set data.train="$work/missing.csv" >"$work/bad.log" 2>&1; then
    echo "a failing job exited 0"; exit 1
fi
grep -q "rank [01] of 2: .*missing.csv" "$work/bad.log" || { cat "$work/bad.log"; exit 1; }
test ! -e "$work/bad/adapter_model.safetensors"

# a rank killed mid-run (SIGKILL) takes the job down instead of leaving its peer waiting
longer=(--set train.epochs=200 --set checkpoint.every=1)
mpirun_ -np 2 "$ptune" train "$work/run.yaml" --mpi --set output_dir="$work/killed" "${longer[@]}" \
    >"$work/killed.log" 2>&1 &
job=$!
for _ in $(seq 600); do [ -d "$work/killed/checkpoints/checkpoint-2" ] && break; sleep 0.1; done
victim=""
for pid in $(pgrep -f "ptune train $work/run.yaml --mpi" || true); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
done
[ -n "$victim" ] || { echo "rank 1 not found"; kill "$job"; exit 1; }
kill -9 "$victim"
if wait "$job"; then echo "the job survived a killed rank"; exit 1; fi
test ! -e "$work/killed/adapter_model.safetensors"
echo "killed rank: job ended ($(grep -c . "$work/killed.log") lines of mpirun's report), no adapter written"
