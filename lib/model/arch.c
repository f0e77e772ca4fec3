/* The architecture table: block recipes, HF config keys and the tensor bindings of each
 * supported family for HF safetensors and GGUF files. Adding a family means adding data here. */
#include "model/arch.h"

#include <string.h>

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define END {PT_SLOT_COUNT, PT_PART_ALL, PT_NEED_ALWAYS, NULL, PT_XF_NONE}

/* ---- Llama family (Llama, Mistral, TinyLlama, SmolLM, Llama 3) and Qwen2 ---------------- */
#define LLAMA_HF_COMMON(QK_BIAS_NEED)                                                        \
    {PT_SLOT_TOK_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "embed_tokens.weight", PT_XF_NONE},     \
    {PT_SLOT_OUT_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "norm.weight", PT_XF_NONE},           \
    {PT_SLOT_OUTPUT, PT_PART_ALL, PT_NEED_IF_UNTIED, "lm_head.weight", PT_XF_NONE},         \
    {PT_SLOT_ATTN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "layers.%d.input_layernorm.weight", PT_XF_NONE}, \
    {PT_SLOT_QKV, PT_PART_Q, PT_NEED_ALWAYS, "layers.%d.self_attn.q_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_QKV, PT_PART_K, PT_NEED_ALWAYS, "layers.%d.self_attn.k_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_QKV, PT_PART_V, PT_NEED_ALWAYS, "layers.%d.self_attn.v_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_QKV_B, PT_PART_Q, QK_BIAS_NEED, "layers.%d.self_attn.q_proj.bias", PT_XF_NONE}, \
    {PT_SLOT_QKV_B, PT_PART_K, QK_BIAS_NEED, "layers.%d.self_attn.k_proj.bias", PT_XF_NONE}, \
    {PT_SLOT_QKV_B, PT_PART_V, QK_BIAS_NEED, "layers.%d.self_attn.v_proj.bias", PT_XF_NONE}, \
    {PT_SLOT_ATTN_OUT, PT_PART_ALL, PT_NEED_ALWAYS, "layers.%d.self_attn.o_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "layers.%d.post_attention_layernorm.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_UP, PT_PART_GATE, PT_NEED_ALWAYS, "layers.%d.mlp.gate_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_UP, PT_PART_UP, PT_NEED_ALWAYS, "layers.%d.mlp.up_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_UP_B, PT_PART_GATE, PT_NEED_IF_MLP_BIAS, "layers.%d.mlp.gate_proj.bias", PT_XF_NONE}, \
    {PT_SLOT_FFN_UP_B, PT_PART_UP, PT_NEED_IF_MLP_BIAS, "layers.%d.mlp.up_proj.bias", PT_XF_NONE}, \
    {PT_SLOT_FFN_DOWN, PT_PART_ALL, PT_NEED_ALWAYS, "layers.%d.mlp.down_proj.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_DOWN_B, PT_PART_ALL, PT_NEED_IF_MLP_BIAS, "layers.%d.mlp.down_proj.bias", PT_XF_NONE}

static const pt_binding llama_hf[] = {
    LLAMA_HF_COMMON(PT_NEED_IF_ATTN_BIAS),
    {PT_SLOT_ATTN_OUT_B, PT_PART_ALL, PT_NEED_IF_ATTN_BIAS, "layers.%d.self_attn.o_proj.bias", PT_XF_NONE},
    END,
};

static const pt_binding qwen2_hf[] = {
    LLAMA_HF_COMMON(PT_NEED_IF_ATTN_BIAS),
    END,
};

