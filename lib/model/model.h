/* The loaded model: hyper-parameters, the architecture description and the fp32 weights in
 * the one internal layout. Read-only after pt_model_load returns. */
#ifndef PT_MODEL_MODEL_H
#define PT_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "model/arch.h"

#define PT_MAX_EOS 8

typedef struct pt_hparams {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int32_t n_ctx;             /* 0 = no position limit (ALiBi) */
    int32_t n_rot;             /* rotary dims (= head_dim) */
    float norm_eps;
    double rope_theta;
    int32_t sliding_window;    /* 0 = none; a longer sequence is PTUNE_E_UNSUPPORTED */
    bool tied;
    bool attn_bias;            /* q/k/v (and for Llama o) biases present */
    bool mlp_bias;
    int32_t bos_id;            /* -1 when unknown */
    int32_t n_eos;
    int32_t eos_ids[PT_MAX_EOS];
} pt_hparams;

/* Sizes derived from the hyper-parameters. */
static inline int32_t pt_hp_q_dim(const pt_hparams *h) { return h->n_head * h->head_dim; }
static inline int32_t pt_hp_kv_dim(const pt_hparams *h) { return h->n_head_kv * h->head_dim; }
static inline int32_t pt_hp_qkv_dim(const pt_hparams *h) { return pt_hp_q_dim(h) + 2 * pt_hp_kv_dim(h); }

typedef struct pt_layer_weights {
    const float *slot[PT_N_LAYER_SLOTS];   /* indexed by slot - PT_SLOT_N_GLOBAL; NULL = absent */
} pt_layer_weights;

struct ptune_model {
    const pt_arch_desc *arch;
    pt_hparams hp;
    const float *global[PT_SLOT_N_GLOBAL];  /* NULL = absent; OUTPUT == TOK_EMBD when tied */
    pt_layer_weights *layers;
    float *storage;                          /* one allocation holding every weight */
    size_t storage_floats;
    int64_t n_params;
    char file_dtype[8];                      /* "F32", "F16", "BF16", "mixed" */
    char *source_path;
    struct ptune_tokenizer *tokenizer;       /* NULL when the model came without one */
    char *tokenizer_missing;                 /* why there is none (for PTUNE_E_STATE messages) */
};

static inline const float *pt_layer_w(const struct ptune_model *m, int l, pt_slot s)
{
    return m->layers[l].slot[s - PT_SLOT_N_GLOBAL];
}

/* Element count of an internal slot for hyper-parameters `h` ([rows, cols]; cols = 1 for
 * vectors); returns false when the slot does not exist for this model. */
bool pt_slot_shape(const pt_arch_desc *a, const pt_hparams *h, pt_slot s, int64_t *rows,
                   int64_t *cols);
const char *pt_slot_name(pt_slot s);

#endif
