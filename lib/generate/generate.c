/* Incremental generation with the KV cache: prefill (soft prompt rows + input ids) in one pass,
 * then one row per active sequence per step; sampling, stop conditions, streaming text pieces;
 * single, batched (per-sequence prompts) and text-in/text-out entry points. */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/rng.h"
#include "generate/sampler.h"
#include "tokenizer/tokenizer.h"
#include "tuning/ctx.h"
#include "tuning/prompt.h"

#include <stdlib.h>
#include <string.h>

/* State of one sequence of a batch. */
typedef struct gen_seq {
    ptune_generate_request *req;
    pt_ids history;              /* input ids + generated ids (repetition penalty) */
    pt_rng rng;
    ptune_token_stream *stream;  /* NULL without a tokenizer */
    pt_buf text;                 /* decoded new text (stop strings) */
    int32_t n_virtual;
    int32_t pos;                 /* positions in the cache so far */
    bool done;
    uint64_t prompt_hash;        /* of the prompt's values (0 without a prompt) */
    bool prefix_hit;             /* the prompt's K/V came from the prefix cache */
} gen_seq;

typedef struct gen_state {
    ptune_ctx *c;
    const ptune_sampling_params *sp;
    gen_seq *seqs;
    int32_t n;
    int32_t *slots;              /* pass sequence → cache slot */
    const ptune_prompt **prompts;/* pass sequence → prompt */
    pt_sampler_scratch scratch;
    ptune_batch_token_fn on_token;
    void *user;
} gen_state;

static bool is_stop_id(const ptune_ctx *c, const ptune_sampling_params *sp, int32_t id)
{
    if (!sp->ignore_eos)
        for (int i = 0; i < c->m->hp.n_eos; i++)
            if (c->m->hp.eos_ids[i] == id) return true;
    for (int i = 0; i < sp->n_stop_ids; i++)
        if (sp->stop_ids[i] == id) return true;
    return false;
}

/* ---- prefix cache ---------------------------------------------------------------------------- */

static uint64_t prompt_hash(const ptune_prompt *p)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the values' bytes and the shape */
    const unsigned char *b = (const unsigned char *)p->values;
    const size_t n = (size_t)p->n_virtual * (size_t)p->n_embd * sizeof(float);
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    h ^= (uint64_t)p->n_virtual << 32 | (uint32_t)p->n_embd;
    return h ? h : 1;
}

static size_t prefix_floats(const ptune_ctx *c, int32_t nv)
{
    return (size_t)c->m->hp.n_layer * (size_t)nv * (size_t)pt_hp_kv_dim(&c->m->hp);
}

/* Copies a cached prompt's K/V into slot `slot` at positions 0..nv-1; false when absent. */
static bool prefix_load(ptune_ctx *c, const gen_seq *q, int slot)
{
    if (c->prefix_cache_off || !q->prompt_hash) return false;
    const int kv_dim = pt_hp_kv_dim(&c->m->hp);
    for (int e = 0; e < PT_PREFIX_ENTRIES; e++) {
        struct pt_prefix_entry *p = &c->prefix[e];
        if (p->hash != q->prompt_hash || p->n_virtual != q->n_virtual) continue;
        const size_t per_layer = (size_t)q->n_virtual * (size_t)kv_dim;
        for (int l = 0; l < c->m->hp.n_layer; l++) {
            memcpy(c->kv_k + (((size_t)l * c->kv_slots + (size_t)slot) * c->kv_cap) * kv_dim, p->k + l * per_layer,
                   per_layer * sizeof(float));
            memcpy(c->kv_v + (((size_t)l * c->kv_slots + (size_t)slot) * c->kv_cap) * kv_dim, p->v + l * per_layer,
                   per_layer * sizeof(float));
        }
        p->last_use = ++c->prefix_clock;
        return true;
    }
    return false;
}

