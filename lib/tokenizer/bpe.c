/* The BPE model: vocabulary (string <-> id hash maps), merges ((left, right) -> (rank, merged id)
 * hash map) or SentencePiece scores, HF-exact word encoding and a per-thread word cache. */
#include "tokenizer/bpe.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"

#include <sys/mman.h>

/* Largest id accepted (the id -> token table is a dense array). */
#define BPE_MAX_ID ((int32_t)1 << 24)

typedef struct vtok {    /* per token, in insertion order (id_index maps ids here) */
    uint32_t off, len;   /* string in the arena (NUL-terminated there) */
    float score;
} vtok;

#define VINL 16
/* A vocabulary hash slot holds the id and short strings inline: one cache miss per lookup. */
typedef struct vslot {
    uint32_t tag;        /* high hash bits */
    int32_t id1;         /* id + 1; 0 = empty slot (tables start zeroed) */
    uint32_t len, off;   /* the string: inline when len <= VINL, else arena + off */
    char inl[VINL];
} vslot;

typedef struct mslot {
    uint32_t a1, b;      /* left id + 1 (0 = empty slot), right id */
    int32_t rank, new_id;
} mslot;

struct pt_bpe {
    bool byte_fallback, fuse_unk, ignore_merges, score_merges, finished;
    int32_t unk_id;
    char *prefix, *suffix;
    size_t prefix_len, suffix_len;
    uint64_t serial;

    char *arena;
    size_t arena_len, arena_cap;
    vtok *toks;
    size_t n_toks, toks_cap;
    vslot *vtab;
    size_t vmask;
    int32_t *id_index;   /* id -> index into toks, -1 when absent */
    size_t id_cap;
    int32_t max_id;

    mslot *mtab;
    size_t mmask, n_merges;

    int32_t byte_ids[256]; /* <0xXX> token ids (-1 absent), set by pt_bpe_finish */
    int32_t byte_char_ids[256]; /* single-byte string tokens (score mode fallback) */
};

static atomic_uint_fast64_t g_bpe_serial = 1;

/* ---------------------------------------------------------------- hashing */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n) memcpy(&w, s, n);
    return mix64(h ^ w);
}

static inline uint64_t hash_pair(uint32_t a, uint32_t b) { return mix64(((uint64_t)a << 32) | b); }

/* Short, printable rendering of a token for messages. */
static const char *show(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else buf[o++] = (char)c;
        if (i + 1 < len && o + 8 >= cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
    }
    buf[o] = 0;
    return buf;
}

/* ------------------------------------------------------------- vocabulary */

/* Zeroed hash tables. Large ones come straight from fresh zero pages (calloc's mmap) and ask
 * for transparent huge pages: page faults dominate building the 100k-500k entry tables. */
static void *table_alloc(size_t count, size_t elem, const char *what)
{
    void *t = pt_calloc(count, elem, what);
    size_t bytes = count * elem, huge = (size_t)2 << 20;
    if (t && bytes >= 2 * huge) {
        uintptr_t lo = ((uintptr_t)t + huge - 1) & ~(uintptr_t)(huge - 1);
        uintptr_t hi = ((uintptr_t)t + bytes) & ~(uintptr_t)(huge - 1);
        if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* a hint; failure is harmless */
    }
    return t;
}

/* The id of s[0..len) (hash h), or -1. */
static int32_t find_id(const pt_bpe *m, const char *s, size_t len, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & m->vmask;; i = (i + 1) & m->vmask) {
        const vslot *sl = &m->vtab[i];
        if (!sl->id1) return -1;
        if (sl->tag == tag && sl->len == len &&
            memcmp(len <= VINL ? sl->inl : m->arena + sl->off, s, len) == 0)
            return sl->id1 - 1;
    }
}

static inline int32_t lookup(const pt_bpe *m, const char *s, size_t len)
{
    return find_id(m, s, len, hash_bytes(s, len));
}

static void vtab_put(vslot *t, size_t mask, const vslot *v, uint64_t h)
{
    size_t i = (size_t)h & mask;
    while (t[i].id1) i = (i + 1) & mask;
    t[i] = *v;
}

