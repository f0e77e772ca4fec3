/* Owns pt_run_config_load: the YAML run config read with libyaml's document API, a key table per
 * section with types, ranges and defaults, `--set` overrides, and file:line:column messages. */
#include "train/run_config.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define RC_MAX_FILE_BYTES ((size_t)16 << 20)
#define RC_MAX_KEYS 16     /* keys per section (origin table stride) */
#define RC_QUOTE_MAX 60    /* bytes of a user's value quoted in a message */

/* ---------------------------------------------------------------------------------------
 * The schema
 * ------------------------------------------------------------------------------------- */

typedef enum key_kind { K_STR, K_U64, K_I32, K_I64, K_F64, K_BOOL, K_BETAS, K_LABELS, K_SECTION } key_kind;

enum {
    F_REQUIRED = 1u << 0,
    F_LO_OPEN = 1u << 1, /* lower bound excluded */
    F_HI_OPEN = 1u << 2, /* upper bound excluded */
};

struct section;

typedef struct key_spec {
    const char *name;
    key_kind kind;
    size_t off, off2;            /* field (beta2 / n_labels for the two-field kinds) */
    unsigned flags;
    int64_t ilo, ihi;            /* integer bounds, inclusive */
    double flo, fhi;             /* float bounds (F_LO_OPEN / F_HI_OPEN) */
    double def, def2;            /* numeric / bool defaults */
    const char *sdef;            /* string default (NULL = absent) */
    const char *const *choices;  /* allowed strings, NULL-terminated */
    const struct section *sub;   /* K_SECTION */
} key_spec;

typedef struct section {
    const char *name; /* NULL for the top level */
    int id;
    const key_spec *keys;
    size_t n;
} section;

#define OFF(m) offsetof(pt_run_config, m)
#define KSTR(n, m, fl, d, ch) {.name = n, .kind = K_STR, .off = OFF(m), .flags = fl, .sdef = d, .choices = ch}
#define KI32(n, m, fl, lo, hi, d) {.name = n, .kind = K_I32, .off = OFF(m), .flags = fl, .ilo = lo, .ihi = hi, .def = d}
#define KI64(n, m, lo, hi, d) {.name = n, .kind = K_I64, .off = OFF(m), .ilo = lo, .ihi = hi, .def = d}
#define KF64(n, m, fl, lo, hi, d) {.name = n, .kind = K_F64, .off = OFF(m), .flags = fl, .flo = lo, .fhi = hi, .def = d}
#define KBOOL(n, m, d) {.name = n, .kind = K_BOOL, .off = OFF(m), .def = d}
#define KSEC(n, s) {.name = n, .kind = K_SECTION, .sub = &s}

static const char *const formats[] = {"csv", "jsonl", "text", NULL};
static const char *const inits[] = {"random", "text", "sample_vocab", "class_labels", NULL};
static const char *const optimizers[] = {"adamw", "sgd", "adafactor", NULL};
static const char *const schedules[] = {"linear", "constant", "cosine", NULL};
static const char *const storages[] = {"f32", "native", NULL};

static const key_spec data_keys[] = {
    KSTR("train", data.train, F_REQUIRED, NULL, NULL),
    KSTR("format", data.format, 0, NULL, formats),
    KSTR("text_column", data.text_column, 0, "text", NULL),
    KSTR("completion_column", data.completion_column, 0, NULL, NULL),
    KSTR("eval", data.eval, 0, NULL, NULL),
    KF64("eval_split", data.eval_split, F_HI_OPEN, 0.0, 1.0, 0.0),
    KI64("select", data.select, 0, INT64_MAX, 0),
    KI32("max_length", data.max_length, 0, 0, INT32_MAX, 0),
    KBOOL("add_eos", data.add_eos, 0),
    KBOOL("blank_line_separated", data.blank_line_separated, 0),
};

static const key_spec prompt_keys[] = {
    KI32("n_virtual", prompt.n_virtual, F_REQUIRED, 1, 1 << 20, 0),
    KSTR("init", prompt.init, 0, "random", inits),
    KSTR("init_text", prompt.init_text, 0, NULL, NULL),
    {.name = "labels", .kind = K_LABELS, .off = OFF(prompt.labels), .off2 = OFF(prompt.n_labels)},
    KSTR("resume_adapter", prompt.resume_adapter, 0, NULL, NULL),
};

static const key_spec optimizer_keys[] = {
    KSTR("name", optimizer.name, 0, "adamw", optimizers),
    KF64("lr", optimizer.lr, F_LO_OPEN, 0.0, INFINITY, 5e-5),
    KF64("weight_decay", optimizer.weight_decay, 0, 0.0, INFINITY, 0.0),
    {.name = "betas", .kind = K_BETAS, .off = OFF(optimizer.beta1), .off2 = OFF(optimizer.beta2),
     .flags = F_HI_OPEN, .flo = 0.0, .fhi = 1.0, .def = 0.9, .def2 = 0.999},
    KF64("eps", optimizer.eps, F_LO_OPEN, 0.0, INFINITY, 1e-8),
    KF64("max_grad_norm", optimizer.max_grad_norm, 0, 0.0, INFINITY, 1.0),
    KF64("momentum", optimizer.momentum, F_HI_OPEN, 0.0, 1.0, 0.9),
};