/* Keeps the K/V a prefill computed for a prompt (best effort: no memory, no entry). */
static void prefix_store(ptune_ctx *c, const gen_seq *q, int slot)
{
    if (c->prefix_cache_off || !q->prompt_hash) return;
    int victim = 0;
    for (int e = 1; e < PT_PREFIX_ENTRIES; e++)
        if (c->prefix[e].last_use < c->prefix[victim].last_use) victim = e;
    struct pt_prefix_entry *p = &c->prefix[victim];
    const size_t n = prefix_floats(c, q->n_virtual);
    if (p->n_virtual != q->n_virtual || !p->k) {
        /* the cache is an optimisation: without memory for it the generation goes on uncached */
        float *k = pt_malloc_array(n, sizeof(float), "prefix cache keys");
        float *v = k ? pt_malloc_array(n, sizeof(float), "prefix cache values") : NULL;
        if (!k || !v) {
            free(k);
            free(v);
            return;
        }
        free(p->k);
        free(p->v);
        p->k = k;
        p->v = v;
    }
    const int kv_dim = pt_hp_kv_dim(&c->m->hp);
    const size_t per_layer = (size_t)q->n_virtual * (size_t)kv_dim;
    for (int l = 0; l < c->m->hp.n_layer; l++) {
        memcpy(p->k + l * per_layer, c->kv_k + (((size_t)l * c->kv_slots + (size_t)slot) * c->kv_cap) * kv_dim,
               per_layer * sizeof(float));
        memcpy(p->v + l * per_layer, c->kv_v + (((size_t)l * c->kv_slots + (size_t)slot) * c->kv_cap) * kv_dim,
               per_layer * sizeof(float));
    }
    p->hash = q->prompt_hash;
    p->n_virtual = q->n_virtual;
    p->last_use = ++c->prefix_clock;
}

/* Lays out the rows of one pass: for each listed sequence, `count` new rows starting at its
 * cache position (virtual rows first when the position is inside the prompt). */
static void setup_rows(gen_state *g, const int32_t *which, int n_pass, bool prefill)
{
    ptune_ctx *c = g->c;
    int r = 0;
    for (int k = 0; k < n_pass; k++) {
        gen_seq *s = &g->seqs[which[k]];
        c->seq_row0[k] = r;
        g->slots[k] = which[k];
        g->prompts[k] = s->req->prompt;
        if (prefill) {
            for (int v = s->prefix_hit ? s->n_virtual : 0; v < s->n_virtual; v++, r++) {
                c->row_pos[r] = v;
                c->row_token[r] = -1;
            }
            for (int i = 0; i < s->req->n_ids; i++, r++) {
                c->row_pos[r] = s->n_virtual + i;
                c->row_token[r] = s->req->ids[i];
            }
        } else {
            c->row_pos[r] = s->pos;
            c->row_token[r] = s->history.data[s->history.len - 1];
            r++;
        }
    }
    for (int i = 0; i < r; i++) c->row_target[i] = PT_IGNORE_INDEX;
    c->seq_row0[n_pass] = r;
    c->n_rows = r;
    c->n_seq = n_pass;
    c->n_shared = 0;
    c->grad_scale = 0.0f;
}