/* Rehashes the vocabulary into a table of `cap` slots (a power of two). */
static ptune_status vtab_resize(pt_bpe *m, size_t cap)
{
    vslot *t = table_alloc(cap, sizeof(vslot), "BPE vocabulary hash table");
    if (!t) return PTUNE_E_NOMEM;
    for (size_t k = 0; m->vtab && k <= m->vmask; k++) {
        const vslot *v = &m->vtab[k];
        if (!v->id1) continue;
        vtab_put(t, cap - 1, v, hash_bytes(v->len <= VINL ? v->inl : m->arena + v->off, v->len));
    }
    free(m->vtab);
    m->vtab = t;
    m->vmask = cap - 1;
    return PTUNE_OK;
}

static ptune_status grow_array(void **p, size_t *cap, size_t need, size_t elem, const char *what)
{
    if (need <= *cap) return PTUNE_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 4 / elem) return pt_fail(PTUNE_E_NOMEM, "%s too large", what);
        n *= 2;
    }
    void *q = pt_realloc(*p, n * elem, "bpe buffer");
    if (!q) return pt_fail(PTUNE_E_NOMEM, "out of memory growing %s to %zu bytes", what, n * elem);
    *p = q;
    *cap = n;
    return PTUNE_OK;
}

ptune_status pt_bpe_new(const pt_bpe_config *cfg, pt_bpe **out)
{
    *out = NULL;
    pt_bpe *m = pt_calloc(1, sizeof *m, "BPE model");
    if (!m) return PTUNE_E_NOMEM;
    m->byte_fallback = cfg->byte_fallback;
    m->fuse_unk = cfg->fuse_unk;
    m->ignore_merges = cfg->ignore_merges;
    m->score_merges = cfg->score_merges;
    m->unk_id = cfg->unk_id < 0 ? -1 : cfg->unk_id;
    m->max_id = -1;
    m->serial = atomic_fetch_add(&g_bpe_serial, 1);
    for (int b = 0; b < 256; b++) m->byte_ids[b] = m->byte_char_ids[b] = -1;
    if (cfg->continuing_subword_prefix && cfg->continuing_subword_prefix[0]) {
        m->prefix = pt_strdup(cfg->continuing_subword_prefix, "BPE continuing_subword_prefix");
        if (!m->prefix) goto nomem;
        m->prefix_len = strlen(m->prefix);
    }
    if (cfg->end_of_word_suffix && cfg->end_of_word_suffix[0]) {
        m->suffix = pt_strdup(cfg->end_of_word_suffix, "BPE end_of_word_suffix");
        if (!m->suffix) goto nomem;
        m->suffix_len = strlen(m->suffix);
    }
    m->vtab = table_alloc(1024, sizeof(vslot), "BPE vocabulary hash table");
    m->mtab = table_alloc(1024, sizeof(mslot), "BPE merge hash table");
    if (!m->vtab || !m->mtab) goto nomem;
    m->vmask = 1023;
    m->mmask = 1023;
    *out = m;
    return PTUNE_OK;
nomem:
    pt_bpe_free(m);
    return PTUNE_E_NOMEM;
}

void pt_bpe_free(pt_bpe *m)
{
    if (!m) return;
    free(m->prefix);
    free(m->suffix);
    free(m->arena);
    free(m->toks);
    free(m->vtab);
    free(m->id_index);
    free(m->mtab);
    free(m);
}

