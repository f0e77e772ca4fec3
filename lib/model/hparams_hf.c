/* config.json → pt_hparams, using the alias key lists of the architecture description, and
 * refusing configurations whose semantics the transformer does not implement. */
#include "model/hparams.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static ptune_status req_int(const pt_json_file *f, const char *const *keys, int64_t *out)
{
    ptune_status s = pt_json_get_int_alias(f, keys, out);
    if (s == PTUNE_E_STATE) return pt_fail(PTUNE_E_FORMAT, "%s: missing required field \"%s\"", f->path, keys[0]);
    return s;
}

/* An optional int: absent keeps *out; present must be an int. */
static ptune_status opt_int(const pt_json_file *f, const char *const *keys, int64_t *out)
{
    if (!keys || !keys[0]) return PTUNE_OK;
    ptune_status s = pt_json_get_int_alias(f, keys, out);
    return s == PTUNE_E_STATE ? PTUNE_OK : s;
}

static ptune_status fit_i32(const pt_json_file *f, const char *key, int64_t v, int32_t *out)
{
    if (v < 0 || v > INT32_MAX) return pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" = %lld is out of range", f->path, key, (long long)v);
    *out = (int32_t)v;
    return PTUNE_OK;
}

/* bos/eos: an integer or (eos) a list of integers. */
static ptune_status read_special_ids(const pt_json_file *f, pt_hparams *h)
{
    json_t *bos = json_object_get(f->root, "bos_token_id");
    if (bos && json_is_integer(bos)) h->bos_id = (int32_t)json_integer_value(bos);
    else if (bos && !json_is_null(bos)) return pt_fail(PTUNE_E_FORMAT, "%s: field \"bos_token_id\" must be an integer", f->path);
    json_t *eos = json_object_get(f->root, "eos_token_id");
    if (eos && json_is_integer(eos)) {
        h->n_eos = 1;
        h->eos_ids[0] = (int32_t)json_integer_value(eos);
    } else if (eos && json_is_array(eos)) {
        h->n_eos = 0;
        size_t i;
        json_t *v;
        json_array_foreach(eos, i, v) {
            if (!json_is_integer(v)) return pt_fail(PTUNE_E_FORMAT, "%s: field \"eos_token_id\"[%zu] must be an integer", f->path, i);
            if (h->n_eos < PT_MAX_EOS) h->eos_ids[h->n_eos++] = (int32_t)json_integer_value(v);
        }
    } else if (eos && !json_is_null(eos)) {
        return pt_fail(PTUNE_E_FORMAT, "%s: field \"eos_token_id\" must be an integer or a list", f->path);
    }
    return PTUNE_OK;
}

static ptune_status check_unsupported(const pt_arch_desc *a, const pt_json_file *f, pt_hparams *h)
{
    json_t *rs = json_object_get(f->root, "rope_scaling");
    if (rs && !json_is_null(rs))
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: \"rope_scaling\" is set; scaled RoPE is not supported yet", f->path);
    const char *act = NULL;
    if (a->ffn == PT_FFN_SWIGLU && pt_json_get_string(f, "hidden_act", &act) == PTUNE_OK &&
        strcmp(act, "silu") != 0)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (only \"silu\")", f->path, act);
    if (a->arch == PTUNE_ARCH_GPT2) {
        if (pt_json_get_string(f, "activation_function", &act) == PTUNE_OK && strcmp(act, "gelu_new") != 0 &&
            strcmp(act, "gelu_pytorch_tanh") != 0)
            return pt_fail(PTUNE_E_UNSUPPORTED, "%s: activation_function \"%s\" is not supported (only gelu_new)", f->path, act);
        bool b;
        if (pt_json_get_bool(f, "scale_attn_by_inverse_layer_idx", &b) == PTUNE_OK && b)
            return pt_fail(PTUNE_E_UNSUPPORTED, "%s: scale_attn_by_inverse_layer_idx=true is not supported", f->path);
        if (pt_json_get_bool(f, "scale_attn_weights", &b) == PTUNE_OK && !b)
            return pt_fail(PTUNE_E_UNSUPPORTED, "%s: scale_attn_weights=false is not supported", f->path);
    }
    if (a->arch == PTUNE_ARCH_BLOOM) {
        bool b;
        if (pt_json_get_bool(f, "apply_residual_connection_post_layernorm", &b) == PTUNE_OK && b)
            return pt_fail(PTUNE_E_UNSUPPORTED, "%s: apply_residual_connection_post_layernorm=true is not supported", f->path);
    }
    /* Sliding windows: Qwen2 enables them with use_sliding_window; Mistral with sliding_window. */
    bool use_sw = a->arch != PTUNE_ARCH_QWEN2;
    if (a->arch == PTUNE_ARCH_QWEN2) {
        bool b;
        if (pt_json_get_bool(f, "use_sliding_window", &b) == PTUNE_OK) use_sw = b;
    }
    int64_t sw = 0;
    if (use_sw && pt_json_get_int(f, "sliding_window", &sw) == PTUNE_OK && sw > 0)
        h->sliding_window = sw > INT32_MAX ? INT32_MAX : (int32_t)sw;
    return PTUNE_OK;
}

