/* `ptune tokenize` and `ptune detokenize`: text ↔ ids with a model's or a standalone
 * tokenizer, one input or JSON Lines in bulk (one load for a whole dataset). */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char tokenize_usage[] =
    "usage: ptune tokenize TOKENIZER [--special] [--text T | --file F]   (stdin when neither)\n"
    "       ptune tokenize TOKENIZER --jsonl [--special]   < {\"text\": ...} lines  > {\"ids\": [...]} lines\n"
    "TOKENIZER: a GGUF model, an HF model directory, a directory with tokenizer.json, or a tokenizer.json";
static const char detokenize_usage[] =
    "usage: ptune detokenize TOKENIZER [--skip-special] --ids 1,2,3\n"
    "       ptune detokenize TOKENIZER --jsonl [--skip-special]   < {\"ids\": [...]} lines  > {\"text\": ...} lines";

/* Reads a whole stream into a malloc'd buffer. */
static char *read_all(FILE *f, size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *grown = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    *n = len;
    return buf;
}

/* Encodes with the two-call pattern into a malloc'd array. */
static ptune_status encode(const ptune_tokenizer *t, const char *text, size_t len, bool special, int32_t **ids, int32_t *n)
{
    int32_t need = 0;
    ptune_status s = ptune_tokenizer_encode(t, text, len, special, NULL, 0, &need);
    if (s != PTUNE_OK && s != PTUNE_E_BUFFER_TOO_SMALL) return s;
    *ids = malloc(sizeof(int32_t) * (size_t)(need ? need : 1));
    if (!*ids) return PTUNE_E_NOMEM;
    s = ptune_tokenizer_encode(t, text, len, special, *ids, need, n);
    if (s) free(*ids);
    return s;
}

static ptune_status decode(const ptune_tokenizer *t, const int32_t *ids, int32_t n, bool skip, char **text, size_t *len)
{
    size_t need = 0;
    ptune_status s = ptune_tokenizer_decode(t, ids, n, skip, NULL, 0, &need);
    if (s != PTUNE_OK && s != PTUNE_E_BUFFER_TOO_SMALL) return s;
    *text = malloc(need + 1);
    if (!*text) return PTUNE_E_NOMEM;
    s = ptune_tokenizer_decode(t, ids, n, skip, *text, need + 1, len);
    if (s) free(*text);
    return s;
}

static void print_ids_json(const int32_t *ids, int32_t n)
{
    putchar('[');
    for (int32_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
    putchar(']');
}

typedef struct tok_args {
    const char *path, *text, *file, *ids;
    bool special, jsonl;
} tok_args;

static int parse(int argc, char **argv, tok_args *a, const char *flag, const char *usage)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, flag)) a->special = true;
        else if (!strcmp(arg, "--jsonl")) a->jsonl = true;
        else if (!strcmp(arg, "--text") || !strcmp(arg, "--file") || !strcmp(arg, "--ids")) {
            if (i + 1 >= argc) return pt_cli_usage_error("%s needs a value\n%s", arg, usage);
            const char **slot = arg[2] == 't' ? &a->text : arg[2] == 'f' ? &a->file : &a->ids;
            *slot = argv[++i];
        } else if (!strcmp(arg, "--help")) {
            return pt_cli_usage_error("%s", usage);
        } else if (arg[0] == '-' || a->path) {
            return pt_cli_usage_error("unexpected argument \"%s\"\n%s", arg, usage);
        } else {
            a->path = arg;
        }
    }
    if (!a->path) return pt_cli_usage_error("missing TOKENIZER\n%s", usage);
    return 0;
}

/* Runs fn on every line of stdin; line numbers are 1-based for messages. */
typedef int (*line_fn)(const ptune_tokenizer *t, const tok_args *a, json_t *obj, long line);

static int for_each_jsonl(const ptune_tokenizer *t, const tok_args *a, line_fn fn)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long no = 0;
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, stdin)) >= 0) {
        no++;
        if (got == 0 || (got == 1 && line[0] == '\n')) continue;
        json_error_t e;
        json_t *obj = json_loadb(line, (size_t)got, JSON_DISABLE_EOF_CHECK, &e);
        if (!obj || !json_is_object(obj)) {
            rc = pt_cli_usage_error("stdin line %ld: %s", no, obj ? "not a JSON object" : e.text);
        } else {
            rc = fn(t, a, obj, no);
        }
        json_decref(obj);
    }
    free(line);
    return rc;
}

