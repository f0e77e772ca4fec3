/* Added tokens (HF AddedVocabulary): storage, id lookup and leftmost-longest splitting of text
 * on their contents through a byte trie, with lstrip / rstrip / single_word semantics. */
#include "tokenizer/added_tokens.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/normalizer.h"

typedef struct tnode {
    int32_t first_child, next_sibling;
    int32_t tok;          /* index of the token ending here, -1 */
    unsigned char byte;
} tnode;

typedef struct trie {
    tnode *nodes;         /* node 0 is the root; its children are in root[] */
    size_t n, cap;
    int32_t root[256];
    size_t count;         /* patterns inserted */
} trie;

struct pt_added_tokens {
    pt_added_token *toks;
    size_t n, cap;
    int32_t *idtab;       /* open addressing: index + 1, 0 = empty */
    size_t idmask;
    trie tr[2];           /* [0]: normalized=false tokens, [1]: normalized=true tokens */
    bool finished;
};

static inline size_t id_hash(int32_t id)
{
    uint64_t x = (uint32_t)id * 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 17);
}

ptune_status pt_added_tokens_new(pt_added_tokens **out)
{
    *out = NULL;
    pt_added_tokens *a = pt_calloc(1, sizeof *a, "added tokens");
    if (!a) return PTUNE_E_NOMEM;
    a->idtab = pt_calloc(64, sizeof(int32_t), "added token id table");
    if (!a->idtab) {
        free(a);
        return PTUNE_E_NOMEM;
    }
    a->idmask = 63;
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < 256; b++) a->tr[k].root[b] = -1;
    *out = a;
    return PTUNE_OK;
}

static void trie_free(trie *t)
{
    free(t->nodes);
    t->nodes = NULL;
    t->n = t->cap = t->count = 0;
    for (int b = 0; b < 256; b++) t->root[b] = -1;
}

void pt_added_tokens_free(pt_added_tokens *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) free(a->toks[i].content);
    free(a->toks);
    free(a->idtab);
    trie_free(&a->tr[0]);
    trie_free(&a->tr[1]);
    free(a);
}

size_t pt_added_tokens_count(const pt_added_tokens *a) { return a->n; }

static int32_t find_id(const pt_added_tokens *a, int32_t id)
{
    for (size_t i = id_hash(id) & a->idmask;; i = (i + 1) & a->idmask) {
        int32_t v = a->idtab[i];
        if (!v) return -1;
        if (a->toks[v - 1].id == id) return v - 1;
    }
}

const pt_added_token *pt_added_tokens_by_id(const pt_added_tokens *a, int32_t id)
{
    if (!a || a->n == 0) return NULL;
    int32_t k = find_id(a, id);
    return k < 0 ? NULL : &a->toks[k];
}

static ptune_status idtab_insert(pt_added_tokens *a, size_t index)
{
    if ((a->n + 1) * 2 > a->idmask + 1) {
        size_t cap = (a->idmask + 1) * 2;
        int32_t *t = pt_calloc(cap, sizeof(int32_t), "added token id table");
        if (!t) return PTUNE_E_NOMEM;
        for (size_t k = 0; k <= a->idmask; k++) {
            int32_t v = a->idtab[k];
            if (!v) continue;
            size_t i = id_hash(a->toks[v - 1].id) & (cap - 1);
            while (t[i]) i = (i + 1) & (cap - 1);
            t[i] = v;
        }
        free(a->idtab);
        a->idtab = t;
        a->idmask = cap - 1;
    }
    size_t i = id_hash(a->toks[index].id) & a->idmask;
    while (a->idtab[i]) i = (i + 1) & a->idmask;
    a->idtab[i] = (int32_t)index + 1;
    return PTUNE_OK;
}

