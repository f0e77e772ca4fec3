/* bench_gguf_writer owns the benchmarks' GGUF output: a streaming GGUF v3 writer (ggml's
 * docs/gguf.md: header, metadata, tensor infos, 32-byte-aligned data) and the random GGUF models
 * written with it tensor by tensor, each matrix converted by bench_quant to the file's type mix. */
#include "bench_gguf_writer.h"

#include "bench_models.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_ALIGN 32
#define GGUF_T_UINT32 4
#define GGUF_T_FLOAT32 6
#define GGUF_T_STRING 8
#define OUT_BUF (4u << 20)

/* ---- the file writer ------------------------------------------------------------------------- */

typedef struct gguf_kv {
    char *key;
    uint32_t type;
    uint32_t u;
    float f;
    char *s;
} gguf_kv;

typedef struct gguf_tinfo {
    char *name;
    int n_dims;
    int64_t ne[4];
    uint32_t type;
    uint64_t n_bytes, offset; /* offset from the start of the data section */
} gguf_tinfo;

struct bench_gguf_writer {
    char *path;
    char tmp[4096]; /* the temporary file while it exists */
    int fd;
    gguf_kv *kv;
    size_t n_kv, cap_kv;
    gguf_tinfo *t;
    size_t n_t, cap_t;
    size_t cur;           /* the tensor whose bytes come next */
    uint64_t cur_written; /* of that tensor */
    unsigned char *buf;   /* output buffer */
    size_t buf_n;
    uint64_t pos;         /* bytes put so far (the file offset) */
    bool begun, failed, finished;
};

/* The temporary file being written, removed by a signal or at exit (bench_die) if unfinished. */
static char g_partial[4096];
static const int k_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction g_prev[3];

static void on_signal(int sig)
{
    if (g_partial[0]) unlink(g_partial);
    for (int i = 0; i < 3; i++)
        if (k_signals[i] == sig) sigaction(sig, &g_prev[i], NULL); /* then the previous handler */
    raise(sig);
}

static void remove_partial_at_exit(void)
{
    if (g_partial[0]) unlink(g_partial);
}

static void guard_partial(const char *path)
{
    static bool registered;
    if (!registered) {
        registered = true;
        atexit(remove_partial_at_exit);
    }
    snprintf(g_partial, sizeof g_partial, "%s", path);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) sigaction(k_signals[i], &sa, &g_prev[i]);
}

static void unguard_partial(void)
{
    if (!g_partial[0]) return;
    for (int i = 0; i < 3; i++) sigaction(k_signals[i], &g_prev[i], NULL);
    g_partial[0] = '\0';
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) bench_die("out of memory");
    return d;
}

bench_gguf_writer *bench_gguf_writer_new(const char *path)
{
    bench_gguf_writer *w = bench_xmalloc(sizeof *w, "GGUF writer");
    memset(w, 0, sizeof *w);
    w->path = xstrdup(path);
    w->fd = -1;
    return w;
}

static gguf_kv *new_kv(bench_gguf_writer *w, const char *key, uint32_t type)
{
    if (w->begun) bench_die("internal: GGUF metadata added after the header was written");
    if (w->n_kv == w->cap_kv) {
        w->cap_kv = w->cap_kv ? 2 * w->cap_kv : 16;
        w->kv = realloc(w->kv, w->cap_kv * sizeof *w->kv);
        if (!w->kv) bench_die("out of memory");
    }
    gguf_kv *kv = &w->kv[w->n_kv++];
    memset(kv, 0, sizeof *kv);
    kv->key = xstrdup(key);
    kv->type = type;
    return kv;
}

void bench_gguf_set_str(bench_gguf_writer *w, const char *key, const char *value)
{
    new_kv(w, key, GGUF_T_STRING)->s = xstrdup(value);
}

void bench_gguf_set_u32(bench_gguf_writer *w, const char *key, uint32_t value) { new_kv(w, key, GGUF_T_UINT32)->u = value; }

void bench_gguf_set_f32(bench_gguf_writer *w, const char *key, float value) { new_kv(w, key, GGUF_T_FLOAT32)->f = value; }

