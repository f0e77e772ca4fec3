/* GGUF metadata ("<arch>.*" keys as llama.cpp's converter writes them) → pt_hparams, with
 * llama.cpp's defaults for absent keys. */
#include "model/hparams.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static ptune_status arch_u32(const pt_gguf *g, const pt_arch_desc *a, const char *suffix, bool required,
                             uint32_t def, int32_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", a->name, suffix);
    uint32_t v = def;
    ptune_status s = pt_gguf_get_u32(g, key, &v);
    if (s == PTUNE_E_STATE) {
        if (required) return pt_fail(PTUNE_E_FORMAT, "%s: missing required key \"%s\"", g->file.path, key);
    } else if (s != PTUNE_OK) {
        return s;
    }
    if (v > INT32_MAX) return pt_fail(PTUNE_E_FORMAT, "%s: key \"%s\" = %u is out of range", g->file.path, key, v);
    *out = (int32_t)v;
    return PTUNE_OK;
}

static ptune_status arch_f32(const pt_gguf *g, const pt_arch_desc *a, const char *suffix, bool *found, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", a->name, suffix);
    ptune_status s = pt_gguf_get_f32(g, key, out);
    *found = s == PTUNE_OK;
    return s == PTUNE_E_STATE ? PTUNE_OK : s;
}

static ptune_status token_id(const pt_gguf *g, const char *key, int32_t *out)
{
    uint32_t v;
    ptune_status s = pt_gguf_get_u32(g, key, &v);
    if (s == PTUNE_E_STATE) return PTUNE_OK;
    if (s != PTUNE_OK) return s;
    *out = v > INT32_MAX ? -1 : (int32_t)v;
    return PTUNE_OK;
}

/* True when both tensors exist and hold the same bytes (older converters stored a copy of
 * token_embd as output.weight for tied models). */
static bool same_tensor_bytes(const pt_gguf_tensor *x, const pt_gguf_tensor *y)
{
    return x && y && x->ggml_type == y->ggml_type && x->view.n_bytes == y->view.n_bytes &&
           memcmp(x->view.data, y->view.data, x->view.n_bytes) == 0;
}

ptune_status pt_hparams_from_gguf(const pt_arch_desc *a, const pt_gguf *g, pt_hparams *out)
{
    pt_hparams h;
    memset(&h, 0, sizeof h);
    h.bos_id = -1;
    const char *path = g->file.path;
    ptune_status s;
    if ((s = arch_u32(g, a, "embedding_length", true, 0, &h.n_embd)) ||
        (s = arch_u32(g, a, "block_count", true, 0, &h.n_layer)) ||
        (s = arch_u32(g, a, "attention.head_count", true, 0, &h.n_head)) ||
        (s = arch_u32(g, a, "feed_forward_length", true, 0, &h.n_ff)) ||
        (s = arch_u32(g, a, "context_length", a->pos == PT_POS_LEARNED, 0, &h.n_ctx)))
        return s;
    if (a->pos == PT_POS_ALIBI) h.n_ctx = 0; /* the key is only the training-length hint */
    if ((s = arch_u32(g, a, "attention.head_count_kv", false, (uint32_t)h.n_head, &h.n_head_kv))) return s;
    if (h.n_head <= 0) return pt_fail(PTUNE_E_FORMAT, "%s: %s.attention.head_count is 0", path, a->name);
    if ((s = arch_u32(g, a, "attention.key_length", false, (uint32_t)(h.n_embd / h.n_head), &h.head_dim))) return s;
    int32_t v_len = h.head_dim;
    if ((s = arch_u32(g, a, "attention.value_length", false, (uint32_t)h.head_dim, &v_len))) return s;
    if (v_len != h.head_dim)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: value_length %d != key_length %d is not supported", path, v_len, h.head_dim);
    if ((s = arch_u32(g, a, "rope.dimension_count", false, (uint32_t)h.head_dim, &h.n_rot))) return s;
    if (a->pos != PT_POS_ROPE) h.n_rot = h.head_dim;

    bool found;
    float eps = 0.0f;
    const char *eps_key = a->norm == PT_NORM_RMSNORM ? "attention.layer_norm_rms_epsilon" : "attention.layer_norm_epsilon";
    if ((s = arch_f32(g, a, eps_key, &found, &eps))) return s;
    if (!found) return pt_fail(PTUNE_E_FORMAT, "%s: missing required key \"%s.%s\"", path, a->name, eps_key);
    if (!(eps > 0.0f && eps < 1.0f)) return pt_fail(PTUNE_E_FORMAT, "%s: key \"%s.%s\" = %g is out of range", path, a->name, eps_key, eps);
    h.norm_eps = eps;
    float theta = 10000.0f;
    if ((s = arch_f32(g, a, "rope.freq_base", &found, &theta))) return s;
    if (a->pos == PT_POS_ROPE && !(theta > 1.0f)) return pt_fail(PTUNE_E_FORMAT, "%s: %s.rope.freq_base = %g is out of range", path, a->name, theta);
    h.rope_theta = theta;

    char key[128];
    char *scaling = NULL;
    snprintf(key, sizeof key, "%s.rope.scaling.type", a->name);
    s = pt_gguf_get_str(g, key, &scaling);
    if (s == PTUNE_OK) {
        bool none = !strcmp(scaling, "none");
        free(scaling);
        if (!none) return pt_fail(PTUNE_E_UNSUPPORTED, "%s: \"%s\" is set; scaled RoPE is not supported yet", path, key);
    } else if (s != PTUNE_E_STATE) {
        return s;
    }
    snprintf(key, sizeof key, "%s.attention.sliding_window", a->name);
    uint32_t sw = 0;
    s = pt_gguf_get_u32(g, key, &sw);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    h.sliding_window = sw > INT32_MAX ? INT32_MAX : (int32_t)sw;

    /* Vocabulary: the explicit key, else the embedding rows. */
    const pt_gguf_tensor *emb = pt_gguf_find_tensor(g, "token_embd.weight");
    if (!emb) return pt_fail(PTUNE_E_FORMAT, "%s: missing tensor \"token_embd.weight\"", path);
    int32_t vocab = emb->view.n_dims == 2 ? (int32_t)emb->view.shape[0] : 0;
    if ((s = arch_u32(g, a, "vocab_size", false, (uint32_t)vocab, &h.n_vocab))) return s;

    /* Tying and biases follow the tensors present, as in llama.cpp. */
    const pt_gguf_tensor *outw = pt_gguf_find_tensor(g, "output.weight");
    h.tied = !outw || same_tensor_bytes(outw, emb);
    h.attn_bias = a->attn_bias_default || pt_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
    h.mlp_bias = a->norm == PT_NORM_LAYERNORM;

    if ((s = token_id(g, "tokenizer.ggml.bos_token_id", &h.bos_id))) return s;
    int32_t eos = -1;
    if ((s = token_id(g, "tokenizer.ggml.eos_token_id", &eos))) return s;
    if (eos >= 0) {
        h.n_eos = 1;
        h.eos_ids[0] = eos;
    }
    if ((s = pt_hparams_validate(a, &h, path))) return s;
    *out = h;
    return PTUNE_OK;
}