static const key_spec schedule_keys[] = {
    KSTR("name", schedule.name, 0, "linear", schedules),
    KI64("warmup_steps", schedule.warmup_steps, 0, INT64_MAX, 0),
};

static const key_spec train_keys[] = {
    KI32("epochs", train.epochs, 0, 1, INT32_MAX, 1),
    KI64("max_steps", train.max_steps, 0, INT64_MAX, 0),
    KI32("batch_size", train.batch_size, 0, 1, INT32_MAX, 8),
    KI32("batch_tokens", train.batch_tokens, 0, 0, INT32_MAX, 0),
    KI64("auto_batch_memory_mb", train.auto_batch_memory_mb, 0, INT64_MAX >> 20, 0),
    KI32("grad_accum", train.grad_accum, 0, 1, INT32_MAX, 1),
    KI64("eval_every", train.eval_every, 0, INT64_MAX, 0),
    KI32("early_stopping_patience", train.early_stopping_patience, 0, 0, INT32_MAX, 0),
    KI64("log_every", train.log_every, 1, INT64_MAX, 1),
};

static const key_spec checkpoint_keys[] = {
    KI64("every", checkpoint.every, 0, INT64_MAX, 0),
    KI32("keep", checkpoint.keep, 0, 1, INT32_MAX, 2),
};

#define SECTION(nm, i, arr) {.name = nm, .id = i, .keys = arr, .n = sizeof arr / sizeof arr[0]}
static const section data_sec = SECTION("data", 1, data_keys);
static const section prompt_sec = SECTION("prompt", 2, prompt_keys);
static const section optimizer_sec = SECTION("optimizer", 3, optimizer_keys);
static const section schedule_sec = SECTION("schedule", 4, schedule_keys);
static const section train_sec = SECTION("train", 5, train_keys);
static const section checkpoint_sec = SECTION("checkpoint", 6, checkpoint_keys);

static const key_spec top_keys[] = {
    KSTR("model", model, F_REQUIRED, NULL, NULL),
    KSTR("storage", storage, 0, "f32", storages),
    KSTR("output_dir", output_dir, F_REQUIRED, NULL, NULL),
    {.name = "seed", .kind = K_U64, .off = OFF(seed), .def = 42},
    KI32("threads", threads, 0, 0, INT32_MAX, 0),
    KSEC("data", data_sec),
    KSEC("prompt", prompt_sec),
    KSEC("optimizer", optimizer_sec),
    KSEC("schedule", schedule_sec),
    KSEC("train", train_sec),
    KSEC("checkpoint", checkpoint_sec),
};
static const section top_sec = SECTION(NULL, 0, top_keys);
#define RC_N_SECTIONS 7

/* ---------------------------------------------------------------------------------------
 * Loader state and messages
 * ------------------------------------------------------------------------------------- */

typedef enum origin_state { O_UNSET, O_SET, O_NULL } origin_state;

/* Where a key's value came from, for messages about keys checked together at the end. */
typedef struct origin {
    origin_state state;
    yaml_mark_t mark;     /* in the file, when override is NULL */
    const char *override; /* the --set text that gave it */
} origin;

typedef struct loader {
    pt_run_config *c;
    const char *file;
    const char *override; /* the --set text being applied; NULL while reading the file */
    locale_t c_locale;    /* strtod_l independent of the host's LC_NUMERIC */
    bool have_root;
    yaml_mark_t root_mark;
    bool have_section[RC_N_SECTIONS];
    yaml_mark_t section_mark[RC_N_SECTIONS];
    origin origins[RC_N_SECTIONS * RC_MAX_KEYS];
} loader;

/* "file:line:column: msg" (or "--set text: msg" while applying an override). */
static ptune_status fail_at(const loader *L, const yaml_mark_t *mark, const char *fmt, ...) PT_PRINTF(3, 4);
static ptune_status fail_at(const loader *L, const yaml_mark_t *mark, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->override) return pt_fail(PTUNE_E_FORMAT, "--set %s: %s", L->override, msg);
    if (mark) return pt_fail(PTUNE_E_FORMAT, "%s:%zu:%zu: %s", L->file, mark->line + 1, mark->column + 1, msg);
    return pt_fail(PTUNE_E_FORMAT, "%s: %s", L->file, msg);
}

/* The same, at a recorded origin. */
static ptune_status fail_origin(const loader *L, const origin *o, const char *fmt, ...) PT_PRINTF(3, 4);
static ptune_status fail_origin(const loader *L, const origin *o, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->override) return pt_fail(PTUNE_E_FORMAT, "--set %s: %s", o->override, msg);
    return pt_fail(PTUNE_E_FORMAT, "%s:%zu:%zu: %s", L->file, o->mark.line + 1, o->mark.column + 1, msg);
}

static origin *origin_of(loader *L, const section *sec, const key_spec *k)
{
    return &L->origins[sec->id * RC_MAX_KEYS + (k - sec->keys)];
}

