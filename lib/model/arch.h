/* Architecture descriptions: everything that differs between Llama, Qwen2, GPT-2 and BLOOM,
 * expressed as data (block recipe, config keys, tensor names and layout transforms) and
 * consumed by one loader and one transformer implementation. */
#ifndef PT_MODEL_ARCH_H
#define PT_MODEL_ARCH_H

#include <stdbool.h>
#include "ptune/ptune.h"

typedef enum pt_norm_kind { PT_NORM_LAYERNORM, PT_NORM_RMSNORM } pt_norm_kind;
typedef enum pt_pos_kind { PT_POS_LEARNED, PT_POS_ALIBI, PT_POS_ROPE } pt_pos_kind;
typedef enum pt_ffn_kind { PT_FFN_GELU_TANH, PT_FFN_SWIGLU } pt_ffn_kind;

/* Internal weight slots: the one layout every model is bound to (all fp32, [out, in]). */
typedef enum pt_slot {
    PT_SLOT_TOK_EMBD,      /* [V, D] */
    PT_SLOT_POS_EMBD,      /* [n_ctx, D] (learned positions) */
    PT_SLOT_EMB_NORM_W,    /* [D] (BLOOM word_embeddings_layernorm) */
    PT_SLOT_EMB_NORM_B,
    PT_SLOT_OUT_NORM_W,    /* [D] */
    PT_SLOT_OUT_NORM_B,
    PT_SLOT_OUTPUT,        /* [V, D]; absent = tied to TOK_EMBD */
    PT_SLOT_N_GLOBAL,
    /* per layer */
    PT_SLOT_ATTN_NORM_W = PT_SLOT_N_GLOBAL, /* [D] */
    PT_SLOT_ATTN_NORM_B,
    PT_SLOT_QKV,           /* [(nh + 2 nkv) hd, D], rows q | k | v */
    PT_SLOT_QKV_B,         /* [(nh + 2 nkv) hd] */
    PT_SLOT_ATTN_OUT,      /* [D, nh hd] */
    PT_SLOT_ATTN_OUT_B,    /* [D] */
    PT_SLOT_FFN_NORM_W,
    PT_SLOT_FFN_NORM_B,
    PT_SLOT_FFN_UP,        /* SwiGLU: [2F, D] rows gate | up; GELU: [F, D] */
    PT_SLOT_FFN_UP_B,
    PT_SLOT_FFN_DOWN,      /* [D, F] */
    PT_SLOT_FFN_DOWN_B,
    PT_SLOT_COUNT
} pt_slot;

#define PT_N_LAYER_SLOTS (PT_SLOT_COUNT - PT_SLOT_N_GLOBAL)

/* Which rows of a fused internal slot a file tensor fills. */
typedef enum pt_part { PT_PART_ALL, PT_PART_Q, PT_PART_K, PT_PART_V, PT_PART_GATE, PT_PART_UP } pt_part;

/* How a file tensor's layout differs from the internal one. */
typedef enum pt_transform {
    PT_XF_NONE,
    PT_XF_TRANSPOSE,          /* HF GPT-2 Conv1D: stored [in, out] */
    PT_XF_BLOOM_QKV,          /* HF BLOOM fused rows (head, q|k|v, d) → blocks q | k | v */
    PT_XF_ROPE_INTERLEAVED,   /* GGUF llama q/k: adjacent-pair rows → rotate_half rows */
} pt_transform;

/* When a binding must be present in the file. */
typedef enum pt_need {
    PT_NEED_ALWAYS,
    PT_NEED_IF_UNTIED,       /* the output head when tie_word_embeddings is false */
    PT_NEED_IF_ATTN_BIAS,    /* q/k/v (and o for Llama) biases when the config says so */
    PT_NEED_IF_MLP_BIAS,
    PT_NEED_OPTIONAL,        /* loaded when present (GGUF llama's optional biases, tied repeats) */
} pt_need;

typedef struct pt_binding {
    pt_slot slot;
    pt_part part;
    pt_need need;
    const char *name;         /* printf format; "%d" is the layer index when slot is per layer */
    pt_transform transform;
} pt_binding;

/* Config keys of an HF config.json, as alias lists (NULL-terminated). */
typedef struct pt_hf_keys {
    const char *const *n_embd, *const *n_layer, *const *n_head, *const *n_head_kv, *const *n_ff,
        *const *n_ctx, *const *norm_eps;
    float default_norm_eps;
} pt_hf_keys;

typedef struct pt_arch_desc {
    ptune_arch arch;
    const char *name;              /* "llama", "qwen2", "gpt2", "bloom" (also the GGUF arch key) */
    const char *const *hf_architectures; /* config.json "architectures" values (NULL-terminated) */
    const char *const *hf_model_types;   /* config.json "model_type" values */
    /* block recipe */
    pt_norm_kind norm;
    pt_pos_kind pos;
    pt_ffn_kind ffn;
    bool emb_norm;                 /* LayerNorm on the input embeddings (BLOOM) */
    bool tied_default;             /* tie_word_embeddings when the config omits it */
    bool attn_bias_default;        /* q/k/v biases when the config does not say */
    bool attn_bias_has_out;        /* the config's attention_bias flag also covers o_proj */
    /* file layouts */
    const char *const *hf_prefixes;/* tried in order before each HF name ("model.", "") */
    const pt_binding *hf_bindings;
    const pt_binding *gguf_bindings; /* both end with a binding whose name is NULL */
    const char *const *hf_ignored; /* suffixes of legacy HF buffers to skip ("attn.bias") */
    pt_hf_keys hf_keys;
} pt_arch_desc;

const pt_arch_desc *pt_arch_by_gguf_name(const char *name);
const pt_arch_desc *pt_arch_by_hf(const char *architecture, const char *model_type);
const pt_arch_desc *pt_arch_by_id(ptune_arch arch);
/* Comma-separated list of supported names, for error messages. */
const char *pt_arch_supported_list(void);

#endif