ptune_status pt_added_tokens_add(pt_added_tokens *a, const pt_added_token *t)
{
    if (a->finished) return pt_fail(PTUNE_E_STATE, "added tokens: token added after the matcher was built");
    if (t->id < 0) return pt_fail(PTUNE_E_FORMAT, "added token with negative id %d", (int)t->id);
    if (t->len == 0) return PTUNE_OK; /* HF ignores empty added tokens */
    char *c = pt_malloc(t->len + 1, "added token content");
    if (!c) return PTUNE_E_NOMEM;
    memcpy(c, t->content, t->len);
    c[t->len] = 0;
    int32_t old = find_id(a, t->id);
    if (old >= 0) { /* same id again: the later definition replaces the earlier one */
        free(a->toks[old].content);
        a->toks[old] = *t;
        a->toks[old].content = c;
        return PTUNE_OK;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        pt_added_token *nt = pt_realloc(a->toks, cap * sizeof *nt, "added_tokens buffer");
        if (!nt) {
            free(c);
            return pt_fail(PTUNE_E_NOMEM, "out of memory growing the added token list to %zu entries", cap);
        }
        a->toks = nt;
        a->cap = cap;
    }
    a->toks[a->n] = *t;
    a->toks[a->n].content = c;
    ptune_status st = idtab_insert(a, a->n);
    if (st) {
        free(c);
        return st;
    }
    a->n++;
    return PTUNE_OK;
}

/* ------------------------------------------------------------------ trie */

static int32_t trie_child(const trie *t, int32_t node, unsigned char b)
{
    if (node == 0) return t->root[b];
    for (int32_t c = t->nodes[node].first_child; c >= 0; c = t->nodes[c].next_sibling)
        if (t->nodes[c].byte == b) return c;
    return -1;
}

static ptune_status trie_new_node(trie *t, unsigned char b, int32_t *out)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        tnode *nn = pt_realloc(t->nodes, cap * sizeof *nn, "added_tokens buffer");
        if (!nn) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the added token trie to %zu nodes", cap);
        t->nodes = nn;
        t->cap = cap;
    }
    t->nodes[t->n] = (tnode){-1, -1, -1, b};
    *out = (int32_t)t->n++;
    return PTUNE_OK;
}

static ptune_status trie_insert(trie *t, const char *s, size_t len, int32_t tok)
{
    ptune_status st;
    int32_t node;
    if (t->n == 0) {
        st = trie_new_node(t, 0, &node);
        if (st) return st;
    }
    node = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        int32_t c = trie_child(t, node, b);
        if (c < 0) {
            st = trie_new_node(t, b, &c);
            if (st) return st;
            if (node == 0) {
                t->root[b] = c;
            } else {
                t->nodes[c].next_sibling = t->nodes[node].first_child;
                t->nodes[node].first_child = c;
            }
        }
        node = c;
    }
    t->nodes[node].tok = tok; /* a later token with the same pattern wins */
    t->count++;
    return PTUNE_OK;
}

ptune_status pt_added_tokens_finish_normalized(pt_added_tokens *a, const struct pt_normalizer *norm)
{
    trie_free(&a->tr[0]);
    trie_free(&a->tr[1]);
    pt_buf nb = {0};
    ptune_status st = PTUNE_OK;
    /* HF builds its matchers from the special tokens first, then the others */
    for (int pass = 0; pass < 2 && !st; pass++) {
        for (size_t i = 0; i < a->n && !st; i++) {
            const pt_added_token *t = &a->toks[i];
            if (t->special != (pass == 0)) continue;
            if (t->normalized && norm) {
                st = pt_normalizer_run(norm, t->content, t->len, &nb);
                if (st) break;
                if (nb.len) st = trie_insert(&a->tr[1], nb.data, nb.len, (int32_t)i);
            } else {
                st = trie_insert(&a->tr[t->normalized ? 1 : 0], t->content, t->len, (int32_t)i);
            }
        }
    }
    pt_buf_free(&nb);
    if (st) return st;
    a->finished = true;
    return PTUNE_OK;
}

ptune_status pt_added_tokens_finish(pt_added_tokens *a) { return pt_added_tokens_finish_normalized(a, NULL); }