static void record_origin(loader *L, const section *sec, const key_spec *k, const yaml_node_t *n, origin_state st)
{
    origin *o = origin_of(L, sec, k);
    o->state = st;
    o->override = L->override;
    if (n) o->mark = n->start_mark;
}

/* "section.key" for messages (static buffer per call site is enough: messages are formatted
 * before the next call). */
static const char *full_name(char *buf, size_t cap, const section *sec, const key_spec *k)
{
    if (sec->name) snprintf(buf, cap, "%s.%s", sec->name, k->name);
    else snprintf(buf, cap, "%s", k->name);
    return buf;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a sequence";
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_NO_NODE: break;
    }
    return "nothing";
}

static const char *scalar_text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* The allowed keys of a section, comma-separated. */
static void key_list(char *buf, size_t cap, const section *sec)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sec->n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", sec->keys[i].name);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static void choice_list(char *buf, size_t cap, const char *const *choices)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices[i] && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", choices[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* ---------------------------------------------------------------------------------------
 * Scalars (YAML 1.2 core schema, plain scalars only; quoted scalars are strings)
 * ------------------------------------------------------------------------------------- */

typedef enum scalar_class { SC_NULL, SC_BOOL, SC_INT, SC_FLOAT, SC_STR } scalar_class;

static bool is_one_of(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (!strcmp(s, words[i])) return true;
    return false;
}

static bool is_int_text(const char *s)
{
    if (s[0] == '0' && s[1] == 'x') {
        if (!s[2]) return false;
        for (s += 2; *s; s++)
            if (!strchr("0123456789abcdefABCDEF", *s)) return false;
        return true;
    }
    if (s[0] == '0' && s[1] == 'o') {
        if (!s[2]) return false;
        for (s += 2; *s; s++)
            if (*s < '0' || *s > '7') return false;
        return true;
    }
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, or [-+]?.inf / .nan spellings */
static bool is_float_text(const char *s)
{
    static const char *const specials[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                                           "-.INF", ".nan", ".NaN", ".NAN", NULL};
    if (is_one_of(s, specials)) return true;
    if (*s == '-' || *s == '+') s++;
    size_t digits = 0;
    while (*s >= '0' && *s <= '9') s++, digits++;
    if (*s == '.') {
        s++;
        size_t frac = 0;
        while (*s >= '0' && *s <= '9') s++, frac++;
        if (digits == 0 && frac == 0) return false;
    } else if (digits == 0) {
        return false;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == '\0';
}

static scalar_class classify(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE", NULL};
    if (n->type != YAML_SCALAR_NODE) return SC_STR;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return SC_STR;
    const char *s = scalar_text(n);
    if (strlen(s) != n->data.scalar.length) return SC_STR; /* embedded NUL: only quoted scalars */
    if (is_one_of(s, nulls)) return SC_NULL;
    if (is_one_of(s, bools)) return SC_BOOL;
    if (is_int_text(s)) return SC_INT;
    if (is_float_text(s)) return SC_FLOAT;
    return SC_STR;
}

static bool is_null_node(const yaml_node_t *n) { return n->type == YAML_SCALAR_NODE && classify(n) == SC_NULL; }

/* Magnitude and sign of an integer literal; false when the magnitude exceeds uint64. */
static bool int_value(const char *s, bool *neg, uint64_t *mag)
{
    unsigned base = 10;
    *neg = false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        s += 2;
    } else if (*s == '-' || *s == '+') {
        *neg = *s == '-';
        s++;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d = (*s >= '0' && *s <= '9') ? (unsigned)(*s - '0') : (unsigned)((*s | 0x20) - 'a' + 10);
        if (v > (UINT64_MAX - d) / base) return false;
        v = v * base + d;
    }
    *mag = v;
    return true;
}

static double to_double(const loader *L, const char *s)
{
    static const char *const pinf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (is_one_of(s, pinf)) return INFINITY;
    if (is_one_of(s, ninf)) return -INFINITY;
    if (is_one_of(s, nans)) return NAN;
    if (is_int_text(s) && (s[1] == 'x' || s[1] == 'o')) {
        bool neg;
        uint64_t mag = 0;
        return int_value(s, &neg, &mag) ? (double)mag : INFINITY;
    }
    return L->c_locale ? strtod_l(s, NULL, L->c_locale) : strtod(s, NULL);
}

/* A user's text for a message: at most RC_QUOTE_MAX bytes, "..." marking a cut. */
typedef struct quoted {
    char s[RC_QUOTE_MAX + 16];
} quoted;

static quoted quote(const char *text)
{
    quoted q;
    size_t n = strlen(text);
    if (n <= RC_QUOTE_MAX) {
        memcpy(q.s, text, n + 1);
    } else {
        size_t cut = RC_QUOTE_MAX;
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--; /* whole UTF-8 characters */
        memcpy(q.s, text, cut);
        memcpy(q.s + cut, "...", 4);
    }
    return q;
}

/* What a node is, for "(got ...)": a string in quotes, a number or null as written, or the kind
 * of a collection. */
static quoted describe(const yaml_node_t *n)
{
    quoted q;
    if (n->type != YAML_SCALAR_NODE) {
        snprintf(q.s, sizeof q.s, "%s", node_kind(n));
        return q;
    }
    quoted t = quote(scalar_text(n));
    scalar_class cls = classify(n);
    if (cls == SC_NULL) snprintf(q.s, sizeof q.s, "null");
    else if (cls == SC_STR) {
        size_t n = strlen(t.s); /* at most RC_QUOTE_MAX + 3 */
        q.s[0] = '"';
        memcpy(q.s + 1, t.s, n);
        q.s[n + 1] = '"';
        q.s[n + 2] = '\0';
    }
    else snprintf(q.s, sizeof q.s, "%s", t.s);
    return q;
}

/* ---------------------------------------------------------------------------------------
 * Setting values
 * ------------------------------------------------------------------------------------- */

static char **str_field(pt_run_config *c, size_t off) { return (char **)(void *)((char *)c + off); }
static void *field(pt_run_config *c, size_t off) { return (char *)c + off; }

static void free_labels(pt_run_config *c, const key_spec *k)
{
    char ***labels = (char ***)field(c, k->off);
    int32_t *n = (int32_t *)field(c, k->off2);
    if (*labels)
        for (int32_t i = 0; i < *n; i++) free((*labels)[i]);
    free(*labels);
    *labels = NULL;
    *n = 0;
}

/* Puts the key (and, for sections, every key below) back to its default. */
static ptune_status set_default(pt_run_config *c, const key_spec *k)
{
    switch (k->kind) {
    case K_STR: {
        char **f = str_field(c, k->off);
        char *d = NULL;
        if (k->sdef && !(d = pt_strdup(k->sdef, "run config default"))) return PTUNE_E_NOMEM;
        free(*f);
        *f = d;
        return PTUNE_OK;
    }
    case K_U64: *(uint64_t *)field(c, k->off) = (uint64_t)k->def; return PTUNE_OK;
    case K_I32: *(int32_t *)field(c, k->off) = (int32_t)k->def; return PTUNE_OK;
    case K_I64: *(int64_t *)field(c, k->off) = (int64_t)k->def; return PTUNE_OK;
    case K_F64: *(double *)field(c, k->off) = k->def; return PTUNE_OK;
    case K_BOOL: *(bool *)field(c, k->off) = k->def != 0; return PTUNE_OK;
    case K_BETAS:
        *(double *)field(c, k->off) = k->def;
        *(double *)field(c, k->off2) = k->def2;
        return PTUNE_OK;
    case K_LABELS: free_labels(c, k); return PTUNE_OK;
    case K_SECTION:
        for (size_t i = 0; i < k->sub->n; i++) {
            ptune_status s = set_default(c, &k->sub->keys[i]);
            if (s) return s;
        }
        return PTUNE_OK;
    }
    return PTUNE_OK;
}

/* Range text such as ">= 1", "> 0", "in [0, 1)". */
static void range_text(char *buf, size_t cap, const key_spec *k)
{
    if (k->kind == K_F64 || k->kind == K_BETAS) {
        if (isinf(k->fhi)) snprintf(buf, cap, "%s %g", (k->flags & F_LO_OPEN) ? ">" : ">=", k->flo);
        else
            snprintf(buf, cap, "in %c%g, %g%c", (k->flags & F_LO_OPEN) ? '(' : '[', k->flo, k->fhi,
                     (k->flags & F_HI_OPEN) ? ')' : ']');
    } else if (k->ihi == INT64_MAX || (k->kind == K_I32 && k->ihi == INT32_MAX)) {
        snprintf(buf, cap, ">= %lld", (long long)k->ilo);
    } else {
        snprintf(buf, cap, "in [%lld, %lld]", (long long)k->ilo, (long long)k->ihi);
    }
}

static ptune_status set_string(loader *L, const section *sec, const key_spec *k, const char *v, size_t len,
                               const yaml_node_t *pos)
{
    char name[96], list[256];
    full_name(name, sizeof name, sec, k);
    const yaml_mark_t *mark = pos ? &pos->start_mark : NULL;
    if (strlen(v) != len) return fail_at(L, mark, "\"%s\" must not contain NUL characters", name);
    if (len == 0) return fail_at(L, mark, "\"%s\" must not be empty (use null to leave it unset)", name);
    if (k->choices && !is_one_of(v, k->choices)) {
        choice_list(list, sizeof list, k->choices);
        return fail_at(L, mark, "\"%s\" must be one of %s (got \"%s\")", name, list, quote(v).s);
    }
    char *copy = pt_strdup(v, "run config string");
    if (!copy) return PTUNE_E_NOMEM;
    char **f = str_field(L->c, k->off);
    free(*f);
    *f = copy;
    return PTUNE_OK;
}

/* An integer node within [lo, hi] (integral floats such as 1e4 are accepted). */
static ptune_status get_int(loader *L, const char *name, const yaml_node_t *n, int64_t lo, int64_t hi,
                            const char *range, int64_t *out)
{
    const yaml_mark_t *mark = &n->start_mark;
    if (n->type != YAML_SCALAR_NODE)
        return fail_at(L, mark, "\"%s\" must be an integer (got %s)", name, describe(n).s);
    const char *s = scalar_text(n);
    scalar_class cls = classify(n);
    int64_t v;
    if (cls == SC_INT) {
        bool neg;
        uint64_t mag;
        if (!int_value(s, &neg, &mag) || (!neg && mag > (uint64_t)INT64_MAX) ||
            (neg && mag > (uint64_t)INT64_MAX + 1))
            return fail_at(L, mark, "\"%s\" must be %s (got %s, which does not fit)", name, range, quote(s).s);
        v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    } else if (cls == SC_FLOAT) {
        double d = to_double(L, s);
        if (!isfinite(d) || d != floor(d))
            return fail_at(L, mark, "\"%s\" must be an integer (got %s)", name, quote(s).s);
        if (fabs(d) > 9007199254740992.0)
            return fail_at(L, mark, "\"%s\" must be %s (got %s, which does not fit)", name, range, quote(s).s);
        v = (int64_t)d;
    } else {
        return fail_at(L, mark, "\"%s\" must be an integer (got %s)", name, describe(n).s);
    }
    if (v < lo || v > hi) return fail_at(L, mark, "\"%s\" must be %s (got %s)", name, range, quote(s).s);
    *out = v;
    return PTUNE_OK;
}

/* A finite number node within the key's float bounds. */
static ptune_status get_number(loader *L, const char *name, const yaml_node_t *n, const key_spec *k, double *out)
{
    const yaml_mark_t *mark = &n->start_mark;
    if (n->type != YAML_SCALAR_NODE || (classify(n) != SC_INT && classify(n) != SC_FLOAT))
        return fail_at(L, mark, "\"%s\" must be a number (got %s)", name, describe(n).s);
    const char *s = scalar_text(n);
    double v = to_double(L, s);
    if (!isfinite(v)) return fail_at(L, mark, "\"%s\" must be a finite number (got %s)", name, quote(s).s);
    bool below = (k->flags & F_LO_OPEN) ? v <= k->flo : v < k->flo;
    bool above = (k->flags & F_HI_OPEN) ? v >= k->fhi : v > k->fhi;
    if (below || above) {
        char range[64];
        range_text(range, sizeof range, k);
        return fail_at(L, mark, "\"%s\" must be %s (got %s)", name, range, quote(s).s);
    }
    *out = v;
    return PTUNE_OK;
}

static ptune_status apply_mapping(loader *L, const section *sec, yaml_document_t *doc, yaml_node_t *map);

/* Sets key `k` of `sec` from node `v` of `doc`. */
static ptune_status set_value(loader *L, const section *sec, const key_spec *k, yaml_document_t *doc, yaml_node_t *v)
{
    pt_run_config *c = L->c;
    char name[96], range[64];
    full_name(name, sizeof name, sec, k);
    const yaml_mark_t *mark = &v->start_mark;

    if (k->kind == K_SECTION) {
        if (is_null_node(v)) return PTUNE_OK; /* "data:" with nothing under it: the defaults */
        if (v->type != YAML_MAPPING_NODE)
            return fail_at(L, mark, "\"%s\" must be a mapping of keys (got %s)", name, describe(v).s);
        if (!L->override) {
            L->have_section[k->sub->id] = true;
            L->section_mark[k->sub->id] = v->start_mark;
        }
        return apply_mapping(L, k->sub, doc, v);
    }
    if (is_null_node(v)) {
        record_origin(L, sec, k, v, O_NULL);
        return set_default(c, k);
    }

    ptune_status s = PTUNE_OK;
    switch (k->kind) {
    case K_STR:
        if (v->type != YAML_SCALAR_NODE)
            return fail_at(L, mark, "\"%s\" must be a string (got %s)", name, describe(v).s);
        s = set_string(L, sec, k, scalar_text(v), v->data.scalar.length, v);
        break;
    case K_U64: {
        const char *t = v->type == YAML_SCALAR_NODE ? scalar_text(v) : "";
        bool neg = false;
        uint64_t mag = 0;
        if (v->type != YAML_SCALAR_NODE || classify(v) != SC_INT)
            return fail_at(L, mark, "\"%s\" must be an integer (got %s)", name, describe(v).s);
        if (!int_value(t, &neg, &mag) || (neg && mag != 0))
            return fail_at(L, mark, "\"%s\" must be in [0, 18446744073709551615] (got %s)", name, quote(t).s);
        *(uint64_t *)field(c, k->off) = mag;
        break;
    }
    case K_I32:
    case K_I64: {
        int64_t x = 0;
        range_text(range, sizeof range, k);
        s = get_int(L, name, v, k->ilo, k->ihi, range, &x);
        if (s) return s;
        if (k->kind == K_I32) *(int32_t *)field(c, k->off) = (int32_t)x;
        else *(int64_t *)field(c, k->off) = x;
        break;
    }
    case K_F64:
        s = get_number(L, name, v, k, (double *)field(c, k->off));
        break;
    case K_BOOL: {
        if (v->type != YAML_SCALAR_NODE || classify(v) != SC_BOOL)
            return fail_at(L, mark, "\"%s\" must be true or false (got %s)", name, describe(v).s);
        const char *t = scalar_text(v);
        *(bool *)field(c, k->off) = t[0] == 't' || t[0] == 'T';
        break;
    }
    case K_BETAS: {
        if (v->type != YAML_SEQUENCE_NODE)
            return fail_at(L, mark, "\"%s\" must be a sequence of two numbers [beta1, beta2] (got %s)", name,
                           describe(v).s);
        if (v->data.sequence.items.top - v->data.sequence.items.start != 2)
            return fail_at(L, mark, "\"%s\" must be a sequence of two numbers [beta1, beta2] (got %td)", name,
                           v->data.sequence.items.top - v->data.sequence.items.start);
        double b[2];
        for (int i = 0; i < 2; i++) {
            yaml_node_t *item = yaml_document_get_node(doc, v->data.sequence.items.start[i]);
            char item_name[112];
            snprintf(item_name, sizeof item_name, "%s[%d]", name, i);
            if (!item) return fail_at(L, mark, "\"%s\" is missing", item_name);
            s = get_number(L, item_name, item, k, &b[i]);
            if (s) return s;
        }
        *(double *)field(c, k->off) = b[0];
        *(double *)field(c, k->off2) = b[1];
        break;
    }
    case K_LABELS: {
        if (v->type != YAML_SEQUENCE_NODE)
            return fail_at(L, mark, "\"%s\" must be a sequence of strings (got %s)", name, describe(v).s);
        ptrdiff_t n = v->data.sequence.items.top - v->data.sequence.items.start;
        if (n == 0) return fail_at(L, mark, "\"%s\" must not be empty (use null to leave it unset)", name);
        if (n > INT32_MAX) return fail_at(L, mark, "\"%s\" has too many entries", name);
        for (ptrdiff_t i = 0; i < n; i++) {
            yaml_node_t *item = yaml_document_get_node(doc, v->data.sequence.items.start[i]);
            if (!item || item->type != YAML_SCALAR_NODE || classify(item) == SC_NULL ||
                strlen(scalar_text(item)) != item->data.scalar.length)
                return fail_at(L, item ? &item->start_mark : mark, "\"%s[%td]\" must be a non-empty string (got %s)",
                               name, i, !item ? "nothing" : item->type != YAML_SCALAR_NODE ? node_kind(item) : "null");
        }
        char **labels = pt_calloc((size_t)n, sizeof *labels, "prompt labels");
        if (!labels) return PTUNE_E_NOMEM;
        for (ptrdiff_t i = 0; i < n; i++) {
            yaml_node_t *item = yaml_document_get_node(doc, v->data.sequence.items.start[i]);
            if (!(labels[i] = pt_strdup(scalar_text(item), "prompt label"))) {
                for (ptrdiff_t j = 0; j < i; j++) free(labels[j]);
                free(labels);
                return PTUNE_E_NOMEM;
            }
        }
        free_labels(c, k);
        *(char ***)field(c, k->off) = labels;
        *(int32_t *)field(c, k->off2) = (int32_t)n;
        break;
    }
    case K_SECTION: break; /* handled above */
    }
    if (!s) record_origin(L, sec, k, v, O_SET);
    return s;
}

static const key_spec *find_key(const section *sec, const char *name, size_t len)
{
    for (size_t i = 0; i < sec->n; i++)
        if (strlen(sec->keys[i].name) == len && !memcmp(sec->keys[i].name, name, len)) return &sec->keys[i];
    return NULL;
}

static ptune_status unknown_key(const loader *L, const section *sec, const yaml_mark_t *mark, const char *key,
                                size_t len)
{
    char list[512];
    key_list(list, sizeof list, sec);
    char shown[RC_QUOTE_MAX + 8];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < RC_QUOTE_MAX ? len : RC_QUOTE_MAX), key);
    if (sec->name)
        return fail_at(L, mark, "unknown key \"%s\" in \"%s\" (expected one of: %s)", quote(shown).s, sec->name, list);
    return fail_at(L, mark, "unknown key \"%s\" (expected one of: %s)", quote(shown).s, list);
}

