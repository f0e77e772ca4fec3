/* `ptune score MODEL (--ids 1,2,3 | --text T) [--prompt FILE]`: log-probabilities of the
 * tokens HF's loss counts, their mean NLL, as JSON. */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ptune score MODEL (--ids 1,2,3 | --text T) [--prompt FILE|DIR] [--threads N]\n"
    "                   [--storage f32|native]\n"
    "  Without a prompt every token but the first is scored; with a soft prompt (a PEFT adapter\n"
    "  directory or a safetensors file holding prompt_embeddings) every input token is.\n"
    "  --text is tokenized with the model's tokenizer, special tokens (e.g. BOS) included.";

typedef struct score_args {
    const char *model, *ids, *text, *prompt;
    int32_t threads, storage;
} score_args;

static int parse(int argc, char **argv, score_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = !strcmp(arg, "--ids") ? &a->ids : !strcmp(arg, "--text") ? &a->text
                          : !strcmp(arg, "--prompt") ? &a->prompt : NULL;
        if (slot || !strcmp(arg, "--threads") || !strcmp(arg, "--storage")) {
            if (i + 1 >= argc) return pt_cli_usage_error("%s needs a value\n%s", arg, usage);
            if (slot) *slot = argv[++i];
            else if (!strcmp(arg, "--storage")) {
                if (pt_cli_parse_storage(arg, argv[++i], &a->storage)) return 2;
            } else if (pt_cli_parse_int(arg, argv[++i], &a->threads)) return 2;
        } else if (!strcmp(arg, "--help")) {
            return pt_cli_usage_error("%s", usage);
        } else if (arg[0] == '-' || a->model) {
            return pt_cli_usage_error("unexpected argument \"%s\"\n%s", arg, usage);
        } else {
            a->model = arg;
        }
    }
    if (!a->model) return pt_cli_usage_error("missing MODEL\n%s", usage);
    if (!a->ids == !a->text) return pt_cli_usage_error("give exactly one of --ids and --text\n%s", usage);
    return 0;
}

static int print_result(ptune_ctx *c)
{
    double nll;
    int64_t n;
    ptune_status s = ptune_loss(c, &nll, &n);
    if (s) return pt_cli_fail("scoring", s);
    float *lp = malloc(sizeof(float) * (size_t)(n ? n : 1));
    int32_t got;
    if (!lp) return pt_cli_usage_error("out of memory");
    s = ptune_token_logprobs(c, 0, lp, (int32_t)n, &got);
    if (s) {
        free(lp);
        return pt_cli_fail("scoring", s);
    }
    json_t *o = json_object(), *arr = json_array();
    for (int32_t i = 0; i < got; i++) json_array_append_new(arr, json_real(lp[i]));
    json_object_set_new(o, "n_tokens", json_integer(got));
    json_object_set_new(o, "nll", json_real(nll));
    json_object_set_new(o, "logprobs", arr);
    char *text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    if (text) puts(text);
    free(text);
    json_decref(o);
    free(lp);
    return 0;
}

/* The text's ids with the model's special tokens (e.g. BOS), as HF tokenizers give them. */
static ptune_status tokenize_text(const ptune_model *m, const char *text, int32_t **ids, int32_t *n)
{
    int32_t need = 0;
    ptune_status s = ptune_tokenize(m, text, strlen(text), true, NULL, 0, &need);
    if (s != PTUNE_OK && s != PTUNE_E_BUFFER_TOO_SMALL) return s;
    *ids = malloc(sizeof(int32_t) * (size_t)(need ? need : 1));
    if (!*ids) return PTUNE_E_NOMEM;
    return ptune_tokenize(m, text, strlen(text), true, *ids, need, n);
}

int pt_cmd_score(int argc, char **argv)
{
    score_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    int32_t *ids = NULL, n_ids = 0;
    if (a.ids && pt_cli_parse_ids(a.ids, &ids, &n_ids)) return 2;

    ptune_model *m = NULL;
    ptune_prompt *prompt = NULL;
    ptune_ctx *c = NULL;
    ptune_status s = pt_cli_load_model(a.model, a.storage, &m);
    if (s) {
        rc = pt_cli_fail("loading model", s);
        goto done;
    }
    if (a.text && (s = tokenize_text(m, a.text, &ids, &n_ids))) {
        rc = pt_cli_fail("tokenizing --text", s);
        goto done;
    }
    if (a.prompt && (s = ptune_prompt_load(m, a.prompt, &prompt))) {
        rc = pt_cli_fail("loading prompt", s);
        goto done;
    }
    if (!prompt && n_ids < 2) {
        rc = pt_cli_usage_error("without a prompt at least two tokens are needed (the first is not scored)");
        goto done;
    }
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = a.threads;
    cp.max_tokens = n_ids + ptune_prompt_n_virtual(prompt);
    if ((s = ptune_ctx_new(m, &cp, &c))) {
        rc = pt_cli_fail("creating context", s);
        goto done;
    }
    const int32_t *seqs[1] = {ids};
    ptune_batch b = {.n_seq = 1, .ids = seqs, .labels = NULL, .len = &n_ids};
    if ((s = ptune_forward(c, prompt, &b))) {
        rc = pt_cli_fail("forward pass", s);
        goto done;
    }
    rc = print_result(c);
done:
    ptune_ctx_free(c);
    ptune_prompt_free(prompt);
    ptune_model_free(m);
    free(ids);
    return rc;
}