ptune_status pt_bpe_add_token(pt_bpe *m, const char *s, size_t len, int32_t id, float score)
{
    char sb[96];
    if (m->finished) return pt_fail(PTUNE_E_STATE, "BPE vocabulary: token added after the model was finished");
    if (id < 0 || id >= BPE_MAX_ID)
        return pt_fail(PTUNE_E_FORMAT, "BPE vocabulary: token \"%s\" has id %d (must be in 0..%d)",
                       show(s, len, sb, sizeof sb), (int)id, (int)BPE_MAX_ID - 1);
    if (len > UINT32_MAX / 2 || m->arena_len > UINT32_MAX / 2)
        return pt_fail(PTUNE_E_FORMAT, "BPE vocabulary: token strings too long");
    uint64_t h = hash_bytes(s, len);
    int32_t dup = find_id(m, s, len, h);
    if (dup >= 0)
        return pt_fail(PTUNE_E_FORMAT, "BPE vocabulary: duplicate token \"%s\" (ids %d and %d)",
                       show(s, len, sb, sizeof sb), (int)dup, (int)id);
    if ((size_t)id < m->id_cap && m->id_index[id] >= 0) {
        const vtok *o = &m->toks[m->id_index[id]];
        char sb2[96];
        return pt_fail(PTUNE_E_FORMAT, "BPE vocabulary: id %d is given to both \"%s\" and \"%s\"", (int)id,
                       show(m->arena + o->off, o->len, sb2, sizeof sb2), show(s, len, sb, sizeof sb));
    }
    ptune_status st;
    if ((size_t)id >= m->id_cap) {
        size_t old = m->id_cap;
        st = grow_array((void **)&m->id_index, &m->id_cap, (size_t)id + 1, sizeof(int32_t), "BPE id table");
        if (st) return st;
        for (size_t i = old; i < m->id_cap; i++) m->id_index[i] = -1;
    }
    st = grow_array((void **)&m->toks, &m->toks_cap, m->n_toks + 1, sizeof(vtok), "BPE vocabulary");
    if (st) return st;
    st = grow_array((void **)&m->arena, &m->arena_cap, m->arena_len + len + 1, 1, "BPE token strings");
    if (st) return st;
    if ((m->n_toks + 1) * 2 > m->vmask + 1) {
        st = vtab_resize(m, (m->vmask + 1) * 2);
        if (st) return st;
    }
    vtok *t = &m->toks[m->n_toks];
    t->off = (uint32_t)m->arena_len;
    t->len = (uint32_t)len;
    t->score = score;
    if (len) memcpy(m->arena + m->arena_len, s, len);
    m->arena[m->arena_len + len] = 0;
    m->arena_len += len + 1;
    vslot v = {(uint32_t)(h >> 32), id + 1, (uint32_t)len, t->off, {0}};
    if (len <= VINL && len) memcpy(v.inl, s, len);
    vtab_put(m->vtab, m->vmask, &v, h);
    m->id_index[id] = (int32_t)m->n_toks;
    m->n_toks++;
    if (id > m->max_id) m->max_id = id;
    return PTUNE_OK;
}

/* --------------------------------------------------------------- merges */

static const mslot *find_merge(const pt_bpe *m, int32_t a, int32_t b)
{
    uint32_t a1 = (uint32_t)a + 1;
    for (size_t i = (size_t)hash_pair((uint32_t)a, (uint32_t)b) & m->mmask;; i = (i + 1) & m->mmask) {
        const mslot *s = &m->mtab[i];
        if (!s->a1) return NULL;
        if (s->a1 == a1 && s->b == (uint32_t)b) return s;
    }
}

/* Rehashes the merges into a table of `cap` slots (a power of two). */
static ptune_status mtab_resize(pt_bpe *m, size_t cap)
{
    mslot *t = table_alloc(cap, sizeof(mslot), "BPE merge hash table");
    if (!t) return PTUNE_E_NOMEM;
    for (size_t k = 0; m->mtab && k <= m->mmask; k++) {
        const mslot *s = &m->mtab[k];
        if (!s->a1) continue;
        size_t i = (size_t)hash_pair(s->a1 - 1, s->b) & (cap - 1);
        while (t[i].a1) i = (i + 1) & (cap - 1);
        t[i] = *s;
    }
    free(m->mtab);
    m->mtab = t;
    m->mmask = cap - 1;
    return PTUNE_OK;
}

ptune_status pt_bpe_reserve(pt_bpe *m, size_t n_tokens, size_t n_merges)
{
    ptune_status st;
    size_t cap = m->vmask + 1;
    while (cap < 2 * (n_tokens + m->n_toks) && cap < ((size_t)1 << 40)) cap *= 2;
    if (cap > m->vmask + 1 && (st = vtab_resize(m, cap))) return st;
    cap = m->mmask + 1;
    while (cap * 3 < 4 * (n_merges + m->n_merges) && cap < ((size_t)1 << 40)) cap *= 2;
    if (cap > m->mmask + 1 && (st = mtab_resize(m, cap))) return st;
    if ((st = grow_array((void **)&m->toks, &m->toks_cap, m->n_toks + n_tokens, sizeof(vtok), "BPE vocabulary")))
        return st;
    return PTUNE_OK;
}