void bench_gguf_add_tensor(bench_gguf_writer *w, const char *name, int n_dims, const int64_t *ne, uint32_t ggml_type,
                           uint64_t n_bytes)
{
    if (w->begun) bench_die("internal: GGUF tensor added after the header was written");
    if (n_dims < 1 || n_dims > 4) bench_die("internal: tensor %s has %d dimensions", name, n_dims);
    if (w->n_t == w->cap_t) {
        w->cap_t = w->cap_t ? 2 * w->cap_t : 64;
        w->t = realloc(w->t, w->cap_t * sizeof *w->t);
        if (!w->t) bench_die("out of memory");
    }
    gguf_tinfo *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->n_dims = n_dims;
    for (int i = 0; i < n_dims; i++) t->ne[i] = ne[i];
    t->type = ggml_type;
    t->n_bytes = n_bytes;
    t->offset = w->n_t ? (w->t[w->n_t - 1].offset + w->t[w->n_t - 1].n_bytes + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN
                       : 0;
    w->n_t++;
}

static int fail_io(bench_gguf_writer *w, const char *what)
{
    fprintf(stderr, "%s: %s %s: %s\n", bench_prog, what, w->tmp[0] ? w->tmp : w->path, strerror(errno));
    w->failed = true;
    return -1;
}

static int flush_buf(bench_gguf_writer *w)
{
    size_t off = 0;
    while (off < w->buf_n) {
        ssize_t n = write(w->fd, w->buf + off, w->buf_n - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail_io(w, "writing");
        off += (size_t)n;
    }
    w->buf_n = 0;
    return 0;
}

/* Buffered output; large pieces go straight to the file. */
static int put(bench_gguf_writer *w, const void *data, size_t n)
{
    if (w->failed) return -1;
    w->pos += n;
    if (w->buf_n + n > OUT_BUF) {
        if (flush_buf(w)) return -1;
        if (n >= OUT_BUF) {
            const unsigned char *p = data;
            while (n > 0) {
                ssize_t k = write(w->fd, p, n);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) return fail_io(w, "writing");
                p += k;
                n -= (size_t)k;
            }
            return 0;
        }
    }
    memcpy(w->buf + w->buf_n, data, n);
    w->buf_n += n;
    return 0;
}

static int put_u32(bench_gguf_writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    return put(w, b, 4);
}

static int put_u64(bench_gguf_writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return put(w, b, 8);
}

static int put_str(bench_gguf_writer *w, const char *s)
{
    const size_t n = strlen(s);
    return put_u64(w, n) || put(w, s, n) ? -1 : 0;
}

static int put_zeros(bench_gguf_writer *w, size_t n)
{
    static const unsigned char zeros[GGUF_ALIGN];
    return put(w, zeros, n);
}

int bench_gguf_begin(bench_gguf_writer *w)
{
    if (w->begun) bench_die("internal: bench_gguf_begin called twice");
    w->begun = true;
    w->buf = bench_xmalloc(OUT_BUF, "GGUF output buffer");
    if ((size_t)snprintf(w->tmp, sizeof w->tmp, "%s.tmp-XXXXXX", w->path) >= sizeof w->tmp) {
        fprintf(stderr, "%s: path too long: %s\n", bench_prog, w->path);
        w->tmp[0] = '\0';
        return w->failed = true, -1;
    }
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        int rc = fail_io(w, "cannot create");
        w->tmp[0] = '\0';
        return rc;
    }
    guard_partial(w->tmp);
    (void)fchmod(w->fd, 0644);
    /* header: magic, version 3, tensor count, metadata count */
    if (put(w, "GGUF", 4) || put_u32(w, 3) || put_u64(w, w->n_t) || put_u64(w, w->n_kv)) return -1;
    for (size_t i = 0; i < w->n_kv; i++) {
        const gguf_kv *kv = &w->kv[i];
        if (put_str(w, kv->key) || put_u32(w, kv->type)) return -1;
        int rc = kv->type == GGUF_T_STRING ? put_str(w, kv->s)
                 : kv->type == GGUF_T_UINT32 ? put_u32(w, kv->u)
                                             : put(w, &kv->f, 4); /* little-endian host */
        if (rc) return -1;
    }
    for (size_t i = 0; i < w->n_t; i++) { /* name, n_dims, ne[], type, offset */
        const gguf_tinfo *t = &w->t[i];
        if (put_str(w, t->name) || put_u32(w, (uint32_t)t->n_dims)) return -1;
        for (int d = 0; d < t->n_dims; d++)
            if (put_u64(w, (uint64_t)t->ne[d])) return -1;
        if (put_u32(w, t->type) || put_u64(w, t->offset)) return -1;
    }
    return put_zeros(w, (size_t)((GGUF_ALIGN - w->pos % GGUF_ALIGN) % GGUF_ALIGN)); /* data starts aligned */
}

