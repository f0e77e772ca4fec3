/* Quickstart: load a frozen model, tune a soft prompt on a few lines of text, then generate with
 * it.
 *
 *   usage: quickstart MODEL [STEPS]        (MODEL: GGUF file or HF directory with a tokenizer)
 *   e.g.   ./build/examples/quickstart ../shared/models/aidreams260K.gguf
 *
 * The loop is the whole idea of prompt tuning: the model's weights never change; only the
 * n_virtual × n_embd floats of the soft prompt are trained (forward → loss → backward → step). */
#include <ptune/ptune.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lines[] = {
    "The robot dreamed of a quiet garden full of light.",
    "In the dream, numbers turned into soft blue birds.",
    "A small machine dreamed of the sea and the stars.",
};
#define N_LINES (int)(sizeof lines / sizeof lines[0])
#define MAX_IDS 96

static int fail(ptune_status s, const char *what)
{
    fprintf(stderr, "quickstart: %s: %s: %s\n", what, ptune_status_str(s), ptune_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [STEPS]\n", argv[0]);
        return 2;
    }
    const int steps = argc > 2 ? atoi(argv[2]) : 20;
    if (steps < 1) {
        fprintf(stderr, "quickstart: STEPS must be >= 1\n");
        return 2;
    }

    ptune_model *model = NULL;
    ptune_prompt *prompt = NULL;
    ptune_ctx *train_ctx = NULL, *gen_ctx = NULL;
    ptune_optimizer *opt = NULL;
    char *text = NULL;
    ptune_status s;
    int rc = 1;

    /* 1. Load the frozen model (weights become fp32, read-only and shareable between threads). */
    if ((s = ptune_model_load(argv[1], NULL, &model))) {
        rc = fail(s, "loading the model");
        goto done;
    }
    printf("model: %s, %d layers, n_embd %d, vocab %d, %lld parameters (frozen)\n", ptune_model_arch_name(model),
           ptune_model_n_layer(model), ptune_model_n_embd(model), ptune_model_n_vocab(model),
           (long long)ptune_model_n_params(model));

    /* 2. Tokenize the training lines with the model's own tokenizer (BOS included). */
    static int32_t ids[N_LINES][MAX_IDS];
    int32_t lens[N_LINES];
    const int32_t *seqs[N_LINES];
    int32_t total = 0;
    for (int i = 0; i < N_LINES; i++) {
        if ((s = ptune_tokenize(model, lines[i], strlen(lines[i]), true, ids[i], MAX_IDS, &lens[i]))) {
            rc = fail(s, "tokenizing");
            goto done;
        }
        seqs[i] = ids[i];
        total += lens[i];
    }
    const ptune_batch batch = {.n_seq = N_LINES, .ids = seqs, .labels = NULL, .len = lens};

    /* 3. A soft prompt of 8 virtual tokens, initialised from the embeddings of a text. */
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 8;
    pp.init = PTUNE_PROMPT_INIT_TEXT;
    pp.init_text = "Tell a short dream:";
    if ((s = ptune_prompt_new(model, &pp, &prompt))) {
        rc = fail(s, "creating the prompt");
        goto done;
    }

    /* 4. A training context sized for the batch (virtual rows count too) and an optimizer. */
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.training = 1;
    cp.max_tokens = total + N_LINES * pp.n_virtual;
    if ((s = ptune_ctx_new(model, &cp, &train_ctx))) {
        rc = fail(s, "creating the training context");
        goto done;
    }
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op); /* AdamW with HF Trainer defaults, linear decay */
    op.lr = 3e-2f;
    op.total_steps = steps;
    if ((s = ptune_optimizer_new(&op, prompt, &opt))) {
        rc = fail(s, "creating the optimizer");
        goto done;
    }

    /* 5. The prompt-tuning loop. */
    double first = 0.0, loss = 0.0;
    for (int step = 0; step < steps; step++) {
        if ((s = ptune_forward(train_ctx, prompt, &batch)) || (s = ptune_loss(train_ctx, &loss, NULL)) ||
            (s = ptune_backward(train_ctx, prompt)) || (s = ptune_optimizer_step(opt, prompt))) {
            rc = fail(s, "training step");
            goto done;
        }
        if (step == 0) first = loss;
        if (step % 5 == 0 || step == steps - 1) printf("step %3d  loss %.4f\n", step, loss);
    }
    printf("tuned %d steps: loss %.4f -> %.4f\n", steps, first, loss);

    /* 6. Generate with the tuned prompt. An inference context keeps no training activations. */
    if ((s = ptune_ctx_new(model, NULL, &gen_ctx))) {
        rc = fail(s, "creating the generation context");
        goto done;
    }
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.8f;
    sp.top_k = 40;
    sp.repetition_penalty = 1.3f;
    sp.max_new_tokens = 40;
    sp.seed = 42;
    const char *start = "The robot";
    if ((s = ptune_generate_text(gen_ctx, prompt, start, &sp, &text, NULL, NULL))) {
        rc = fail(s, "generating");
        goto done;
    }
    printf("input:     %s\ngenerated: %s\n", start, text);
    rc = 0;

done:
    ptune_free(text);
    ptune_optimizer_free(opt);
    ptune_ctx_free(gen_ctx);
    ptune_ctx_free(train_ctx);
    ptune_prompt_free(prompt);
    ptune_model_free(model);
    return rc;
}
