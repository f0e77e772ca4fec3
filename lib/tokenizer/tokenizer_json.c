/* Loading a tokenizer.json: the model's vocab and merges through the JSON scanner, every other
 * component through jansson and its parser; added tokens; best-effort BOS/EOS ids. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/json_scan.h"

/* ---------------------------------------------------------------- top level */

typedef struct model_spans {
    pt_js_span type, dropout, unk, prefix, suffix, fuse_unk, byte_fallback, ignore_merges, vocab, merges;
    size_t n_vocab, n_merges; /* element counts, to size the tables */
} model_spans;

static ptune_status model_member(pt_js *j, const pt_buf *k, void *ctx)
{
    model_spans *m = ctx;
    pt_js_span dummy;
    pt_js_span *sp = pt_js_key_is(k, "type")                        ? &m->type
               : pt_js_key_is(k, "dropout")                   ? &m->dropout
               : pt_js_key_is(k, "unk_token")                 ? &m->unk
               : pt_js_key_is(k, "continuing_subword_prefix") ? &m->prefix
               : pt_js_key_is(k, "end_of_word_suffix")        ? &m->suffix
               : pt_js_key_is(k, "fuse_unk")                  ? &m->fuse_unk
               : pt_js_key_is(k, "byte_fallback")             ? &m->byte_fallback
               : pt_js_key_is(k, "ignore_merges")             ? &m->ignore_merges
               : pt_js_key_is(k, "vocab")                     ? &m->vocab
               : pt_js_key_is(k, "merges")                    ? &m->merges
                                                        : &dummy;
    if (sp == &m->vocab || sp == &m->merges) {
        const char *s = j->p;
        size_t *n = sp == &m->vocab ? &m->n_vocab : &m->n_merges;
        ptune_status st = pt_js_skip_count(j, n);
        if (st) return st;
        *sp = (pt_js_span){s, (size_t)(j->p - s), true};
        if (*n > sp->n / 5) *n = sp->n / 5; /* an element takes at least 5 bytes ("a":0, or "a b",) */
        return PTUNE_OK;
    }
    return pt_js_record_span(j, sp);
}

typedef struct top_spans {
    pt_js_span model, added, normalizer, pretok, post, decoder;
    model_spans ms;      /* the model's members, found while scanning the top level */
    pt_buf key;
} top_spans;

static ptune_status top_member(pt_js *j, const pt_buf *k, void *ctx)
{
    top_spans *t = ctx;
    pt_js_span dummy;
    pt_js_span *sp = pt_js_key_is(k, "model")            ? &t->model
               : pt_js_key_is(k, "added_tokens")   ? &t->added
               : pt_js_key_is(k, "normalizer")     ? &t->normalizer
               : pt_js_key_is(k, "pre_tokenizer")  ? &t->pretok
               : pt_js_key_is(k, "post_processor") ? &t->post
               : pt_js_key_is(k, "decoder")        ? &t->decoder
                                             : &dummy;
    if (sp == &t->model) { /* scan the model's members in the same pass */
        const char *s = j->p;
        t->ms = (model_spans){0};
        ptune_status st = pt_js_object(j, &t->key, model_member, &t->ms);
        if (st) return st;
        *sp = (pt_js_span){s, (size_t)(j->p - s), true};
        return PTUNE_OK;
    }
    return pt_js_record_span(j, sp);
}

/* Parses a (small) pt_js_span with jansson. A missing pt_js_span gives JSON null. */
static ptune_status load_span(const pt_js *j, const pt_js_span *sp, const char *field, json_t **out)
{
    *out = NULL;
    if (!sp->present) {
        *out = json_null();
        return PTUNE_OK;
    }
    json_error_t err;
    json_t *v = json_loadb(sp->s, sp->n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v)
        return pt_fail(PTUNE_E_FORMAT, "%s: %s: %s at byte %zu", j->path, field, err.text,
                       (size_t)(sp->s - j->base) + (size_t)(err.position > 0 ? err.position : 0));
    *out = v;
    return PTUNE_OK;
}