static ptune_status apply_mapping(loader *L, const section *sec, yaml_document_t *doc, yaml_node_t *map)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *p = start; p < top; p++) {
        yaml_node_t *key = yaml_document_get_node(doc, p->key);
        yaml_node_t *val = yaml_document_get_node(doc, p->value);
        if (!key || !val) return fail_at(L, &map->start_mark, "malformed mapping");
        if (key->type != YAML_SCALAR_NODE)
            return fail_at(L, &key->start_mark, "keys must be plain names (got %s as a key)", node_kind(key));
        const char *name = scalar_text(key);
        const key_spec *k = find_key(sec, name, key->data.scalar.length);
        if (!k) return unknown_key(L, sec, &key->start_mark, name, strlen(name));
        for (yaml_node_pair_t *q = start; q < p; q++) {
            yaml_node_t *prev = yaml_document_get_node(doc, q->key);
            if (prev && prev->type == YAML_SCALAR_NODE && !strcmp(scalar_text(prev), name)) {
                char full[96];
                full_name(full, sizeof full, sec, k);
                return fail_at(L, &key->start_mark, "duplicate key \"%s\" (first given at line %zu, column %zu)", full,
                               prev->start_mark.line + 1, prev->start_mark.column + 1);
            }
        }
        ptune_status s = set_value(L, sec, k, doc, val);
        if (s) return s;
    }
    return PTUNE_OK;
}

