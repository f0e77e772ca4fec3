#!/usr/bin/env python3
"""Checks an export against the PyTorch model it came from, through libptune itself.

1. Tokenization: libptune's tokenizer for the HF directory (tokenizer.json) and for the GGUF
   vocabulary must give SentencePiece's ids on every line of the validation text.
2. Logits: libptune's logits for both files must match the PyTorch model run on the same
   F16-rounded weights (max abs error reported; fails above --tol).
Needs the libptune build (build/lib/libptune.so.0) and python/ on PYTHONPATH (run from the repo
root or let this script find python/ two levels up).
"""
import argparse
import os
import sys

import numpy as np
import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import ptune  # noqa: E402

from model import DemoLlama  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tokenizer", required=True, help="tokenizer.model")
    ap.add_argument("--val", required=True, help="val.txt")
    ap.add_argument("--export", required=True, help="export directory (demo.gguf, hf/)")
    ap.add_argument("--tol", type=float, default=2e-3)
    args = ap.parse_args()
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    lines = [l.rstrip("\n") for l in open(args.val, encoding="utf-8") if l.strip()]
    lines += ["I want you to act as a shepherd. ", "  two  spaces, digits 1611 and ünïcödé ☃ "]
    state = torch.load(args.checkpoint, map_location="cpu")
    model = DemoLlama()
    model.load_state_dict({k: v.half().float() for k, v in state.items()})  # the F16 values both files hold
    model.eval()
    ok = True
    for path in [os.path.join(args.export, "hf"), os.path.join(args.export, "demo.gguf")]:
        m = ptune.Model.load(path)
        bad = [l for l in lines if m.tokenize(l) != [1] + sp.encode(l)]
        print("%s: tokenization %d/%d lines identical to SentencePiece" % (path, len(lines) - len(bad), len(lines)))
        for l in bad[:3]:
            print("  differs: %r\n    sp     %s\n    ptune  %s" % (l, [1] + sp.encode(l), m.tokenize(l)))
        ok &= not bad
        ctx = m.context(logits="all")
        worst = 0.0
        for l in lines[:20]:
            ids = [1] + sp.encode(l)
            ids = ids[:128]
            ctx.forward([ids])
            got = np.asarray(ctx.logits(0, as_numpy=True))
            with torch.no_grad():
                ref = model(torch.tensor([ids]))[0].numpy()
            worst = max(worst, float(np.abs(got - ref).max()))
        print("%s: max |logit error| vs PyTorch %.2e over 20 lines" % (path, worst))
        ok &= worst <= args.tol
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