/* Optional bool: null/absent -> dflt. */
static ptune_status span_bool(const pt_js *j, const pt_js_span *sp, const char *field, bool dflt, bool *out)
{
    json_t *v;
    ptune_status st = load_span(j, sp, field, &v);
    if (st) return st;
    if (json_is_null(v)) *out = dflt;
    else if (json_is_boolean(v)) *out = json_is_true(v);
    else st = pt_fail(PTUNE_E_FORMAT, "%s: %s must be true, false or null", j->path, field);
    json_decref(v);
    return st;
}

/* Optional string: null/absent -> NULL; otherwise a malloc'd copy (NUL-terminated) and length. */
static ptune_status span_string(const pt_js *j, const pt_js_span *sp, const char *field, char **out, size_t *len)
{
    *out = NULL;
    if (len) *len = 0;
    json_t *v;
    ptune_status st = load_span(j, sp, field, &v);
    if (st) return st;
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        *out = pt_malloc(n + 1, field);
        if (!*out) st = PTUNE_E_NOMEM;
        else {
            memcpy(*out, json_string_value(v), n);
            (*out)[n] = 0;
            if (len) *len = n;
        }
    } else if (!json_is_null(v)) {
        st = pt_fail(PTUNE_E_FORMAT, "%s: %s must be a string or null", j->path, field);
    }
    json_decref(v);
    return st;
}

/* ----------------------------------------------------------------- vocab */

typedef ptune_status (*vocab_fn)(const char *s, size_t len, int32_t id, void *ctx);

/* Walks the vocab object {"token": id, ...}; cb returns PTUNE_E_ABORTED to stop early. */
static ptune_status walk_vocab(const pt_js *outer, const pt_js_span *sp, vocab_fn cb, void *ctx)
{
    pt_js j = {outer->base, sp->s, sp->s + sp->n, outer->path};
    pt_buf key = {0};
    ptune_status st = pt_js_expect(&j, '{', "model.vocab: expected an object");
    if (st) goto done;
    pt_js_ws(&j);
    if (j.p < j.end && *j.p == '}') goto done;
    for (;;) {
        pt_js_ws(&j);
        if ((st = pt_js_string(&j, &key))) goto done;
        if ((st = pt_js_expect(&j, ':', "model.vocab: expected ':'"))) goto done;
        pt_js_ws(&j);
        const char *num = j.p;
        uint64_t v = 0;
        while (j.p < j.end && *j.p >= '0' && *j.p <= '9' && v <= INT32_MAX) v = v * 10 + (uint64_t)(*j.p++ - '0');
        if (j.p == num || v > INT32_MAX || (j.p < j.end && strchr(".eE-+0123456789", *j.p))) {
            j.p = num;
            st = pt_js_err(&j, "model.vocab: token id is not an integer in 0..2147483647");
            goto done;
        }
        if ((st = cb(key.data ? key.data : "", key.len, (int32_t)v, ctx))) {
            if (st != PTUNE_E_ABORTED)
                pt_fail_context(st, "%s: model.vocab (byte %zu): ", j.path, (size_t)(num - j.base));
            goto done;
        }
        pt_js_ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            continue;
        }
        st = pt_js_expect(&j, '}', "model.vocab: expected ',' or '}'");
        goto done;
    }
done:
    pt_buf_free(&key);
    return st;
}

typedef struct find_ctx {
    const char *s;
    size_t len;
    int32_t id;
} find_ctx;

static ptune_status find_cb(const char *s, size_t len, int32_t id, void *ctx)
{
    find_ctx *f = ctx;
    if (len == f->len && memcmp(s, f->s, len) == 0) {
        f->id = id;
        return PTUNE_E_ABORTED;
    }
    return PTUNE_OK;
}