/* ---------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------- */

/* line:column of a byte offset (for reader errors, which carry only an offset). */
static void offset_position(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* The parser's error as "file:line:column: YAML syntax error: problem (context at L:C)". */
static ptune_status yaml_error(const loader *L, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory parsing YAML", L->file);
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_READER_ERROR) {
        size_t line, col;
        offset_position(text, len, p->problem_offset, &line, &col);
        char extra[32] = "";
        if (p->problem_value >= 0) snprintf(extra, sizeof extra, " (byte 0x%02x)", (unsigned)p->problem_value & 0xffu);
        if (L->override) return pt_fail(PTUNE_E_FORMAT, "--set %s: invalid text: %s%s", L->override, problem, extra);
        return pt_fail(PTUNE_E_FORMAT, "%s:%zu:%zu: invalid text: %s%s", L->file, line, col, problem, extra);
    }
    char ctx[160] = "";
    if (p->context)
        snprintf(ctx, sizeof ctx, " (%s at line %zu, column %zu)", p->context, p->context_mark.line + 1,
                 p->context_mark.column + 1);
    if (L->override) return pt_fail(PTUNE_E_FORMAT, "--set %s: YAML syntax error in the value: %s", L->override, problem);
    return pt_fail(PTUNE_E_FORMAT, "%s:%zu:%zu: YAML syntax error: %s%s", L->file, p->problem_mark.line + 1,
                   p->problem_mark.column + 1, problem, ctx);
}

