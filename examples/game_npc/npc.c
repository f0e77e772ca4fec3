/* Game-style example: two NPCs on one frozen model, each a soft prompt, answering the player
 * inside a game loop with a per-frame token budget.
 *
 *   usage: npc MODEL [--frames N] [--budget TOKENS] [--verify]
 *   e.g.   ./build/examples/npc ../shared/models/aidreams260K.gguf --frames 30 --budget 4
 *
 * The shape of the loop:
 * - The model is loaded once; the two personalities are two small soft prompts (TEXT init from a
 *   persona description), so switching NPC costs nothing: the context's prefix cache keeps both
 *   prompts' keys/values and only the conversation ids are recomputed.
 * - Player requests arrive on scripted frames into a queue; each frame works on at most one
 *   request and picks the NPC whose name the player addressed.
 * - Tokens stream through the generation callback, which stops the call (nonzero return) once
 *   this frame's budget is spent; the next frame continues the same reply by generating again
 *   from the accumulated ids (input + reply so far). With greedy decoding the reply is exactly
 *   the one an uninterrupted call gives (--verify checks that).
 * - Headless and bounded: a fixed number of frames, no sleeping, plain text output.
 */
#include <ptune/ptune.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_IDS 256   /* input + reply ids of one conversation turn */
#define REPLY_MAX 24  /* tokens per reply at most */
#define TEXT_CAP 1024

typedef struct npc {
    const char *name;
    const char *persona;   /* the TEXT init of its soft prompt */
    ptune_prompt *prompt;
} npc;

static npc npcs[2] = {
    {"Mira", "Mira the blacksmith: warm and proud, she talks of fire, iron, hammers and her forge.", NULL},
    {"Tobin", "Old Tobin the fisherman: slow and gloomy, he talks of the sea, storms, nets and boats.", NULL},
};
#define N_NPCS (int)(sizeof npcs / sizeof npcs[0])

/* The player's script: on which frame each request arrives. */
typedef struct request {
    int frame;
    const char *line;
} request;

static const request script[] = {
    {0, "Mira, can you mend my sword?"},
    {1, "Tobin, will a storm come tonight?"},
    {2, "Mira, what do you dream about?"},
    {9, "Tobin, tell me about the sea."},
};
#define N_REQUESTS (int)(sizeof script / sizeof script[0])

/* The reply being produced (at most one at a time: one request per frame). */
typedef struct reply {
    int active;
    int request;
    int npc;
    int32_t ids[MAX_IDS]; /* input ids, then the reply's ids as they are generated */
    int32_t n_input, n_ids;
    int32_t reply_max;    /* this reply's token limit (REPLY_MAX within the context) */
    int frames;
    ptune_token_stream *stream; /* decodes the reply across frames */
    char text[TEXT_CAP];
    size_t text_len;
} reply;

/* What the callback sees during one frame. */
typedef struct frame_state {
    reply *r;
    int32_t budget, spent;
    char piece[TEXT_CAP]; /* this frame's text */
    size_t piece_len;
    ptune_status stream_error;
} frame_state;

static void append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n >= cap) n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

/* Streaming callback: decode the token with the reply's own stream (it spans frames, so a
 * character split across two frames still comes out whole), and stop once the budget is spent. */
static int on_token(int32_t token, const char *bytes, size_t n, void *user)
{
    (void)bytes;
    (void)n;
    frame_state *f = user;
    if (token < 0) return 0; /* the library's end-of-call flush: our stream keeps that text */
    const char *text;
    size_t len;
    ptune_status s = ptune_token_stream_push(f->r->stream, token, &text, &len);
    if (s) {
        f->stream_error = s;
        return 1;
    }
    append(f->piece, sizeof f->piece, &f->piece_len, text, len);
    append(f->r->text, sizeof f->r->text, &f->r->text_len, text, len);
    return ++f->spent >= f->budget; /* nonzero stops the generation: the frame's budget is spent */
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void print_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '\n') fputs("\\n", stdout);
        else if (*s == '"') fputs("\\\"", stdout);
        else putchar(*s);
    }
    putchar('"');
}