static ptune_status add_cb(const char *s, size_t len, int32_t id, void *ctx)
{
    return pt_bpe_add_token(ctx, s, len, id, 0.0f);
}

/* ---------------------------------------------------------------- merges */

#define MERGES_CHUNK 256

typedef struct merge_chunk {
    pt_buf text;                   /* decoded strings of the chunk, back to back */
    size_t a[MERGES_CHUNK], la[MERGES_CHUNK], b[MERGES_CHUNK], lb[MERGES_CHUNK];
    size_t at[MERGES_CHUNK];       /* byte offset of each merge in the file */
    pt_bpe_merge g[MERGES_CHUNK];
    size_t n;
} merge_chunk;

static ptune_status flush_merges(const pt_js *j, pt_bpe *m, merge_chunk *c, int32_t first_rank)
{
    for (size_t k = 0; k < c->n; k++)
        c->g[k] = (pt_bpe_merge){c->text.data + c->a[k], c->la[k], c->text.data + c->b[k], c->lb[k],
                                 first_rank + (int32_t)k};
    size_t failed = 0;
    ptune_status st = c->n ? pt_bpe_add_merges(m, c->g, c->n, &failed) : PTUNE_OK;
    if (st)
        pt_fail_context(st, "%s: model.merges[%d] (byte %zu): ", j->path, (int)(first_rank + (int32_t)failed),
                        c->at[failed < c->n ? failed : 0]);
    c->n = 0;
    pt_buf_clear(&c->text);
    return st;
}

static ptune_status walk_merges(const pt_js *outer, const pt_js_span *sp, pt_bpe *m)
{
    pt_js j = {outer->base, sp->s, sp->s + sp->n, outer->path};
    pt_buf a = {0}, b = {0};
    merge_chunk *c = pt_calloc(1, sizeof *c, "merge parsing buffer");
    if (!c) return PTUNE_E_NOMEM;
    int32_t rank = 0, chunk_rank = 0;
    ptune_status st = pt_js_expect(&j, '[', "model.merges: expected an array");
    if (st) goto done;
    pt_js_ws(&j);
    if (j.p < j.end && *j.p == ']') goto done;
    for (;;) {
        pt_js_ws(&j);
        const char *at = j.p;
        size_t la, lb, boff;
        if (j.p < j.end && *j.p == '"') {
            if ((st = pt_js_string(&j, &a))) goto done;
            if (a.len >= 8 && memcmp(a.data, "#version", 8) == 0) goto next; /* HF skips these lines */
            const char *sp1 = a.len ? memchr(a.data, ' ', a.len) : NULL;
            if (!sp1 || memchr(sp1 + 1, ' ', a.len - (size_t)(sp1 + 1 - a.data))) {
                j.p = at;
                st = pt_js_err(&j, "model.merges: a merge string must hold exactly two tokens separated by one space");
                goto done;
            }
            la = (size_t)(sp1 - a.data);
            boff = la + 1;
            lb = a.len - la - 1;
            if (a.len && (st = pt_buf_append(&c->text, a.data, a.len))) goto done;
        } else if (j.p < j.end && *j.p == '[') {
            j.p++;
            pt_js_ws(&j);
            if ((st = pt_js_string(&j, &a))) goto done;
            if ((st = pt_js_expect(&j, ',', "model.merges: a merge array must hold two strings"))) goto done;
            pt_js_ws(&j);
            if ((st = pt_js_string(&j, &b))) goto done;
            if ((st = pt_js_expect(&j, ']', "model.merges: a merge array must hold two strings"))) goto done;
            la = a.len;
            lb = b.len;
            boff = la;
            if ((a.len && (st = pt_buf_append(&c->text, a.data, a.len))) ||
                (b.len && (st = pt_buf_append(&c->text, b.data, b.len))))
                goto done;
        } else {
            st = pt_js_err(&j, "model.merges: expected a string or a two-string array");
            goto done;
        }
        {
            size_t k = c->n++;
            size_t base = c->text.len - la - lb - (boff - la);
            c->a[k] = base;
            c->la[k] = la;
            c->b[k] = base + boff;
            c->lb[k] = lb;
            c->at[k] = (size_t)(at - j.base);
        }
        if (rank == INT32_MAX) {
            st = pt_js_err(&j, "model.merges: too many merges");
            goto done;
        }
        rank++;
        if (c->n == MERGES_CHUNK) {
            if ((st = flush_merges(&j, m, c, chunk_rank))) goto done;
            chunk_rank = rank;
        }
    next:
        pt_js_ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            continue;
        }
        if ((st = pt_js_expect(&j, ']', "model.merges: expected ',' or ']'"))) goto done;
        st = flush_merges(&j, m, c, chunk_rank);
        goto done;
    }