int bench_gguf_write(bench_gguf_writer *w, const void *data, size_t n)
{
    if (!w->begun || w->failed) return -1;
    const unsigned char *p = data;
    while (n > 0) {
        if (w->cur >= w->n_t) {
            fprintf(stderr, "%s: internal: more tensor bytes than declared for %s\n", bench_prog, w->path);
            return w->failed = true, -1;
        }
        const gguf_tinfo *t = &w->t[w->cur];
        const uint64_t left = t->n_bytes - w->cur_written, k = n < left ? n : left;
        if (put(w, p, (size_t)k)) return -1;
        p += k;
        n -= (size_t)k;
        w->cur_written += k;
        if (w->cur_written == t->n_bytes) { /* pad to the next tensor's offset */
            if (w->cur + 1 < w->n_t && put_zeros(w, (size_t)(w->t[w->cur + 1].offset - t->offset - t->n_bytes)))
                return -1;
            w->cur++;
            w->cur_written = 0;
        }
    }
    return 0;
}

int bench_gguf_finish(bench_gguf_writer *w)
{
    if (!w->begun || w->failed) return -1;
    while (w->cur < w->n_t && w->t[w->cur].n_bytes == 0) w->cur++; /* empty tensors */
    if (w->cur != w->n_t) {
        fprintf(stderr, "%s: internal: tensor %s of %s was not written\n", bench_prog, w->t[w->cur].name, w->path);
        return w->failed = true, -1;
    }
    if (flush_buf(w)) return -1;
    if (fsync(w->fd) != 0) return fail_io(w, "fsync");
    if (close(w->fd) != 0) {
        w->fd = -1;
        return fail_io(w, "closing");
    }
    w->fd = -1;
    if (rename(w->tmp, w->path) != 0) return fail_io(w, "renaming");
    w->tmp[0] = '\0';
    unguard_partial();
    w->finished = true;
    return 0;
}

void bench_gguf_writer_free(bench_gguf_writer *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (w->tmp[0]) {
        unlink(w->tmp);
        unguard_partial();
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].s);
    }
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w->buf);
    free(w->path);
    free(w);
}

/* ---- model shapes ------------------------------------------------------------------------------ */

static bench_gguf_shape k_shapes[4];

/* GPT-2, BLOOM and Llama-0.5B take their dimensions from bench_models.c's HF checkpoints. */
static void init_shapes(void)
{
    static bool done;
    if (done) return;
    done = true;
    const struct {
        bench_model_kind kind;
        const char *arch;
        int n_ctx_hint;
        float eps, theta;
    } from_hf[3] = {
        {BENCH_MODEL_GPT2_124M, "gpt2", 0, 1e-5f, 0.0f},
        {BENCH_MODEL_BLOOM_560M, "bloom", 2048, 1e-5f, 0.0f}, /* bloom-560m's seq_length; ALiBi ignores it */
        {BENCH_MODEL_LLAMA_05B, "llama", 0, 1e-6f, 1e6f},
    };
    for (int i = 0; i < 3; i++) {
        const bench_model_info *mi = bench_model_get(from_hf[i].kind);
        k_shapes[i] = (bench_gguf_shape){mi->key, mi->label, from_hf[i].arch, mi->n_embd, mi->n_layer, mi->n_head,
                                         mi->n_head_kv, mi->n_ff, mi->n_vocab,
                                         mi->n_ctx ? mi->n_ctx : from_hf[i].n_ctx_hint, true, from_hf[i].eps,
                                         from_hf[i].theta};
    }
    /* Llama-2-7B's shape (meta-llama/Llama-2-7b-hf config.json) */
    k_shapes[3] = (bench_gguf_shape){"llama7b", "Llama-7B", "llama", 4096, 32, 32, 32, 11008, 32000, 4096, false,
                                     1e-5f, 10000.0f};
}

