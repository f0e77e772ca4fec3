/* tokenizer.json post-processors for a single sequence: TemplateProcessing, ByteLevel (adds
 * nothing), RobertaProcessing, BertProcessing, Sequence, and GGUF BOS/EOS. Owns post_processor.h. */
#include "tokenizer/post_processor.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

/* One piece of the single-sequence template: the input sequence, or fixed ids. */
typedef struct pp_item {
    bool is_sequence;
    int32_t *ids;   /* owned */
    size_t n;
} pp_item;

typedef enum ppkind { PP_TEMPLATE, PP_NOTHING, PP_SEQUENCE } ppkind;

struct pt_post_processor {
    ppkind kind;
    pp_item *items;              /* PP_TEMPLATE (Roberta, Bert and BOS/EOS are templates too) */
    size_t n_items;
    pt_post_processor **children; /* PP_SEQUENCE */
    size_t n_children;
};

void pt_post_processor_free(pt_post_processor *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_items; i++) free(p->items[i].ids);
    free(p->items);
    for (size_t i = 0; i < p->n_children; i++) pt_post_processor_free(p->children[i]);
    free(p->children);
    free(p);
}

static pt_post_processor *new_pp(ppkind kind)
{
    pt_post_processor *p = pt_calloc(1, sizeof *p, "post-processor");
    if (p) p->kind = kind;
    return p;
}

/* Appends an item to a template (ids copied; ids == NULL with n == 0 and seq marks $A). */
static ptune_status add_item(pt_post_processor *p, bool is_sequence, const int32_t *ids, size_t n)
{
    pp_item *items = pt_realloc(p->items, (p->n_items + 1) * sizeof *items, "post_processor buffer");
    if (!items) return pt_fail(PTUNE_E_NOMEM, "out of memory growing a post-processor template");
    p->items = items;
    pp_item *it = &items[p->n_items];
    memset(it, 0, sizeof *it);
    it->is_sequence = is_sequence;
    if (n) {
        it->ids = pt_malloc_array(n, sizeof(int32_t), "post-processor template ids");
        if (!it->ids) return PTUNE_E_NOMEM;
        memcpy(it->ids, ids, n * sizeof(int32_t));
        it->n = n;
    }
    p->n_items++;
    return PTUNE_OK;
}

ptune_status pt_post_processor_bos_eos(int32_t bos_id, int32_t eos_id, pt_post_processor **out)
{
    *out = NULL;
    pt_post_processor *p = new_pp(PP_TEMPLATE);
    if (!p) return PTUNE_E_NOMEM;
    ptune_status st = PTUNE_OK;
    if (bos_id >= 0) st = add_item(p, false, &bos_id, 1);
    if (!st) st = add_item(p, true, NULL, 0);
    if (!st && eos_id >= 0) st = add_item(p, false, &eos_id, 1);
    if (st) {
        pt_post_processor_free(p);
        return st;
    }
    *out = p;
    return PTUNE_OK;
}

/* ------------------------------------------------------------------------------------------
 * Parsing */

static bool get_id(const json_t *v, int32_t *out)
{
    if (!json_is_integer(v)) return false;
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > INT32_MAX) return false;
    *out = (int32_t)x;
    return true;
}

/* A Roberta/Bert ["token", id] pair. */
static ptune_status get_pair(const json_t *j, const char *key, const char *where, const char *type, int32_t *id)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !get_id(json_array_get(v, 1), id))
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor %s: \"%s\" must be [\"token\", id]", where, type, key);
    return PTUNE_OK;
}

/* The special_tokens entry named `name`: its ids. */
static ptune_status special_ids(const json_t *tokens, const char *name, const char *where, int32_t **ids, size_t *n)
{
    const json_t *e = json_object_get(tokens, name);
    if (!json_is_object(e))
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: the template uses \"%s\", which is not in special_tokens",
                       where, name);
    const json_t *arr = json_object_get(e, "ids");
    if (!json_is_array(arr))
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: special_tokens[\"%s\"].ids must be an array",
                       where, name);
    size_t k = json_array_size(arr);
    const json_t *toks = json_object_get(e, "tokens");
    if (toks && json_is_array(toks) && json_array_size(toks) != k)
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: special_tokens[\"%s\"] has %zu ids and %zu tokens",
                       where, name, k, json_array_size(toks));
    *ids = pt_malloc_array(k ? k : 1, sizeof(int32_t), "template special token ids");
    if (!*ids) return PTUNE_E_NOMEM;
    for (size_t i = 0; i < k; i++) {
        if (!get_id(json_array_get(arr, i), &(*ids)[i])) {
            free(*ids);
            *ids = NULL;
            return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: special_tokens[\"%s\"].ids[%zu] is not a token id",
                           where, name, i);
        }
    }
    *n = k;
    return PTUNE_OK;
}

