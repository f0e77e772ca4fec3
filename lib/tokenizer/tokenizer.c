/* The assembled tokenizer's HF pipeline: encoding (added tokens → normalizer → pre-tokenizer →
 * BPE → post-processor), decoding, id lookups and freeing. Loading lives in tokenizer_json.c. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"

void pt_tokenizer_free(struct ptune_tokenizer *t)
{
    if (!t) return;
    pt_normalizer_free(t->normalizer);
    pt_pretokenizer_free(t->pretokenizer);
    pt_bpe_free(t->model);
    pt_added_tokens_free(t->added);
    pt_post_processor_free(t->post);
    pt_decoder_free(t->decoder);
    free(t->source);
    free(t);
}

/* ================================================================ encode */

typedef struct enc_scratch {
    pt_split *s1, *s2;
    size_t n1, c1, n2, c2;
    pt_buf norm;
    pt_pieces pieces;
    pt_ids tmp;
} enc_scratch;

static ptune_status encode_plain(const struct ptune_tokenizer *t, const char *s, size_t len, bool first,
                                 enc_scratch *x, pt_ids *dst)
{
    ptune_status st;
    if (!t->pretokenizer) return pt_bpe_encode(t->model, s, len, dst);
    pt_pieces_clear(&x->pieces);
    if ((st = pt_pretokenizer_run(t->pretokenizer, s, len, first, &x->pieces))) return st;
    for (size_t i = 0; i < x->pieces.n; i++) {
        size_t pl;
        const char *p = pt_piece(&x->pieces, i, &pl);
        if ((st = pt_bpe_encode(t->model, p, pl, dst))) return st;
    }
    return PTUNE_OK;
}

ptune_status pt_tokenizer_encode(const struct ptune_tokenizer *t, const char *text, size_t len, bool add_special,
                                 pt_ids *out)
{
    pt_ids_clear(out);
    size_t bad;
    if (len && !text) return pt_fail(PTUNE_E_INVALID_ARG, "tokenizer encode: NULL text with length %zu", len);
    if (!pt_utf8_valid(text, len, &bad))
        return pt_fail(PTUNE_E_INVALID_ARG, "tokenizer encode: invalid UTF-8 at byte offset %zu", bad);
    enc_scratch x = {0};
    bool post = add_special && t->post;
    pt_ids *dst = post ? &x.tmp : out;
    ptune_status st = pt_added_tokens_split(t->added, false, text, len, &x.s1, &x.n1, &x.c1);
    for (size_t i = 0; !st && i < x.n1; i++) {
        const pt_split *a = &x.s1[i];
        if (a->id >= 0) {
            st = pt_ids_push(dst, a->id);
            continue;
        }
        if (a->end <= a->start) continue;
        const char *seg = text + a->start;
        size_t seglen = a->end - a->start;
        if (t->normalizer) {
            if ((st = pt_normalizer_run(t->normalizer, seg, seglen, &x.norm))) break;
            seg = x.norm.data;
            seglen = x.norm.len;
        }
        if (seglen == 0) continue;
        x.n2 = 0;
        if ((st = pt_added_tokens_split(t->added, true, seg, seglen, &x.s2, &x.n2, &x.c2))) break;
        for (size_t k = 0; !st && k < x.n2; k++) {
            const pt_split *b = &x.s2[k];
            if (b->id >= 0) st = pt_ids_push(dst, b->id);
            else if (b->end > b->start)
                st = encode_plain(t, seg + b->start, b->end - b->start, a->start == 0 && b->start == 0, &x, dst);
        }
    }
    if (!st && post) st = pt_post_processor_run(t->post, x.tmp.data, x.tmp.len, out);
    free(x.s1);
    free(x.s2);
    pt_buf_free(&x.norm);
    pt_pieces_free(&x.pieces);
    pt_ids_free(&x.tmp);
    if (st) pt_ids_clear(out);
    return st;
}

/* ================================================================ decode */

const char *pt_tokenizer_id_to_token(const struct ptune_tokenizer *t, int32_t id, size_t *len)
{
    const pt_added_token *a = pt_added_tokens_by_id(t->added, id);
    if (a) {
        if (len) *len = a->len;
        return a->content;
    }
    return pt_bpe_id_to_token(t->model, id, len);
}

bool pt_tokenizer_is_special(const struct ptune_tokenizer *t, int32_t id)
{
    const pt_added_token *a = pt_added_tokens_by_id(t->added, id);
    return a && a->special;
}

ptune_status pt_tokenizer_decode(const struct ptune_tokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                                 pt_buf *out)
{
    pt_buf_clear(out);
    pt_pieces toks = {0};
    ptune_status st = PTUNE_OK;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab) {
            st = pt_fail(PTUNE_E_INVALID_ARG, "tokenizer decode: id %d at position %zu is outside the vocabulary "
                         "(0..%d)", (int)id, i, (int)t->n_vocab - 1);
            goto done;
        }
        const pt_added_token *a = pt_added_tokens_by_id(t->added, id);
        const char *s;
        size_t len;
        if (a) {
            if (skip_special && a->special) continue;
            s = a->content;
            len = a->len;
        } else {
            s = pt_bpe_id_to_token(t->model, id, &len);
            if (!s) continue; /* a gap in the ids: HF skips it */
        }
        if (t->decoder) {
            if ((st = pt_pieces_push(&toks, s, len))) goto done;
        } else { /* HF without a decoder: the tokens joined by single spaces */
            if ((out->len && (st = pt_buf_append_char(out, ' '))) || (st = pt_buf_append(out, s, len))) goto done;
        }
    }
    if (t->decoder) st = pt_decoder_run(t->decoder, &toks, out);
done:
    pt_pieces_free(&toks);
    if (st) pt_buf_clear(out);
    return st;
}