static ptune_status merge_error(const pt_bpe_merge *g, const char *why, const char *tok, size_t tlen)
{
    char sa[64], sb[64], sc[96];
    return pt_fail(PTUNE_E_FORMAT, "BPE merge %d \"%s\" \"%s\": %s%s%s%s", (int)g->rank, show(g->a, g->la, sa, sizeof sa),
                   show(g->b, g->lb, sb, sizeof sb), why, tok ? " \"" : "", tok ? show(tok, tlen, sc, sizeof sc) : "",
                   tok ? "\" is not in the vocabulary" : "");
}

static void insert_merge(pt_bpe *m, int32_t ia, int32_t ib, int32_t rank, int32_t ic, uint64_t hp)
{
    size_t i = (size_t)hp & m->mmask;
    for (;; i = (i + 1) & m->mmask) {
        mslot *sl = &m->mtab[i];
        if (!sl->a1) break;
        if (sl->a1 == (uint32_t)ia + 1 && sl->b == (uint32_t)ib) { /* repeated pair: the later one wins (HF) */
            sl->rank = rank;
            sl->new_id = ic;
            return;
        }
    }
    m->mtab[i] = (mslot){(uint32_t)ia + 1, (uint32_t)ib, rank, ic};
    m->n_merges++;
}

#define MERGE_BATCH 32

/* Resolves and inserts up to MERGE_BATCH merges. The hash-table slots of all lookups are
 * prefetched first, so the cache misses of a batch overlap instead of adding up. */
static ptune_status add_merge_batch(pt_bpe *m, const pt_bpe_merge *g, size_t n, pt_buf *cat, size_t *failed)
{
    uint64_t ha[MERGE_BATCH], hb[MERGE_BATCH], hc[MERGE_BATCH], hp[MERGE_BATCH];
    size_t coff[MERGE_BATCH + 1];
    int32_t ia[MERGE_BATCH], ib[MERGE_BATCH], ic[MERGE_BATCH];
    ptune_status st;
    pt_buf_clear(cat);
    for (size_t k = 0; k < n; k++) {
        if (g[k].rank < 0) {
            *failed = k;
            return pt_fail(PTUNE_E_FORMAT, "BPE merges: negative rank %d", (int)g[k].rank);
        }
        if (g[k].lb < m->prefix_len) {
            *failed = k;
            return merge_error(&g[k], "right part shorter than continuing_subword_prefix", NULL, 0);
        }
        coff[k] = cat->len;
        if ((st = pt_buf_append(cat, g[k].a, g[k].la)) ||
            (st = pt_buf_append(cat, g[k].b + m->prefix_len, g[k].lb - m->prefix_len))) {
            *failed = k;
            return st;
        }
    }
    coff[n] = cat->len;
    for (size_t k = 0; k < n; k++) {
        ha[k] = hash_bytes(g[k].a, g[k].la);
        hb[k] = hash_bytes(g[k].b, g[k].lb);
        hc[k] = hash_bytes(cat->data + coff[k], coff[k + 1] - coff[k]);
        __builtin_prefetch(&m->vtab[ha[k] & m->vmask]);
        __builtin_prefetch(&m->vtab[hb[k] & m->vmask]);
        __builtin_prefetch(&m->vtab[hc[k] & m->vmask]);
    }
    while ((m->n_merges + n) * 4 > (m->mmask + 1) * 3)
        if ((st = mtab_resize(m, (m->mmask + 1) * 2))) {
            *failed = 0;
            return st;
        }
    for (size_t k = 0; k < n; k++) {
        ia[k] = find_id(m, g[k].a, g[k].la, ha[k]);
        ib[k] = find_id(m, g[k].b, g[k].lb, hb[k]);
        ic[k] = find_id(m, cat->data + coff[k], coff[k + 1] - coff[k], hc[k]);
        if (ia[k] < 0 || ib[k] < 0) {
            *failed = k;
            return ia[k] < 0 ? merge_error(&g[k], "token", g[k].a, g[k].la)
                             : merge_error(&g[k], "token", g[k].b, g[k].lb);
        }
        if (ic[k] < 0) {
            *failed = k;
            return merge_error(&g[k], "merged token", cat->data + coff[k], coff[k + 1] - coff[k]);
        }
        hp[k] = hash_pair((uint32_t)ia[k], (uint32_t)ib[k]);
        __builtin_prefetch(&m->mtab[hp[k] & m->mmask]);
    }
    for (size_t k = 0; k < n; k++) insert_merge(m, ia[k], ib[k], g[k].rank, ic[k], hp[k]);
    return PTUNE_OK;
}

