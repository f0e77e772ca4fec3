#!/usr/bin/env python3
"""Quickstart: prompt-tune a frozen model on a few lines and generate with the tuned prompt.

usage: PYTHONPATH=python python3 examples/python/quickstart.py MODEL [OUT_DIR]
(MODEL: a GGUF file or HF directory with a tokenizer, e.g. ../shared/models/aidreams260K.gguf)
"""
import sys

import ptune

LINES = [
    "Echoes of vectors unfold, a gentle hum of precision.",
    "Whispers of gradients settle into quiet valleys.",
    "Patterns coalesce, a tapestry of probability.",
]


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    model_path = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else None
    steps = 20
    with ptune.Model(model_path) as model, model.context(training=True, max_tokens=256) as ctx:
        batch = [model.tokenize(line) for line in LINES]
        prompt = model.new_prompt(8, init="text", init_text="Write a short dreamy sentence:")
        opt = ptune.Optimizer(prompt, lr=5e-3, total_steps=steps)
        for step in range(steps):
            ctx.forward(batch, prompt=prompt)
            loss = ctx.loss()
            ctx.backward(prompt)
            opt.step(prompt)
            if step % 5 == 0 or step == steps - 1:
                print(f"step {step:2d}  loss {loss:.4f}  lr {opt.lr:.2e}")
        print("generated:", end=" ", flush=True)
        for _token, text in ctx.generate_stream("Whispers", prompt=prompt, temperature=0, max_new_tokens=24):
            print(text, end="", flush=True)
        print()
        if out_dir:
            prompt.save(out_dir)
            print(f"saved a PEFT adapter to {out_dir}")
        prompt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