/* Runs one pass over the listed sequences and samples each one's next token. */
static ptune_status step(gen_state *g, const int32_t *which, int n_pass, bool prefill)
{
    ptune_ctx *c = g->c;
    ptune_status s = pt_ctx_reserve_seqs(c, n_pass);
    if (s) return s;
    setup_rows(g, which, n_pass, prefill);
    const int32_t saved_mode = c->logits_mode;
    c->logits_mode = PTUNE_LOGITS_LAST;
    c->kv_mode = true;
    c->seq_slot = g->slots;
    c->seq_prompts = g->prompts;
    s = pt_forward_rows(c, NULL);
    c->kv_mode = false;
    c->seq_slot = NULL;
    c->seq_prompts = NULL;
    c->logits_mode = saved_mode;
    c->have_result = false; /* the rows were a generation pass, not a batch the caller can query */
    if (s) return s;
    const int V = c->m->hp.n_vocab;
    for (int k = 0; k < n_pass; k++) {
        gen_seq *q = &g->seqs[which[k]];
        q->pos = c->row_pos[c->seq_row0[k + 1] - 1] + 1;
        if (prefill && q->n_virtual && !q->prefix_hit) prefix_store(c, q, which[k]);
        float *logits = c->logits + (size_t)k * V;
        ptune_generate_request *req = q->req;
        if (req->logits && req->n_logits < req->logits_rows)
            memcpy(req->logits + (size_t)req->n_logits++ * V, logits, sizeof(float) * (size_t)V);
        int32_t tok = pt_sample(logits, V, q->history.data, q->history.len, g->sp, &q->rng, &g->scratch);
        if ((s = pt_ids_push(&q->history, tok))) return s;
        if (is_stop_id(c, g->sp, tok)) {
            q->done = true;
            continue;
        }
        if (req->n_out >= req->cap)
            return pt_fail(PTUNE_E_BUFFER_TOO_SMALL, "ptune_generate: the output buffer holds %d ids", req->cap);
        req->out[req->n_out++] = tok;
        const char *piece = NULL;
        size_t piece_len = 0;
        if (q->stream && (s = ptune_token_stream_push(q->stream, tok, &piece, &piece_len))) return s;
        bool stop = false;
        if (q->stream && g->sp->n_stop_strings > 0) {
            size_t before = q->text.len, cut;
            if ((s = pt_buf_append(&q->text, piece, piece_len))) return s;
            if (pt_stop_strings_match(q->text.data, q->text.len, g->sp->stop_strings, g->sp->n_stop_strings, &cut)) {
                stop = true;
                piece_len = cut > before ? cut - before : 0; /* stream only the text before the stop string */
            }
        }
        if (g->on_token && g->on_token(which[k], tok, piece, piece_len, g->user))
            return pt_fail(PTUNE_E_ABORTED, "ptune_generate: stopped by the token callback");
        const int32_t limit_new = g->sp->max_new_tokens;
        const int32_t total = req->n_ids + req->n_out;
        if (stop || req->n_out >= limit_new || (g->sp->max_length > 0 && total >= g->sp->max_length)) q->done = true;
    }
    return PTUNE_OK;
}

static ptune_status check_request(const ptune_ctx *c, const ptune_generate_request *r, int i)
{
    const pt_hparams *h = &c->m->hp;
    if (!r->ids && r->n_ids) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: sequence %d has no ids", i);
    if (r->n_ids < 0 || (r->n_ids == 0 && !r->prompt))
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: sequence %d needs at least one input id or a prompt", i);
    if (!r->out && r->cap > 0) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: sequence %d has no output buffer", i);
    if (r->prompt && r->prompt->n_embd != h->n_embd)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: the prompt of sequence %d is %d wide, the model's hidden size is %d",
                       i, r->prompt->n_embd, h->n_embd);
    for (int k = 0; k < r->n_ids; k++)
        if (r->ids[k] < 0 || r->ids[k] >= h->n_vocab)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: sequence %d, token %d: id %d outside [0, %d)", i, k,
                           r->ids[k], h->n_vocab);
    return PTUNE_OK;
}

/* The most positions a sequence may reach: the context's capacity and the model's context. */
static int32_t position_limit(const ptune_ctx *c)
{
    int32_t cap = c->max_tokens;
    if (c->m->hp.n_ctx > 0 && c->m->hp.n_ctx < cap) cap = c->m->hp.n_ctx;
    return cap;
}

static void gen_free(gen_state *g)
{
    for (int i = 0; g->seqs && i < g->n; i++) {
        pt_ids_free(&g->seqs[i].history);
        pt_buf_free(&g->seqs[i].text);
        ptune_token_stream_free(g->seqs[i].stream);
    }
    free(g->seqs);
    free(g->slots);
    free(g->prompts);
    pt_sampler_scratch_free(&g->scratch);
}