const bench_gguf_shape *bench_gguf_shape_by_key(const char *key)
{
    init_shapes();
    for (int i = 0; i < 4; i++)
        if (key && !strcmp(k_shapes[i].key, key)) return &k_shapes[i];
    return NULL;
}

const char *bench_gguf_shape_keys(void) { return "gpt2, bloom, llama or llama7b"; }

static const char *const k_mix_names[BENCH_N_MIXES] = {"F32", "F16", "BF16", "Q8_0", "Q4_K", "Q4_K_M"};
/* general.file_type (llama.h's LLAMA_FTYPE_*): ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32, MOSTLY_Q8_0 7,
 * MOSTLY_Q4_K_S 14 (whose default type is Q4_K: the closest to "every matrix Q4_K"), MOSTLY_Q4_K_M 15 */
static const uint32_t k_mix_ftype[BENCH_N_MIXES] = {0, 1, 32, 7, 14, 15};

const char *bench_gguf_mix_name(bench_gguf_mix m) { return (int)m >= 0 && m < BENCH_N_MIXES ? k_mix_names[m] : NULL; }

int bench_gguf_mix_by_name(const char *name)
{
    for (int i = 0; name && i < BENCH_N_MIXES; i++)
        if (!strcasecmp(k_mix_names[i], name)) return i;
    return -1;
}

const char *bench_gguf_mix_names(void) { return "F32, F16, BF16, Q8_0, Q4_K or Q4_K_M"; }

/* ---- the tensor plan ------------------------------------------------------------------------------ */

typedef enum role { R_TOKEN_EMBD, R_POS_EMBD, R_OUTPUT, R_ATTN_V, R_FFN_DOWN, R_MATRIX, R_NORM, R_BIAS } role;

typedef struct plan_tensor {
    char name[64];
    int64_t ne0, ne1; /* ne1 = 0: a vector */
    role r;
    int layer;
    bench_qtype type;
    uint64_t bytes;
} plan_tensor;

typedef struct plan {
    plan_tensor *t;
    int n, cap;
} plan;

static void add(plan *p, role r, int layer, int64_t ne0, int64_t ne1, const char *fmt)
{
    if (p->n == p->cap) bench_die("internal: GGUF tensor plan full");
    plan_tensor *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, fmt, layer);
    t->r = r;
    t->layer = layer;
    t->ne0 = ne0;
    t->ne1 = ne1;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third in between. */
static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static bench_qtype mix_type(const bench_gguf_shape *s, bench_gguf_mix mix, const plan_tensor *t)
{
    if (t->ne1 == 0) return BENCH_Q_F32; /* norms and biases stay F32 */
    /* llama-quantize keeps position_embd as is; the converter's --outtype f16/bf16 converts it */
    const bool quantized = mix == BENCH_MIX_Q8_0 || mix == BENCH_MIX_Q4_K || mix == BENCH_MIX_Q4_K_M;
    if (t->r == R_POS_EMBD && quantized) return BENCH_Q_F32;
    switch (mix) {
    case BENCH_MIX_F32: return BENCH_Q_F32;
    case BENCH_MIX_F16: return BENCH_Q_F16;
    case BENCH_MIX_BF16: return BENCH_Q_BF16;
    case BENCH_MIX_Q8_0: return BENCH_Q_Q8_0;
    case BENCH_MIX_Q4_K: return BENCH_Q_Q4_K;
    default: break;
    }
    /* Q4_K_M (llama-quant.cpp): the LM head (output, or token_embd when tied) Q6_K; attn_v-like
     * tensors (attn_v, attn_qkv) and ffn_down Q6_K in the use_more_bits layers; the rest Q4_K */
    if (t->r == R_OUTPUT || (t->r == R_TOKEN_EMBD && s->tied)) return BENCH_Q_Q6_K;
    if ((t->r == R_ATTN_V || t->r == R_FFN_DOWN) && use_more_bits(t->layer, s->n_layer)) return BENCH_Q_Q6_K;
    return BENCH_Q_Q4_K;
}

