/* The loaded model: hyper-parameters, the architecture description and the weights in the one
 * internal layout (fp32, or the matrices in their file format with native storage). Read-only
 * after pt_model_load returns. */
#ifndef PT_MODEL_MODEL_H
#define PT_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "kernels/weight_matrix.h"
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
    pt_wmat slot[PT_N_LAYER_SLOTS];   /* indexed by slot - PT_SLOT_N_GLOBAL; n_bands 0 = absent */
} pt_layer_weights;

/* One row of the tensor-type table (ptune_model_weight_type): the file tensors of one dtype. */
typedef struct pt_weight_type_stats {
    pt_dtype dtype;
    int32_t n_tensors;
    int64_t file_bytes, resident_bytes;
} pt_weight_type_stats;

struct ptune_model {
    const pt_arch_desc *arch;
    pt_hparams hp;
    pt_wmat global[PT_SLOT_N_GLOBAL];        /* n_bands 0 = absent; OUTPUT == TOK_EMBD when tied */
    pt_layer_weights *layers;
    ptune_storage storage_kind;              /* ptune_model_params.storage */
    float *storage;                          /* one allocation holding every fp32 weight */
    size_t storage_floats;
    unsigned char *native;                   /* native storage: the matrices kept in file format */
    size_t native_bytes;
    int64_t n_params;
    char file_dtype[8];                      /* "F32", "F16", "BF16", "Q4_K", ..., "mixed" */
    pt_weight_type_stats types[PT_DTYPE_OTHER];
    int32_t n_types;
    char *source_path;
    struct ptune_tokenizer *tokenizer;       /* NULL when the model came without one */
    char *tokenizer_missing;                 /* why there is none (for PTUNE_E_STATE messages) */
};

/* A weight slot as a matrix (any storage; n_bands 0 when absent). */
static inline const pt_wmat *pt_global_mat(const struct ptune_model *m, pt_slot s) { return &m->global[s]; }
static inline const pt_wmat *pt_layer_mat(const struct ptune_model *m, int l, pt_slot s)
{
    return &m->layers[l].slot[s - PT_SLOT_N_GLOBAL];
}
/* A slot as fp32 values: vectors (norms, biases) always; matrices only with fp32 storage
 * (pt_wmat_f32). NULL when absent. */
static inline const float *pt_global_w(const struct ptune_model *m, pt_slot s) { return pt_wmat_f32(&m->global[s]); }
static inline const float *pt_layer_w(const struct ptune_model *m, int l, pt_slot s)
{
    return pt_wmat_f32(pt_layer_mat(m, l, s));
}

/* Element count of an internal slot for hyper-parameters `h` ([rows, cols]; cols = 1 for
 * vectors); returns false when the slot does not exist for this model. */
bool pt_slot_shape(const pt_arch_desc *a, const pt_hparams *h, pt_slot s, int64_t *rows,
                   int64_t *cols);
const char *pt_slot_name(pt_slot s);

#endif
