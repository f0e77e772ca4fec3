/* pt_tokenizer_from_gguf: a complete tokenizer from a GGUF vocabulary (tokenizer.ggml.*), "gpt2"
 * byte-level BPE and "llama" SentencePiece, with llama.cpp's defaults. Owns the GGUF mapping. */
#include "tokenizer/tokenizer.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp token types (tokenizer.ggml.token_type) */
enum { TT_UNDEFINED = 0, TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

#define K_MODEL "tokenizer.ggml.model"
#define K_PRE "tokenizer.ggml.pre"
#define K_TOKENS "tokenizer.ggml.tokens"
#define K_TYPES "tokenizer.ggml.token_type"
#define K_SCORES "tokenizer.ggml.scores"
#define K_MERGES "tokenizer.ggml.merges"
#define K_BOS "tokenizer.ggml.bos_token_id"
#define K_EOS "tokenizer.ggml.eos_token_id"
#define K_UNK "tokenizer.ggml.unknown_token_id"
#define K_ADD_BOS "tokenizer.ggml.add_bos_token"
#define K_ADD_EOS "tokenizer.ggml.add_eos_token"
#define K_ADD_PREFIX "tokenizer.ggml.add_space_prefix"

static const char *SPM_SPACE = "\xe2\x96\x81"; /* U+2581 */

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *path_of(const pt_gguf *g) { return g->file.path ? g->file.path : "GGUF"; }

/* A required/optional array key with a given element type check. */
static ptune_status get_array(const pt_gguf *g, const char *key, bool required, const pt_gguf_kv **out)
{
    const pt_gguf_kv *kv = pt_gguf_find_kv(g, key);
    *out = NULL;
    if (!kv) return required ? pt_fail(PTUNE_E_FORMAT, "%s: the vocabulary has no %s", path_of(g), key) : PTUNE_OK;
    if (kv->type != PT_GGUF_ARRAY) return pt_fail(PTUNE_E_FORMAT, "%s: %s is not an array", path_of(g), key);
    *out = kv;
    return PTUNE_OK;
}

/* Optional token id key: absent keeps *id; an id outside the vocabulary keeps the default, as
 * llama.cpp does ("bad special token ... using default id"). */
static ptune_status get_id(const pt_gguf *g, const char *key, uint32_t n_tokens, int32_t *id)
{
    uint32_t v;
    ptune_status st = pt_gguf_get_u32(g, key, &v);
    if (st == PTUNE_E_STATE) return PTUNE_OK;
    if (st) return st;
    if (v < n_tokens) *id = (int32_t)v;
    else pt_log(PTUNE_LOG_WARN, "%s: %s = %u is outside the vocabulary of %u tokens; ignored", path_of(g), key, v, n_tokens);
    return PTUNE_OK;
}

static ptune_status get_flag(const pt_gguf *g, const char *key, bool *flag)
{
    bool v;
    ptune_status st = pt_gguf_get_bool(g, key, &v);
    if (st == PTUNE_E_STATE) return PTUNE_OK;
    if (st) return st;
    *flag = v;
    return PTUNE_OK;
}

/* Per tokenizer.ggml.pre, the flags llama.cpp's vocabulary loader sets besides the regexes. */
static void pre_flags(const char *pre, bool *ignore_merges, bool *add_bos)
{
    static const char *const llama3_like[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                                              "midm-2.0", "lfm2", "jina-v5-nano", "tekken"};
    static const char *const ignore_only[] = {"minicpm5", "youtu", "granite-embed-multi-97m"};
    for (size_t i = 0; i < sizeof llama3_like / sizeof *llama3_like; i++)
        if (!strcmp(pre, llama3_like[i])) *ignore_merges = *add_bos = true;
    for (size_t i = 0; i < sizeof ignore_only / sizeof *ignore_only; i++)
        if (!strcmp(pre, ignore_only[i])) *ignore_merges = true;
    if (!strcmp(pre, "chameleon")) *add_bos = true;
}

/* Parses a component from a JSON object built here (one code path with tokenizer.json). */
static ptune_status take_json(json_t *j, const char *what)
{
    if (!j) return pt_fail(PTUNE_E_NOMEM, "out of memory building the %s", what);
    return PTUNE_OK;
}

static ptune_status build_spm_components(struct ptune_tokenizer *t, bool add_space_prefix, const char *where)
{
    json_t *norm = add_space_prefix
                       ? json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}, s:s}]}", "type", "Sequence", "normalizers", "type",
                                   "Prepend", "prepend", SPM_SPACE, "type", "Replace", "pattern", "String", " ", "content",
                                   SPM_SPACE)
                       : json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String", " ", "content", SPM_SPACE);
    ptune_status st = take_json(norm, "normalizer");
    if (!st) st = pt_normalizer_parse(norm, where, &t->normalizer);
    json_decref(norm);
    if (st) return st;

    json_t *dec = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}]}", "type", "Sequence", "decoders", "type",
                            "Replace", "pattern", "String", SPM_SPACE, "content", " ", "type", "ByteFallback", "type", "Fuse");
    st = take_json(dec, "decoder");
    if (!st && add_space_prefix) {
        json_t *strip = json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", " ", "start", 1, "stop", 0);
        st = take_json(strip, "decoder");
        if (!st && json_array_append_new(json_object_get(dec, "decoders"), strip) != 0)
            st = pt_fail(PTUNE_E_NOMEM, "out of memory building the decoder");
    }
    if (!st) st = pt_decoder_parse(dec, where, &t->decoder);
    json_decref(dec);
    return st;
}