/* Loads the single document of `text`; *doc must be deleted by the caller on success. When
 * `quiet`, a syntax error returns PTUNE_E_FORMAT without recording a message. */
static ptune_status load_document(const loader *L, const char *text, size_t len, yaml_document_t *doc, bool quiet)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return pt_fail(PTUNE_E_NOMEM, "out of memory starting the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    ptune_status s = PTUNE_OK;
    if (!yaml_parser_load(&parser, doc)) {
        s = (quiet && parser.error != YAML_MEMORY_ERROR) ? PTUNE_E_FORMAT : yaml_error(L, &parser, text, len);
        yaml_parser_delete(&parser);
        return s;
    }
    if (yaml_document_get_root_node(doc)) {
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            s = (quiet && parser.error != YAML_MEMORY_ERROR) ? PTUNE_E_FORMAT : yaml_error(L, &parser, text, len);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra)
                s = quiet ? PTUNE_E_FORMAT : fail_at(L, &extra->start_mark, "only one YAML document is allowed");
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);
    if (s) yaml_document_delete(doc);
    return s;
}

static ptune_status read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    ptune_status s = PTUNE_OK;
    for (;;) {
        if (n == cap) {
            if (cap >= RC_MAX_FILE_BYTES) {
                s = pt_fail(PTUNE_E_FORMAT, "%s: larger than %zu MiB: not a run config", path, RC_MAX_FILE_BYTES >> 20);
                break;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb = pt_realloc(buf, ncap + 1, "run_config buffer");
            if (!nb) {
                s = pt_fail(PTUNE_E_NOMEM, "%s: out of memory reading the file", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) s = pt_fail(PTUNE_E_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (s) {
        free(buf);
        return s;
    }
    if (!buf && !(buf = pt_malloc(1, "run config text"))) return PTUNE_E_NOMEM;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return PTUNE_OK;
}

/* ---------------------------------------------------------------------------------------
 * Overrides
 * ------------------------------------------------------------------------------------- */

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
}

static ptune_status apply_override(loader *L, const char *text)
{
    L->override = text;
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) return fail_at(L, NULL, "expected key.path=value");
    const section *sec = &top_sec;
    const key_spec *k = NULL;
    const char *p = text;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        const char *end = dot ? dot : eq;
        k = find_key(sec, p, (size_t)(end - p));
        if (!k) return unknown_key(L, sec, NULL, p, (size_t)(end - p));
        if (!dot) break;
        if (k->kind != K_SECTION) {
            char name[96];
            return fail_at(L, NULL, "unknown key \"%.*s\": \"%s\" has no keys below it", (int)(eq - text), text,
                           full_name(name, sizeof name, sec, k));
        }
        sec = k->sub;
        p = dot + 1;
    }
    const char *value = eq + 1;
    size_t len = strlen(value);
    yaml_document_t doc;
    ptune_status s = load_document(L, value, len, &doc, k->kind == K_STR);
    if (s && !(s == PTUNE_E_FORMAT && k->kind == K_STR)) return s;
    yaml_node_t *root = s ? NULL : yaml_document_get_root_node(&doc);
    /* a string key takes the text as given when it is not a YAML scalar ("a: b", "[x", "#x") */
    if (k->kind == K_STR && (s || (root && root->type != YAML_SCALAR_NODE) || (!root && !is_blank(value)))) {
        if (!s) yaml_document_delete(&doc);
        s = set_string(L, sec, k, value, len, NULL);
        if (!s) record_origin(L, sec, k, NULL, O_SET);
        return s;
    }
    if (!root) {
        /* an empty value is null: the default */
        if (k->kind != K_SECTION) {
            record_origin(L, sec, k, NULL, O_NULL);
            s = set_default(L->c, k);
        }
    } else {
        s = set_value(L, sec, k, &doc, root);
    }
    yaml_document_delete(&doc);
    return s;
}

/* ---------------------------------------------------------------------------------------
 * Checks across keys, after the file and the overrides
 * ------------------------------------------------------------------------------------- */

static ptune_status check_required(loader *L, const section *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        const key_spec *k = &sec->keys[i];
        if (k->kind == K_SECTION) {
            ptune_status s = check_required(L, k->sub);
            if (s) return s;
            continue;
        }
        if (!(k->flags & F_REQUIRED)) continue;
        origin *o = origin_of(L, sec, k);
        if (o->state == O_SET) continue;
        char name[96];
        full_name(name, sizeof name, sec, k);
        if (o->state == O_NULL) return fail_origin(L, o, "\"%s\" is required (got null)", name);
        yaml_mark_t mark = {0, 0, 0};
        if (L->have_section[sec->id]) mark = L->section_mark[sec->id];
        else if (L->have_root) mark = L->root_mark;
        return fail_at(L, &mark, "missing required key \"%s\"", name);
    }
    return PTUNE_OK;
}