/* GGUF llama stores q/k in adjacent-pair RoPE order; qwen2 keeps HF's rotate_half order. */
#define LLAMA_GGUF_COMMON(QK_XF, QKV_BIAS_NEED)                                              \
    {PT_SLOT_TOK_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "token_embd.weight", PT_XF_NONE},       \
    {PT_SLOT_OUT_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "output_norm.weight", PT_XF_NONE},    \
    {PT_SLOT_OUTPUT, PT_PART_ALL, PT_NEED_OPTIONAL, "output.weight", PT_XF_NONE},           \
    {PT_SLOT_ATTN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_norm.weight", PT_XF_NONE}, \
    {PT_SLOT_QKV, PT_PART_Q, PT_NEED_ALWAYS, "blk.%d.attn_q.weight", QK_XF},                \
    {PT_SLOT_QKV, PT_PART_K, PT_NEED_ALWAYS, "blk.%d.attn_k.weight", QK_XF},                \
    {PT_SLOT_QKV, PT_PART_V, PT_NEED_ALWAYS, "blk.%d.attn_v.weight", PT_XF_NONE},           \
    {PT_SLOT_QKV_B, PT_PART_Q, QKV_BIAS_NEED, "blk.%d.attn_q.bias", QK_XF},                 \
    {PT_SLOT_QKV_B, PT_PART_K, QKV_BIAS_NEED, "blk.%d.attn_k.bias", QK_XF},                 \
    {PT_SLOT_QKV_B, PT_PART_V, QKV_BIAS_NEED, "blk.%d.attn_v.bias", PT_XF_NONE},            \
    {PT_SLOT_ATTN_OUT, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_output.weight", PT_XF_NONE}, \
    {PT_SLOT_ATTN_OUT_B, PT_PART_ALL, PT_NEED_OPTIONAL, "blk.%d.attn_output.bias", PT_XF_NONE}, \
    {PT_SLOT_FFN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_norm.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_UP, PT_PART_GATE, PT_NEED_ALWAYS, "blk.%d.ffn_gate.weight", PT_XF_NONE},   \
    {PT_SLOT_FFN_UP, PT_PART_UP, PT_NEED_ALWAYS, "blk.%d.ffn_up.weight", PT_XF_NONE},       \
    {PT_SLOT_FFN_DOWN, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_down.weight", PT_XF_NONE},  \
    END

static const pt_binding llama_gguf[] = {LLAMA_GGUF_COMMON(PT_XF_ROPE_INTERLEAVED, PT_NEED_OPTIONAL)};
static const pt_binding qwen2_gguf[] = {LLAMA_GGUF_COMMON(PT_XF_NONE, PT_NEED_ALWAYS)};

/* ---- GPT-2 -------------------------------------------------------------------------------- */
static const pt_binding gpt2_hf[] = {
    {PT_SLOT_TOK_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "wte.weight", PT_XF_NONE},
    {PT_SLOT_POS_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "wpe.weight", PT_XF_NONE},
    {PT_SLOT_OUT_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "ln_f.weight", PT_XF_NONE},
    {PT_SLOT_OUT_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "ln_f.bias", PT_XF_NONE},
    {PT_SLOT_OUTPUT, PT_PART_ALL, PT_NEED_IF_UNTIED, "lm_head.weight", PT_XF_NONE},
    {PT_SLOT_ATTN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.ln_1.weight", PT_XF_NONE},
    {PT_SLOT_ATTN_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.ln_1.bias", PT_XF_NONE},
    {PT_SLOT_QKV, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.attn.c_attn.weight", PT_XF_TRANSPOSE},
    {PT_SLOT_QKV_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.attn.c_attn.bias", PT_XF_NONE},
    {PT_SLOT_ATTN_OUT, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.attn.c_proj.weight", PT_XF_TRANSPOSE},
    {PT_SLOT_ATTN_OUT_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.attn.c_proj.bias", PT_XF_NONE},
    {PT_SLOT_FFN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.ln_2.weight", PT_XF_NONE},
    {PT_SLOT_FFN_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.ln_2.bias", PT_XF_NONE},
    {PT_SLOT_FFN_UP, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.c_fc.weight", PT_XF_TRANSPOSE},
    {PT_SLOT_FFN_UP_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.c_fc.bias", PT_XF_NONE},
    {PT_SLOT_FFN_DOWN, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.c_proj.weight", PT_XF_TRANSPOSE},
    {PT_SLOT_FFN_DOWN_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.c_proj.bias", PT_XF_NONE},
    END,
};

/* GPT-2 and BLOOM GGUF files share names; BLOOM adds the embedding norm, GPT-2 positions. */
#define GGUF_LN_BLOCKS                                                                        \
    {PT_SLOT_TOK_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "token_embd.weight", PT_XF_NONE},       \
    {PT_SLOT_OUT_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "output_norm.weight", PT_XF_NONE},    \
    {PT_SLOT_OUT_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "output_norm.bias", PT_XF_NONE},      \
    {PT_SLOT_OUTPUT, PT_PART_ALL, PT_NEED_OPTIONAL, "output.weight", PT_XF_NONE},           \
    {PT_SLOT_ATTN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_norm.weight", PT_XF_NONE}, \
    {PT_SLOT_ATTN_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_norm.bias", PT_XF_NONE}, \
    {PT_SLOT_QKV, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_qkv.weight", PT_XF_NONE},       \
    {PT_SLOT_QKV_B, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_qkv.bias", PT_XF_NONE},       \
    {PT_SLOT_ATTN_OUT, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_output.weight", PT_XF_NONE}, \
    {PT_SLOT_ATTN_OUT_B, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.attn_output.bias", PT_XF_NONE}, \
    {PT_SLOT_FFN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_norm.weight", PT_XF_NONE}, \
    {PT_SLOT_FFN_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_norm.bias", PT_XF_NONE},  \
    {PT_SLOT_FFN_UP, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_up.weight", PT_XF_NONE},      \
    {PT_SLOT_FFN_UP_B, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_up.bias", PT_XF_NONE},      \
    {PT_SLOT_FFN_DOWN, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_down.weight", PT_XF_NONE},  \
    {PT_SLOT_FFN_DOWN_B, PT_PART_ALL, PT_NEED_ALWAYS, "blk.%d.ffn_down.bias", PT_XF_NONE}

static const pt_binding gpt2_gguf[] = {
    GGUF_LN_BLOCKS,
    {PT_SLOT_POS_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "position_embd.weight", PT_XF_NONE},
    END,
};

/* ---- BLOOM -------------------------------------------------------------------------------- */
static const pt_binding bloom_hf[] = {
    {PT_SLOT_TOK_EMBD, PT_PART_ALL, PT_NEED_ALWAYS, "word_embeddings.weight", PT_XF_NONE},
    {PT_SLOT_EMB_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "word_embeddings_layernorm.weight", PT_XF_NONE},
    {PT_SLOT_EMB_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "word_embeddings_layernorm.bias", PT_XF_NONE},
    {PT_SLOT_OUT_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "ln_f.weight", PT_XF_NONE},
    {PT_SLOT_OUT_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "ln_f.bias", PT_XF_NONE},
    {PT_SLOT_OUTPUT, PT_PART_ALL, PT_NEED_IF_UNTIED, "lm_head.weight", PT_XF_NONE},
    {PT_SLOT_ATTN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.input_layernorm.weight", PT_XF_NONE},
    {PT_SLOT_ATTN_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.input_layernorm.bias", PT_XF_NONE},
    {PT_SLOT_QKV, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.self_attention.query_key_value.weight", PT_XF_BLOOM_QKV},
    {PT_SLOT_QKV_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.self_attention.query_key_value.bias", PT_XF_BLOOM_QKV},
    {PT_SLOT_ATTN_OUT, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.self_attention.dense.weight", PT_XF_NONE},
    {PT_SLOT_ATTN_OUT_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.self_attention.dense.bias", PT_XF_NONE},
    {PT_SLOT_FFN_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.post_attention_layernorm.weight", PT_XF_NONE},
    {PT_SLOT_FFN_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.post_attention_layernorm.bias", PT_XF_NONE},
    {PT_SLOT_FFN_UP, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.dense_h_to_4h.weight", PT_XF_NONE},
    {PT_SLOT_FFN_UP_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.dense_h_to_4h.bias", PT_XF_NONE},
    {PT_SLOT_FFN_DOWN, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.dense_4h_to_h.weight", PT_XF_NONE},
    {PT_SLOT_FFN_DOWN_B, PT_PART_ALL, PT_NEED_ALWAYS, "h.%d.mlp.dense_4h_to_h.bias", PT_XF_NONE},
    END,
};

static const pt_binding bloom_gguf[] = {
    GGUF_LN_BLOCKS,
    {PT_SLOT_EMB_NORM_W, PT_PART_ALL, PT_NEED_ALWAYS, "token_embd_norm.weight", PT_XF_NONE},
    {PT_SLOT_EMB_NORM_B, PT_PART_ALL, PT_NEED_ALWAYS, "token_embd_norm.bias", PT_XF_NONE},
    END,
};

/* ---- The table ------------------------------------------------------------------------------ */
#define LLAMA_KEYS(EPS)                                                                       \
    {NAMES("hidden_size"), NAMES("num_hidden_layers"), NAMES("num_attention_heads"),          \
     NAMES("num_key_value_heads"), NAMES("intermediate_size"), NAMES("max_position_embeddings"), \
     NAMES("rms_norm_eps"), EPS}

static const pt_arch_desc archs[] = {
    {
        .arch = PTUNE_ARCH_LLAMA, .name = "llama",
        .hf_architectures = NAMES("LlamaForCausalLM", "MistralForCausalLM"),
        .hf_model_types = NAMES("llama", "mistral"),
        .norm = PT_NORM_RMSNORM, .pos = PT_POS_ROPE, .ffn = PT_FFN_SWIGLU,
        .tied_default = false, .attn_bias_default = false, .attn_bias_has_out = true,
        .hf_prefixes = NAMES("model.", ""),
        .hf_bindings = llama_hf, .gguf_bindings = llama_gguf,
        .hf_ignored = NAMES("rotary_emb.inv_freq"),
        .hf_keys = LLAMA_KEYS(1e-6f),
    },
    {
        .arch = PTUNE_ARCH_QWEN2, .name = "qwen2",
        .hf_architectures = NAMES("Qwen2ForCausalLM"),
        .hf_model_types = NAMES("qwen2"),
        .norm = PT_NORM_RMSNORM, .pos = PT_POS_ROPE, .ffn = PT_FFN_SWIGLU,
        .tied_default = false, .attn_bias_default = true, .attn_bias_has_out = false,
        .hf_prefixes = NAMES("model.", ""),
        .hf_bindings = qwen2_hf, .gguf_bindings = qwen2_gguf,
        .hf_ignored = NAMES("rotary_emb.inv_freq"),
        .hf_keys = LLAMA_KEYS(1e-6f),
    },
    {
        .arch = PTUNE_ARCH_GPT2, .name = "gpt2",
        .hf_architectures = NAMES("GPT2LMHeadModel"),
        .hf_model_types = NAMES("gpt2"),
        .norm = PT_NORM_LAYERNORM, .pos = PT_POS_LEARNED, .ffn = PT_FFN_GELU_TANH,
        .tied_default = true, .attn_bias_default = true,
        .hf_prefixes = NAMES("transformer.", ""),
        .hf_bindings = gpt2_hf, .gguf_bindings = gpt2_gguf,
        .hf_ignored = NAMES("attn.bias", "attn.masked_bias"),
        .hf_keys = {NAMES("n_embd", "hidden_size"), NAMES("n_layer", "num_hidden_layers"),
                    NAMES("n_head", "num_attention_heads"), NAMES("num_key_value_heads"),
                    NAMES("n_inner"), NAMES("n_positions", "max_position_embeddings"),
                    NAMES("layer_norm_epsilon"), 1e-5f},
    },
    {
        .arch = PTUNE_ARCH_BLOOM, .name = "bloom",
        .hf_architectures = NAMES("BloomForCausalLM"),
        .hf_model_types = NAMES("bloom"),
        .norm = PT_NORM_LAYERNORM, .pos = PT_POS_ALIBI, .ffn = PT_FFN_GELU_TANH,
        .emb_norm = true, .tied_default = true, .attn_bias_default = true,
        .hf_prefixes = NAMES("transformer.", ""),
        .hf_bindings = bloom_hf, .gguf_bindings = bloom_gguf,
        .hf_ignored = NAMES("self_attention.masked_bias"),
        .hf_keys = {NAMES("hidden_size", "n_embed", "n_embd"), NAMES("n_layer", "num_hidden_layers"),
                    NAMES("n_head", "num_attention_heads"), NAMES("num_key_value_heads"),
                    NAMES("intermediate_size"), NAMES("seq_length"),
                    NAMES("layer_norm_epsilon"), 1e-5f},
    },
};

#define N_ARCHS (sizeof archs / sizeof archs[0])

static bool in_list(const char *const *list, const char *s)
{
    if (!s) return false;
    for (; list && *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

const pt_arch_desc *pt_arch_by_gguf_name(const char *name)
{
    for (size_t i = 0; i < N_ARCHS; i++)
        if (name && !strcmp(archs[i].name, name)) return &archs[i];
    return NULL;
}

const pt_arch_desc *pt_arch_by_hf(const char *architecture, const char *model_type)
{
    for (size_t i = 0; i < N_ARCHS; i++)
        if (in_list(archs[i].hf_architectures, architecture)) return &archs[i];
    if (!architecture) /* older configs: only model_type */
        for (size_t i = 0; i < N_ARCHS; i++)
            if (in_list(archs[i].hf_model_types, model_type)) return &archs[i];
    return NULL;
}

const pt_arch_desc *pt_arch_by_id(ptune_arch arch)
{
    for (size_t i = 0; i < N_ARCHS; i++)
        if (archs[i].arch == arch) return &archs[i];
    return NULL;
}

const char *pt_arch_supported_list(void)
{
    return "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel, "
           "BloomForCausalLM (GGUF: llama, qwen2, gpt2, bloom)";
}