done:
    pt_buf_free(&a);
    pt_buf_free(&b);
    pt_buf_free(&c->text);
    free(c);
    return st;
}

/* ----------------------------------------------------------------- model */

static ptune_status load_model(const pt_js *j, const pt_js_span *msp, const model_spans *mss, pt_bpe **out)
{
    *out = NULL;
    if (!msp->present) return pt_fail(PTUNE_E_FORMAT, "%s: no \"model\"", j->path);
    model_spans ms = *mss;
    ptune_status st;

    char *type = NULL, *unk = NULL, *prefix = NULL, *suffix = NULL;
    size_t unk_len = 0;
    pt_bpe *m = NULL;
    json_t *drop = NULL;
    if ((st = span_string(j, &ms.type, "model.type", &type, NULL))) goto done;
    if (type && strcmp(type, "BPE") != 0) {
        st = pt_fail(PTUNE_E_UNSUPPORTED, "%s: model type \"%s\" is not supported (only BPE)", j->path, type);
        goto done;
    }
    if (!ms.vocab.present || !ms.merges.present) {
        st = type ? pt_fail(PTUNE_E_FORMAT, "%s: model: BPE model without %s", j->path,
                            ms.vocab.present ? "\"merges\"" : "\"vocab\"")
                  : pt_fail(PTUNE_E_UNSUPPORTED, "%s: model without a \"type\" is not a BPE model", j->path);
        goto done;
    }
    if ((st = load_span(j, &ms.dropout, "model.dropout", &drop))) goto done;
    if (!json_is_null(drop)) {
        if (!json_is_number(drop)) {
            st = pt_fail(PTUNE_E_FORMAT, "%s: model.dropout must be a number or null", j->path);
            goto done;
        }
        if (json_number_value(drop) != 0.0) { /* dropout 0 is HF's "no dropout" */
            st = pt_fail(PTUNE_E_UNSUPPORTED, "%s: model.dropout %g is not supported (BPE dropout is random)",
                         j->path, json_number_value(drop));
            goto done;
        }
    }
    pt_bpe_config cfg = {0};
    if ((st = span_string(j, &ms.unk, "model.unk_token", &unk, &unk_len)) ||
        (st = span_string(j, &ms.prefix, "model.continuing_subword_prefix", &prefix, NULL)) ||
        (st = span_string(j, &ms.suffix, "model.end_of_word_suffix", &suffix, NULL)) ||
        (st = span_bool(j, &ms.fuse_unk, "model.fuse_unk", false, &cfg.fuse_unk)) ||
        (st = span_bool(j, &ms.byte_fallback, "model.byte_fallback", false, &cfg.byte_fallback)) ||
        (st = span_bool(j, &ms.ignore_merges, "model.ignore_merges", false, &cfg.ignore_merges)))
        goto done;
    cfg.unk_id = -1;
    if (unk) {
        /* the unk id is needed before the model is built: one extra pass over the vocab keys */
        find_ctx f = {unk, unk_len, -1};
        st = walk_vocab(j, &ms.vocab, find_cb, &f);
        if (st && st != PTUNE_E_ABORTED) goto done;
        st = PTUNE_OK;
        cfg.unk_id = f.id; /* an unk_token missing from the vocab: unknown chars are dropped */
    }
    cfg.continuing_subword_prefix = prefix;
    cfg.end_of_word_suffix = suffix;
    if ((st = pt_bpe_new(&cfg, &m))) goto done;
    if ((st = pt_bpe_reserve(m, ms.n_vocab, ms.n_merges))) goto done;
    if ((st = walk_vocab(j, &ms.vocab, add_cb, m))) goto done;
    if ((st = walk_merges(j, &ms.merges, m))) goto done;
    if ((st = pt_bpe_finish(m))) goto done;
    *out = m;
    m = NULL;
done:
    pt_bpe_free(m);
    json_decref(drop);
    free(type);
    free(unk);
    free(prefix);
    free(suffix);
    return st;
}