static ptune_status check_combinations(loader *L)
{
    const pt_run_config *c = L->c;
    if (c->data.eval && c->data.eval_split > 0)
        return fail_origin(L, origin_of(L, &data_sec, &data_keys[5]),
                           "\"data.eval_split\" and \"data.eval\" are exclusive: give one of them");
    const origin *init = origin_of(L, &prompt_sec, &prompt_keys[1]);
    if (!strcmp(c->prompt.init, "text") && !c->prompt.init_text)
        return fail_origin(L, init, "\"prompt.init\" is \"text\" but \"prompt.init_text\" is not given");
    if (!strcmp(c->prompt.init, "class_labels") && c->prompt.n_labels == 0)
        return fail_origin(L, init, "\"prompt.init\" is \"class_labels\" but \"prompt.labels\" is not given");
    return PTUNE_OK;
}

/* ---------------------------------------------------------------------------------------
 * Public entry points
 * ------------------------------------------------------------------------------------- */

void pt_run_config_free(pt_run_config *c)
{
    if (!c) return;
    free(c->path);
    free(c->model);
    free(c->storage);
    free(c->output_dir);
    free(c->data.train);
    free(c->data.format);
    free(c->data.text_column);
    free(c->data.completion_column);
    free(c->data.eval);
    free(c->prompt.init);
    free(c->prompt.init_text);
    if (c->prompt.labels)
        for (int32_t i = 0; i < c->prompt.n_labels; i++) free(c->prompt.labels[i]);
    free(c->prompt.labels);
    free(c->prompt.resume_adapter);
    free(c->optimizer.name);
    free(c->schedule.name);
    memset(c, 0, sizeof *c);
}

