#!/usr/bin/env python3
"""bench/torch_ref.py owns the PyTorch comparator of the benchmark harness.

It is a straightforward eager PyTorch (fp32, CPU) implementation of HuggingFace's
GPT2LMHeadModel, BloomForCausalLM, LlamaForCausalLM and Qwen2ForCausalLM, driven the way PEFT
prompt tuning + the HF Trainer drive them (train) and the way HF `generate` drives them
(greedy decoding with a KV cache).  It needs only torch and numpy: the models are written here
in plain torch (HF transformers is not used) and safetensors files are parsed by hand.

Invocation (one JSON object on stdout, everything else on stderr):

  python3 bench/torch_ref.py --model DIR --threads N --mode train \
      --virtual 20 --lengths 64,64,64,64,64,64,64,64 --steps 3 --warmup 1 --seed 1 [--lr 5e-3]
  python3 bench/torch_ref.py --model DIR --threads N --mode generate \
      --batch 1 --prompt-len 32 --new-tokens 64 [--virtual 0] --seed 1 [--check]
  python3 bench/torch_ref.py --mode check --fixture ../shared/fixtures [--model DIR --golden FILE]

`check` compares against the numerical fixtures of ../shared/fixtures (logits, losses, prompt
gradients, AdamW trajectories) and optionally a golden greedy-decoding file.
Exit status: 0 ok, 2 bad arguments, 1 failure (or check mismatch), 77 torch not importable
(the harness treats 77 as "comparator skipped").
"""

import argparse
import json
import math
import os
import resource
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except Exception as exc:  # pragma: no cover - depends on the machine
    print(f"torch_ref: skipped, cannot import torch/numpy ({type(exc).__name__}: {exc})", file=sys.stderr)
    sys.exit(77)


def log(*a):
    print("torch_ref:", *a, file=sys.stderr, flush=True)


class UsageError(Exception):
    pass


# ---- safetensors (parsed by hand) --------------------------------------------------------------

_NP_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "u1",
}


def read_safetensors(path, names=None, float_to_f32=True):
    """Returns {name: torch.Tensor}. F16/BF16 are upcast exactly to float32 (when float_to_f32);
    F64 and integer tensors keep their type. Each tensor is read into its own buffer (no mmap),
    so the resident set holds the weights once, as the loaded model does."""
    with open(path, "rb") as f:
        raw_len = f.read(8)
        if len(raw_len) != 8:
            raise ValueError(f"{path}: not a safetensors file (short header)")
        (n,) = struct.unpack("<Q", raw_len)
        if n > 100 << 20:
            raise ValueError(f"{path}: implausible header length {n}")
        header = json.loads(f.read(n).decode("utf-8"))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__" or (names is not None and name not in names):
                continue
            dt = info["dtype"]
            if dt not in _NP_DTYPES:
                raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
            shape = [int(s) for s in info["shape"]]
            start, end = info["data_offsets"]
            npdt = np.dtype(_NP_DTYPES[dt])
            count = (end - start) // npdt.itemsize
            if count != int(np.prod(shape, dtype=np.int64)):
                raise ValueError(f"{path}: tensor {name}: {end - start} bytes do not fit shape {shape} {dt}")
            f.seek(base + start)
            a = np.fromfile(f, dtype=npdt, count=count)
            if a.size != count:
                raise ValueError(f"{path}: tensor {name}: truncated data")
            if dt == "BF16":
                a = (a.astype(np.uint32) << 16).view(np.float32) if float_to_f32 else a
            elif dt == "F16" and float_to_f32:
                a = a.astype(np.float32)
            elif dt == "BOOL":
                a = a.astype(np.bool_)
            a = a.reshape(shape)
            if not a.dtype.isnative:
                a = a.astype(a.dtype.newbyteorder("="))
            out[name] = torch.from_numpy(a)
    return out, header


def load_hf_weights(model_dir):
    """All tensors of an HF directory: model.safetensors or a sharded model.safetensors.index.json."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    dtypes = set()
    if os.path.exists(single):
        w, hdr = read_safetensors(single)
        dtypes |= {v["dtype"] for k, v in hdr.items() if k != "__metadata__"}
        return w, dtypes
    if os.path.exists(index):
        with open(index) as f:
            wmap = json.load(f)["weight_map"]
        weights = {}
        for shard in sorted(set(wmap.values())):
            w, hdr = read_safetensors(os.path.join(model_dir, shard))
            dtypes |= {v["dtype"] for k, v in hdr.items() if k != "__metadata__"}
            weights.update(w)
        missing = [k for k in wmap if k not in weights]
        if missing:
            raise ValueError(f"{model_dir}: tensors listed in the index but absent from shards: {missing[:5]}")
        return weights, dtypes
    raise ValueError(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json")


# ---- activations ---------------------------------------------------------------------------------

def gelu_new(x):
    """HF NewGELUActivation (GPT-2 `gelu_new`), the composite tanh formula, autograd through it."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class _BloomGeluFn(torch.autograd.Function):
    """HF BloomGelu in training mode: saves only the input, analytic backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        tanh_out = torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x))
        ff = 0.5 * x * ((1 - tanh_out * tanh_out) * (0.79788456 + 0.1070322243 * x * x)) + 0.5 * (1 + tanh_out)
        return ff * g


def bloom_gelu(x):
    if torch.is_grad_enabled() and x.requires_grad:
        return _BloomGeluFn.apply(x)
    return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))


def gpt2_act(name):
    if name in ("gelu_new", "gelu_fast"):
        return gelu_new
    if name == "gelu_pytorch_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu
    if name == "relu":
        return F.relu
    if name in ("silu", "swish"):
        return F.silu
    raise ValueError(f"unsupported GPT-2 activation_function {name!r}")


def bloom_alibi_slopes(n_head):
    """HF build_alibi_tensor's slopes, including non power-of-two head counts."""
    closest = 2 ** math.floor(math.log2(n_head))
    base = 2 ** (-(2 ** -(math.log2(closest) - 3)))
    slopes = [base ** p for p in range(1, closest + 1)]
    if closest != n_head:
        extra_base = 2 ** (-(2 ** -(math.log2(2 * closest) - 3)))
        n_rem = min(closest, n_head - closest)
        slopes += [extra_base ** p for p in range(1, 1 + 2 * n_rem, 2)]
    return torch.tensor(slopes, dtype=torch.float32)


