/* `ptune generate MODEL [--prompt DIR] --text T [sampling options]`: streams the continuation
 * to stdout as tokens arrive. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ptune generate MODEL [--prompt ADAPTER] --text T [--max-new-tokens N] [--temperature T]\n"
    "                      [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S]\n"
    "                      [--threads N] [--storage f32|native]\n"
    "  --temperature 0 is greedy; an empty --text means BOS alone. Tokens print as they arrive.";

static int print_piece(int32_t token, const char *bytes, size_t n, void *user)
{
    (void)token;
    (void)user;
    if (n) {
        fwrite(bytes, 1, n, stdout);
        fflush(stdout);
    }
    return 0;
}

static int parse_float(const char *opt, const char *text, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno) return pt_cli_usage_error("%s: \"%s\" is not a number", opt, text);
    *out = (float)v;
    return 0;
}

int pt_cmd_generate(int argc, char **argv)
{
    const char *model_path = NULL, *prompt_path = NULL, *text = NULL;
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    int32_t threads = 0, storage = PTUNE_STORAGE_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) return pt_cli_usage_error("%s", usage);
        if (a[0] != '-') {
            if (model_path) return pt_cli_usage_error("unexpected argument \"%s\"\n%s", a, usage);
            model_path = a;
            continue;
        }
        if (i + 1 >= argc) return pt_cli_usage_error("%s needs a value\n%s", a, usage);
        const char *v = argv[++i];
        int32_t iv;
        int rc = 0;
        if (!strcmp(a, "--prompt")) prompt_path = v;
        else if (!strcmp(a, "--text")) text = v;
        else if (!strcmp(a, "--max-new-tokens")) rc = pt_cli_parse_int(a, v, &sp.max_new_tokens);
        else if (!strcmp(a, "--temperature")) rc = parse_float(a, v, &sp.temperature);
        else if (!strcmp(a, "--top-k")) rc = pt_cli_parse_int(a, v, &sp.top_k);
        else if (!strcmp(a, "--top-p")) rc = parse_float(a, v, &sp.top_p);
        else if (!strcmp(a, "--min-p")) rc = parse_float(a, v, &sp.min_p);
        else if (!strcmp(a, "--repetition-penalty")) rc = parse_float(a, v, &sp.repetition_penalty);
        else if (!strcmp(a, "--seed")) {
            rc = pt_cli_parse_int(a, v, &iv);
            sp.seed = (uint64_t)iv;
        } else if (!strcmp(a, "--threads")) rc = pt_cli_parse_int(a, v, &threads);
        else if (!strcmp(a, "--storage")) rc = pt_cli_parse_storage(a, v, &storage);
        else return pt_cli_usage_error("unknown option \"%s\"\n%s", a, usage);
        if (rc) return rc;
    }
    if (!model_path || !text) return pt_cli_usage_error("MODEL and --text are required\n%s", usage);

    ptune_model *m = NULL;
    ptune_prompt *prompt = NULL;
    ptune_ctx *c = NULL;
    char *out = NULL;
    int rc = 0;
    ptune_status s = pt_cli_load_model(model_path, storage, &m);
    if (s) return pt_cli_fail("loading model", s);
    if (prompt_path && (s = ptune_prompt_load(m, prompt_path, &prompt))) {
        rc = pt_cli_fail("loading prompt", s);
        goto done;
    }
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = threads;
    /* room for the prompt, the text and every new token (within the model's context) */
    int64_t want = (int64_t)ptune_prompt_n_virtual(prompt) + (int64_t)strlen(text) + 2 + sp.max_new_tokens;
    if (ptune_model_n_ctx(m) > 0 && want > ptune_model_n_ctx(m)) want = ptune_model_n_ctx(m);
    cp.max_tokens = (int32_t)(want > 16 ? want : 16);
    if ((s = ptune_ctx_new(m, &cp, &c))) {
        rc = pt_cli_fail("creating context", s);
        goto done;
    }
    s = ptune_generate_text(c, prompt, text, &sp, &out, print_piece, NULL);
    putchar('\n');
    if (s == PTUNE_E_CAPACITY) fprintf(stderr, "ptune: stopped: %s\n", ptune_last_error());
    else if (s) rc = pt_cli_fail("generating", s);
done:
    ptune_free(out);
    ptune_ctx_free(c);
    ptune_prompt_free(prompt);
    ptune_model_free(m);
    return rc;
}