ptune_status pt_hparams_from_hf(const pt_arch_desc *a, const pt_json_file *cfg,
                                const pt_json_file *gen, pt_hparams *out)
{
    pt_hparams h;
    memset(&h, 0, sizeof h);
    h.bos_id = -1;
    const pt_hf_keys *k = &a->hf_keys;
    int64_t v;
    ptune_status s;

    if ((s = req_int(cfg, (const char *const[]){"vocab_size", NULL}, &v)) || (s = fit_i32(cfg, "vocab_size", v, &h.n_vocab))) return s;
    if ((s = req_int(cfg, k->n_embd, &v)) || (s = fit_i32(cfg, k->n_embd[0], v, &h.n_embd))) return s;
    if ((s = req_int(cfg, k->n_layer, &v)) || (s = fit_i32(cfg, k->n_layer[0], v, &h.n_layer))) return s;
    if ((s = req_int(cfg, k->n_head, &v)) || (s = fit_i32(cfg, k->n_head[0], v, &h.n_head))) return s;
    v = h.n_head;
    if ((s = opt_int(cfg, k->n_head_kv, &v)) || (s = fit_i32(cfg, "num_key_value_heads", v, &h.n_head_kv))) return s;
    if (h.n_head == 0) return pt_fail(PTUNE_E_FORMAT, "%s: number of attention heads is 0", cfg->path);
    v = h.n_embd / h.n_head;
    if ((s = opt_int(cfg, (const char *const[]){"head_dim", NULL}, &v)) || (s = fit_i32(cfg, "head_dim", v, &h.head_dim))) return s;
    v = 4 * (int64_t)h.n_embd;
    if ((s = opt_int(cfg, k->n_ff, &v)) || (s = fit_i32(cfg, k->n_ff[0], v, &h.n_ff))) return s;
    v = 0;
    if ((s = opt_int(cfg, k->n_ctx, &v)) || (s = fit_i32(cfg, "context length", v, &h.n_ctx))) return s;

    double d = k->default_norm_eps;
    s = pt_json_get_number(cfg, k->norm_eps[0], &d);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    if (!(d > 0.0 && d < 1.0)) return pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" = %g is out of range", cfg->path, k->norm_eps[0], d);
    h.norm_eps = (float)d;

    h.rope_theta = 10000.0;
    s = pt_json_get_number(cfg, "rope_theta", &h.rope_theta);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    if (a->pos == PT_POS_ROPE && !(h.rope_theta > 1.0 && isfinite(h.rope_theta)))
        return pt_fail(PTUNE_E_FORMAT, "%s: field \"rope_theta\" = %g is out of range", cfg->path, h.rope_theta);
    h.n_rot = h.head_dim;

    bool b = a->tied_default;
    s = pt_json_get_bool(cfg, "tie_word_embeddings", &b);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    h.tied = b;
    b = a->attn_bias_default;
    s = pt_json_get_bool(cfg, "attention_bias", &b);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    h.attn_bias = b;
    b = a->norm == PT_NORM_LAYERNORM;
    s = pt_json_get_bool(cfg, "mlp_bias", &b);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    h.mlp_bias = b;

    if ((s = check_unsupported(a, cfg, &h))) return s;
    if ((s = read_special_ids(cfg, &h))) return s;
    if (gen && (s = read_special_ids(gen, &h))) return s;
    if ((s = pt_hparams_validate(a, &h, cfg->path))) return s;
    *out = h;
    return PTUNE_OK;
}

ptune_status pt_hparams_validate(const pt_arch_desc *a, const pt_hparams *h, const char *what)
{
    if (h->n_vocab <= 0 || h->n_embd <= 0 || h->n_layer <= 0 || h->n_head <= 0 || h->n_head_kv <= 0 ||
        h->head_dim <= 0 || h->n_ff <= 0)
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: invalid dimensions (vocab %d, embd %d, layers %d, heads %d, kv heads %d, head_dim %d, ff %d)",
                       what, h->n_vocab, h->n_embd, h->n_layer, h->n_head, h->n_head_kv, h->head_dim, h->n_ff);
    if (h->n_head % h->n_head_kv != 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: %d attention heads is not a multiple of %d key/value heads", what,
                       h->n_head, h->n_head_kv);
    if (a->pos == PT_POS_ROPE && (h->head_dim % 2 != 0 || h->n_rot != h->head_dim))
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: rotary dims %d with head_dim %d (partial or odd RoPE) is not supported",
                       what, h->n_rot, h->head_dim);
    if (a->pos == PT_POS_LEARNED && h->n_ctx <= 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: learned positions need a context length", what);
    if ((a->arch == PTUNE_ARCH_GPT2 || a->arch == PTUNE_ARCH_BLOOM) &&
        (int64_t)h->n_head * h->head_dim != h->n_embd)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: head_dim %d x %d heads != hidden size %d", what, h->head_dim,
                       h->n_head, h->n_embd);
    if (a->arch == PTUNE_ARCH_BLOOM && h->n_head_kv != h->n_head)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: BLOOM with grouped key/value heads is not supported", what);
    /* keep every activation index within int32 arithmetic */
    if ((int64_t)h->n_head * h->head_dim > (1 << 20) || h->n_embd > (1 << 20) || h->n_ff > (1 << 22))
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: dimensions too large", what);
    return PTUNE_OK;
}