/* llama-quantize's fallback when a row is not a whole number of blocks: Q4_K → Q5_0, Q6_K → Q8_0,
 * then F16 (llama-quantize refuses Q8_0 rows that do not divide; we fall back to F16 too). */
static bench_qtype fallback(bench_qtype t, int64_t ne0)
{
    if (ne0 % bench_qtype_block(t) == 0) return t;
    if (t == BENCH_Q_Q4_K && ne0 % 32 == 0) return BENCH_Q_Q5_0;
    if (t == BENCH_Q_Q6_K && ne0 % 32 == 0) return BENCH_Q_Q8_0;
    return BENCH_Q_F16;
}

static plan build_plan(const bench_gguf_shape *s, bench_gguf_mix mix)
{
    plan p = {0};
    p.cap = 12 * s->n_layer + 8;
    p.t = bench_xmalloc((size_t)p.cap * sizeof *p.t, "tensor plan");
    const int64_t D = s->n_embd, F = s->n_ff, KV = (int64_t)s->n_embd / s->n_head * s->n_head_kv;
    const bool llama = !strcmp(s->arch, "llama"), bloom = !strcmp(s->arch, "bloom");
    /* ne in ggml order: ne0 = the input features (a row), ne1 = the outputs */
    add(&p, R_TOKEN_EMBD, 0, D, s->n_vocab, "token_embd.weight");
    if (!strcmp(s->arch, "gpt2")) add(&p, R_POS_EMBD, 0, D, s->n_ctx, "position_embd.weight");
    if (bloom) {
        add(&p, R_NORM, 0, D, 0, "token_embd_norm.weight");
        add(&p, R_BIAS, 0, D, 0, "token_embd_norm.bias");
    }
    for (int l = 0; l < s->n_layer; l++) {
        if (llama) {
            add(&p, R_NORM, l, D, 0, "blk.%d.attn_norm.weight");
            add(&p, R_MATRIX, l, D, D, "blk.%d.attn_q.weight");
            add(&p, R_MATRIX, l, D, KV, "blk.%d.attn_k.weight");
            add(&p, R_ATTN_V, l, D, KV, "blk.%d.attn_v.weight");
            add(&p, R_MATRIX, l, D, D, "blk.%d.attn_output.weight");
            add(&p, R_NORM, l, D, 0, "blk.%d.ffn_norm.weight");
            add(&p, R_MATRIX, l, D, F, "blk.%d.ffn_gate.weight");
            add(&p, R_MATRIX, l, D, F, "blk.%d.ffn_up.weight");
            add(&p, R_FFN_DOWN, l, F, D, "blk.%d.ffn_down.weight");
        } else { /* gpt2, bloom: fused qkv, LayerNorms and biases */
            add(&p, R_NORM, l, D, 0, "blk.%d.attn_norm.weight");
            add(&p, R_BIAS, l, D, 0, "blk.%d.attn_norm.bias");
            add(&p, R_ATTN_V, l, D, 3 * D, "blk.%d.attn_qkv.weight");
            add(&p, R_BIAS, l, 3 * D, 0, "blk.%d.attn_qkv.bias");
            add(&p, R_MATRIX, l, D, D, "blk.%d.attn_output.weight");
            add(&p, R_BIAS, l, D, 0, "blk.%d.attn_output.bias");
            add(&p, R_NORM, l, D, 0, "blk.%d.ffn_norm.weight");
            add(&p, R_BIAS, l, D, 0, "blk.%d.ffn_norm.bias");
            add(&p, R_MATRIX, l, D, F, "blk.%d.ffn_up.weight");
            add(&p, R_BIAS, l, F, 0, "blk.%d.ffn_up.bias");
            add(&p, R_FFN_DOWN, l, F, D, "blk.%d.ffn_down.weight");
            add(&p, R_BIAS, l, D, 0, "blk.%d.ffn_down.bias");
        }
    }
    add(&p, R_NORM, 0, D, 0, "output_norm.weight");
    if (!llama) add(&p, R_BIAS, 0, D, 0, "output_norm.bias");
    if (!s->tied) add(&p, R_OUTPUT, 0, D, s->n_vocab, "output.weight");
    for (int i = 0; i < p.n; i++) {
        plan_tensor *t = &p.t[i];
        t->type = fallback(mix_type(s, mix, t), t->ne0);
        t->bytes = bench_qtype_row_bytes(t->type, t->ne0) * (uint64_t)(t->ne1 ? t->ne1 : 1);
    }
    return p;
}