static ptune_status build_bpe_components(struct ptune_tokenizer *t, const char *pre, const char *where)
{
    ptune_status st = pt_pretokenizer_gguf_preset(pre, &t->pretokenizer);
    if (st) return pt_fail_context(st, "%s: %s: ", where, K_PRE);
    json_t *dec = json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 1, "trim_offsets", 1,
                            "use_regex", 1);
    st = take_json(dec, "decoder");
    if (!st) st = pt_decoder_parse(dec, where, &t->decoder);
    json_decref(dec);
    return st;
}

static ptune_status build(const pt_gguf *g, bool spm, struct ptune_tokenizer *t)
{
    const char *where = path_of(g);
    const pt_gguf_kv *tokens, *types, *scores, *merges = NULL;
    ptune_status st = get_array(g, K_TOKENS, true, &tokens);
    if (!st) st = get_array(g, K_TYPES, false, &types);
    if (!st) st = get_array(g, K_SCORES, false, &scores);
    if (!st && !spm) st = get_array(g, K_MERGES, true, &merges);
    if (st) return st;
    uint64_t n = tokens->v.arr.count;
    if (tokens->v.arr.elem_type != PT_GGUF_STRING)
        return pt_fail(PTUNE_E_FORMAT, "%s: %s is not an array of strings", where, K_TOKENS);
    if (n == 0 || n > INT32_MAX) return pt_fail(PTUNE_E_FORMAT, "%s: %s holds %llu tokens", where, K_TOKENS, (unsigned long long)n);
    if (types) {
        if (types->v.arr.elem_type != PT_GGUF_INT32 && types->v.arr.elem_type != PT_GGUF_UINT32)
            return pt_fail(PTUNE_E_FORMAT, "%s: %s is not an array of int32", where, K_TYPES);
        if (types->v.arr.count != n)
            return pt_fail(PTUNE_E_FORMAT, "%s: %s has %llu entries for %llu tokens", where, K_TYPES,
                           (unsigned long long)types->v.arr.count, (unsigned long long)n);
    }
    if (scores) {
        if (scores->v.arr.elem_type != PT_GGUF_FLOAT32 && scores->v.arr.elem_type != PT_GGUF_INT32)
            return pt_fail(PTUNE_E_FORMAT, "%s: %s is not an array of float32", where, K_SCORES);
        if (scores->v.arr.count != n)
            return pt_fail(PTUNE_E_FORMAT, "%s: %s has %llu entries for %llu tokens", where, K_SCORES,
                           (unsigned long long)scores->v.arr.count, (unsigned long long)n);
    }
    if (merges && merges->v.arr.elem_type != PT_GGUF_STRING)
        return pt_fail(PTUNE_E_FORMAT, "%s: %s is not an array of strings", where, K_MERGES);
    if (merges && merges->v.arr.count > INT32_MAX)
        return pt_fail(PTUNE_E_FORMAT, "%s: %s holds %llu merges", where, K_MERGES, (unsigned long long)merges->v.arr.count);

    /* special ids and flags, with llama.cpp's defaults per model */
    int32_t bos = spm ? 1 : 11, eos = spm ? 2 : 11, unk = spm ? 0 : -1;
    if (bos >= (int64_t)n) bos = -1;
    if (eos >= (int64_t)n) eos = -1;
    if (unk >= (int64_t)n) unk = -1;
    char *pre = NULL;
    bool add_bos = spm, add_eos = false, add_space_prefix = spm, ignore_merges = false;
    if (!spm) {
        st = pt_gguf_get_str(g, K_PRE, &pre);
        if (st == PTUNE_E_STATE) st = PTUNE_OK; /* llama.cpp: missing means "default" */
        if (st) return st;
        pre_flags(pre ? pre : "default", &ignore_merges, &add_bos);
    }
    if (!st) st = get_id(g, K_BOS, (uint32_t)n, &bos);
    if (!st) st = get_id(g, K_EOS, (uint32_t)n, &eos);
    if (!st) st = get_id(g, K_UNK, (uint32_t)n, &unk);
    if (!st) st = get_flag(g, K_ADD_BOS, &add_bos);
    if (!st) st = get_flag(g, K_ADD_EOS, &add_eos);
    if (!st && spm) st = get_flag(g, K_ADD_PREFIX, &add_space_prefix);

    /* the model */
    pt_bpe_config cfg = {0};
    cfg.byte_fallback = spm;
    cfg.fuse_unk = spm;
    cfg.score_merges = spm;
    cfg.ignore_merges = ignore_merges;
    cfg.unk_id = unk;
    if (!st) st = pt_bpe_new(&cfg, &t->model);
    if (!st) st = pt_added_tokens_new(&t->added);
    for (uint64_t i = 0; i < n && !st; i++) {
        const pt_gguf_str *s = &tokens->v.arr.strings[i];
        char empty[32];
        const char *text = s->ptr;
        size_t len = (size_t)s->len;
        if (len == 0) { /* llama.cpp names an empty token "[EMPTY_<id>]" */
            len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%llu]", (unsigned long long)i);
            text = empty;
        }
        float score = 0.0f;
        if (scores) {
            uint32_t bits = rd_u32(scores->v.arr.data + 4 * i);
            if (scores->v.arr.elem_type == PT_GGUF_FLOAT32) memcpy(&score, &bits, sizeof score);
            else score = (float)(int32_t)bits;
        }
        st = pt_bpe_add_token(t->model, text, len, (int32_t)i, score);
        if (st) {
            st = pt_fail_context(st, "%s: %s[%llu]: ", where, K_TOKENS, (unsigned long long)i);
            break;
        }
        int32_t type = types ? (int32_t)rd_u32(types->v.arr.data + 4 * i) : TT_NORMAL;
        if (type == TT_CONTROL || type == TT_UNKNOWN || type == TT_USER_DEFINED) {
            /* matched in the raw text like HF added tokens; control and unknown are special */
            pt_added_token a = {0};
            a.content = (char *)text;
            a.len = len;
            a.id = (int32_t)i;
            a.special = type != TT_USER_DEFINED;
            st = pt_added_tokens_add(t->added, &a);
        }
    }
    for (uint64_t i = 0; merges && i < merges->v.arr.count && !st; i++) {
        const pt_gguf_str *m = &merges->v.arr.strings[i];
        /* "a b", split at the first space after the first byte (as llama.cpp) */
        const char *sp = m->len > 1 ? memchr(m->ptr + 1, ' ', (size_t)m->len - 1) : NULL;
        if (!sp) {
            st = pt_fail(PTUNE_E_FORMAT, "%s: %s[%llu] = \"%.*s\" is not two tokens separated by a space", where, K_MERGES,
                         (unsigned long long)i, (int)(m->len > 200 ? 200 : m->len), m->ptr);
            break;
        }
        size_t la = (size_t)(sp - m->ptr);
        st = pt_bpe_add_merge(t->model, m->ptr, la, sp + 1, (size_t)m->len - la - 1, (int32_t)i);
        if (st) st = pt_fail_context(st, "%s: %s[%llu]: ", where, K_MERGES, (unsigned long long)i);
    }
    if (!st) st = pt_bpe_finish(t->model);
    if (!st) st = pt_added_tokens_finish(t->added);

    /* the pipeline around the model */
    if (!st) st = spm ? build_spm_components(t, add_space_prefix, where) : build_bpe_components(t, pre ? pre : "default", where);
    free(pre);
    int32_t pbos = add_bos ? bos : -1, peos = add_eos ? eos : -1;
    if (!st && (pbos >= 0 || peos >= 0)) st = pt_post_processor_bos_eos(pbos, peos, &t->post);
    if (st) return st;
    t->n_vocab = pt_bpe_vocab_size(t->model);
    if (t->n_vocab < (int32_t)n) t->n_vocab = (int32_t)n;
    t->bos_id = bos;
    t->eos_id = eos;
    return PTUNE_OK;
}

