#!/usr/bin/python3
"""bench/compare.py: libptune against a PyTorch comparator, in one command.

For each model shape (random weights, real shapes) it writes one checkpoint with bench_gen_model,
then on those very files, with the same thread count and in the same invocation:

  - training step (forward + loss + backward + AdamW) on a ragged batch of 8 sequences whose
    lengths are drawn in [16, 64] from --seed, behind 4 / 20 / 100 virtual tokens:
    bench_train --json (libptune: tokens/s, peak RSS, useful GFLOP/s, sgemm ceiling) and
    torch_ref.py --mode train (PyTorch eager, padded batch as HF/PEFT run it);
  - greedy generation at batch 1 and 8: bench_generate --json (decode tokens/s, bandwidth
    bound) and torch_ref.py --mode generate.

It prints one markdown table per model and writes every raw JSON result to --out.
Standard library only; run it with /usr/bin/python3 from the repository root, after
`ninja -C build`:

  /usr/bin/python3 bench/compare.py --threads 2
  /usr/bin/python3 bench/compare.py --threads 2 --models gpt2 --virtual 20 --steps 1 --no-torch

torch_ref.py exiting with status 77 (torch not importable) skips the PyTorch columns.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MODELS = ("gpt2", "bloom", "llama")
LABELS = {"gpt2": "GPT-2-124M", "bloom": "BLOOM-560m", "llama": "Llama-0.5B-GQA"}
SKIP = 77
MASK64 = (1 << 64) - 1


def log(msg):
    print(f"compare: {msg}", file=sys.stderr, flush=True)


def splitmix64(state):
    """One splitmix64 step: (new state, output), exactly as bench_models.c."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def draw_lengths(n, lo, hi, seed):
    """bench_draw_lengths: the same lengths bench_train draws by default for this seed."""
    out, state = [], seed & MASK64
    for _ in range(n):
        state, z = splitmix64(state)
        out.append(lo + z % (hi - lo + 1))
    return out


def int_list(text):
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of integers, got {text!r}")
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def model_list(text):
    vals = [x.strip() for x in text.split(",") if x.strip()]
    if text.strip() == "all":
        return list(MODELS)
    bad = [v for v in vals if v not in MODELS]
    if bad or not vals:
        raise argparse.ArgumentTypeError(f"models are {', '.join(MODELS)} (comma list), got {text!r}")
    return vals


def parse_json_output(text):
    """The JSON object a tool printed on stdout (the whole output, or the last object in it)."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    dec = json.JSONDecoder()
    found = None
    for i, ch in enumerate(text):
        if ch == "{" and (i == 0 or text[i - 1] == "\n"):
            try:
                found, _ = dec.raw_decode(text[i:])
            except ValueError:
                continue
    if found is None:
        raise ValueError("no JSON object in the output")
    return found


class Failed(Exception):
    pass


def run_capture(cmd):
    """Runs cmd with stdout captured (stderr passes through); on an interrupt the child gets
    SIGTERM (the bench tools remove their temporary files then), SIGKILL after 5 s."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        stdout, _ = proc.communicate()
    except BaseException:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        raise
    return proc.returncode, stdout


def run_tool(cmd, what):
    """Runs cmd (stderr passes through), returns (status, parsed JSON or None)."""
    log(f"{what}: {' '.join(cmd)}")
    t0 = time.monotonic()
    rc, stdout = run_capture(cmd)
    dt = time.monotonic() - t0
    if rc != 0:
        return rc, None
    try:
        out = parse_json_output(stdout)
    except ValueError as e:
        raise Failed(f"{what}: {e}; stdout was:\n{stdout[-2000:]}")
    log(f"{what}: done in {dt:.1f} s")
    return 0, out


# ---- formatting ------------------------------------------------------------------------------------

def run_torch(cmd, what, store, key):
    """Runs one torch_ref.py measurement into store[key]; returns the reason the comparator is
    skipped from now on (exit status 77: torch not importable), else None. Other failures are
    recorded as {"error": ...} and the run goes on."""
    rc, out = run_tool(cmd, what)
    if rc == SKIP:
        reason = "torch_ref.py exited with status 77 (torch not importable)"
        print(f"PyTorch comparator skipped: {reason}", flush=True)
        return reason
    if rc != 0:
        log(f"{what} failed (status {rc}); continuing")
        store[key] = {"error": f"status {rc}"}
    else:
        store[key] = out
    return None