ptune_status pt_bpe_add_merges(pt_bpe *m, const pt_bpe_merge *merges, size_t n, size_t *failed)
{
    size_t dummy;
    if (!failed) failed = &dummy;
    *failed = 0;
    if (m->finished) return pt_fail(PTUNE_E_STATE, "BPE merges: merge added after the model was finished");
    pt_buf cat = {0};
    ptune_status st = PTUNE_OK;
    for (size_t i = 0; i < n && !st; i += MERGE_BATCH) {
        size_t k = n - i < MERGE_BATCH ? n - i : MERGE_BATCH;
        st = add_merge_batch(m, merges + i, k, &cat, failed);
        if (st) *failed += i;
    }
    pt_buf_free(&cat);
    return st;
}

ptune_status pt_bpe_add_merge(pt_bpe *m, const char *a, size_t la, const char *b, size_t lb, int32_t rank)
{
    pt_bpe_merge g = {a, la, b, lb, rank};
    return pt_bpe_add_merges(m, &g, 1, NULL);
}

ptune_status pt_bpe_finish(pt_bpe *m)
{
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        m->byte_ids[b] = lookup(m, name, 6);
        char c = (char)b;
        m->byte_char_ids[b] = lookup(m, &c, 1);
    }
    m->finished = true;
    return PTUNE_OK;
}

int32_t pt_bpe_token_to_id(const pt_bpe *m, const char *s, size_t len) { return lookup(m, s, len); }

const char *pt_bpe_id_to_token(const pt_bpe *m, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= m->id_cap || m->id_index[id] < 0) {
        if (len) *len = 0;
        return NULL;
    }
    const vtok *t = &m->toks[m->id_index[id]];
    if (len) *len = t->len;
    return m->arena + t->off;
}

int32_t pt_bpe_vocab_size(const pt_bpe *m) { return m->max_id + 1; }

/* ------------------------------------------------------------ word cache */

#define CACHE_SLOTS 1024
#define CACHE_KEY 26
#define CACHE_IDS 6

typedef struct cache_ent {
    uint64_t serial;     /* model serial (never reused; 0 = empty) */
    uint32_t tag;
    uint8_t klen, nids;
    char key[CACHE_KEY];
    int32_t ids[CACHE_IDS];
} cache_ent;

static _Thread_local cache_ent tl_cache[CACHE_SLOTS];

/* ------------------------------------------------------------ BPE merging */

typedef struct sym {
    int32_t c;
    int32_t prev, next;
    uint32_t len;        /* byte length; 0 = merged into its left neighbour */
} sym;

/* A queued merge: key = rank << 32 | pos, so the smallest key is the lowest rank, leftmost. */
typedef struct qent {
    uint64_t key;
    int32_t new_id;
} qent;

static inline qent mk_qent(int32_t rank, uint32_t pos, int32_t new_id)
{
    return (qent){((uint64_t)(uint32_t)rank << 32) | pos, new_id};
}