/* ---------------------------------------------------------- added tokens */

static ptune_status obj_bool(const json_t *o, const char *k, bool dflt, bool *out)
{
    const json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) *out = dflt;
    else if (json_is_boolean(v)) *out = json_is_true(v);
    else return PTUNE_E_FORMAT;
    return PTUNE_OK;
}

/* content -> id of the added tokens seen so far (HF's added_tokens_map), for id assignment */
typedef struct content_map {
    const char **s;
    size_t *len;
    int32_t *id;
    size_t mask;
} content_map;

static size_t content_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static int32_t *content_slot(content_map *m, const char *s, size_t n)
{
    for (size_t i = content_hash(s, n) & m->mask;; i = (i + 1) & m->mask) {
        if (!m->s[i] || (m->len[i] == n && memcmp(m->s[i], s, n) == 0)) {
            if (!m->s[i]) {
                m->s[i] = s;
                m->len[i] = n;
                m->id[i] = -1;
            }
            return &m->id[i];
        }
    }
}

static int32_t content_find(const content_map *m, const char *s, size_t n)
{
    if (!m->s) return -1;
    for (size_t i = content_hash(s, n) & m->mask;; i = (i + 1) & m->mask) {
        if (!m->s[i]) return -1;
        if (m->len[i] == n && memcmp(m->s[i], s, n) == 0) return m->id[i];
    }
}

static const char *const BOS_NAMES[] = {"<|begin_of_text|>", "<bos>", "<s>", NULL};
static const char *const EOS_NAMES[] = {"<|end_of_text|>", "<|endoftext|>", "<eos>", "</s>", NULL};

/* The first of `names` that is an added token, else the first in the model vocab, else -1. */
static int32_t named_id(const content_map *cm, const pt_bpe *model, const char *const *names)
{
    for (const char *const *n = names; *n; n++) {
        int32_t id = content_find(cm, *n, strlen(*n));
        if (id >= 0) return id;
    }
    for (const char *const *n = names; *n; n++) {
        int32_t id = pt_bpe_token_to_id(model, *n, strlen(*n));
        if (id >= 0) return id;
    }
    return -1;
}

/* Loads the added tokens; also guesses bos/eos from their names (the post-processor, when it
 * names them, overrides this later). */