static ptune_status load_into(loader *L, const char *path, const char *const *overrides, int n_overrides)
{
    pt_run_config *c = L->c;
    const key_spec top = {.name = "", .kind = K_SECTION, .sub = &top_sec};
    ptune_status s = set_default(c, &top);
    if (!s && !(c->path = pt_strdup(path, "run config path"))) s = PTUNE_E_NOMEM;
    if (s) return s;

    char *text = NULL;
    size_t len = 0;
    s = read_file(path, &text, &len);
    if (s) return s;
    yaml_document_t doc;
    s = load_document(L, text, len, &doc, false);
    if (!s) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && !is_null_node(root)) {
            L->have_root = true;
            L->root_mark = root->start_mark;
            if (root->type != YAML_MAPPING_NODE)
                s = fail_at(L, &root->start_mark, "a run config must be a mapping of keys (got %s)", node_kind(root));
            else
                s = apply_mapping(L, &top_sec, &doc, root);
        }
        yaml_document_delete(&doc);
    }
    free(text);
    for (int i = 0; !s && i < n_overrides; i++) {
        if (!overrides[i]) {
            s = pt_fail(PTUNE_E_INVALID_ARG, "%s: override %d is NULL", path, i);
            break;
        }
        s = apply_override(L, overrides[i]);
    }
    L->override = NULL;
    if (!s) s = check_required(L, &top_sec);
    if (!s) s = check_combinations(L);
    return s;
}

ptune_status pt_run_config_load(const char *path, const char *const *overrides, int n_overrides, pt_run_config *out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "pt_run_config_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "pt_run_config_load: path is empty");
    if (n_overrides < 0 || (n_overrides > 0 && !overrides))
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: bad override list", path);
    loader *L = pt_calloc(1, sizeof *L, "run config loader");
    if (!L) return PTUNE_E_NOMEM;
    L->c = out;
    L->file = path;
    L->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    ptune_status s = load_into(L, path, overrides, n_overrides);
    if (L->c_locale) freelocale(L->c_locale);
    free(L);
    if (s) pt_run_config_free(out);
    return s;
}