ptune_status pt_tokenizer_from_gguf(const pt_gguf *g, struct ptune_tokenizer **out)
{
    *out = NULL;
    const pt_gguf_kv *kv = pt_gguf_find_kv(g, K_MODEL);
    if (!kv) return PTUNE_E_STATE; /* no vocabulary: the caller decides what that means */
    if (kv->type != PT_GGUF_STRING) return pt_fail(PTUNE_E_FORMAT, "%s: %s is not a string", path_of(g), K_MODEL);
    const char *name = kv->v.s.ptr;
    size_t len = (size_t)kv->v.s.len;
    bool spm;
    if (len == 4 && !memcmp(name, "gpt2", 4)) spm = false;
    else if (len == 5 && !memcmp(name, "llama", 5)) spm = true;
    else if ((len == 8 && !memcmp(name, "no_vocab", 8)) || (len == 4 && !memcmp(name, "none", 4)))
        return PTUNE_E_STATE; /* llama.cpp's "no vocabulary" */
    else
        return pt_fail(PTUNE_E_UNSUPPORTED,
                       "%s: %s \"%.*s\" is not supported (only \"gpt2\" byte-level BPE and \"llama\" SentencePiece)",
                       path_of(g), K_MODEL, (int)(len > 64 ? 64 : len), name);

    struct ptune_tokenizer *t = pt_calloc(1, sizeof *t, "tokenizer");
    if (!t) return PTUNE_E_NOMEM;
    t->bos_id = t->eos_id = -1;
    ptune_status st = build(g, spm, t);
    if (!st) {
        t->source = pt_strdup(path_of(g), "tokenizer source path");
        if (!t->source) st = PTUNE_E_NOMEM;
    }
    if (st) {
        pt_tokenizer_free(t);
        return st;
    }
    *out = t;
    return PTUNE_OK;
}