static ptune_status load_added(const pt_js *j, const pt_js_span *sp, struct ptune_tokenizer *t)
{
    json_t *arr;
    content_map cm = {0};
    ptune_status st = load_span(j, sp, "added_tokens", &arr);
    if (st) return st;
    t->n_vocab = pt_bpe_vocab_size(t->model);
    if (json_is_null(arr)) goto done;
    if (!json_is_array(arr)) {
        st = pt_fail(PTUNE_E_FORMAT, "%s: added_tokens must be an array", j->path);
        goto done;
    }
    size_t cap = 16;
    while (cap < 2 * json_array_size(arr) + 2) cap *= 2;
    cm.s = pt_calloc(cap, sizeof(char *), "added token map");
    cm.len = pt_calloc(cap, sizeof(size_t), "added token map");
    cm.id = pt_calloc(cap, sizeof(int32_t), "added token map");
    if (!cm.s || !cm.len || !cm.id) {
        st = PTUNE_E_NOMEM;
        goto done;
    }
    cm.mask = cap - 1;
    int32_t model_size = pt_bpe_vocab_size(t->model);
    int32_t max_added = -1;
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const json_t *c = json_object_get(o, "content"), *jid = json_object_get(o, "id");
        pt_added_token tk = {0};
        if (!json_is_object(o) || !json_is_string(c) || !json_is_integer(jid) || json_integer_value(jid) < 0 ||
            json_integer_value(jid) > INT32_MAX - 1) {
            st = pt_fail(PTUNE_E_FORMAT, "%s: added_tokens[%zu] needs a string \"content\" and an integer \"id\"",
                         j->path, i);
            goto done;
        }
        if (obj_bool(o, "special", false, &tk.special) || obj_bool(o, "lstrip", false, &tk.lstrip) ||
            obj_bool(o, "rstrip", false, &tk.rstrip) || obj_bool(o, "single_word", false, &tk.single_word) ||
            obj_bool(o, "normalized", !tk.special, &tk.normalized)) {
            st = pt_fail(PTUNE_E_FORMAT, "%s: added_tokens[%zu]: special/lstrip/rstrip/single_word/normalized must "
                         "be booleans", j->path, i);
            goto done;
        }
        tk.content = (char *)json_string_value(c);
        tk.len = json_string_length(c);
        if (tk.len == 0) continue; /* HF ignores empty added tokens */
        /* The id HF's AddedVocabulary gives it (the file's id is only checked there): an added
         * token seen before or a vocab entry keeps its id; a new one goes after the largest. */
        int32_t *slot = content_slot(&cm, tk.content, tk.len);
        int32_t id = *slot;
        if (id < 0) id = pt_bpe_token_to_id(t->model, tk.content, tk.len);
        if (id < 0) {
            if (max_added < 0) id = model_size;
            else id = (max_added >= model_size || model_size == 0) ? max_added + 1 : model_size;
            if (id < 0) {
                st = pt_fail(PTUNE_E_FORMAT, "%s: added_tokens[%zu]: too many ids", j->path, i);
                goto done;
            }
        }
        *slot = id;
        tk.id = id;
        if (id > max_added) max_added = id;
        if ((st = pt_added_tokens_add(t->added, &tk))) {
            pt_fail_context(st, "%s: added_tokens[%zu]: ", j->path, i);
            goto done;
        }
    }
    if (max_added + 1 > t->n_vocab) t->n_vocab = max_added + 1;
done:
    if (!st) {
        t->bos_id = named_id(&cm, t->model, BOS_NAMES);
        t->eos_id = named_id(&cm, t->model, EOS_NAMES);
    }
    free(cm.s);
    free(cm.len);
    free(cm.id);
    json_decref(arr);
    return st;
}

/* ------------------------------------------------------------- bos / eos */

static int32_t template_special_id(const json_t *pp, const json_t *piece)
{
    const json_t *sp = json_object_get(piece, "SpecialToken");
    const char *name = json_string_value(json_object_get(sp, "id"));
    if (!name) return -1;
    const json_t *ids = json_object_get(json_object_get(json_object_get(pp, "special_tokens"), name), "ids");
    const json_t *first = json_array_get(ids, 0);
    return json_is_integer(first) ? (int32_t)json_integer_value(first) : -1;
}

