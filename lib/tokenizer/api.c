/* Public tokenizer calls: loading a tokenizer on its own (tokenizer.json, a directory holding
 * one, or a GGUF vocabulary), the two-call encode/decode wrappers and vocabulary queries. */
#include "tokenizer/tokenizer.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

PTUNE_API ptune_status ptune_tokenizer_load(const char *path, ptune_tokenizer **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_tokenizer_load: out is NULL");
    *out = NULL;
    if (!path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_tokenizer_load: path is empty");
    struct stat sb;
    if (stat(path, &sb) != 0) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        char *json = pt_strfmt("%s/tokenizer.json", path);
        if (!json) return PTUNE_E_NOMEM;
        ptune_status s = stat(json, &sb) == 0 ? pt_tokenizer_from_json_file(json, out)
                                               : pt_fail(PTUNE_E_IO, "%s: no tokenizer.json in this directory", path);
        free(json);
        return s;
    }
    /* a GGUF file starts with "GGUF"; anything else is read as tokenizer.json */
    FILE *f = fopen(path, "rb");
    if (!f) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    char magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got == 4 && !memcmp(magic, "GGUF", 4)) {
        pt_gguf g;
        ptune_status s = pt_gguf_open(path, &g);
        if (s) return s;
        s = pt_tokenizer_from_gguf(&g, out);
        if (s == PTUNE_E_STATE) s = pt_fail(PTUNE_E_FORMAT, "%s: the GGUF file has no tokenizer.ggml.model (no vocabulary)", path);
        pt_gguf_close(&g);
        return s;
    }
    return pt_tokenizer_from_json_file(path, out);
}

PTUNE_API void ptune_tokenizer_free(ptune_tokenizer *t) { pt_tokenizer_free(t); }

PTUNE_API ptune_status ptune_tokenizer_encode(const ptune_tokenizer *t, const char *text, size_t len, bool add_special,
                                              int32_t *ids, int32_t cap, int32_t *n_ids)
{
    if (!t || !n_ids || (!text && len)) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_tokenizer_encode: tokenizer, text and n_ids are required");
    pt_ids v = {0};
    ptune_status s = pt_tokenizer_encode(t, text ? text : "", len, add_special, &v);
    if (!s && v.len > INT32_MAX) s = pt_fail(PTUNE_E_CAPACITY, "ptune_tokenizer_encode: %zu tokens exceed INT32_MAX", v.len);
    if (!s) {
        *n_ids = (int32_t)v.len;
        if ((size_t)(cap < 0 ? 0 : cap) < v.len || (v.len && !ids))
            s = pt_fail(PTUNE_E_BUFFER_TOO_SMALL, "ptune_tokenizer_encode: %zu ids needed, capacity %d", v.len, cap);
        else if (v.len)
            memcpy(ids, v.data, v.len * sizeof(int32_t));
    }
    pt_ids_free(&v);
    return s;
}

PTUNE_API ptune_status ptune_tokenizer_decode(const ptune_tokenizer *t, const int32_t *ids, int32_t n, bool skip_special,
                                              char *buf, size_t cap, size_t *len)
{
    if (!t || !len || n < 0 || (n && !ids)) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_tokenizer_decode: tokenizer, ids and len are required");
    pt_buf text = {0};
    ptune_status s = pt_tokenizer_decode(t, ids, (size_t)n, skip_special, &text);
    if (!s) {
        *len = text.len;
        if (cap < text.len || (text.len && !buf))
            s = pt_fail(PTUNE_E_BUFFER_TOO_SMALL, "ptune_tokenizer_decode: %zu bytes needed, capacity %zu", text.len, cap);
        else {
            if (text.len) memcpy(buf, text.data, text.len);
            if (cap > text.len) buf[text.len] = '\0';
        }
    }
    pt_buf_free(&text);
    return s;
}

PTUNE_API int32_t ptune_tokenizer_vocab_size(const ptune_tokenizer *t) { return t ? t->n_vocab : 0; }

PTUNE_API int32_t ptune_tokenizer_token_to_id(const ptune_tokenizer *t, const char *token, size_t len)
{
    if (!t || !token) return -1;
    int32_t id = pt_bpe_token_to_id(t->model, token, len);
    if (id >= 0) return id;
    /* added tokens beyond the model vocabulary */
    for (int32_t k = pt_bpe_vocab_size(t->model); k < t->n_vocab; k++) {
        const pt_added_token *a = pt_added_tokens_by_id(t->added, k);
        if (a && a->len == len && !memcmp(a->content, token, len)) return k;
    }
    return -1;
}

PTUNE_API const char *ptune_tokenizer_id_to_token(const ptune_tokenizer *t, int32_t id, size_t *len)
{
    size_t dummy;
    return t ? pt_tokenizer_id_to_token(t, id, len ? len : &dummy) : NULL;
}

PTUNE_API bool ptune_tokenizer_is_special(const ptune_tokenizer *t, int32_t id)
{
    return t && pt_tokenizer_is_special(t, id);
}
