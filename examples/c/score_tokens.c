/* Example: load a model, run one forward pass over a token sequence (optionally with a soft
 * prompt) and print the per-token log-probabilities and the mean loss.
 * usage: score_tokens MODEL [PROMPT] */
#include <ptune/ptune.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [PROMPT_DIR_OR_SAFETENSORS]\n", argv[0]);
        return 2;
    }
    ptune_model *model = NULL;
    ptune_prompt *prompt = NULL;
    ptune_ctx *ctx = NULL;
    int rc = 1;
    ptune_status s = ptune_model_load(argv[1], NULL, &model);
    if (s != PTUNE_OK) goto fail;
    if (argc > 2 && (s = ptune_prompt_load(model, argv[2], &prompt)) != PTUNE_OK) goto fail;

    /* a short sequence of ids that exist in every vocabulary */
    int32_t ids[8];
    for (int i = 0; i < 8; i++) ids[i] = (int32_t)((i * 37 + 5) % ptune_model_n_vocab(model));
    const int32_t *seqs[1] = {ids};
    int32_t len = 8;
    ptune_batch batch = {.n_seq = 1, .ids = seqs, .labels = NULL, .len = &len};

    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.logits = PTUNE_LOGITS_LAST;
    if ((s = ptune_ctx_new(model, &cp, &ctx)) != PTUNE_OK) goto fail;
    if ((s = ptune_forward(ctx, prompt, &batch)) != PTUNE_OK) goto fail;

    double loss;
    int64_t counted;
    float logprobs[16];
    int32_t n;
    if ((s = ptune_loss(ctx, &loss, &counted)) != PTUNE_OK) goto fail;
    if ((s = ptune_token_logprobs(ctx, 0, logprobs, 16, &n)) != PTUNE_OK) goto fail;
    printf("%s model, %d layers, hidden %d: mean NLL %.4f over %lld tokens\n", ptune_model_arch_name(model),
           ptune_model_n_layer(model), ptune_model_n_embd(model), loss, (long long)counted);
    for (int32_t i = 0; i < n; i++) printf("  logprob[%d] = %.4f\n", i, logprobs[i]);

    const float *logits;
    int32_t rows;
    if ((s = ptune_logits(ctx, 0, &logits, &rows)) != PTUNE_OK) goto fail;
    int32_t best = 0;
    for (int32_t v = 1; v < ptune_model_n_vocab(model); v++)
        if (logits[v] > logits[best]) best = v;
    printf("most likely next token id: %d\n", best);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "error: %s: %s\n", ptune_status_str(s), ptune_last_error());
done:
    ptune_ctx_free(ctx);
    ptune_prompt_free(prompt);
    ptune_model_free(model);
    return rc;
}
