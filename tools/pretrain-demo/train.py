#!/usr/bin/env python3
"""Pretrains the demo model (model.py) on the prepared corpus with a fixed seed.

Each example is <s> followed by text starting at a random verse, cut to the context length, so
the model learns to start fluent text right after <s> — which is how libptune feeds it. Every
verse ends with </s>, so the model learns to end a passage and generation stops by itself. AdamW,
linear warm-up then cosine decay; the validation loss (same windowing, fixed positions) is
logged every --eval-every steps. Writes checkpoint.pt and train_log.jsonl into --out.
"""
import argparse
import json
import math
import os
import time

import sentencepiece as spm
import torch
import torch.nn.functional as F

from model import CONFIG, DemoLlama


def encode_split(sp, path):
    """Token stream of one split (each verse followed by </s>) and the offsets where verses start."""
    stream, starts = [], []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        starts.append(len(stream))
        stream.extend(sp.encode(line))
        stream.append(sp.eos_id())
    return torch.tensor(stream, dtype=torch.long), torch.tensor(starts, dtype=torch.long)


def windows(stream, starts, idx, length):
    rows = [torch.cat([torch.tensor([1]), stream[s:s + length - 1]]) for s in starts[idx].tolist()]
    rows = [r for r in rows if r.numel() == length]
    return torch.stack(rows)


def loss_of(model, batch):
    logits = model(batch[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="directory with train.txt, val.txt, tokenizer.model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.data, "tokenizer.model"))
    train, train_starts = encode_split(sp, os.path.join(args.data, "train.txt"))
    val, val_starts = encode_split(sp, os.path.join(args.data, "val.txt"))
    ctx = CONFIG["max_position_embeddings"]
    length = ctx + 1  # ctx inputs, ctx targets
    # Keep only starts with a full window after them.
    train_starts = train_starts[train_starts + length - 1 <= train.numel()]
    val_starts = val_starts[val_starts + length - 1 <= val.numel()]
    val_batch = windows(val, val_starts, torch.arange(0, val_starts.numel(), 4), length)
    print("train tokens %d, val tokens %d, val windows %d" % (train.numel(), val.numel(), val_batch.shape[0]))

    model = DemoLlama()
    n_params = sum(p.numel() for p in model.parameters())
    print("parameters %d" % n_params)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    log = open(os.path.join(args.out, "train_log.jsonl"), "w")

    def evaluate():
        model.eval()
        with torch.no_grad():
            losses = [loss_of(model, val_batch[i:i + 64]).item() * val_batch[i:i + 64].shape[0]
                      for i in range(0, val_batch.shape[0], 64)]
        model.train()
        return sum(losses) / val_batch.shape[0]

    t0 = time.time()
    ema = None
    for step in range(1, args.steps + 1):
        if step <= args.warmup:
            lr = args.lr * step / args.warmup
        else:
            frac = (step - args.warmup) / max(1, args.steps - args.warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, train_starts.numel(), (args.batch,), generator=gen)
        batch = windows(train, train_starts, idx, length)
        loss = loss_of(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        rec = {"step": step, "loss": round(loss.item(), 5), "lr": lr, "elapsed_s": round(time.time() - t0, 1)}
        if step % args.eval_every == 0 or step == args.steps:
            rec["val_loss"] = round(evaluate(), 5)
            print("step %d loss %.4f (ema %.4f) val %.4f lr %.2e %.0fs" % (
                step, loss.item(), ema, rec["val_loss"], lr, time.time() - t0), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
    # Final train loss: the same fixed-position evaluation as validation, on a train sample.
    tb = windows(train, train_starts, torch.arange(0, train_starts.numel(), 30), length)
    model.eval()
    with torch.no_grad():
        tl = sum(loss_of(model, tb[i:i + 64]).item() * tb[i:i + 64].shape[0]
                 for i in range(0, tb.shape[0], 64)) / tb.shape[0]
    summary = {"parameters": n_params, "steps": args.steps, "batch": args.batch, "context": ctx,
               "tokens_seen": args.steps * args.batch * ctx, "seed": args.seed,
               "train_loss": round(tl, 4), "val_loss": round(evaluate(), 4),
               "seconds": round(time.time() - t0, 1), "threads": args.threads,
               "torch": torch.__version__}
    print(json.dumps(summary))
    json.dump(summary, open(os.path.join(args.out, "summary.json"), "w"), indent=1)
    torch.save(model.state_dict(), os.path.join(args.out, "checkpoint.pt"))


if __name__ == "__main__":
    main()