static int fail(ptune_status s, const char *what)
{
    fprintf(stderr, "npc: %s: %s: %s\n", what, ptune_status_str(s), ptune_last_error());
    return 1;
}

/* The NPC the player addressed: the first NPC name in the line (the first NPC if none). */
static int pick_npc(const char *line)
{
    const char *best = NULL;
    int who = 0;
    for (int i = 0; i < N_NPCS; i++) {
        const char *at = strstr(line, npcs[i].name);
        if (at && (!best || at < best)) {
            best = at;
            who = i;
        }
    }
    return who;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [--frames N] [--budget TOKENS] [--verify]\n", argv[0]);
        return 2;
    }
    int n_frames = 30, budget = 4, verify = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc) n_frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--budget") && i + 1 < argc) budget = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--verify")) verify = 1;
        else {
            fprintf(stderr, "npc: unknown argument \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if (n_frames < 1 || budget < 1) {
        fprintf(stderr, "npc: --frames and --budget must be >= 1\n");
        return 2;
    }

    /* A game leaves most cores to rendering and physics: one library thread, one BLAS thread. */
    ptune_set_blas_threads(1);

    ptune_model *model = NULL;
    ptune_ctx *ctx = NULL;
    reply cur;
    memset(&cur, 0, sizeof cur);
    int rc = 1;
    ptune_status s = ptune_model_load(argv[1], NULL, &model);
    if (s) return fail(s, "loading the model");
    const ptune_tokenizer *tok = ptune_model_tokenizer(model);
    if (!tok) {
        fprintf(stderr, "npc: the model has no tokenizer\n");
        goto done;
    }

    /* Two personalities = two soft prompts on the same frozen weights. */
    for (int i = 0; i < N_NPCS; i++) {
        ptune_prompt_params pp;
        ptune_prompt_params_init(&pp);
        pp.n_virtual = 16;
        pp.init = PTUNE_PROMPT_INIT_TEXT;
        pp.init_text = npcs[i].persona;
        if ((s = ptune_prompt_new(model, &pp, &npcs[i].prompt))) {
            rc = fail(s, "creating an NPC prompt");
            goto done;
        }
    }

    /* One generation context for the whole game, sized to the model's context. */
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = 1;
    cp.max_tokens = MAX_IDS + 16;
    if (ptune_model_n_ctx(model) > 0 && cp.max_tokens > ptune_model_n_ctx(model)) cp.max_tokens = ptune_model_n_ctx(model);
    if ((s = ptune_ctx_new(model, &cp, &ctx))) {
        rc = fail(s, "creating the context");
        goto done;
    }

    /* Greedy with a repetition penalty: deterministic replies, so a game can replay them, and a
     * reply cut across frames equals an uninterrupted one. (For sampling, set a temperature and a
     * seed per frame: replies stay reproducible but differ from a one-shot sample.) */
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.repetition_penalty = 1.3f;

    printf("npc: %s model, %d NPCs (%d virtual tokens each), %d frames, budget %d tokens per frame\n",
           ptune_model_arch_name(model), N_NPCS, ptune_prompt_n_virtual(npcs[0].prompt), n_frames, budget);

    int queue[N_REQUESTS], q_head = 0, q_len = 0, arrived = 0, answered = 0, max_spent = 0, mismatches = 0;
    for (int frame = 0; frame < n_frames; frame++) {
        const double t0 = now_ms();
        while (arrived < N_REQUESTS && script[arrived].frame <= frame) queue[q_len++] = arrived++;

        /* At most one request per frame: continue the active reply, or start the next one. */
        if (!cur.active && q_head < q_len) {
            const int req = queue[q_head++];
            const char *line = script[req].line;
            memset(&cur, 0, sizeof cur);
            cur.active = 1;
            cur.request = req;
            cur.npc = pick_npc(line);
            if ((s = ptune_tokenize(model, line, strlen(line), true, cur.ids, MAX_IDS, &cur.n_input))) {
                rc = fail(s, "tokenizing a request");
                goto done;
            }
            cur.n_ids = cur.n_input;
            /* room for the reply within the context: n_virtual + ids + new tokens */
            int32_t room = cp.max_tokens - ptune_prompt_n_virtual(npcs[cur.npc].prompt) - cur.n_input - 1;
            if (room > MAX_IDS - cur.n_input) room = MAX_IDS - cur.n_input;
            cur.reply_max = room < REPLY_MAX ? room : REPLY_MAX;
            if (cur.reply_max < 1) {
                fprintf(stderr, "npc: request %d does not fit the context\n", req);
                goto done;
            }
            if ((s = ptune_token_stream_new(tok, true, &cur.stream))) {
                rc = fail(s, "creating a token stream");
                goto done;
            }
            printf("frame %2d  %-5s <- request %d: ", frame, npcs[cur.npc].name, req);
            print_quoted(line);
            putchar('\n');
        }
        if (!cur.active) {
            printf("frame %2d  idle\n", frame);
            continue;
        }

        frame_state f = {.r = &cur, .budget = budget};
        const int32_t generated = cur.n_ids - cur.n_input;
        sp.max_new_tokens = cur.reply_max - generated;
        int32_t n_out = 0;
        s = ptune_generate(ctx, npcs[cur.npc].prompt, cur.ids, cur.n_ids, &sp, cur.ids + cur.n_ids,
                           MAX_IDS - cur.n_ids, &n_out, on_token, &f);
        if (f.stream_error) {
            rc = fail(f.stream_error, "decoding");
            goto done;
        }
        if (s != PTUNE_OK && s != PTUNE_E_ABORTED) {
            rc = fail(s, "generating");
            goto done;
        }
        cur.n_ids += n_out;
        cur.frames++;
        if (f.spent > max_spent) max_spent = f.spent;
        /* PTUNE_OK: EOS or the reply's token limit; ABORTED: the budget ran out mid-reply. */
        const ptune_status gen_status = s;
        const int finished = gen_status == PTUNE_OK || cur.n_ids - cur.n_input >= cur.reply_max;
        printf("frame %2d  %-5s +%d tok  %6.2f ms  ", frame, npcs[cur.npc].name, f.spent, now_ms() - t0);
        print_quoted(f.piece);
        putchar('\n');
        if (!finished) continue;

        const char *rest;
        size_t len;
        if ((s = ptune_token_stream_flush(cur.stream, &rest, &len))) {
            rc = fail(s, "decoding");
            goto done;
        }
        append(cur.text, sizeof cur.text, &cur.text_len, rest, len);
        const int32_t n_reply = cur.n_ids - cur.n_input;
        printf("          %-5s reply %d done: %d tokens over %d frames (%s): ", npcs[cur.npc].name, cur.request, n_reply,
               cur.frames, gen_status == PTUNE_OK && n_reply < cur.reply_max ? "eos" : "limit");
        print_quoted(cur.text);
        putchar('\n');

        if (verify) { /* the same reply in one uninterrupted call */
            int32_t one[MAX_IDS], n_one = 0;
            sp.max_new_tokens = cur.reply_max;
            if ((s = ptune_generate(ctx, npcs[cur.npc].prompt, cur.ids, cur.n_input, &sp, one, MAX_IDS, &n_one, NULL, NULL))) {
                rc = fail(s, "verifying");
                goto done;
            }
            const int same = n_one == n_reply && !memcmp(one, cur.ids + cur.n_input, sizeof(int32_t) * (size_t)n_one);
            printf("          verify reply %d: %s\n", cur.request, same ? "identical to one uninterrupted call" : "MISMATCH");
            mismatches += !same;
        }
        ptune_token_stream_free(cur.stream);
        cur.stream = NULL;
        cur.active = 0;
        answered++;
    }
    printf("npc: %d of %d requests answered in %d frames; at most %d tokens in one frame (budget %d)\n", answered,
           N_REQUESTS, n_frames, max_spent, budget);
    rc = mismatches ? 1 : 0;

done:
    ptune_token_stream_free(cur.stream);
    ptune_ctx_free(ctx);
    for (int i = 0; i < N_NPCS; i++) ptune_prompt_free(npcs[i].prompt);
    ptune_model_free(model);
    return rc;
}
