/* Example: prompt-tune a frozen model on a few lines of text and save a PEFT adapter.
 * usage: tune_prompt MODEL OUT_DIR [STEPS]   (MODEL: GGUF file or HF directory with a tokenizer)
 * Shows the whole host-driven loop: tokenize → forward → loss → backward → optimizer step. */
#include <ptune/ptune.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lines[] = {
    "Echoes of vectors unfold, a gentle hum of precision.",
    "Whispers of gradients settle into quiet valleys.",
    "Patterns coalesce, a tapestry of probability.",
    "In the silence, weights dream of distant data.",
};
#define N_LINES (int)(sizeof lines / sizeof lines[0])
#define MAX_IDS 128

static int fail(ptune_status s, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", what, ptune_status_str(s), ptune_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL OUT_DIR [STEPS]\n", argv[0]);
        return 2;
    }
    const int steps = argc > 3 ? atoi(argv[3]) : 20;
    ptune_model *model = NULL;
    ptune_status s = ptune_model_load(argv[1], NULL, &model);
    if (s) return fail(s, "loading model");

    /* tokenize the training lines with the model's own tokenizer (BOS included) */
    static int32_t ids[N_LINES][MAX_IDS];
    int32_t lens[N_LINES];
    const int32_t *seqs[N_LINES];
    int32_t total = 0;
    for (int i = 0; i < N_LINES; i++) {
        if ((s = ptune_tokenize(model, lines[i], strlen(lines[i]), true, ids[i], MAX_IDS, &lens[i])))
            return fail(s, "tokenizing");
        seqs[i] = ids[i];
        total += lens[i];
    }
    ptune_batch batch = {.n_seq = N_LINES, .ids = seqs, .labels = NULL, .len = lens};

    /* an 8-token prompt initialised from text, as PEFT's TEXT init does */
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 8;
    pp.init = PTUNE_PROMPT_INIT_TEXT;
    pp.init_text = "Write a short dreamy sentence:";
    ptune_prompt *prompt = NULL;
    if ((s = ptune_prompt_new(model, &pp, &prompt))) return fail(s, "creating prompt");

    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.training = 1;
    cp.max_tokens = total + N_LINES * pp.n_virtual;
    ptune_ctx *ctx = NULL;
    if ((s = ptune_ctx_new(model, &cp, &ctx))) return fail(s, "creating context");

    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);      /* AdamW, HF defaults, linear decay */
    op.lr = 5e-3f;
    op.total_steps = steps;
    ptune_optimizer *opt = NULL;
    if ((s = ptune_optimizer_new(&op, prompt, &opt))) return fail(s, "creating optimizer");

    for (int step = 0; step < steps; step++) {
        double loss;
        if ((s = ptune_forward(ctx, prompt, &batch)) || (s = ptune_loss(ctx, &loss, NULL)) ||
            (s = ptune_backward(ctx, prompt)) || (s = ptune_optimizer_step(opt, prompt)))
            return fail(s, "training step");
        if (step % 5 == 0 || step == steps - 1)
            printf("step %3d  loss %.4f  lr %.2e  grad-norm %.3f\n", step, loss, ptune_optimizer_lr(opt),
                   ptune_optimizer_last_grad_norm(opt));
    }
    if ((s = ptune_prompt_save(prompt, argv[2]))) return fail(s, "saving adapter");
    printf("saved a PEFT adapter (%d virtual tokens) to %s\n", ptune_prompt_n_virtual(prompt), argv[2]);

    ptune_optimizer_free(opt);
    ptune_ctx_free(ctx);
    ptune_prompt_free(prompt);
    ptune_model_free(model);
    return 0;
}