/* A piece in string form ("$A", "$0", "$B:1", "[CLS]", "[CLS]:0"), as HF's Piece::try_from.
 * Sets *is_seq / *is_b, or copies the special token's name (without ":type_id") to name. */
static ptune_status parse_piece_string(const char *s, const char *where, bool *is_seq, bool *is_b, char **name)
{
    const char *colon = strchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    if (colon) {
        const char *t = colon + 1;
        if (!*t || strchr(t, ':') || strspn(t, "0123456789") != strlen(t))
            return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: cannot build a piece from \"%s\"", where, s);
    }
    *is_seq = *is_b = false;
    *name = NULL;
    if (len >= 1 && s[0] == '$') {
        const char *r = s + 1;
        size_t rl = len - 1;
        if (rl == 0 || (rl == 1 && (r[0] == 'A' || r[0] == 'a'))) *is_seq = true;
        else if (rl == 1 && (r[0] == 'B' || r[0] == 'b')) *is_seq = *is_b = true;
        else if (strspn(r, "0123456789") >= rl) *is_seq = true; /* $<type_id>: sequence A */
        else return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: cannot build a piece from \"%s\"", where, s);
        return PTUNE_OK;
    }
    *name = pt_malloc(len + 1, "template piece");
    if (!*name) return PTUNE_E_NOMEM;
    memcpy(*name, s, len);
    (*name)[len] = 0;
    return PTUNE_OK;
}

static ptune_status add_piece(pt_post_processor *p, const json_t *piece, const json_t *tokens, const char *where)
{
    bool is_seq = false, is_b = false;
    char *owned = NULL;
    const char *name = NULL;
    ptune_status st;
    if (json_is_string(piece)) {
        st = parse_piece_string(json_string_value(piece), where, &is_seq, &is_b, &owned);
        if (st) return st;
        name = owned;
    } else if (json_is_object(piece) && json_object_size(piece) == 1) {
        const json_t *seq = json_object_get(piece, "Sequence"), *sp = json_object_get(piece, "SpecialToken");
        const json_t *body = seq ? seq : sp;
        const json_t *id = json_object_get(body, "id");
        if (!json_is_object(body) || !json_is_string(id))
            return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: a piece must be {\"Sequence\": {...}} or {\"SpecialToken\": {...}}",
                           where);
        if (seq) {
            is_seq = true;
            const char *w = json_string_value(id);
            if (!strcmp(w, "B")) is_b = true;
            else if (strcmp(w, "A"))
                return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: unknown sequence id \"%s\"", where, w);
        } else {
            name = json_string_value(id);
        }
    } else {
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: a piece must be {\"Sequence\": {...}} or {\"SpecialToken\": {...}}",
                       where);
    }
    if (is_b) {
        free(owned);
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: the single template uses sequence B", where);
    }
    if (is_seq) {
        free(owned);
        return add_item(p, true, NULL, 0);
    }
    int32_t *ids = NULL;
    size_t n = 0;
    st = special_ids(tokens, name, where, &ids, &n);
    if (!st) st = add_item(p, false, ids, n);
    free(ids);
    free(owned);
    return st;
}

static ptune_status parse_template(const json_t *j, const char *where, pt_post_processor *p)
{
    const json_t *single = json_object_get(j, "single");
    const json_t *tokens = json_object_get(j, "special_tokens");
    if (tokens && !json_is_null(tokens) && !json_is_object(tokens))
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing: special_tokens must be an object", where);
    ptune_status st = PTUNE_OK;
    if (json_is_string(single)) {
        /* "[CLS] $A [SEP]": pieces separated by single spaces */
        const char *s = json_string_value(single);
        for (;;) {
            const char *sp = strchr(s, ' ');
            size_t len = sp ? (size_t)(sp - s) : strlen(s);
            char *word = pt_malloc(len + 1, "template piece");
            if (!word) return PTUNE_E_NOMEM;
            memcpy(word, s, len);
            word[len] = 0;
            json_t *w = json_string(word);
            free(word);
            if (!w) return pt_fail(PTUNE_E_NOMEM, "out of memory parsing a template");
            st = add_piece(p, w, tokens, where);
            json_decref(w);
            if (st || !sp) return st;
            s = sp + 1;
        }
    }
    if (!json_is_array(single))
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor TemplateProcessing needs a \"single\" template", where);
    for (size_t i = 0; i < json_array_size(single) && !st; i++) st = add_piece(p, json_array_get(single, i), tokens, where);
    return st;
}

