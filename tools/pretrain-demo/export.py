#!/usr/bin/env python3
"""Exports the trained demo model as an HF directory and as a GGUF file, both F16.

HF directory: config.json, generation_config.json, model.safetensors (F16, tied embeddings so no
lm_head.weight), tokenizer.json (BPE + byte fallback, merges derived from the SentencePiece model
the way HF's converter derives them), tokenizer_config.json, special_tokens_map.json and the
SentencePiece tokenizer.model itself.
GGUF v3: llama architecture, llama.cpp tensor names, q/k rows permuted to llama.cpp's
adjacent-pair RoPE order, 1-D norm weights stored F32 as llama.cpp does (holding the F16-rounded
values, so both files are the same model), the "llama" (SentencePiece)
vocabulary with scores and token types. Written with the standard library and numpy only.
"""
import argparse
import json
import os
import struct

import numpy as np
import sentencepiece as spm
import torch

from model import CONFIG

NAME = "ptune-demo-kjv-4.5M"


# ---------------------------------------------------------------- tensors in HF naming
def hf_tensors(state):
    """(name, float32 array) in HF LlamaForCausalLM naming."""
    out = [("model.embed_tokens.weight", state["embed_tokens.weight"])]
    for i in range(CONFIG["num_hidden_layers"]):
        p = "layers.%d." % i
        for hf, ours in [("input_layernorm", "input_layernorm"), ("post_attention_layernorm", "post_attention_layernorm")]:
            out.append(("model.%s%s.weight" % (p, hf), state[p + ours + ".weight"]))
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            out.append(("model.%sself_attn.%s.weight" % (p, proj), state[p + proj + ".weight"]))
        for proj in ["gate_proj", "up_proj", "down_proj"]:
            out.append(("model.%smlp.%s.weight" % (p, proj), state[p + proj + ".weight"]))
    out.append(("model.norm.weight", state["norm.weight"]))
    return [(n, t.detach().float().numpy()) for n, t in out]


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def safetensors_bytes(tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr.astype(np.float16)).tobytes()
        header[name] = {"dtype": "F16", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


# ---------------------------------------------------------------- tokenizer.json
def tokenizer_json(sp):
    n = sp.get_piece_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)}
    normal = {p: i for p, i in vocab.items()
              if not (sp.is_unknown(i) or sp.is_control(i) or sp.is_byte(i))}
    merges = []
    for piece, pid in sorted(normal.items(), key=lambda kv: kv[1]):
        local = [(piece[:k], piece[k:]) for k in range(1, len(piece))
                 if piece[:k] in normal and piece[k:] in normal]
        local.sort(key=lambda lr: (vocab[lr[0]], vocab[lr[1]]))
        merges.extend(local)  # ranked by the merged piece's id, as SentencePiece BPE applies them
    special = lambda i, s: {"id": i, "content": s, "single_word": False, "lstrip": False,
                            "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [l + " " + r for l, r in merges]},
    }