def fmt(x, digits=1):
    if x is None:
        return "—"
    if isinstance(x, float) and x != x:
        return "—"
    return f"{x:.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def pct(a, b):
    return 100.0 * a / b if a is not None and b not in (None, 0) else None


def machine_line(ptrain, pgen, torch_any):
    m = (ptrain or pgen or {}).get("machine", {})
    cpu = m.get("cpu") or platform.processor() or "unknown CPU"
    nproc = m.get("nproc") or os.cpu_count()
    blas = m.get("blas", "unknown BLAS")
    core = m.get("blas_core")
    line = f"machine: {cpu}, {nproc} cores; {blas}" + (f" (core {core})" if core else "")
    if torch_any:
        line += f"; PyTorch {torch_any.get('torch_version', '?')}"
    return line


def print_model_table(key, res, threads):
    ptrain, pgen = res.get("ptune_train"), res.get("ptune_generate")
    ttrain, tgen = res.get("torch_train", {}), res.get("torch_generate", {})
    torch_any = next((v for v in list(ttrain.values()) + list(tgen.values()) if v), None)
    cases = {c["n_virtual"]: c for c in (ptrain or {}).get("cases", [])}
    first = next(iter(cases.values()), None)
    params = first["n_params"] * 1e-6 if first else None
    lens = res["lengths"]
    print()
    print(f"### {LABELS.get(key, key)}" + (f" ({params:.1f} M params)" if params else "") +
          f", {threads} threads")
    print()
    print(f"training batch: {len(lens)} sequences, lengths {','.join(map(str, lens))} ({sum(lens)} real tokens); "
          f"generation: {res['prompt_len']} input + {res['new_tokens']} new tokens, greedy")
    print()
    print("| case | libptune tokens/s | PyTorch tokens/s | libptune / PyTorch | libptune peak RSS MiB "
          "| PyTorch peak RSS MiB | useful GFLOP/s | sgemm GFLOP/s | % of ceiling / bound |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rcases = {c["n_virtual"]: c for c in (res.get("ptune_train_recompute") or {}).get("cases", [])}
    rows = [(nv, cases.get(nv), "") for nv in res["virtual"]]
    rows += [(nv, rcases[nv], ", recompute") for nv in res["virtual"] if nv in rcases]
    for nv, c, tag in rows:
        t = ttrain.get(str(nv))
        p_tps = c["median"]["tokens_per_s"] if c else None
        t_tps = t.get("tokens_per_s") if t else None
        print(f"| train, {nv} virtual{tag} | {fmt(p_tps)} | {fmt(t_tps)} | {fmt(ratio(p_tps, t_tps), 2)} "
              f"| {fmt(c['peak_rss_mib'] if c else None, 0)} | {fmt(t.get('peak_rss_mib') if t else None, 0)} "
              f"| {fmt(c['useful']['gflop_per_s'] if c else None)} "
              f"| {fmt(c['sgemm_ceiling']['sgemm_gflop_per_s'] if c else None)} "
              f"| {fmt(100.0 * c['sgemm_ceiling']['achieved_fraction'] if c else None)} |")
    gb = {b["batch"]: b for b in (pgen or {}).get("batches", [])}
    for b in res["batches"]:
        g = gb.get(b)
        t = tgen.get(str(b))
        p_tps = g["decode_tokens_per_s"] if g else None
        t_tps = t.get("decode_tokens_per_s") if t else None
        print(f"| generate, batch {b} (decode) | {fmt(p_tps, 2)} | {fmt(t_tps, 2)} | {fmt(ratio(p_tps, t_tps), 2)} "
              f"| {fmt(pgen['peak_rss_mib'] if pgen else None, 0)} | {fmt(t.get('peak_rss_mib') if t else None, 0)} "
              f"| — | — | {fmt(pct(p_tps, g['bound_tokens_per_s']) if g else None)} |")
    print()
    notes = []
    if first:
        notes.append(f"fp32 weights {first['weight_bytes'] / 2**20:.0f} MiB; \"recompute\" rows: "
                     f"ptune_ctx_params.recompute = 1 (block activations recomputed in backward)")
        notes.append(f"useful GFLOP/s: 4 × matmul params × (real tokens + virtual) + causal attention, per step "
                     f"second; sgemm GFLOP/s: cblas_sgemm alone on the step's dominant shapes in the same process; "
                     f"% of ceiling = useful / sgemm GFLOP/s")
    if pgen:
        notes.append(f"generation bound: read bandwidth {pgen['bandwidth']['read_gb_per_s']:.1f} GB/s / "
                     f"{pgen['bytes_per_step'] / 2**20:.0f} MiB of weights per decode step = "
                     f"{pgen['bound_tokens_per_s_batch1']:.1f} tokens/s per sequence (× batch)")
    if pgen and any(str(b) in tgen for b in res["batches"]):
        prefill = ", ".join(f"batch {b}: {fmt(gb[b]['prefill_s'], 3)} s vs {fmt(tgen[str(b)].get('prefill_s'), 3)} s"
                            for b in res["batches"] if b in gb and tgen.get(str(b)))
        notes.append(f"prefill (libptune vs PyTorch): {prefill}")
    elif pgen:
        notes.append("prefill (libptune): " + ", ".join(f"batch {b}: {gb[b]['prefill_s']:.3f} s"
                                                         for b in res["batches"] if b in gb))
    if res.get("torch_skipped"):
        notes.append(f"PyTorch comparator skipped: {res['torch_skipped']}")
    for n in notes:
        print(f"- {n}")
    print(f"- {machine_line(ptrain, pgen, torch_any)}")
    sys.stdout.flush()


# ---- main ------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="compare.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for libptune and PyTorch (default 2)")
    p.add_argument("--models", type=model_list, default=list(MODELS),
                   help="comma list of gpt2, bloom, llama, or all (default all)")
    p.add_argument("--virtual", type=int_list, default=[4, 20, 100], help="soft-prompt lengths (default 4,20,100)")
    p.add_argument("--lengths", type=int_list, default=None,
                   help="training batch lengths (default: 8 drawn uniformly in [16, 64] from --seed)")
    p.add_argument("--steps", type=int, default=3, help="timed training steps after 1 warm-up (default 3)")
    p.add_argument("--batch", type=int_list, default=[1, 8], help="generation batch sizes (default 1,8)")
    p.add_argument("--prompt-len", type=int, default=16, help="generation input ids per sequence (default 16)")
    p.add_argument("--new-tokens", type=int, default=64, help="generated tokens per sequence (default 64)")
    p.add_argument("--gen-iters", type=int, default=1,
                   help="timed libptune generations per batch size (default 1, as torch_ref's single timed run)")
    p.add_argument("--seed", type=int, default=1234, help="seed of weights, lengths, prompts and ids (default 1234)")
    p.add_argument("--build", default="build", help="meson build directory (default build)")
    p.add_argument("--python", default="/usr/bin/python3", help="interpreter for torch_ref.py (default /usr/bin/python3)")
    p.add_argument("--out", default=None, help="write every raw JSON result to this file")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparator")
    p.add_argument("--no-generate", action="store_true", help="skip the generation benchmarks")
    p.add_argument("--no-recompute", action="store_true",
                   help="skip the libptune training run with ptune_ctx_params.recompute = 1")
    a = p.parse_args(argv)
    if a.threads < 1 or a.steps < 1 or a.prompt_len < 1 or a.new_tokens < 1 or a.gen_iters < 1:
        p.error("--threads, --steps, --prompt-len, --new-tokens and --gen-iters must be >= 1")
    return a


def on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
    a = parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    build = a.build if os.path.isabs(a.build) else os.path.join(os.getcwd(), a.build)
    tools = {n: os.path.join(build, "bench", n) for n in ("bench_gen_model", "bench_train", "bench_generate")}
    missing = [t for t in tools.values() if not os.access(t, os.X_OK)]
    if missing:
        print(f"compare: missing {', '.join(missing)}; build first: ninja -C {a.build}", file=sys.stderr)
        return 2
    torch_ref = os.path.join(here, "torch_ref.py")
    torch_skipped = None
    if a.no_torch:
        torch_skipped = "--no-torch"
    elif not os.path.exists(torch_ref):
        torch_skipped = f"{torch_ref} does not exist"
        print(f"PyTorch comparator skipped: {torch_skipped}", flush=True)

    lengths = a.lengths or draw_lengths(8, 16, 64, a.seed)
    lens_arg = ",".join(map(str, lengths))
    print(f"compare: {', '.join(a.models)}; {a.threads} threads; training lengths {lens_arg} "
          f"({'--lengths' if a.lengths else f'drawn in [16, 64] from seed {a.seed}'}), "
          f"virtual {','.join(map(str, a.virtual))}, {a.steps} timed steps; generation batch "
          f"{','.join(map(str, a.batch))}, {a.prompt_len} + {a.new_tokens} tokens", flush=True)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGHUP, on_sigterm)
    tmp = tempfile.mkdtemp(prefix="ptune-compare-")  # under $TMPDIR
    results = {"benchmark": "compare", "args": {k: v for k, v in vars(a).items()}, "lengths": lengths,
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "models": {}}
    t_start = time.monotonic()
    status = 0
    try:
        for key in a.models:
            res = {"lengths": lengths, "virtual": a.virtual, "batches": [] if a.no_generate else a.batch,
                   "prompt_len": a.prompt_len, "new_tokens": a.new_tokens, "torch_train": {}, "torch_generate": {}}
            results["models"][key] = res
            mdir = os.path.join(tmp, key)
            log(f"[{key}] writing the random checkpoint to {mdir}")
            t0 = time.monotonic()
            rc, stdout = run_capture([tools["bench_gen_model"], "--model", key, "--out", mdir, "--seed", str(a.seed)])
            if rc != 0:
                raise Failed(f"bench_gen_model --model {key} failed with status {rc}")
            res["generate_s"] = time.monotonic() - t0
            log(stdout.strip())

            common = ["--threads", str(a.threads), "--seed", str(a.seed)]
            rc, out = run_tool([tools["bench_train"], "--path", mdir, "--virtual", ",".join(map(str, a.virtual)),
                                "--lengths", lens_arg, "--iters", str(a.steps), "--json"] + common,
                               f"[{key}] libptune training")
            if rc != 0:
                raise Failed(f"bench_train failed with status {rc}")
            res["ptune_train"] = out
            if not a.no_recompute:
                rc, out = run_tool([tools["bench_train"], "--path", mdir, "--virtual", ",".join(map(str, a.virtual)),
                                    "--lengths", lens_arg, "--iters", str(a.steps), "--json", "--recompute"] + common,
                                   f"[{key}] libptune training with recompute")
                if rc != 0:
                    raise Failed(f"bench_train --recompute failed with status {rc}")
                res["ptune_train_recompute"] = out

            for nv in a.virtual:
                if torch_skipped:
                    break
                torch_skipped = run_torch([a.python, torch_ref, "--model", mdir, "--mode", "train", "--virtual", str(nv),
                                           "--lengths", lens_arg, "--steps", str(a.steps), "--warmup", "1",
                                           # HF Trainer's default max_grad_norm, as libptune's default clip
                                           "--max-grad-norm", "1"] + common,
                                          f"[{key}] PyTorch training, {nv} virtual", res["torch_train"], str(nv))

            if not a.no_generate:
                rc, out = run_tool([tools["bench_generate"], "--path", mdir, "--batch", ",".join(map(str, a.batch)),
                                    "--prompt-len", str(a.prompt_len), "--new-tokens", str(a.new_tokens),
                                    "--iters", str(a.gen_iters), "--json"] + common,
                                   f"[{key}] libptune generation")
                if rc != 0:
                    raise Failed(f"bench_generate failed with status {rc}")
                res["ptune_generate"] = out
                for b in a.batch:
                    if torch_skipped:
                        break
                    torch_skipped = run_torch([a.python, torch_ref, "--model", mdir, "--mode", "generate", "--batch",
                                               str(b), "--prompt-len", str(a.prompt_len), "--new-tokens",
                                               str(a.new_tokens)] + common,
                                              f"[{key}] PyTorch generation, batch {b}", res["torch_generate"], str(b))
            res["torch_skipped"] = torch_skipped
            # drop error placeholders from the table lookups (kept in the JSON)
            view = dict(res)
            view["torch_train"] = {k: v for k, v in res["torch_train"].items() if "error" not in v}
            view["torch_generate"] = {k: v for k, v in res["torch_generate"].items() if "error" not in v}
            print_model_table(key, view, a.threads)
            shutil.rmtree(mdir, ignore_errors=True)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'Ctrl-C'}); removing {tmp}")
        status = 130
    except Failed as e:
        log(f"error: {e}")
        status = 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["elapsed_s"] = time.monotonic() - t_start
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
        log(f"raw results written to {a.out}")
    log(f"total {results['elapsed_s']:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