# ---- the model -----------------------------------------------------------------------------------

NEG = torch.finfo(torch.float32).min


class CausalLM:
    """One frozen causal LM. forward(inputs_embeds, attention_mask, past) -> (logits, present).

    inputs_embeds are word embeddings (what PEFT passes); position handling (GPT-2 wpe, BLOOM
    word_embeddings_layernorm + ALiBi, Llama/Qwen2 RoPE) happens inside, as in HF."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        self.cfg = cfg
        mt = cfg.get("model_type", "")
        archs = cfg.get("architectures") or []
        if mt == "gpt2" or "GPT2LMHeadModel" in archs:
            self.arch = "gpt2"
        elif mt == "bloom" or "BloomForCausalLM" in archs:
            self.arch = "bloom"
        elif mt in ("llama", "qwen2") or any(a in archs for a in ("LlamaForCausalLM", "Qwen2ForCausalLM")):
            self.arch = "qwen2" if (mt == "qwen2" or "Qwen2ForCausalLM" in archs) else "llama"
        else:
            raise ValueError(f"{model_dir}: unsupported model_type {mt!r} / architectures {archs}")
        raw, self.disk_dtypes = load_hf_weights(model_dir)
        w = {}
        for k, v in raw.items():
            if self.arch in ("gpt2", "bloom") and k.startswith("transformer."):
                k = k[len("transformer."):]
            w[k] = v.float() if v.is_floating_point() else v
        self.w = w
        self.vocab = int(cfg["vocab_size"])
        getattr(self, "_init_" + ("llama" if self.arch == "qwen2" else self.arch))()
        used = set(self.used_names)
        for k, v in self.w.items():
            if v.is_floating_point():
                v.requires_grad_(False)
        unused = [k for k in self.w if k not in used and not (k.endswith(".attn.bias") or k.endswith(".attn.masked_bias")
                                                              or k.endswith("rotary_emb.inv_freq"))]
        if unused:
            log(f"warning: {len(unused)} unused tensors, e.g. {unused[:3]}")
        seen = {}
        for k in used:
            t = self.w[k]
            seen[t.data_ptr()] = t.numel()
        self.params = int(sum(seen.values()))
        self.weight_bytes = 4 * self.params

    def _get(self, name, required=True):
        if name in self.w:
            self.used_names.append(name)
            return self.w[name]
        if required:
            raise ValueError(f"missing tensor {name!r} for {self.arch}")
        return None

    # ---- per-architecture setup
    def _init_gpt2(self):
        c = self.cfg
        self.used_names = []
        self.hidden = int(c["n_embd"])
        self.n_head = int(c["n_head"])
        self.n_kv = self.n_head
        self.n_layer = int(c["n_layer"])
        self.head_dim = self.hidden // self.n_head
        self.eps = float(c.get("layer_norm_epsilon", 1e-5))
        self.n_positions = int(c.get("n_positions", c.get("n_ctx", 1024)))
        self.act = gpt2_act(c.get("activation_function", "gelu_new"))
        self.scale_attn = bool(c.get("scale_attn_weights", True))
        self.scale_by_layer = bool(c.get("scale_attn_by_inverse_layer_idx", False))
        self.wte = self._get("wte.weight")
        self.wpe = self._get("wpe.weight")
        self.layers = []
        for i in range(self.n_layer):
            p = f"h.{i}."
            self.layers.append({k: self._get(p + k) for k in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                "mlp.c_proj.weight", "mlp.c_proj.bias")})
        self.ln_f = (self._get("ln_f.weight"), self._get("ln_f.bias"))
        head = self._get("lm_head.weight", required=False)
        self.lm_head = head if head is not None else self.wte
        self.embed_w = self.wte

    def _init_bloom(self):
        c = self.cfg
        self.used_names = []
        self.hidden = int(c.get("hidden_size", c.get("n_embed", 0)))
        self.n_head = int(c.get("n_head", c.get("num_attention_heads", 0)))
        self.n_kv = self.n_head
        self.n_layer = int(c.get("n_layer", c.get("num_hidden_layers", 0)))
        self.head_dim = self.hidden // self.n_head
        self.eps = float(c.get("layer_norm_epsilon", 1e-5))
        self.post_ln_residual = bool(c.get("apply_residual_connection_post_layernorm", False))
        self.n_positions = None
        self.word_embeddings = self._get("word_embeddings.weight")
        self.emb_ln = (self._get("word_embeddings_layernorm.weight"), self._get("word_embeddings_layernorm.bias"))
        self.layers = []
        for i in range(self.n_layer):
            p = f"h.{i}."
            self.layers.append({k: self._get(p + k) for k in (
                "input_layernorm.weight", "input_layernorm.bias", "self_attention.query_key_value.weight",
                "self_attention.query_key_value.bias", "self_attention.dense.weight", "self_attention.dense.bias",
                "post_attention_layernorm.weight", "post_attention_layernorm.bias", "mlp.dense_h_to_4h.weight",
                "mlp.dense_h_to_4h.bias", "mlp.dense_4h_to_h.weight", "mlp.dense_4h_to_h.bias")})
        self.ln_f = (self._get("ln_f.weight"), self._get("ln_f.bias"))
        head = self._get("lm_head.weight", required=False)
        self.lm_head = head if head is not None else self.word_embeddings
        self.slopes = bloom_alibi_slopes(self.n_head)
        self.embed_w = self.word_embeddings

    def _init_llama(self):
        c = self.cfg
        self.used_names = []
        self.hidden = int(c["hidden_size"])
        self.n_head = int(c["num_attention_heads"])
        self.n_kv = int(c.get("num_key_value_heads") or self.n_head)
        self.n_layer = int(c["num_hidden_layers"])
        self.head_dim = int(c.get("head_dim") or self.hidden // self.n_head)
        self.eps = float(c.get("rms_norm_eps", 1e-6))
        self.theta = float(c.get("rope_theta", 10000.0))
        rs = c.get("rope_scaling")
        if rs and (rs.get("rope_type") or rs.get("type")) not in (None, "default"):
            raise ValueError(f"rope_scaling {rs} is not supported by this comparator")
        self.n_positions = None
        self.embed_tokens = self._get("model.embed_tokens.weight")
        self.layers = []
        for i in range(self.n_layer):
            p = f"model.layers.{i}."
            L = {k: self._get(p + k) for k in (
                "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")}
            for k in ("self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
                      "self_attn.o_proj.bias", "mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias"):
                L[k] = self._get(p + k, required=False)
            if self.arch == "qwen2" and L["self_attn.q_proj.bias"] is None:
                raise ValueError(f"Qwen2 layer {i}: q/k/v biases missing")
            self.layers.append(L)
        self.norm = self._get("model.norm.weight")
        head = self._get("lm_head.weight", required=False)
        tie = self.cfg.get("tie_word_embeddings", False)
        if head is None:
            if not tie:
                log("warning: lm_head.weight absent and tie_word_embeddings false; tying to embed_tokens")
            head = self.embed_tokens
        self.lm_head = head
        self.inv_freq = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64).float() / self.head_dim))
        self.embed_w = self.embed_tokens

    # ---- shared pieces
    def embed(self, ids):
        return F.embedding(ids, self.embed_w)

    @staticmethod
    def additive_mask(attention_mask, q_len, past_len):
        """HF's 4D mask: [B, 1, q_len, past_len+q_len], 0 where visible, finfo.min where masked
        (causal combined with padding)."""
        B, K = attention_mask.shape
        qpos = torch.arange(past_len, past_len + q_len).view(q_len, 1)
        kpos = torch.arange(K).view(1, K)
        visible = (kpos <= qpos).view(1, 1, q_len, K) & attention_mask.bool().view(B, 1, 1, K)
        mask = torch.zeros(B, 1, q_len, K, dtype=torch.float32)
        return mask.masked_fill_(~visible, NEG)

    def forward(self, inputs_embeds, attention_mask=None, past=None, last_only=False):
        """inputs_embeds [B, T, H]; attention_mask [B, past_len+T] (1 real, 0 pad) or None;
        past: list of per-layer (k, v) or None. Returns (logits [B, T or 1, V], present)."""
        B, T, _ = inputs_embeds.shape
        past_len = 0 if past is None else past[0][0].shape[-2]
        if attention_mask is None:
            attention_mask = torch.ones(B, past_len + T, dtype=torch.int64)
        mask = self.additive_mask(attention_mask, T, past_len)
        h, present = getattr(self, "_forward_" + ("llama" if self.arch == "qwen2" else self.arch))(
            inputs_embeds, attention_mask, mask, past, past_len)
        if last_only:
            h = h[:, -1:, :]
        return F.linear(h, self.lm_head), present

    def _forward_gpt2(self, x, attention_mask, mask, past, past_len):
        B, T, H = x.shape
        if past_len + T > self.n_positions:
            raise ValueError(f"sequence of {past_len + T} exceeds GPT-2 n_positions {self.n_positions}")
        pos = torch.arange(past_len, past_len + T)
        h = x + F.embedding(pos, self.wpe).unsqueeze(0)
        nh, hd = self.n_head, self.head_dim
        present = []
        for i, L in enumerate(self.layers):
            a = F.layer_norm(h, (H,), L["ln_1.weight"], L["ln_1.bias"], self.eps)
            qkv = torch.addmm(L["attn.c_attn.bias"], a.view(-1, H), L["attn.c_attn.weight"]).view(B, T, 3 * H)
            q, k, v = qkv.split(H, dim=2)
            q = q.view(B, T, nh, hd).transpose(1, 2)
            k = k.view(B, T, nh, hd).transpose(1, 2)
            v = v.view(B, T, nh, hd).transpose(1, 2)
            if past is not None:
                k = torch.cat((past[i][0], k), dim=-2)
                v = torch.cat((past[i][1], v), dim=-2)
            present.append((k, v))
            s = torch.matmul(q, k.transpose(-1, -2))
            if self.scale_attn:
                s = s / torch.full([], v.size(-1) ** 0.5, dtype=s.dtype)
            if self.scale_by_layer:
                s = s / float(i + 1)
            p = torch.softmax(s + mask, dim=-1)
            o = torch.matmul(p, v).transpose(1, 2).contiguous().view(B, T, H)
            o = torch.addmm(L["attn.c_proj.bias"], o.view(-1, H), L["attn.c_proj.weight"]).view(B, T, H)
            h = h + o
            m = F.layer_norm(h, (H,), L["ln_2.weight"], L["ln_2.bias"], self.eps)
            m = torch.addmm(L["mlp.c_fc.bias"], m.view(-1, H), L["mlp.c_fc.weight"])
            m = self.act(m)
            m = torch.addmm(L["mlp.c_proj.bias"], m, L["mlp.c_proj.weight"]).view(B, T, H)
            h = h + m
        return F.layer_norm(h, (H,), self.ln_f[0], self.ln_f[1], self.eps), present

    def _forward_bloom(self, x, attention_mask, mask, past, past_len):
        B, T, H = x.shape
        nh, hd = self.n_head, self.head_dim
        K = past_len + T
        h = F.layer_norm(x, (H,), self.emb_ln[0], self.emb_ln[1], self.eps)
        # HF build_alibi_tensor: slope * key position, positions from the attention mask's cumsum
        am = attention_mask.to(torch.float32)
        arange = ((am.cumsum(dim=-1) - 1) * am)[:, None, :]
        alibi = (self.slopes[None, :, None] * arange).reshape(B * nh, 1, K)
        inv_norm = 1.0 / math.sqrt(hd)
        present = []
        for i, L in enumerate(self.layers):
            ln = F.layer_norm(h, (H,), L["input_layernorm.weight"], L["input_layernorm.bias"], self.eps)
            residual = ln if self.post_ln_residual else h
            fused = F.linear(ln, L["self_attention.query_key_value.weight"], L["self_attention.query_key_value.bias"])
            fused = fused.view(B, T, nh, 3, hd)
            q = fused[..., 0, :].transpose(1, 2).reshape(B * nh, T, hd)
            k = fused[..., 1, :].transpose(1, 2).reshape(B * nh, T, hd)
            v = fused[..., 2, :].transpose(1, 2).reshape(B * nh, T, hd)
            if past is not None:
                k = torch.cat((past[i][0], k), dim=1)
                v = torch.cat((past[i][1], v), dim=1)
            present.append((k, v))
            s = alibi.baddbmm(batch1=q, batch2=k.transpose(1, 2), beta=1.0, alpha=inv_norm)
            s = s.view(B, nh, T, K) + mask
            p = torch.softmax(s, dim=-1, dtype=torch.float32).view(B * nh, T, K)
            ctx = torch.bmm(p, v).view(B, nh, T, hd).permute(0, 2, 1, 3).reshape(B, T, H)
            a = F.linear(ctx, L["self_attention.dense.weight"], L["self_attention.dense.bias"]) + residual
            ln2 = F.layer_norm(a, (H,), L["post_attention_layernorm.weight"], L["post_attention_layernorm.bias"], self.eps)
            residual = ln2 if self.post_ln_residual else a
            m = F.linear(ln2, L["mlp.dense_h_to_4h.weight"], L["mlp.dense_h_to_4h.bias"])
            m = bloom_gelu(m)
            h = F.linear(m, L["mlp.dense_4h_to_h.weight"], L["mlp.dense_4h_to_h.bias"]) + residual
        return F.layer_norm(h, (H,), self.ln_f[0], self.ln_f[1], self.eps), present

    def _rms(self, x, w):
        var = x.pow(2).mean(-1, keepdim=True)
        return w * (x * torch.rsqrt(var + self.eps))

    @staticmethod
    def _rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def _forward_llama(self, x, attention_mask, mask, past, past_len):
        B, T, H = x.shape
        nh, nkv, hd = self.n_head, self.n_kv, self.head_dim
        groups = nh // nkv
        pos = torch.arange(past_len, past_len + T, dtype=torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        scaling = hd ** -0.5
        h = x
        present = []
        for i, L in enumerate(self.layers):
            a = self._rms(h, L["input_layernorm.weight"])
            q = F.linear(a, L["self_attn.q_proj.weight"], L["self_attn.q_proj.bias"]).view(B, T, nh, hd).transpose(1, 2)
            k = F.linear(a, L["self_attn.k_proj.weight"], L["self_attn.k_proj.bias"]).view(B, T, nkv, hd).transpose(1, 2)
            v = F.linear(a, L["self_attn.v_proj.weight"], L["self_attn.v_proj.bias"]).view(B, T, nkv, hd).transpose(1, 2)
            q = q * cos + self._rotate_half(q) * sin
            k = k * cos + self._rotate_half(k) * sin
            if past is not None:
                k = torch.cat((past[i][0], k), dim=-2)
                v = torch.cat((past[i][1], v), dim=-2)
            present.append((k, v))
            S = k.shape[-2]
            if groups > 1:  # HF repeat_kv
                kr = k[:, :, None].expand(B, nkv, groups, S, hd).reshape(B, nh, S, hd)
                vr = v[:, :, None].expand(B, nkv, groups, S, hd).reshape(B, nh, S, hd)
            else:
                kr, vr = k, v
            s = torch.matmul(q, kr.transpose(2, 3)) * scaling + mask
            p = torch.softmax(s, dim=-1, dtype=torch.float32)
            o = torch.matmul(p, vr).transpose(1, 2).reshape(B, T, nh * hd)
            h = h + F.linear(o, L["self_attn.o_proj.weight"], L["self_attn.o_proj.bias"])
            m = self._rms(h, L["post_attention_layernorm.weight"])
            g = F.linear(m, L["mlp.gate_proj.weight"], L["mlp.gate_proj.bias"])
            u = F.linear(m, L["mlp.up_proj.weight"], L["mlp.up_proj.bias"])
            h = h + F.linear(F.silu(g) * u, L["mlp.down_proj.weight"], L["mlp.down_proj.bias"])
        return self._rms(h, self.norm), present


# ---- PEFT prompt tuning + Trainer-style step -------------------------------------------------------

def causal_lm_loss(logits, labels, style="hf"):
    """HF ForCausalLMLoss (labels padded with -100 and shifted; mean over counted targets).
    style 'slice' is the older logits[:, :-1] vs labels[:, 1:] form (same value)."""
    V = logits.shape[-1]
    if style == "slice":
        return F.cross_entropy(logits[:, :-1, :].contiguous().view(-1, V), labels[:, 1:].contiguous().view(-1),
                               ignore_index=-100)
    shift = F.pad(labels, (0, 1), value=-100)[:, 1:].contiguous()
    return F.cross_entropy(logits.float().view(-1, V), shift.view(-1), ignore_index=-100, reduction="mean")


def peft_forward(model, prompt, input_ids, attention_mask, labels, loss_style="hf"):
    """PEFT PromptTuning for CAUSAL_LM: prepend the prompt to the word embeddings, ones to the
    mask, -100s to the labels; full logits; loss."""
    B = input_ids.shape[0]
    nv = prompt.shape[0]
    emb = model.embed(input_ids)
    if nv:
        emb = torch.cat((prompt.unsqueeze(0).expand(B, nv, prompt.shape[1]), emb), dim=1)
        attention_mask = torch.cat((torch.ones(B, nv, dtype=attention_mask.dtype), attention_mask), dim=1)
        if labels is not None:
            labels = torch.cat((torch.full((B, nv), -100, dtype=labels.dtype), labels), dim=1)
    logits, _ = model.forward(emb, attention_mask)
    return logits, labels


def train_step(model, prompt, opt, batch, max_grad_norm=0.0, loss_style="hf", times=None, lr=None):
    """forward + loss + backward (+ clip) + AdamW step + zero_grad. Returns (loss, grad_norm)."""
    ids, mask, labels = batch
    t0 = time.perf_counter()
    logits, full_labels = peft_forward(model, prompt, ids, mask, labels, loss_style)
    t1 = time.perf_counter()
    loss = causal_lm_loss(logits, full_labels, loss_style)
    t2 = time.perf_counter()
    loss.backward()
    t3 = time.perf_counter()
    gnorm = None
    if max_grad_norm and max_grad_norm > 0:
        gnorm = float(torch.nn.utils.clip_grad_norm_([prompt], max_grad_norm))
    if lr is not None:
        for g in opt.param_groups:
            g["lr"] = lr
    opt.step()
    opt.zero_grad(set_to_none=True)
    t4 = time.perf_counter()
    if times is not None:
        times.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3))
    return float(loss.detach()), gnorm


def pad_batch(seqs, pad_id=0):
    """Right padding as a padding collator does: ids (pad_id), attention_mask (0), labels (-100)."""
    T = max(len(s) for s in seqs)
    B = len(seqs)
    ids = torch.full((B, T), pad_id, dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = s
        mask[b, :len(s)] = 1
    labels = ids.masked_fill(mask == 0, -100)
    return ids, mask, labels


# ---- measurements ----------------------------------------------------------------------------------

def current_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def model_info(model, model_dir):
    return {"arch": model.arch, "dir": os.path.abspath(model_dir), "params": model.params,
            "weight_bytes": model.weight_bytes, "disk_dtypes": sorted(model.disk_dtypes),
            "hidden": model.hidden, "layers": model.n_layer, "heads": model.n_head, "kv_heads": model.n_kv,
            "vocab": model.vocab}


def load_prompt_adapter(path):
    f = path if path.endswith(".safetensors") else os.path.join(path, "adapter_model.safetensors")
    t, _ = read_safetensors(f)
    for k in ("prompt_embeddings", "base_model.prompt_encoder.default.embedding.weight"):
        if k in t:
            return t[k].float()
    if len(t) == 1:
        return next(iter(t.values())).float()
    raise ValueError(f"{f}: no prompt_embeddings tensor")


def run_train(args):
    lengths = args.lengths
    rss_before = current_rss_mib()
    model = CausalLM(args.model)
    rss_load = current_rss_mib()
    log(f"loaded {model.arch} ({model.params} params), RSS {rss_load:.1f} MiB")
    H = model.hidden
    gen = torch.Generator().manual_seed(args.seed)
    if args.adapter:
        init = load_prompt_adapter(args.adapter)
        if init.shape != (args.virtual, H):
            raise UsageError(f"--adapter prompt has shape {tuple(init.shape)}, expected ({args.virtual}, {H})")
    else:
        init = torch.randn(args.virtual, H, generator=gen) * 0.02
    prompt = torch.nn.Parameter(init.clone())
    opt = torch.optim.AdamW([prompt], lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    if model.arch == "gpt2" and args.virtual + max(lengths) > model.n_positions:
        raise UsageError(f"virtual + longest length = {args.virtual + max(lengths)} exceeds n_positions {model.n_positions}")

    def make_batch():
        seqs = [torch.randint(0, model.vocab, (n,), generator=gen) for n in lengths]
        return pad_batch(seqs, pad_id=0)

    for k in range(args.warmup):
        loss, _ = train_step(model, prompt, opt, make_batch(), args.max_grad_norm, args.loss_style)
        log(f"warm-up step {k + 1}/{args.warmup}: loss {loss:.4f}")
    step_s, losses, phases = [], [], []
    for k in range(args.steps):
        batch = make_batch()
        t0 = time.perf_counter()
        loss, _ = train_step(model, prompt, opt, batch, args.max_grad_norm, args.loss_style, times=phases)
        dt = time.perf_counter() - t0
        step_s.append(dt)
        losses.append(loss)
        log(f"step {k + 1}/{args.steps}: {dt:.4f} s, loss {loss:.4f}")
    med = median(step_s)
    real = int(sum(lengths))
    names = ("forward", "loss", "backward", "optimizer")
    return {
        "system": "pytorch", "torch_version": torch.__version__, "threads": args.threads, "mode": "train",
        "model": model_info(model, args.model), "virtual": args.virtual, "lengths": lengths,
        "batch": len(lengths), "real_tokens": real, "padded_rows": len(lengths) * (args.virtual + max(lengths)),
        "lr": args.lr, "max_grad_norm": args.max_grad_norm, "loss_style": args.loss_style,
        "warmup": args.warmup, "steps": args.steps,
        "step_s": step_s, "median_step_s": med, "tokens_per_s": real / med if med > 0 else None,
        "phases_median_s": {n: median([p[i] for p in phases]) for i, n in enumerate(names)},
        "losses": losses, "rss_before_load_mib": rss_before, "rss_after_load_mib": rss_load, "peak_rss_mib": peak_rss_mib(),
    }


def greedy_generate(model, prompt, ids, new_tokens, prefill_last_only=True, keep_logits=False):
    """HF generate-style greedy decoding with a KV cache. Returns dict with tokens, timings and
    (optionally) the logits of every step."""
    B = ids.shape[0]
    step_logits = []
    with torch.no_grad():
        t0 = time.perf_counter()
        emb = model.embed(ids)
        if prompt is not None and prompt.shape[0]:
            emb = torch.cat((prompt.unsqueeze(0).expand(B, *prompt.shape), emb), dim=1)
        S = emb.shape[1]
        mask = torch.ones(B, S, dtype=torch.int64)
        logits, past = model.forward(emb, mask, None, last_only=prefill_last_only)
        last = logits[:, -1, :]
        tok = last.argmax(dim=-1)
        t1 = time.perf_counter()
        if keep_logits:
            step_logits.append(last.clone())
        out = [tok]
        for _ in range(new_tokens - 1):
            mask = torch.cat((mask, torch.ones(B, 1, dtype=torch.int64)), dim=1)
            logits, past = model.forward(model.embed(tok[:, None]), mask, past, last_only=True)
            last = logits[:, -1, :]
            tok = last.argmax(dim=-1)
            if keep_logits:
                step_logits.append(last.clone())
            out.append(tok)
        t2 = time.perf_counter()
    return {"tokens": torch.stack(out, dim=1), "prefill_s": t1 - t0, "decode_s": t2 - t1, "logits": step_logits}


def nocache_check(model, prompt, ids, res):
    """Full no-cache forward over [prompt, ids, generated[:-1]]; compares every decoding step's
    logits with the corresponding position. Returns (max abs diff, last-step max abs diff, argmax agree)."""
    gen = res["tokens"]
    seq = torch.cat((ids, gen[:, :-1]), dim=1)
    with torch.no_grad():
        emb = model.embed(seq)
        if prompt is not None and prompt.shape[0]:
            emb = torch.cat((prompt.unsqueeze(0).expand(seq.shape[0], *prompt.shape), emb), dim=1)
        full, _ = model.forward(emb, None, None)
    n = gen.shape[1]
    ref = full[:, -n:, :]
    got = torch.stack(res["logits"], dim=1)
    diff = (ref - got).abs()
    agree = bool((ref.argmax(-1) == gen).all())
    return float(diff.max()), float(diff[:, -1].max()), agree


def run_generate(args):
    rss_before = current_rss_mib()
    model = CausalLM(args.model)
    rss_load = current_rss_mib()
    log(f"loaded {model.arch} ({model.params} params), RSS {rss_load:.1f} MiB")
    gen = torch.Generator().manual_seed(args.seed)
    prompt = None
    if args.adapter:
        prompt = load_prompt_adapter(args.adapter)
        if args.virtual and prompt.shape[0] != args.virtual:
            raise UsageError(f"--adapter has {prompt.shape[0]} virtual tokens, --virtual says {args.virtual}")
        args.virtual = prompt.shape[0]
    elif args.virtual:
        prompt = torch.randn(args.virtual, model.hidden, generator=gen) * 0.02
    total_len = args.virtual + args.prompt_len + args.new_tokens
    if model.arch == "gpt2" and total_len > model.n_positions:
        raise UsageError(f"virtual + prompt-len + new-tokens = {total_len} exceeds n_positions {model.n_positions}")
    ids = torch.randint(0, model.vocab, (args.batch, args.prompt_len), generator=gen)
    for _ in range(args.warmup):
        greedy_generate(model, prompt, ids, min(args.new_tokens, 2), args.prefill_logits == "last")
    res = greedy_generate(model, prompt, ids, args.new_tokens, args.prefill_logits == "last", keep_logits=args.check)
    decoded = args.new_tokens - 1
    out = {
        "system": "pytorch", "torch_version": torch.__version__, "threads": args.threads, "mode": "generate",
        "model": model_info(model, args.model), "virtual": args.virtual, "batch": args.batch,
        "prompt_len": args.prompt_len, "new_tokens": args.new_tokens, "prefill_logits": args.prefill_logits,
        "prefill_s": res["prefill_s"], "ttft_s": res["prefill_s"], "decode_s": res["decode_s"],
        "decode_steps": decoded,
        "prefill_tokens_per_s": args.batch * (args.virtual + args.prompt_len) / res["prefill_s"],
        "decode_tokens_per_s": (args.batch * decoded / res["decode_s"]) if decoded > 0 and res["decode_s"] > 0 else None,
        "tokens_per_s": args.batch * args.new_tokens / (res["prefill_s"] + res["decode_s"]),
        "generated_ids": res["tokens"].tolist() if args.batch * args.new_tokens <= 4096 else None,
        "rss_before_load_mib": rss_before, "rss_after_load_mib": rss_load, "peak_rss_mib": peak_rss_mib(),
    }
    if args.check:
        d_all, d_last, agree = nocache_check(model, prompt, ids, res)
        out["check"] = {"kv_cache_vs_full_max_abs_diff_last_step": d_last,
                        "kv_cache_vs_full_max_abs_diff_all_steps": d_all, "argmax_agrees": agree,
                        "ok": d_all <= 1e-4 and agree}
        log(f"KV-cache check: last-step max |diff| {d_last:.3g}, all steps {d_all:.3g}, argmax agrees {agree}")
    return out


# ---- check mode: numerical fixtures ----------------------------------------------------------------

TOL = {"logits": 1e-4, "loss": 1e-5, "grad": 1e-5, "traj": 1e-5}


def _maxabs(a, b):
    return float((a.double() - b.double()).abs().max())


def check_case(model, case_dir, case):
    t, _ = read_safetensors(os.path.join(case_dir, case["file"]))
    kind = case["kind"]
    r = {"kind": kind}
    if kind == "forward":
        ids = t["input_ids"].view(1, -1)
        with torch.no_grad():
            logits, _ = model.forward(model.embed(ids), None)
        r["logits_vs_f64"] = _maxabs(logits[0], t["logits_f64"])
        r["logits_vs_f32"] = _maxabs(logits[0], t["logits"])
        r["ok"] = r["logits_vs_f64"] <= TOL["logits"]
    elif kind in ("prompt", "prompt_batch"):
        prompt = torch.nn.Parameter(t["prompt_embeddings"].float().clone())
        ids, labels = t["input_ids"], t["labels"]
        if ids.dim() == 1:
            ids, labels = ids.view(1, -1), labels.view(1, -1)
        mask = t["attention_mask"] if "attention_mask" in t else torch.ones_like(ids)
        logits, full_labels = peft_forward(model, prompt, ids, mask, labels)
        loss = causal_lm_loss(logits, full_labels)
        loss.backward()
        r["loss_vs_f64"] = abs(float(loss) - float(t["loss_f64"].view(-1)[0]))
        r["grad_vs_f64"] = _maxabs(prompt.grad, t["grad_f64"])
        if kind == "prompt":
            r["logits_vs_f64"] = _maxabs(logits[0].detach(), t["logits_f64"])
            sl = F.pad(full_labels, (0, 1), value=-100)[:, 1:]
            r["n_targets_ok"] = int((sl != -100).sum()) == int(t["n_targets"].view(-1)[0])
        else:
            nv = prompt.shape[0]
            full_mask = torch.cat((torch.ones(ids.shape[0], nv, dtype=torch.bool), mask.bool()), dim=1)
            r["logits_vs_f32"] = float((logits.detach() - t["logits"]).abs()[full_mask].max())
            sl = F.pad(full_labels, (0, 1), value=-100)[:, 1:]
            nll = F.cross_entropy(logits.detach().transpose(1, 2), sl, ignore_index=-100, reduction="none").sum(1)
            r["seq_nll_sum_vs_f64"] = _maxabs(nll, t["seq_nll_sum_f64"])
            r["n_targets_ok"] = bool(((sl != -100).sum(1) == t["seq_n_targets"]).all())
        r["ok"] = (r["loss_vs_f64"] <= TOL["loss"] and r["grad_vs_f64"] <= TOL["grad"] and r["n_targets_ok"]
                   and r.get("logits_vs_f64", r.get("logits_vs_f32", 0.0)) <= TOL["logits"]
                   and r.get("seq_nll_sum_vs_f64", 0.0) <= 1e-4)
    elif kind == "train":
        o = case["optimizer"]
        prompt = torch.nn.Parameter(t["prompt_init"].float().clone())
        opt = torch.optim.AdamW([prompt], lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
                                weight_decay=o["weight_decay"], amsgrad=o.get("amsgrad", False))
        steps = case["steps"]
        losses, gnorms = [], []
        for k in range(steps):
            lr_k = o["lr"] * (1.0 - k / steps)
            batch = (t["input_ids"][k], t["attention_mask"][k], t["labels"][k])
            loss, gn = train_step(model, prompt, opt, batch, o.get("max_grad_norm") or 0.0, lr=lr_k)
            losses.append(loss)
            gnorms.append(gn)
        st = opt.state[prompt]
        r["lr_schedule_vs_file"] = max(abs(o["lr"] * (1.0 - k / steps) - float(t["lr"][k])) for k in range(steps))
        r["losses_vs_f64"] = _maxabs(torch.tensor(losses, dtype=torch.float64), t["loss_f64"])
        r["prompt_final_vs_f64"] = _maxabs(prompt.detach(), t["prompt_final_f64"])
        r["exp_avg_vs_f64"] = _maxabs(st["exp_avg"], t["exp_avg_final_f64"])
        r["exp_avg_sq_vs_f64"] = _maxabs(st["exp_avg_sq"], t["exp_avg_sq_final_f64"])
        if o.get("max_grad_norm"):
            r["grad_norm_vs_f64"] = _maxabs(torch.tensor(gnorms, dtype=torch.float64), t["grad_norm_f64"])
        r["ok"] = (r["losses_vs_f64"] <= TOL["loss"] and r["prompt_final_vs_f64"] <= TOL["traj"]
                   and r["exp_avg_vs_f64"] <= TOL["traj"] and r["exp_avg_sq_vs_f64"] <= TOL["traj"]
                   and r.get("grad_norm_vs_f64", 0.0) <= 1e-5 and r["lr_schedule_vs_file"] < 1e-12)
    else:
        r["skipped"] = f"unknown case kind {kind!r}"
        r["ok"] = True
    return r


def check_fixture(case_dir):
    with open(os.path.join(case_dir, "manifest.json")) as f:
        m = json.load(f)
    res = {"fixture": m.get("model", os.path.basename(case_dir))}
    rel = m.get("model_dir_relative_to_manifest")
    if not rel:
        res["skipped"] = "GGUF-only model (%s); this comparator reads HF safetensors directories" % (
            m.get("model_file_relative_to_manifest"),)
        res["ok"] = True
        return res
    model = CausalLM(os.path.normpath(os.path.join(case_dir, rel)))
    res["arch"] = model.arch
    res["cases"] = {}
    for case in m["cases"]:
        res["cases"][case["name"]] = check_case(model, case_dir, case)
    pa = m.get("peft_adapter")
    if pa:
        adapter = load_prompt_adapter(os.path.join(case_dir, pa["dir"]))
        ref = read_safetensors(os.path.join(case_dir, "prompt_single.safetensors"))[0]["prompt_embeddings"]
        d = _maxabs(adapter, ref)
        res["cases"]["peft_adapter"] = {"vs_prompt_single": d, "ok": d == 0.0}
    res["ok"] = all(c["ok"] for c in res["cases"].values())
    return res


def check_golden(model_dir, golden_path):
    """Golden greedy ids / last-position logits (e.g. shared/models/aidreams260K-golden.json)."""
    with open(golden_path) as f:
        g = json.load(f)
    model = CausalLM(model_dir)
    r = {"golden": os.path.basename(golden_path), "arch": model.arch}
    gg = g.get("greedy_from_bos_40")
    if gg:
        ids = gg["ids"]
        prefix = torch.tensor([ids[:1]])
        res = greedy_generate(model, None, prefix, len(ids) - 1, keep_logits=True)
        got = [ids[0]] + res["tokens"][0].tolist()
        r["greedy_ids_match"] = got == ids
        d_all, d_last, agree = nocache_check(model, None, prefix, res)
        r["kv_cache_vs_full_max_abs_diff"] = d_all
    dmax = 0.0
    for seq in g.get("logits", []):
        ids = torch.tensor([seq["ids"]])
        with torch.no_grad():
            logits, _ = model.forward(model.embed(ids), None)
        dmax = max(dmax, _maxabs(logits[0, -1], torch.tensor(seq["last_position_logits"])))
        if "argmax_per_position" in seq:
            r.setdefault("argmax_match", True)
            r["argmax_match"] &= logits[0].argmax(-1).tolist() == seq["argmax_per_position"]
    r["last_position_logits_max_abs_diff"] = dmax
    r["ok"] = r.get("greedy_ids_match", True) and r.get("argmax_match", True) and dmax <= 1e-4 \
        and r.get("kv_cache_vs_full_max_abs_diff", 0.0) <= 1e-4
    return r


def run_check(args):
    out = {"system": "pytorch", "torch_version": torch.__version__, "threads": args.threads, "mode": "check",
           "tolerances": TOL, "fixtures": []}
    if args.fixture:
        root = args.fixture
        if os.path.exists(os.path.join(root, "manifest.json")):
            dirs = [root]
        else:
            dirs = sorted(os.path.join(root, d) for d in os.listdir(root)
                          if os.path.exists(os.path.join(root, d, "manifest.json")))
            if not dirs:
                raise UsageError(f"--fixture {root}: no manifest.json in it or in its subdirectories")
        for d in dirs:
            r = check_fixture(d)
            out["fixtures"].append(r)
            if "skipped" in r:
                log(f"{r['fixture']}: skipped ({r['skipped']})")
            else:
                worst = {}
                for c in r["cases"].values():
                    for k, v in c.items():
                        if isinstance(v, float):
                            worst[k] = max(worst.get(k, 0.0), v)
                log(f"{r['fixture']}: {'ok' if r['ok'] else 'FAIL'} " +
                    " ".join(f"{k}={v:.2g}" for k, v in sorted(worst.items())))
    if args.golden:
        if not args.model:
            raise UsageError("--golden needs --model (the HF directory the golden file belongs to)")
        r = check_golden(args.model, args.golden)
        out["golden"] = r
        log(f"golden {r['golden']}: {'ok' if r['ok'] else 'FAIL'} {r}")
    out["ok"] = all(r["ok"] for r in out["fixtures"]) and out.get("golden", {"ok": True})["ok"]
    return out


# ---- command line ------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="torch_ref.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", required=True, choices=("train", "generate", "check"))
    p.add_argument("--model", help="HF directory (config.json + model.safetensors[.index.json])")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--virtual", type=int, default=None, help="virtual tokens (train: required; generate: default 0)")
    p.add_argument("--adapter", help="PEFT prompt adapter dir or .safetensors to use as the prompt")
    # train
    p.add_argument("--lengths", help="comma-separated real lengths, one per sequence of the batch")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--max-grad-norm", type=float, default=0.0,
                   help="clip the prompt gradient norm first (HF Trainer default is 1.0; 0 = off)")
    p.add_argument("--loss-style", choices=("hf", "slice"), default="hf",
                   help="hf: labels padded and shifted (ForCausalLMLoss); slice: logits[:, :-1] vs labels[:, 1:]")
    # generate
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt-len", type=int)
    p.add_argument("--new-tokens", type=int)
    p.add_argument("--prefill-logits", choices=("last", "all"), default="last",
                   help="logits computed in the prefill (HF generate keeps only the last position)")
    p.add_argument("--check", action="store_true", help="generate: compare cached decoding with a no-cache forward")
    # check
    p.add_argument("--fixture", help="check: a fixture dir (with manifest.json) or the fixtures root")
    p.add_argument("--golden", help="check: golden greedy/logits JSON for --model")
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error("--threads must be >= 1")
    if a.mode in ("train", "generate") and not a.model:
        p.error(f"--mode {a.mode} needs --model")
    if a.model and not os.path.exists(os.path.join(a.model, "config.json")):
        p.error(f"--model {a.model}: no config.json there")
    if a.mode == "train":
        if a.virtual is None:
            p.error("--mode train needs --virtual")
        if not a.lengths:
            p.error("--mode train needs --lengths")
        try:
            a.lengths = [int(x) for x in a.lengths.split(",") if x.strip()]
        except ValueError:
            p.error(f"--lengths {a.lengths!r}: expected comma-separated integers")
        if not a.lengths or min(a.lengths) < 1:
            p.error("--lengths: need at least one length, all >= 1")
        if a.virtual < 0 or a.steps < 1 or a.warmup < 0 or not (a.lr > 0):
            p.error("need --virtual >= 0, --steps >= 1, --warmup >= 0, --lr > 0")
        if a.virtual + max(a.lengths) < 2:
            p.error("need at least two positions per row for a causal LM loss")
    if a.mode == "generate":
        if a.virtual is None:
            a.virtual = 0
        if a.prompt_len is None or a.new_tokens is None:
            p.error("--mode generate needs --prompt-len and --new-tokens")
        if a.batch < 1 or a.prompt_len < 1 or a.new_tokens < 1 or a.virtual < 0 or a.warmup < 0:
            p.error("need --batch >= 1, --prompt-len >= 1, --new-tokens >= 1, --virtual >= 0")
    if a.mode == "check" and not (a.fixture or a.golden):
        p.error("--mode check needs --fixture and/or --golden (with --model)")
    return a


def main(argv):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    try:
        if args.mode == "train":
            out = run_train(args)
        elif args.mode == "generate":
            out = run_generate(args)
        else:
            out = run_check(args)
    except UsageError as e:
        print(f"torch_ref: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, OSError, KeyError) as e:
        print(f"torch_ref: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    sys.stdout.flush()
    if args.mode == "check" and not out["ok"]:
        return 1
    if args.mode == "generate" and args.check and not out["check"]["ok"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