/* ------------------------------------------------------------- matching */

/* Rust regex `\s` (Unicode White_Space). */
static bool is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Rust regex `\w`: Alphabetic, M, Nd, Pc, Join_Control. */
static bool is_word(uint32_t c)
{
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (c == 0x200c || c == 0x200d) return true;
    if ((c >= 0x24b6 && c <= 0x24e9) || (c >= 0x1f130 && c <= 0x1f149) || (c >= 0x1f150 && c <= 0x1f169) ||
        (c >= 0x1f170 && c <= 0x1f189))
        return true; /* Other_Alphabetic symbols */
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC: return true;
    default: return false;
    }
}

/* The code point ending at s[end) (end > 0), and its start. */
static uint32_t char_before(const char *s, size_t end, size_t *start)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80 && end - i < 4) i--;
    uint32_t cp;
    if (pt_utf8_decode(s + i, end - i, &cp) != end - i) {
        i = end - 1;
        cp = (unsigned char)s[i];
    }
    *start = i;
    return cp;
}

static uint32_t char_at(const char *s, size_t len, size_t i, size_t *k)
{
    uint32_t cp;
    *k = pt_utf8_decode(s + i, len - i, &cp);
    if (!*k) {
        *k = 1;
        cp = (unsigned char)s[i];
    }
    return cp;
}

static ptune_status push_split(pt_split **splits, size_t *n, size_t *cap, size_t start, size_t end, int32_t id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        pt_split *ns = pt_realloc(*splits, c * sizeof *ns, "added_tokens buffer");
        if (!ns) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the split list to %zu entries", c);
        *splits = ns;
        *cap = c;
    }
    (*splits)[(*n)++] = (pt_split){start, end, id};
    return PTUNE_OK;
}

ptune_status pt_added_tokens_split(const pt_added_tokens *a, bool normalized, const char *text, size_t len,
                                   pt_split **splits, size_t *n, size_t *cap)
{
    if (len == 0) return PTUNE_OK;
    const trie *t = &a->tr[normalized ? 1 : 0];
    size_t start_offset = 0;
    ptune_status st;
    if (t->count) {
        size_t pos = 0;
        while (pos < len) {
            /* leftmost-longest match at or after pos */
            size_t mstart = 0, mend = 0;
            int32_t mtok = -1;
            for (size_t i = pos; i < len && mtok < 0; i++) {
                int32_t node = t->root[(unsigned char)text[i]];
                for (size_t j = i; node >= 0;) {
                    if (t->nodes[node].tok >= 0) {
                        mtok = t->nodes[node].tok;
                        mstart = i;
                        mend = j + 1;
                    }
                    if (++j >= len) break;
                    node = trie_child(t, node, (unsigned char)text[j]);
                }
            }
            if (mtok < 0) break;
            pos = mend; /* non-overlapping iteration resumes at the raw match end */
            const pt_added_token *tk = &a->toks[mtok];
            size_t start = mstart, stop = mend, k;
            if (tk->single_word) {
                bool start_space = start == 0 || !is_word(char_before(text, start, &k));
                bool stop_space = stop == len || !is_word(char_at(text, len, stop, &k));
                if (!start_space || !stop_space) continue;
            }
            if (tk->lstrip) {
                size_t ns = start;
                while (ns > 0) {
                    size_t cs;
                    if (!is_space(char_before(text, ns, &cs))) break;
                    ns = cs;
                }
                start = ns > start_offset ? ns : start_offset;
            }
            if (tk->rstrip) {
                while (stop < len && is_space(char_at(text, len, stop, &k))) stop += k;
            }
            if (start_offset < start && (st = push_split(splits, n, cap, start_offset, start, -1))) return st;
            if ((st = push_split(splits, n, cap, start, stop, tk->id))) return st;
            start_offset = stop;
        }
    }
    if (start_offset != len && (st = push_split(splits, n, cap, start_offset, len, -1))) return st;
    return PTUNE_OK;
}
