/* Shapes and names of the internal weight slots for a given architecture and
 * hyper-parameters: which slots exist and how many rows/columns each holds. */
#include "model/model.h"

bool pt_slot_shape(const pt_arch_desc *a, const pt_hparams *h, pt_slot s, int64_t *rows, int64_t *cols)
{
    const bool ln = a->norm == PT_NORM_LAYERNORM;
    const int64_t D = h->n_embd, F = h->n_ff, V = h->n_vocab;
    const int64_t qkv = pt_hp_qkv_dim(h), q = pt_hp_q_dim(h);
    const int64_t up_rows = a->ffn == PT_FFN_SWIGLU ? 2 * F : F;
    int64_t r = 0, c = 1;
    bool exists = true;
    switch (s) {
    case PT_SLOT_TOK_EMBD: r = V; c = D; break;
    case PT_SLOT_POS_EMBD: r = h->n_ctx; c = D; exists = a->pos == PT_POS_LEARNED; break;
    case PT_SLOT_EMB_NORM_W: r = D; exists = a->emb_norm; break;
    case PT_SLOT_EMB_NORM_B: r = D; exists = a->emb_norm && ln; break;
    case PT_SLOT_OUT_NORM_W: r = D; break;
    case PT_SLOT_OUT_NORM_B: r = D; exists = ln; break;
    case PT_SLOT_OUTPUT: r = V; c = D; exists = !h->tied; break;
    case PT_SLOT_ATTN_NORM_W: r = D; break;
    case PT_SLOT_ATTN_NORM_B: r = D; exists = ln; break;
    case PT_SLOT_QKV: r = qkv; c = D; break;
    case PT_SLOT_QKV_B: r = qkv; exists = h->attn_bias; break;
    case PT_SLOT_ATTN_OUT: r = D; c = q; break;
    case PT_SLOT_ATTN_OUT_B: r = D; exists = ln || (h->attn_bias && a->attn_bias_has_out); break;
    case PT_SLOT_FFN_NORM_W: r = D; break;
    case PT_SLOT_FFN_NORM_B: r = D; exists = ln; break;
    case PT_SLOT_FFN_UP: r = up_rows; c = D; break;
    case PT_SLOT_FFN_UP_B: r = up_rows; exists = h->mlp_bias; break;
    case PT_SLOT_FFN_DOWN: r = D; c = F; break;
    case PT_SLOT_FFN_DOWN_B: r = D; exists = h->mlp_bias; break;
    default: exists = false; break;
    }
    if (rows) *rows = r;
    if (cols) *cols = c;
    return exists;
}

const char *pt_slot_name(pt_slot s)
{
    static const char *const names[PT_SLOT_COUNT] = {
        [PT_SLOT_TOK_EMBD] = "token embedding", [PT_SLOT_POS_EMBD] = "position embedding",
        [PT_SLOT_EMB_NORM_W] = "embedding norm weight", [PT_SLOT_EMB_NORM_B] = "embedding norm bias",
        [PT_SLOT_OUT_NORM_W] = "final norm weight", [PT_SLOT_OUT_NORM_B] = "final norm bias",
        [PT_SLOT_OUTPUT] = "output head", [PT_SLOT_ATTN_NORM_W] = "attention norm weight",
        [PT_SLOT_ATTN_NORM_B] = "attention norm bias", [PT_SLOT_QKV] = "q/k/v projection",
        [PT_SLOT_QKV_B] = "q/k/v bias", [PT_SLOT_ATTN_OUT] = "attention output",
        [PT_SLOT_ATTN_OUT_B] = "attention output bias", [PT_SLOT_FFN_NORM_W] = "ffn norm weight",
        [PT_SLOT_FFN_NORM_B] = "ffn norm bias", [PT_SLOT_FFN_UP] = "ffn up/gate projection",
        [PT_SLOT_FFN_UP_B] = "ffn up/gate bias", [PT_SLOT_FFN_DOWN] = "ffn down projection",
        [PT_SLOT_FFN_DOWN_B] = "ffn down bias",
    };
    return s < PT_SLOT_COUNT && names[s] ? names[s] : "?";
}