static ptune_status parse_at(const json_t *j, const char *where, int depth, pt_post_processor **out);

static ptune_status parse_sequence(const json_t *j, const char *where, int depth, pt_post_processor *p)
{
    const json_t *arr = json_object_get(j, "processors");
    if (!json_is_array(arr))
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor Sequence needs a \"processors\" array", where);
    size_t n = json_array_size(arr);
    p->children = pt_calloc(n, sizeof *p->children, "post-processor sequence");
    if (!p->children) return PTUNE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(arr, i);
        if (json_is_null(c)) return pt_fail(PTUNE_E_FORMAT, "%s: post_processor Sequence: processors[%zu] is null", where, i);
        ptune_status st = parse_at(c, where, depth + 1, &p->children[p->n_children]);
        if (st) return st;
        p->n_children++;
    }
    return PTUNE_OK;
}

static ptune_status parse_at(const json_t *j, const char *where, int depth, pt_post_processor **out)
{
    *out = NULL;
    if (!j || json_is_null(j)) return PTUNE_OK;
    if (depth > MAX_DEPTH)
        return pt_fail(PTUNE_E_FORMAT, "%s: post_processor: Sequence nested deeper than %d", where, MAX_DEPTH);
    if (!json_is_object(j)) return pt_fail(PTUNE_E_FORMAT, "%s: post_processor must be an object or null", where);
    const json_t *tj = json_object_get(j, "type");
    if (!json_is_string(tj)) return pt_fail(PTUNE_E_FORMAT, "%s: post_processor has no \"type\" string", where);
    const char *type = json_string_value(tj);
    pt_post_processor *p = NULL;
    ptune_status st = PTUNE_OK;
    if (!strcmp(type, "TemplateProcessing")) {
        if (!(p = new_pp(PP_TEMPLATE))) return PTUNE_E_NOMEM;
        st = parse_template(j, where, p);
    } else if (!strcmp(type, "ByteLevel")) {
        if (!(p = new_pp(PP_NOTHING))) return PTUNE_E_NOMEM;
    } else if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        /* single sequence: cls A sep (Roberta's trim_offsets / add_prefix_space only touch offsets) */
        int32_t cls, sep;
        st = get_pair(j, "cls", where, type, &cls);
        if (!st) st = get_pair(j, "sep", where, type, &sep);
        if (st) return st;
        if (!(p = new_pp(PP_TEMPLATE))) return PTUNE_E_NOMEM;
        st = add_item(p, false, &cls, 1);
        if (!st) st = add_item(p, true, NULL, 0);
        if (!st) st = add_item(p, false, &sep, 1);
    } else if (!strcmp(type, "Sequence")) {
        if (!(p = new_pp(PP_SEQUENCE))) return PTUNE_E_NOMEM;
        st = parse_sequence(j, where, depth, p);
    } else {
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: post_processor type \"%s\" is not supported", where, type);
    }
    if (st) {
        pt_post_processor_free(p);
        return st;
    }
    *out = p;
    return PTUNE_OK;
}

ptune_status pt_post_processor_parse(const json_t *j, const char *where, pt_post_processor **out)
{
    return parse_at(j, where ? where : "tokenizer.json", 0, out);
}

/* ------------------------------------------------------------------------------------------
 * Running */

static ptune_status run_at(const pt_post_processor *p, const int32_t *ids, size_t n, pt_ids *out)
{
    pt_ids_clear(out);
    if (!p || p->kind == PP_NOTHING) return pt_ids_append(out, ids, n);
    if (p->kind == PP_TEMPLATE) {
        for (size_t i = 0; i < p->n_items; i++) {
            const pp_item *it = &p->items[i];
            ptune_status st = it->is_sequence ? pt_ids_append(out, ids, n) : pt_ids_append(out, it->ids, it->n);
            if (st) return st;
        }
        return PTUNE_OK;
    }
    /* Sequence: each processor works on the previous one's output */
    pt_ids a = {0}, b = {0};
    ptune_status st = pt_ids_append(&a, ids, n);
    for (size_t i = 0; i < p->n_children && !st; i++) {
        st = run_at(p->children[i], a.data, a.len, &b);
        pt_ids t = a;
        a = b;
        b = t;
    }
    if (!st) st = pt_ids_append(out, a.data, a.len);
    pt_ids_free(&a);
    pt_ids_free(&b);
    return st;
}

ptune_status pt_post_processor_run(const pt_post_processor *p, const int32_t *ids, size_t n, pt_ids *out)
{
    return run_at(p, ids, n, out);
}