/* 4-ary min-heap */
static void q_push(qent *h, size_t *n, qent e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (h[p].key <= e.key) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static qent q_pop(qent *h, size_t *n)
{
    qent top = h[0];
    qent last = h[--(*n)];
    size_t i = 0, cnt = *n;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= cnt) break;
        size_t end = c + 4 < cnt ? c + 4 : cnt, best = c;
        for (size_t k = c + 1; k < end; k++)
            if (h[k].key < h[best].key) best = k;
        if (h[best].key >= last.key) break;
        h[i] = h[best];
        i = best;
    }
    if (cnt) h[i] = last;
    return top;
}

/* Makes room for `need` queue entries (the queue starts in a stack buffer). */
static ptune_status q_reserve(qent **q, size_t *qcap, size_t qn, size_t need, const qent *stackbuf)
{
    if (need <= *qcap) return PTUNE_OK;
    size_t nc = *qcap * 2;
    while (nc < need) nc *= 2;
    qent *nq = pt_malloc_array(nc, sizeof(qent), "BPE merge queue");
    if (!nq) return PTUNE_E_NOMEM;
    memcpy(nq, *q, qn * sizeof(qent));
    if (*q != stackbuf) free(*q);
    *q = nq;
    *qcap = nc;
    return PTUNE_OK;
}

static inline void add_sym(sym *s, size_t *n, int32_t c, uint32_t len)
{
    size_t k = (*n)++;
    s[k].c = c;
    s[k].len = len;
    s[k].prev = (int32_t)k - 1;
    s[k].next = -1;
    if (k) s[k - 1].next = (int32_t)k;
}

/* Looks up prefix? + s + suffix? without allocating when no affix applies. */
static int32_t lookup_affixed(const pt_bpe *m, const char *s, size_t len, bool pre, bool suf, pt_buf *scratch,
                              ptune_status *st)
{
    if (!pre && !suf) return lookup(m, s, len);
    pt_buf_clear(scratch);
    if ((pre && (*st = pt_buf_append(scratch, m->prefix, m->prefix_len))) || (*st = pt_buf_append(scratch, s, len)) ||
        (suf && (*st = pt_buf_append(scratch, m->suffix, m->suffix_len))))
        return -1;
    return lookup(m, scratch->data, scratch->len);
}