static void guess_bos_eos_pp(const json_t *pp, int32_t *bos, int32_t *eos)
{
    const char *type = json_string_value(json_object_get(pp, "type"));
    if (!type) return;
    if (!strcmp(type, "Sequence")) {
        size_t i;
        const json_t *p;
        json_array_foreach(json_object_get(pp, "processors"), i, p) guess_bos_eos_pp(p, bos, eos);
    } else if (!strcmp(type, "TemplateProcessing")) {
        const json_t *single = json_object_get(pp, "single");
        size_t n = json_array_size(single);
        if (n == 0) return;
        int32_t b = template_special_id(pp, json_array_get(single, 0));
        int32_t e = n > 1 ? template_special_id(pp, json_array_get(single, n - 1)) : -1;
        if (b >= 0) *bos = b;
        if (e >= 0) *eos = e;
    } else if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        const json_t *cls = json_object_get(pp, "cls"), *sep = json_object_get(pp, "sep");
        if (json_is_integer(json_array_get(cls, 1))) *bos = (int32_t)json_integer_value(json_array_get(cls, 1));
        if (json_is_integer(json_array_get(sep, 1))) *eos = (int32_t)json_integer_value(json_array_get(sep, 1));
    }
}

/* ------------------------------------------------------------------ load */


ptune_status pt_tokenizer_from_json_file(const char *path, struct ptune_tokenizer **out)
{
    *out = NULL;
    pt_mapped_file f = {0};
    ptune_status st = pt_mapped_file_open(path, &f);
    if (st) return st;
    struct ptune_tokenizer *t = pt_calloc(1, sizeof *t, "tokenizer");
    json_t *jn = NULL, *jp = NULL, *jpp = NULL, *jd = NULL;
    pt_buf key = {0};
    top_spans ts = {0};
    if (!t) {
        st = PTUNE_E_NOMEM;
        goto done;
    }
    t->bos_id = t->eos_id = -1;
    t->source = pt_strdup(path, "tokenizer path");
    if (!t->source) {
        st = PTUNE_E_NOMEM;
        goto done;
    }
    const char *base = f.data ? (const char *)f.data : "";
    pt_js j = {base, base, base + f.size, path};
    if (f.size >= 3 && !memcmp(base, "\xef\xbb\xbf", 3)) j.p += 3; /* tolerate a UTF-8 BOM */
    pt_js_ws(&j);
    if ((st = pt_js_object(&j, &key, top_member, &ts))) goto done;
    pt_js_ws(&j);
    if (j.p != j.end) {
        st = pt_js_err(&j, "trailing data after the top-level object");
        goto done;
    }
    if ((st = load_model(&j, &ts.model, &ts.ms, &t->model))) goto done;
    if ((st = pt_added_tokens_new(&t->added))) goto done;
    if ((st = load_added(&j, &ts.added, t))) goto done;
    if ((st = load_span(&j, &ts.normalizer, "normalizer", &jn)) ||
        (st = load_span(&j, &ts.pretok, "pre_tokenizer", &jp)) ||
        (st = load_span(&j, &ts.post, "post_processor", &jpp)) || (st = load_span(&j, &ts.decoder, "decoder", &jd)))
        goto done;
    if ((st = pt_normalizer_parse(jn, path, &t->normalizer))) goto done;
    if ((st = pt_pretokenizer_parse(jp, path, &t->pretokenizer))) goto done;
    if ((st = pt_post_processor_parse(jpp, path, &t->post))) goto done;
    if ((st = pt_decoder_parse(jd, path, &t->decoder))) goto done;
    if ((st = pt_added_tokens_finish_normalized(t->added, t->normalizer))) goto done;

    guess_bos_eos_pp(jpp, &t->bos_id, &t->eos_id);
    *out = t;
    t = NULL;
done:
    if (st && st != PTUNE_E_NOMEM && st != PTUNE_E_IO && !strstr(ptune_last_error(), path))
        pt_fail_context(st, "%s: ", path);
    json_decref(jn);
    json_decref(jp);
    json_decref(jpp);
    json_decref(jd);
    pt_buf_free(&key);
    pt_buf_free(&ts.key);
    pt_tokenizer_free(t);
    pt_mapped_file_close(&f);
    return st;
}