PTUNE_API ptune_status ptune_generate_batch(ptune_ctx *c, ptune_generate_request *reqs, int32_t n_req,
                                            const ptune_sampling_params *given, ptune_batch_token_fn on_token, void *user)
{
    if (!c || !reqs || n_req <= 0) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: context and requests are required");
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    if (given) {
        if (given->struct_size < sizeof(uint32_t) || given->struct_size > sizeof sp)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: sampling.struct_size is %u; call ptune_sampling_params_init()",
                           given->struct_size);
        memcpy(&sp, given, given->struct_size);
    }
    ptune_status s = pt_sampling_validate(&sp);
    if (s) return s;
    if (n_req > c->n_seq_max)
        return pt_fail(PTUNE_E_CAPACITY, "ptune_generate: %d sequences, but the context was created with n_seq_max %d", n_req,
                       c->n_seq_max);
    const int32_t limit = position_limit(c);
    int64_t prefill_rows = 0;
    for (int i = 0; i < n_req; i++) {
        if ((s = check_request(c, &reqs[i], i))) return s;
        int32_t rows = (reqs[i].prompt ? reqs[i].prompt->n_virtual : 0) + reqs[i].n_ids;
        if (rows >= limit)
            return pt_fail(PTUNE_E_CAPACITY, "ptune_generate: sequence %d already has %d positions; the limit is %d "
                           "(ptune_ctx_params.max_tokens %d, model context %d)", i, rows, limit, c->max_tokens, c->m->hp.n_ctx);
        prefill_rows += rows;
        reqs[i].n_out = 0;
        reqs[i].n_logits = 0;
    }
    if (prefill_rows > c->max_tokens)
        return pt_fail(PTUNE_E_CAPACITY, "ptune_generate: the inputs need %lld rows at once; the context holds %d",
                       (long long)prefill_rows, c->max_tokens);
    if ((s = pt_ctx_reserve_kv(c, c->n_seq_max))) return s;

    gen_state g = {.c = c, .sp = &sp, .n = n_req, .on_token = on_token, .user = user};
    g.seqs = pt_calloc((size_t)n_req, sizeof *g.seqs, "generation state");
    g.slots = pt_calloc((size_t)n_req, sizeof *g.slots, "generation state");
    g.prompts = pt_calloc((size_t)n_req, sizeof *g.prompts, "generation state");
    int32_t *which = pt_calloc((size_t)n_req, sizeof *which, "generation state");
    if (!g.seqs || !g.slots || !g.prompts || !which) s = PTUNE_E_NOMEM;
    if (!s) s = pt_sampler_scratch_reserve(&g.scratch, c->m->hp.n_vocab);
    const ptune_tokenizer *tok = c->m->tokenizer;
    for (int i = 0; !s && i < n_req; i++) {
        gen_seq *q = &g.seqs[i];
        q->req = &reqs[i];
        q->n_virtual = reqs[i].prompt ? reqs[i].prompt->n_virtual : 0;
        pt_rng_seed(&q->rng, sp.seed);
        s = pt_ids_append(&q->history, reqs[i].ids, (size_t)reqs[i].n_ids);
        if (!s && tok) s = ptune_token_stream_new(tok, true, &q->stream);
        if (!s && (sp.max_new_tokens == 0 || reqs[i].cap == 0 || (sp.max_length > 0 && reqs[i].n_ids >= sp.max_length)))
            q->done = true;
        if (!s && reqs[i].prompt) {
            q->prompt_hash = prompt_hash(reqs[i].prompt);
            /* a sequence with no input ids still needs its last virtual row computed for logits */
            q->prefix_hit = !q->done && reqs[i].n_ids > 0 && prefix_load(c, q, i);
        }
        which[i] = i;
    }
    /* prefill every sequence that has anything to generate, then one row per active sequence */
    int n_pass = 0;
    for (int i = 0; !s && i < n_req; i++)
        if (!g.seqs[i].done) which[n_pass++] = i;
    if (!s && n_pass) s = step(&g, which, n_pass, true);
    while (!s) {
        n_pass = 0;
        for (int i = 0; i < n_req; i++)
            if (!g.seqs[i].done) which[n_pass++] = i;
        if (n_pass == 0) break;
        for (int k = 0; k < n_pass && !s; k++)
            if (g.seqs[which[k]].pos >= limit)
                s = pt_fail(PTUNE_E_CAPACITY, "ptune_generate: sequence %d reached %d positions, the limit (max_tokens %d, "
                            "model context %d); %d tokens were generated", which[k], limit, c->max_tokens,
                            c->m->hp.n_ctx, reqs[which[k]].n_out);
        if (!s) s = step(&g, which, n_pass, false);
    }
    /* text still held back by a stream (an unfinished byte sequence) goes out with token -1 */
    for (int i = 0; (!s || s == PTUNE_E_CAPACITY) && on_token && i < n_req; i++) {
        const char *rest;
        size_t len;
        if (g.seqs && g.seqs[i].stream && !ptune_token_stream_flush(g.seqs[i].stream, &rest, &len) && len &&
            on_token(i, -1, rest, len, user) && !s)
            s = pt_fail(PTUNE_E_ABORTED, "ptune_generate: stopped by the token callback");
    }
    free(which);
    gen_free(&g);
    return s;
}