static ptune_status merge_word(const pt_bpe *m, const char *w, size_t len, pt_ids *out)
{
    sym sbuf[128];
    qent qbuf[256];
    sym *s = sbuf;
    qent *q = qbuf;
    size_t qcap = sizeof qbuf / sizeof qbuf[0];
    pt_buf scratch = {0};
    ptune_status st = PTUNE_OK;
    if (len > INT32_MAX) return pt_fail(PTUNE_E_INVALID_ARG, "BPE word too long (%zu bytes)", len);
    /* symbols: at most one per byte, or per byte of the affixed string under byte fallback */
    size_t cap = len;
    if (m->byte_fallback && (m->prefix_len || m->suffix_len) &&
        (!pt_mul_size(len, 1 + m->prefix_len, &cap) || !pt_add_size(cap, m->suffix_len, &cap)))
        return pt_fail(PTUNE_E_NOMEM, "BPE word too long (%zu bytes)", len);
    if (cap > 128) {
        s = pt_malloc_array(cap, sizeof(sym), "BPE word symbols");
        if (!s) {
            st = PTUNE_E_NOMEM;
            goto done;
        }
    }
    size_t n = 0;
    bool have_unk = false;
    uint32_t unk_len = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = pt_utf8_decode(w + i, len - i, &cp);
        if (!k) k = 1; /* not reached for valid UTF-8 input */
        bool first = i == 0, last = i + k == len;
        bool pre = !first && m->prefix_len, suf = last && m->suffix_len;
        int32_t id = lookup_affixed(m, w + i, k, pre, suf, &scratch, &st);
        if (st) goto done;
        if (id >= 0) {
            if (have_unk) {
                add_sym(s, &n, m->unk_id, unk_len);
                have_unk = false;
            }
            add_sym(s, &n, id, (uint32_t)k);
        } else {
            bool done_bytes = false;
            if (m->byte_fallback) {
                /* the bytes of the (affixed) string, as HF does */
                const char *bs = (pre || suf) ? scratch.data : w + i;
                size_t bl = (pre || suf) ? scratch.len : k;
                size_t j = 0;
                while (j < bl && m->byte_ids[(unsigned char)bs[j]] >= 0) j++;
                if (j == bl) {
                    for (j = 0; j < bl; j++) add_sym(s, &n, m->byte_ids[(unsigned char)bs[j]], 1);
                    done_bytes = true;
                }
            }
            if (!done_bytes && m->unk_id >= 0) {
                if (have_unk && m->fuse_unk) {
                    unk_len += (uint32_t)k;
                } else {
                    if (have_unk) add_sym(s, &n, m->unk_id, unk_len);
                    have_unk = true;
                    unk_len = (uint32_t)k;
                }
            }
        }
        i += k;
    }
    if (have_unk) add_sym(s, &n, m->unk_id, unk_len);

    /* merge: lowest rank first, leftmost on ties; stale entries skipped as HF does */
    size_t qn = 0;
    if ((st = q_reserve(&q, &qcap, 0, n + 2, qbuf))) goto done;
    for (size_t i = 0; i + 1 < n; i++) {
        const mslot *mg = find_merge(m, s[i].c, s[i + 1].c);
        if (mg) q_push(q, &qn, mk_qent(mg->rank, (uint32_t)i, mg->new_id));
    }
    while (qn) {
        if ((st = q_reserve(&q, &qcap, qn, qn + 2, qbuf))) goto done;
        qent top = q_pop(q, &qn);
        uint32_t pos = (uint32_t)top.key;
        sym *cur = &s[pos];
        if (cur->len == 0 || cur->next < 0) continue;
        int32_t rpos = cur->next;
        sym right = s[rpos];
        const mslot *mg = find_merge(m, cur->c, right.c);
        if (!mg || mg->new_id != top.new_id) continue;
        cur->c = top.new_id;
        cur->len += right.len;
        cur->next = right.next;
        s[rpos].len = 0;
        if (right.next >= 0) s[right.next].prev = (int32_t)pos;
        if (cur->prev >= 0) {
            const mslot *pm = find_merge(m, s[cur->prev].c, cur->c);
            if (pm) q_push(q, &qn, mk_qent(pm->rank, (uint32_t)cur->prev, pm->new_id));
        }
        if (cur->next >= 0) {
            const mslot *nm = find_merge(m, cur->c, s[cur->next].c);
            if (nm) q_push(q, &qn, mk_qent(nm->rank, pos, nm->new_id));
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i].len == 0) continue;
        st = pt_ids_push(out, s[i].c);
        if (st) goto done;
    }
done:
    if (s != sbuf) free(s);
    if (q != qbuf) free(q);
    pt_buf_free(&scratch);
    return st;
}

/* ------------------------------------------------ SentencePiece score mode */

typedef struct ssym {
    uint32_t start, n;   /* n == 0: merged away */
    int32_t prev, next;
} ssym;

typedef struct bigram {
    float score;
    int32_t left, right;
    uint32_t size;
} bigram;