static int tokenize_line(const ptune_tokenizer *t, const tok_args *a, json_t *obj, long no)
{
    json_t *text = json_object_get(obj, "text");
    if (!json_is_string(text)) return pt_cli_usage_error("stdin line %ld: field \"text\" must be a string", no);
    int32_t *ids, n;
    ptune_status s = encode(t, json_string_value(text), json_string_length(text), a->special, &ids, &n);
    if (s) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "stdin line %ld", no);
        return pt_cli_fail(ctx, s);
    }
    fputs("{\"ids\":", stdout);
    print_ids_json(ids, n);
    fputs("}\n", stdout);
    free(ids);
    return 0;
}

int pt_cmd_tokenize(int argc, char **argv)
{
    tok_args a;
    int rc = parse(argc, argv, &a, "--special", tokenize_usage);
    if (rc) return rc;
    if (a.ids) return pt_cli_usage_error("--ids belongs to detokenize\n%s", tokenize_usage);
    if ((a.text && a.file) || (a.jsonl && (a.text || a.file)))
        return pt_cli_usage_error("give at most one of --text, --file and --jsonl\n%s", tokenize_usage);
    ptune_tokenizer *t;
    ptune_status s = ptune_tokenizer_load(a.path, &t);
    if (s) return pt_cli_fail("loading tokenizer", s);
    if (a.jsonl) {
        rc = for_each_jsonl(t, &a, tokenize_line);
    } else {
        char *owned = NULL;
        size_t len = 0;
        const char *text = a.text;
        if (text) {
            len = strlen(text);
        } else {
            FILE *f = a.file ? fopen(a.file, "rb") : stdin;
            if (!f) rc = pt_cli_usage_error("cannot open %s", a.file);
            else {
                owned = read_all(f, &len);
                if (f != stdin) fclose(f);
                if (!owned) rc = pt_cli_usage_error("cannot read %s", a.file ? a.file : "stdin");
                text = owned;
            }
        }
        if (!rc) {
            int32_t *ids, n;
            if ((s = encode(t, text, len, a.special, &ids, &n))) rc = pt_cli_fail("tokenizing", s);
            else {
                print_ids_json(ids, n);
                putchar('\n');
                free(ids);
            }
        }
        free(owned);
    }
    ptune_tokenizer_free(t);
    return rc;
}

static int detokenize_line(const ptune_tokenizer *t, const tok_args *a, json_t *obj, long no)
{
    json_t *arr = json_object_get(obj, "ids");
    if (!json_is_array(arr)) return pt_cli_usage_error("stdin line %ld: field \"ids\" must be an array", no);
    size_t n = json_array_size(arr);
    int32_t *ids = malloc(sizeof(int32_t) * (n ? n : 1));
    if (!ids) return pt_cli_usage_error("out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
            free(ids);
            return pt_cli_usage_error("stdin line %ld: ids[%zu] is not a token id", no, i);
        }
        ids[i] = (int32_t)json_integer_value(v);
    }
    char *text;
    size_t len;
    ptune_status s = decode(t, ids, (int32_t)n, a->special, &text, &len);
    free(ids);
    if (s) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "stdin line %ld", no);
        return pt_cli_fail(ctx, s);
    }
    json_t *out = json_object();
    json_object_set_new(out, "text", json_stringn(text, len));
    char *dump = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (dump) printf("%s\n", dump);
    free(dump);
    json_decref(out);
    free(text);
    return 0;
}

int pt_cmd_detokenize(int argc, char **argv)
{
    tok_args a;
    int rc = parse(argc, argv, &a, "--skip-special", detokenize_usage);
    if (rc) return rc;
    if (a.text || a.file) return pt_cli_usage_error("--text/--file belong to tokenize\n%s", detokenize_usage);
    if (!a.jsonl == !a.ids) return pt_cli_usage_error("give exactly one of --ids and --jsonl\n%s", detokenize_usage);
    int32_t *ids = NULL, n = 0;
    if (a.ids && strlen(a.ids) > 0 && pt_cli_parse_ids(a.ids, &ids, &n)) return 2;
    ptune_tokenizer *t;
    ptune_status s = ptune_tokenizer_load(a.path, &t);
    if (s) {
        free(ids);
        return pt_cli_fail("loading tokenizer", s);
    }
    if (a.jsonl) {
        rc = for_each_jsonl(t, &a, detokenize_line);
    } else {
        char *text;
        size_t len;
        if ((s = decode(t, ids, n, a.special, &text, &len))) rc = pt_cli_fail("detokenizing", s);
        else {
            fwrite(text, 1, len, stdout);
            putchar('\n');
            free(text);
        }
    }
    free(ids);
    ptune_tokenizer_free(t);
    return rc;
}