static bench_gguf_plan_info plan_info(const plan *p)
{
    bench_gguf_plan_info in;
    memset(&in, 0, sizeof in);
    in.n_tensors = p->n;
    for (int i = 0; i < p->n; i++) {
        in.n_params += (uint64_t)p->t[i].ne0 * (uint64_t)(p->t[i].ne1 ? p->t[i].ne1 : 1);
        in.tensor_bytes += p->t[i].bytes;
        in.n_by_type[p->t[i].type]++;
    }
    return in;
}

bench_gguf_plan_info bench_gguf_model_plan(const bench_gguf_shape *s, bench_gguf_mix mix)
{
    plan p = build_plan(s, mix);
    bench_gguf_plan_info in = plan_info(&p);
    free(p.t);
    return in;
}

/* ---- generating one tensor (fill + convert, chunks of rows over threads) ----------------------- */

#define CHUNK_ELEMS (1 << 20)
#define MAX_GEN_THREADS 64

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct gen_job {
    const plan_tensor *t;
    uint64_t seed;      /* the tensor's */
    unsigned char *dst; /* t->bytes */
    int64_t rows, chunk_rows, n_chunks;
    size_t row_bytes;
    atomic_llong next;
} gen_job;

static void *gen_worker(void *arg)
{
    gen_job *j = arg;
    const plan_tensor *t = j->t;
    float *buf = bench_xmalloc((size_t)(j->chunk_rows * t->ne0) * sizeof(float), "tensor chunk");
    for (;;) {
        const int64_t c = atomic_fetch_add(&j->next, 1);
        if (c >= j->n_chunks) break;
        const int64_t r0 = c * j->chunk_rows, r1 = r0 + j->chunk_rows < j->rows ? r0 + j->chunk_rows : j->rows;
        const size_t n = (size_t)((r1 - r0) * t->ne0);
        if (t->r == R_NORM || t->r == R_BIAS) {
            for (size_t i = 0; i < n; i++) buf[i] = t->r == R_NORM ? 1.0f : 0.0f;
        } else {
            bench_fill_normal(buf, n, 0.02f, mix64(j->seed + (uint64_t)c));
        }
        for (int64_t r = r0; r < r1; r++)
            bench_quantize_row(t->type, buf + (r - r0) * t->ne0, t->ne0, j->dst + (size_t)r * j->row_bytes);
    }
    free(buf);
    return NULL;
}

static void generate_tensor(const plan_tensor *t, uint64_t seed, unsigned char *dst, int n_threads)
{
    gen_job j;
    memset(&j, 0, sizeof j);
    j.t = t;
    j.seed = seed;
    j.dst = dst;
    j.rows = t->ne1 ? t->ne1 : 1;
    j.chunk_rows = CHUNK_ELEMS / t->ne0 > 0 ? CHUNK_ELEMS / t->ne0 : 1;
    j.n_chunks = (j.rows + j.chunk_rows - 1) / j.chunk_rows;
    j.row_bytes = bench_qtype_row_bytes(t->type, t->ne0);
    atomic_init(&j.next, 0);
    if (n_threads > j.n_chunks) n_threads = (int)j.n_chunks;
    if (n_threads > MAX_GEN_THREADS) n_threads = MAX_GEN_THREADS;
    pthread_t tid[MAX_GEN_THREADS];
    bool started[MAX_GEN_THREADS] = {false};
    for (int i = 1; i < n_threads; i++) started[i] = pthread_create(&tid[i], NULL, gen_worker, &j) == 0;
    gen_worker(&j); /* this thread too; chunks a failed thread would have taken are taken here */
    for (int i = 1; i < n_threads; i++)
        if (started[i]) pthread_join(tid[i], NULL);
}