static inline bool bg_before(const bigram *x, const bigram *y)
{
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static void bg_push(bigram *h, size_t *n, bigram e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bg_before(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static bigram bg_pop(bigram *h, size_t *n)
{
    bigram top = h[0];
    bigram last = h[--(*n)];
    size_t i = 0, cnt = *n;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= cnt) break;
        size_t c = (l + 1 < cnt && bg_before(&h[l + 1], &h[l])) ? l + 1 : l;
        if (!bg_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (cnt) h[i] = last;
    return top;
}

static void try_bigram(const pt_bpe *m, const char *w, const ssym *s, int32_t l, int32_t r, bigram *h, size_t *hn)
{
    if (l < 0 || r < 0) return;
    uint32_t size = s[l].n + s[r].n;
    int32_t id = lookup(m, w + s[l].start, size);
    if (id < 0) return;
    bg_push(h, hn, (bigram){m->toks[m->id_index[id]].score, l, r, size});
}

static ptune_status bg_reserve(bigram **h, size_t *cap, size_t need)
{
    if (need <= *cap) return PTUNE_OK;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    if (nc > SIZE_MAX / sizeof(bigram)) return pt_fail(PTUNE_E_NOMEM, "SentencePiece merge queue too large");
    bigram *nh = pt_realloc(*h, nc * sizeof(bigram), "bpe buffer");
    if (!nh) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the SentencePiece merge queue to %zu entries", nc);
    *h = nh;
    *cap = nc;
    return PTUNE_OK;
}

static ptune_status spm_encode(const pt_bpe *m, const char *w, size_t len, pt_ids *out)
{
    if (len > INT32_MAX) return pt_fail(PTUNE_E_INVALID_ARG, "SentencePiece word too long (%zu bytes)", len);
    ssym *s = pt_malloc_array(len, sizeof(ssym), "SentencePiece symbols");
    bigram *h = NULL;
    size_t hcap = 0;
    ptune_status st = PTUNE_OK;
    if (!s) {
        st = PTUNE_E_NOMEM;
        goto done;
    }
    if ((st = bg_reserve(&h, &hcap, len + 2))) goto done;
    size_t n = 0, hn = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = pt_utf8_decode(w + i, len - i, &cp);
        if (!k) k = 1;
        s[n] = (ssym){(uint32_t)i, (uint32_t)k, (int32_t)n - 1, -1};
        if (n) s[n - 1].next = (int32_t)n;
        n++;
        i += k;
    }
    for (size_t i = 1; i < n; i++) try_bigram(m, w, s, (int32_t)i - 1, (int32_t)i, h, &hn);
    while (hn) {
        if ((st = bg_reserve(&h, &hcap, hn + 2))) goto done;
        bigram b = bg_pop(h, &hn);
        ssym *l = &s[b.left], *r = &s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        try_bigram(m, w, s, l->prev, b.left, h, &hn);
        try_bigram(m, w, s, b.left, l->next, h, &hn);
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = s[i].next) {
        const char *t = w + s[i].start;
        int32_t id = lookup(m, t, s[i].n);
        if (id >= 0) {
            st = pt_ids_push(out, id);
        } else {
            bool ok = m->byte_fallback;
            for (uint32_t j = 0; ok && j < s[i].n; j++) {
                unsigned char c = (unsigned char)t[j];
                ok = m->byte_ids[c] >= 0 || m->byte_char_ids[c] >= 0;
            }
            if (ok) {
                for (uint32_t j = 0; !st && j < s[i].n; j++) {
                    unsigned char c = (unsigned char)t[j];
                    st = pt_ids_push(out, m->byte_ids[c] >= 0 ? m->byte_ids[c] : m->byte_char_ids[c]);
                }
            } else if (m->unk_id >= 0) {
                st = pt_ids_push(out, m->unk_id);
            }
        }
        if (st) break;
    }
done:
    free(s);
    free(h);
    return st;
}

/* ---------------------------------------------------------------- encode */

ptune_status pt_bpe_encode(const pt_bpe *m, const char *piece, size_t len, pt_ids *out)
{
    if (len == 0) return PTUNE_OK;
    if (m->score_merges) return spm_encode(m, piece, len, out);
    uint64_t h = hash_bytes(piece, len);
    if (m->ignore_merges) {
        int32_t id = find_id(m, piece, len, h);
        if (id >= 0) return pt_ids_push(out, id);
    }
    cache_ent *ce = NULL;
    if (len <= CACHE_KEY) {
        ce = &tl_cache[(h >> 7) & (CACHE_SLOTS - 1)];
        if (ce->serial == m->serial && ce->tag == (uint32_t)h && ce->klen == len && memcmp(ce->key, piece, len) == 0)
            return pt_ids_append(out, ce->ids, ce->nids);
    }
    size_t before = out->len;
    ptune_status st = merge_word(m, piece, len, out);
    if (st) return st;
    size_t nids = out->len - before;
    if (ce && nids <= CACHE_IDS) {
        ce->serial = m->serial;
        ce->tag = (uint32_t)h;
        ce->klen = (uint8_t)len;
        ce->nids = (uint8_t)nids;
        memcpy(ce->key, piece, len);
        if (nids) memcpy(ce->ids, out->data + before, nids * sizeof(int32_t));
    }
    return PTUNE_OK;
}