typedef struct single_cb {
    ptune_token_fn fn;
    void *user;
} single_cb;

static int single_forward(int32_t seq, int32_t token, const char *bytes, size_t n, void *user)
{
    (void)seq;
    const single_cb *cb = user;
    return cb->fn ? cb->fn(token, bytes, n, cb->user) : 0;
}

PTUNE_API ptune_status ptune_generate(ptune_ctx *c, const ptune_prompt *prompt, const int32_t *ids, int32_t n,
                                      const ptune_sampling_params *s, int32_t *out, int32_t cap, int32_t *n_out,
                                      ptune_token_fn on_token, void *user)
{
    if (!n_out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate: n_out is NULL");
    ptune_generate_request r = {.prompt = prompt, .ids = ids, .n_ids = n, .out = out, .cap = cap};
    single_cb cb = {on_token, user};
    ptune_status st = ptune_generate_batch(c, &r, 1, s, on_token ? single_forward : NULL, &cb);
    *n_out = r.n_out;
    return st;
}

PTUNE_API ptune_status ptune_generate_text(ptune_ctx *c, const ptune_prompt *prompt, const char *text,
                                           const ptune_sampling_params *s, char **out_text, ptune_token_fn on_token,
                                           void *user)
{
    if (!c || !text || !out_text) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate_text: context, text and out_text are required");
    *out_text = NULL;
    const ptune_tokenizer *tok = c->m->tokenizer;
    if (!tok) return pt_fail(PTUNE_E_STATE, "ptune_generate_text: %s", c->m->tokenizer_missing ? c->m->tokenizer_missing : "the model has no tokenizer");
    pt_ids ids = {0};
    pt_buf result = {0};
    ptune_status st = pt_tokenizer_encode(tok, text, strlen(text), true, &ids);
    if (!st && ids.len == 0) st = pt_fail(PTUNE_E_INVALID_ARG, "ptune_generate_text: the text tokenizes to nothing");
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    if (s) memcpy(&sp, s, s->struct_size < sizeof sp ? s->struct_size : sizeof sp);
    int32_t cap = sp.max_new_tokens > 0 ? sp.max_new_tokens : 1;
    int32_t *out = st ? NULL : pt_malloc_array((size_t)cap, sizeof(int32_t), "generated ids");
    if (!st && !out) st = PTUNE_E_NOMEM;
    int32_t n_out = 0;
    if (!st) st = ptune_generate(c, prompt, ids.data, (int32_t)ids.len, s, out, cap, &n_out, on_token, user);
    /* the text is the decode of all new ids */
    if (!st || st == PTUNE_E_ABORTED || st == PTUNE_E_CAPACITY) {
        ptune_status d = pt_tokenizer_decode(tok, out, (size_t)n_out, true, &result);
        if (d) st = d;
        else if (sp.n_stop_strings > 0) {
            size_t cut;
            if (pt_stop_strings_match(result.data, result.len, sp.stop_strings, sp.n_stop_strings, &cut)) {
                result.len = cut;
                result.data[cut] = '\0';
            }
        }
        if (!d && !result.data) d = pt_buf_append(&result, "", 0);
        if (d) st = d;
        else {
            *out_text = result.data;
            result.data = NULL;
        }
    }
    pt_buf_free(&result);
    pt_ids_free(&ids);
    free(out);
    return st;
}

PTUNE_API void ptune_free(void *p) { free(p); }
