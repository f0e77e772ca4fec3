#!/usr/bin/env python3
"""Trains the demo model's tokenizer: SentencePiece BPE (Debian's python3-sentencepiece).

Llama-style conventions so both export paths (tokenizer.json, GGUF "llama" vocabulary) describe
it exactly: <unk>=0, <s>=1, </s>=2, 256 byte-fallback pieces <0x00>..<0xFF>, a dummy-prefix "▁",
no normalisation (identity), digits split. Training on every sentence makes it deterministic.
"""
import argparse
import os

import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", required=True, help="train.txt from prepare_corpus.py")
    ap.add_argument("--out", required=True, help="output prefix directory")
    ap.add_argument("--vocab-size", type=int, default=4096)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=args.corpus,
        model_prefix=os.path.join(args.out, "tokenizer"),
        model_type="bpe",
        vocab_size=args.vocab_size,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        input_sentence_size=0,        # use every line: no sampling, deterministic
        shuffle_input_sentence=False,
        num_threads=2,
        max_sentence_length=8192,
        minloglevel=1,
    )
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, "tokenizer.model"))
    print("vocab", sp.get_piece_size(), "example", sp.encode("In the beginning God created the heaven.", out_type=str))


if __name__ == "__main__":
    main()