def write_hf(out, state, sp, sp_model_path):
    os.makedirs(out, exist_ok=True)
    c = CONFIG
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
              "vocab_size": c["vocab_size"], "hidden_size": c["hidden_size"],
              "intermediate_size": c["intermediate_size"], "num_hidden_layers": c["num_hidden_layers"],
              "num_attention_heads": c["num_attention_heads"],
              "num_key_value_heads": c["num_key_value_heads"],
              "head_dim": c["hidden_size"] // c["num_attention_heads"], "hidden_act": "silu",
              "max_position_embeddings": c["max_position_embeddings"], "rms_norm_eps": c["rms_norm_eps"],
              "rope_theta": c["rope_theta"], "rope_scaling": None, "attention_bias": False,
              "attention_dropout": 0.0, "mlp_bias": False, "tie_word_embeddings": True,
              "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16", "use_cache": True,
              "initializer_range": 0.02, "pretraining_tp": 1}
    text = lambda obj: (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
    write_atomic(os.path.join(out, "config.json"), text(config))
    write_atomic(os.path.join(out, "generation_config.json"),
                 text({"bos_token_id": 1, "eos_token_id": 2}))
    write_atomic(os.path.join(out, "model.safetensors"), safetensors_bytes(hf_tensors(state)))
    write_atomic(os.path.join(out, "tokenizer.json"), text(tokenizer_json(sp)))
    tc = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
          "unk_token": "<unk>", "pad_token": None, "clean_up_tokenization_spaces": False,
          "legacy": True, "model_max_length": c["max_position_embeddings"],
          "sp_model_kwargs": {}, "spaces_between_special_tokens": False,
          "tokenizer_class": "LlamaTokenizer"}
    write_atomic(os.path.join(out, "tokenizer_config.json"), text(tc))
    write_atomic(os.path.join(out, "special_tokens_map.json"),
                 text({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    write_atomic(os.path.join(out, "tokenizer.model"), open(sp_model_path, "rb").read())


# ---------------------------------------------------------------- GGUF
GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STR, GGUF_ARR = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1
ALIGN = 32


def gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, typ, value):
    out = gguf_str(key) + struct.pack("<I", typ)
    if typ == GGUF_U32:
        return out + struct.pack("<I", value)
    if typ == GGUF_F32:
        return out + struct.pack("<f", value)
    if typ == GGUF_BOOL:
        return out + struct.pack("<B", int(value))
    if typ == GGUF_STR:
        return out + gguf_str(value)
    elem, items = value
    out += struct.pack("<IQ", elem, len(items))
    if elem == GGUF_STR:
        return out + b"".join(gguf_str(s) for s in items)
    return out + np.asarray(items, dtype={GGUF_F32: "<f4", GGUF_I32: "<i4"}[elem]).tobytes()


def permute_for_gguf(w, n_head):
    """HF rotate-half q/k rows → llama.cpp's adjacent-pair order (as convert_hf_to_gguf does)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)


def gguf_tensors(state):
    c = CONFIG
    rename = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
              "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}
    out = []
    for name, arr in hf_tensors(state):
        if name == "model.embed_tokens.weight":
            gname = "token_embd.weight"
        elif name == "model.norm.weight":
            gname = "output_norm.weight"
        else:
            parts = name.split(".")  # model.layers.N.<module...>.weight
            gname = "blk.%s.%s.weight" % (parts[2], rename[".".join(parts[3:-1])])
            if gname.endswith("attn_q.weight"):
                arr = permute_for_gguf(arr, c["num_attention_heads"])
            elif gname.endswith("attn_k.weight"):
                arr = permute_for_gguf(arr, c["num_key_value_heads"])
        if arr.ndim == 1:  # kept F32 in the file, but with the F16 values the HF directory holds
            arr = arr.astype(np.float16).astype(np.float32)
        out.append((gname, arr))
    return out


def write_gguf(path, state, sp):
    c = CONFIG
    n = sp.get_piece_size()
    types = [2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i) else 1
             for i in range(n)]
    kv = [
        ("general.architecture", GGUF_STR, "llama"),
        ("general.name", GGUF_STR, NAME),
        ("general.file_type", GGUF_U32, 1),  # LLAMA_FTYPE_MOSTLY_F16
        ("general.alignment", GGUF_U32, ALIGN),
        ("llama.context_length", GGUF_U32, c["max_position_embeddings"]),
        ("llama.embedding_length", GGUF_U32, c["hidden_size"]),
        ("llama.block_count", GGUF_U32, c["num_hidden_layers"]),
        ("llama.feed_forward_length", GGUF_U32, c["intermediate_size"]),
        ("llama.attention.head_count", GGUF_U32, c["num_attention_heads"]),
        ("llama.attention.head_count_kv", GGUF_U32, c["num_key_value_heads"]),
        ("llama.rope.dimension_count", GGUF_U32, c["hidden_size"] // c["num_attention_heads"]),
        ("llama.rope.freq_base", GGUF_F32, c["rope_theta"]),
        ("llama.attention.layer_norm_rms_epsilon", GGUF_F32, c["rms_norm_eps"]),
        ("llama.vocab_size", GGUF_U32, n),
        ("tokenizer.ggml.model", GGUF_STR, "llama"),
        ("tokenizer.ggml.tokens", GGUF_ARR, (GGUF_STR, [sp.id_to_piece(i) for i in range(n)])),
        ("tokenizer.ggml.scores", GGUF_ARR, (GGUF_F32, [sp.get_score(i) for i in range(n)])),
        ("tokenizer.ggml.token_type", GGUF_ARR, (GGUF_I32, types)),
        ("tokenizer.ggml.bos_token_id", GGUF_U32, 1),
        ("tokenizer.ggml.eos_token_id", GGUF_U32, 2),
        ("tokenizer.ggml.unknown_token_id", GGUF_U32, 0),
        ("tokenizer.ggml.add_bos_token", GGUF_BOOL, True),
        ("tokenizer.ggml.add_eos_token", GGUF_BOOL, False),
    ]
    tensors = gguf_tensors(state)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    head += b"".join(gguf_kv(*e) for e in kv)
    blobs, off = [], 0
    for name, arr in tensors:
        typ = GGML_F32 if arr.ndim == 1 else GGML_F16
        data = np.ascontiguousarray(arr.astype(np.float32 if typ == GGML_F32 else np.float16)).tobytes()
        dims = list(reversed(arr.shape))  # ggml order: fastest-varying first
        head += gguf_str(name) + struct.pack("<I", len(dims)) + struct.pack("<%dQ" % len(dims), *dims)
        head += struct.pack("<IQ", typ, off)
        pad = -len(data) % ALIGN
        blobs.append(data + b"\0" * pad)
        off += len(data) + pad
    head += b"\0" * (-len(head) % ALIGN)
    write_atomic(path, head + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True, help="checkpoint.pt from train.py")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.model from train_tokenizer.py")
    ap.add_argument("--out", required=True, help="output directory (gets <name>.gguf and hf/)")
    args = ap.parse_args()
    state = torch.load(args.checkpoint, map_location="cpu")
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    os.makedirs(args.out, exist_ok=True)
    write_hf(os.path.join(args.out, "hf"), state, sp, args.tokenizer)
    write_gguf(os.path.join(args.out, "demo.gguf"), state, sp)
    for root, _, files in os.walk(args.out):
        for f in sorted(files):
            print("%-40s %10d" % (os.path.join(root, f), os.path.getsize(os.path.join(root, f))))


if __name__ == "__main__":
    main()
