/* Incremental decoding for streaming generation (the public ptune_token_stream_* calls), with
 * the semantics of HF tokenizers' DecodeStream on top of pt_tokenizer_decode. Owns the stream. */
#include "tokenizer/tokenizer.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* The window: ids[0 .. prefix_index) decode (on their own) to `prefix`, and the text up to and
 * including `prefix` has been returned. Each push decodes the whole window; once that text is
 * final, the part beyond `prefix` is returned and the window slides: it drops the ids before
 * the old prefix_index, keeping the last returned tokens as context so that first-token rules
 * (Metaspace, Strip) and the byte-level UTF-8 state decode exactly as in the full sequence. */
struct ptune_token_stream {
    const struct ptune_tokenizer *tok;
    bool skip_special;
    pt_ids ids;
    size_t prefix_index;
    pt_buf prefix;
    pt_buf text;    /* scratch: the decoded window */
    pt_buf out;     /* what the last push/flush returned */
};

PTUNE_API ptune_status ptune_token_stream_new(const ptune_tokenizer *t, bool skip_special, ptune_token_stream **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_stream_new: out is NULL");
    *out = NULL;
    if (!t) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_stream_new: tokenizer is NULL");
    ptune_token_stream *s = pt_calloc(1, sizeof *s, "token stream");
    if (!s) return PTUNE_E_NOMEM;
    s->tok = t;
    s->skip_special = skip_special;
    *out = s;
    return PTUNE_OK;
}

PTUNE_API void ptune_token_stream_free(ptune_token_stream *s)
{
    if (!s) return;
    pt_ids_free(&s->ids);
    pt_buf_free(&s->prefix);
    pt_buf_free(&s->text);
    pt_buf_free(&s->out);
    free(s);
}

static bool ends_with_replacement(const pt_buf *b)
{
    return b->len >= 3 && (unsigned char)b->data[b->len - 3] == 0xEF && (unsigned char)b->data[b->len - 2] == 0xBF &&
           (unsigned char)b->data[b->len - 1] == 0xBD;
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* True when the last id of the window that reaches the decoder is a "<0xXX>" byte token. A
 * ByteFallback decoder turns a run of such tokens into text only as a whole (one U+FFFD per
 * token if the run is not valid UTF-8), so a later byte token can still change the text of a
 * run that is valid so far: the run is final only once a token of another kind follows. */
static bool ends_in_byte_token(const ptune_token_stream *s)
{
    for (size_t i = s->ids.len; i-- > 0;) {
        int32_t id = s->ids.data[i];
        if (s->skip_special && pt_tokenizer_is_special(s->tok, id)) continue;
        size_t n = 0;
        const char *t = pt_tokenizer_id_to_token(s->tok, id, &n);
        return t && n == 6 && !memcmp(t, "<0x", 3) && t[5] == '>' && (is_hex(t[3]) || t[3] == '+') && is_hex(t[4]);
    }
    return false;
}

static ptune_status set_out(ptune_token_stream *s, const char *p, size_t n, const char **text, size_t *len)
{
    pt_buf_clear(&s->out);
    ptune_status st = pt_buf_append(&s->out, p, n);
    if (st) return st;
    *text = s->out.data ? s->out.data : "";
    *len = s->out.len;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_token_stream_push(ptune_token_stream *s, int32_t id, const char **text, size_t *len)
{
    if (!s || !text || !len) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_stream_push: stream, text and len are required");
    *text = "";
    *len = 0;
    if (id < 0 || id >= s->tok->n_vocab)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_stream_push: id %d outside the vocabulary [0, %d)", id,
                       s->tok->n_vocab);
    ptune_status st = pt_ids_push(&s->ids, id);
    if (st) return st;
    st = pt_tokenizer_decode(s->tok, s->ids.data, s->ids.len, s->skip_special, &s->text);
    if (st) {
        s->ids.len--; /* the stream stays as it was */
        return st;
    }
    bool final = s->text.len > s->prefix.len && !ends_with_replacement(&s->text) && !ends_in_byte_token(s);
    /* A window whose text no longer starts with the returned prefix cannot happen with the
     * decoders implemented here; if it did, holding back keeps every returned piece valid and
     * flush returns the rest. */
    if (!final || memcmp(s->text.data, s->prefix.data ? s->prefix.data : "", s->prefix.len) != 0)
        return set_out(s, "", 0, text, len);

    st = set_out(s, s->text.data + s->prefix.len, s->text.len - s->prefix.len, text, len);
    if (st) {
        s->ids.len--;
        return st;
    }
    /* slide the window: keep ids[prefix_index ..], whose own decoding is the new prefix */
    size_t keep = s->ids.len - s->prefix_index;
    memmove(s->ids.data, s->ids.data + s->prefix_index, keep * sizeof(int32_t));
    s->ids.len = keep;
    s->prefix_index = keep;
    st = pt_tokenizer_decode(s->tok, s->ids.data, s->ids.len, s->skip_special, &s->prefix);
    if (st) {
        /* the text was not delivered: start over from an empty window (loses only context) */
        pt_ids_clear(&s->ids);
        pt_buf_clear(&s->prefix);
        s->prefix_index = 0;
        *text = "";
        *len = 0;
    }
    return st;
}

/* Length of the longest common prefix of a and b that ends on a UTF-8 char boundary of b. */
static size_t common_prefix(const pt_buf *a, const pt_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len, i = 0;
    while (i < n && a->data[i] == b->data[i]) i++;
    while (i > 0 && i < b->len && ((unsigned char)b->data[i] & 0xC0) == 0x80) i--;
    return i;
}

PTUNE_API ptune_status ptune_token_stream_flush(ptune_token_stream *s, const char **text, size_t *len)
{
    if (!s || !text || !len) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_stream_flush: stream, text and len are required");
    *text = "";
    *len = 0;
    ptune_status st = PTUNE_OK;
    if (s->ids.len) {
        st = pt_tokenizer_decode(s->tok, s->ids.data, s->ids.len, s->skip_special, &s->text);
        if (!st) {
            size_t from = common_prefix(&s->prefix, &s->text); /* == prefix.len in every normal case */
            st = set_out(s, s->text.len ? s->text.data + from : "", s->text.len - from, text, len);
        }
    }
    pt_ids_clear(&s->ids);
    pt_buf_clear(&s->prefix);
    s->prefix_index = 0;
    return st;
}