/* ---- the model file ------------------------------------------------------------------------------ */

int bench_gguf_model_write(const char *path, const bench_gguf_shape *s, bench_gguf_mix mix, uint64_t seed,
                           int n_threads, bench_gguf_plan_info *info, double *seconds)
{
    const double t0 = bench_now_s();
    if (n_threads <= 0) n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads <= 0) n_threads = 1;
    plan p = build_plan(s, mix);
    const bench_gguf_plan_info in = plan_info(&p);
    bool quantized = false;
    for (int i = 0; i < p.n; i++) quantized |= p.t[i].type != BENCH_Q_F32 && bench_qtype_block(p.t[i].type) > 1;

    bench_gguf_writer *w = bench_gguf_writer_new(path);
    char key[128], name[160];
#define ARCH_KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, s->arch), key)
    bench_gguf_set_str(w, "general.architecture", s->arch);
    snprintf(name, sizeof name, "%s random %s (bench_gguf_writer)", s->label, k_mix_names[mix]);
    bench_gguf_set_str(w, "general.name", name);
    bench_gguf_set_u32(w, ARCH_KEY("context_length"), (uint32_t)s->n_ctx);
    bench_gguf_set_u32(w, ARCH_KEY("embedding_length"), (uint32_t)s->n_embd);
    bench_gguf_set_u32(w, ARCH_KEY("block_count"), (uint32_t)s->n_layer);
    bench_gguf_set_u32(w, ARCH_KEY("feed_forward_length"), (uint32_t)s->n_ff);
    bench_gguf_set_u32(w, ARCH_KEY("attention.head_count"), (uint32_t)s->n_head);
    bench_gguf_set_u32(w, ARCH_KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv);
    bench_gguf_set_u32(w, ARCH_KEY("vocab_size"), (uint32_t)s->n_vocab);
    if (!strcmp(s->arch, "llama")) {
        bench_gguf_set_f32(w, ARCH_KEY("attention.layer_norm_rms_epsilon"), s->norm_eps);
        bench_gguf_set_f32(w, ARCH_KEY("rope.freq_base"), s->rope_theta);
        bench_gguf_set_u32(w, ARCH_KEY("rope.dimension_count"), (uint32_t)(s->n_embd / s->n_head));
    } else {
        bench_gguf_set_f32(w, ARCH_KEY("attention.layer_norm_epsilon"), s->norm_eps);
    }
#undef ARCH_KEY
    if (quantized) bench_gguf_set_u32(w, "general.quantization_version", 2);
    bench_gguf_set_u32(w, "general.file_type", k_mix_ftype[mix]);
    for (int i = 0; i < p.n; i++) {
        const plan_tensor *t = &p.t[i];
        const int64_t ne[2] = {t->ne0, t->ne1};
        bench_gguf_add_tensor(w, t->name, t->ne1 ? 2 : 1, ne, (uint32_t)t->type, t->bytes);
    }
    int rc = bench_gguf_begin(w);
    uint64_t largest = 0;
    for (int i = 0; i < p.n; i++) largest = p.t[i].bytes > largest ? p.t[i].bytes : largest;
    unsigned char *dst = rc ? NULL : bench_xmalloc((size_t)largest, "tensor bytes"); /* one tensor at a time */
    for (int i = 0; !rc && i < p.n; i++) {
        generate_tensor(&p.t[i], mix64(seed ^ (0x632be59bd9b4e019ull * (uint64_t)(i + 1))), dst, n_threads);
        rc = bench_gguf_write(w, dst, (size_t)p.t[i].bytes);
    }
    if (!rc) rc = bench_gguf_finish(w);
    free(dst);
    bench_gguf_writer_free(w); /* removes the temporary file on failure */
    free(p.t);
    if (rc) return -1;
    if (info) *info = in;
    if (seconds) *seconds = bench_now_s() - t0;
    return 0;
}
