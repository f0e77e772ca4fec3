/* bench_quant owns the benchmarks' quantizers: fp32 rows → F16 / BF16 (round to nearest even)
 * and ggml's Q8_0, Q5_0, Q4_K and Q6_K blocks, byte for byte in the layouts of QUANT.md (what
 * lib/formats/ggml_blocks.c decodes). The fits are our own: a per-block scale (and min) fitted
 * by least squares over a few candidate ranges, then the K-quants' sub-block scales quantized
 * against the fp16 super-block scale with the quants re-fitted to the stored scales. */
#include "bench_quant.h"

#include "core/half.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the type table ------------------------------------------------------------------------- */

typedef struct qtype_info {
    bench_qtype type;
    const char *name;
    int block, bytes;
} qtype_info;

static const qtype_info k_types[] = {
    {BENCH_Q_F32, "F32", 1, 4},    {BENCH_Q_F16, "F16", 1, 2},      {BENCH_Q_BF16, "BF16", 1, 2},
    {BENCH_Q_Q8_0, "Q8_0", 32, 34}, {BENCH_Q_Q5_0, "Q5_0", 32, 22},  {BENCH_Q_Q4_K, "Q4_K", 256, 144},
    {BENCH_Q_Q6_K, "Q6_K", 256, 210},
};

static const qtype_info *info_of(bench_qtype t)
{
    for (size_t i = 0; i < sizeof k_types / sizeof k_types[0]; i++)
        if (k_types[i].type == t) return &k_types[i];
    return NULL;
}

const char *bench_qtype_name(bench_qtype t)
{
    const qtype_info *q = info_of(t);
    return q ? q->name : NULL;
}

int bench_qtype_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof k_types / sizeof k_types[0]; i++)
        if (!strcasecmp(k_types[i].name, name)) return (int)k_types[i].type;
    return -1;
}

int bench_qtype_block(bench_qtype t)
{
    const qtype_info *q = info_of(t);
    return q ? q->block : 0;
}

int bench_qtype_block_bytes(bench_qtype t)
{
    const qtype_info *q = info_of(t);
    return q ? q->bytes : 0;
}

size_t bench_qtype_row_bytes(bench_qtype t, int64_t n_cols)
{
    const qtype_info *q = info_of(t);
    if (!q || n_cols <= 0 || n_cols % q->block) return 0;
    return (size_t)(n_cols / q->block) * (size_t)q->bytes;
}

/* ---- small helpers ------------------------------------------------------------------------- */

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

/* Stores x as fp16 at p (GGUF is little-endian) and returns the value the decoder will read.
 * Scales are clamped to fp16's range so that a huge block never stores an infinity. */
static float put_f16(unsigned char *p, float x)
{
    if (x > 65504.0f) x = 65504.0f;
    if (x < -65504.0f) x = -65504.0f;
    const uint16_t h = pt_f32_to_f16(x);
    put_u16(p, h);
    return pt_f16_to_f32(h);
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
/* Nearest integer, ties to even (the default rounding mode); |x| is small here. */
static inline int nearest(float x) { return (int)lrintf(x); }

/* ---- Q8_0: d = max|x| / 127, q = round(x / d) ------------------------------------------------ */

static void q8_0_block(const float *x, unsigned char *b)
{
    float amax = 0.0f;
    for (int e = 0; e < 32; e++) amax = fmaxf(amax, fabsf(x[e]));
    const float d = put_f16(b, amax / 127.0f); /* quants against the stored (rounded) scale */
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int e = 0; e < 32; e++) b[2 + e] = (unsigned char)(int8_t)clampi(nearest(x[e] * id), -128, 127);
}

/* ---- Q5_0: the element of largest magnitude m sits at q = 0 (d = m / −16) ------------------- */

static void q5_0_block(const float *x, unsigned char *b)
{
    float m = 0.0f;
    for (int e = 0; e < 32; e++)
        if (fabsf(x[e]) > fabsf(m)) m = x[e];
    const float d = put_f16(b, m / -16.0f);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint32_t qh = 0;
    unsigned char *qs = b + 6;
    memset(qs, 0, 16);
    for (int e = 0; e < 32; e++) {
        const int q = clampi(nearest(x[e] * id) + 16, 0, 31);
        qs[e % 16] |= (unsigned char)((q & 0xF) << (e < 16 ? 0 : 4)); /* element j and j+16 share byte j */
        qh |= (uint32_t)(q >> 4) << e;
    }
    for (int i = 0; i < 4; i++) b[2 + i] = (unsigned char)(qh >> (8 * i));
}

/* ---- Q4_K: x ≈ (d·sc_j)·q − dmin·m_j, q in 0..15, 6-bit sc_j and m_j per sub-block of 32 ------ */

/* Squared error of x[0..n) on the grid s·q − mn, q in 0..qmax; *top_ok tells whether the element
 * of largest magnitude, x[imax], lands within one step s of its value. */
static float asym_error(const float *x, int n, int qmax, float s, float mn, int imax, bool *top_ok)
{
    float err = 0.0f;
    const float is = s > 0.0f ? 1.0f / s : 0.0f;
    for (int i = 0; i < n; i++) {
        const float q = (float)clampi(nearest((x[i] + mn) * is), 0, qmax);
        const float r = s * q - mn - x[i];
        err += r * r;
        if (i == imax) *top_ok = fabsf(r) <= s;
    }
    return err;
}

/* Fits x[0..n) ≈ s·q − mn with q in 0..qmax, s ≥ 0, mn ≥ 0 (ggml's K-quants add a non-positive
 * offset). Candidate ranges: the full [min(0, lo), hi], then ranges clipped by half a step and by
 * a step at each end (a third candidate gains < 0.1 % of error for 15 % more time); each is followed by two least-squares refits of (s, mn) to its quants. The best squared
 * error among the candidates that keep the largest-magnitude element within a step (clipping
 * it further would trade a visible outlier for a lower RMS), else the best overall. */
static void fit_scale_min(const float *x, int n, int qmax, float *s_out, float *mn_out)
{
    float lo = x[0], hi = x[0];
    int imax = 0;
    for (int i = 1; i < n; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
        if (fabsf(x[i]) > fabsf(x[imax])) imax = i;
    }
    if (lo > 0.0f) lo = 0.0f;
    *s_out = 0.0f;
    *mn_out = -lo;
    if (!(hi > lo)) return; /* constant block (≤ 0): represented exactly by the offset */
    float best = FLT_MAX;
    bool best_ok = false;
    for (int t = 0; t < 3; t++) {
        float s = (hi - lo) / (float)(qmax + t);
        float mn = fmaxf(0.0f, -lo - 0.5f * (float)t * s);
        for (int it = 0; it < 2; it++) {
            float sq = 0, sq2 = 0, sx = 0, sqx = 0;
            const float is = 1.0f / s;
            for (int i = 0; i < n; i++) {
                const float q = (float)clampi(nearest((x[i] + mn) * is), 0, qmax);
                sq += q;
                sq2 += q * q;
                sx += x[i];
                sqx += q * x[i];
            }
            const float den = (float)n * sq2 - sq * sq;
            if (!(den > 0.0f)) break;
            float s2 = ((float)n * sqx - sq * sx) / den, mn2 = (s2 * sq - sx) / (float)n;
            if (mn2 < 0.0f) { /* the offset must not be positive: fit the scale alone */
                mn2 = 0.0f;
                s2 = sq2 > 0.0f ? sqx / sq2 : 0.0f;
            }
            if (!(s2 > 0.0f)) break;
            s = s2;
            mn = mn2;
        }
        bool ok = false;
        const float err = asym_error(x, n, qmax, s, mn, imax, &ok);
        if ((ok && !best_ok) || (ok == best_ok && err < best)) {
            best = err;
            best_ok = ok;
            *s_out = s;
            *mn_out = mn;
        }
    }
}

static void q4_k_block(const float *x, unsigned char *b)
{
    float s[8], mn[8], smax = 0.0f, mmax = 0.0f;
    for (int j = 0; j < 8; j++) {
        fit_scale_min(x + 32 * j, 32, 15, &s[j], &mn[j]);
        smax = fmaxf(smax, s[j]);
        mmax = fmaxf(mmax, mn[j]);
    }
    const float d = put_f16(b, smax / 63.0f), dmin = put_f16(b + 2, mmax / 63.0f);
    /* 6-bit scale and min per sub-block: floor or ceil of each, whichever pair fits best (keeping
     * the largest element within a step when a pair can) */
    int sc[8], mq[8];
    for (int j = 0; j < 8; j++) {
        const float *xj = x + 32 * j;
        int imax = 0;
        for (int l = 1; l < 32; l++)
            if (fabsf(xj[l]) > fabsf(xj[imax])) imax = l;
        const int s0 = d > 0.0f ? clampi((int)floorf(s[j] / d), 0, 63) : 0;
        const int m0 = dmin > 0.0f ? clampi((int)floorf(mn[j] / dmin), 0, 63) : 0;
        float best = FLT_MAX;
        bool best_ok = false;
        sc[j] = s0;
        mq[j] = m0;
        for (int a = s0; a <= s0 + 1 && a <= 63; a++)
            for (int c = m0; c <= m0 + 1 && c <= 63; c++) {
                bool ok = false;
                const float err = asym_error(xj, 32, 15, d * (float)a, dmin * (float)c, imax, &ok);
                if ((ok && !best_ok) || (ok == best_ok && err < best)) {
                    best = err;
                    best_ok = ok;
                    sc[j] = a;
                    mq[j] = c;
                }
            }
    }
    /* the 12 scale bytes (inverse of get_scale_min_k4): sub-blocks 0..3 in the low 6 bits of bytes
     * 0..3 (scale) and 4..7 (min); sub-blocks 4..7 as nibbles of bytes 8..11 plus their top two
     * bits in the high bits of bytes 0..3 (scale) and 4..7 (min) */
    unsigned char *sb = b + 4;
    for (int j = 0; j < 4; j++) {
        sb[j] = (unsigned char)(sc[j] | (sc[j + 4] >> 4) << 6);
        sb[j + 4] = (unsigned char)(mq[j] | (mq[j + 4] >> 4) << 6);
        sb[j + 8] = (unsigned char)((sc[j + 4] & 0xF) | (mq[j + 4] & 0xF) << 4);
    }
    /* quants against the stored scales; sub-blocks 2c and 2c+1 share 32 bytes (low, high nibble) */
    unsigned char *qs = b + 16;
    memset(qs, 0, 128);
    for (int j = 0; j < 8; j++) {
        const float ds = d * (float)sc[j], dm = dmin * (float)mq[j], is = ds > 0.0f ? 1.0f / ds : 0.0f;
        for (int l = 0; l < 32; l++) {
            const int q = clampi(nearest((x[32 * j + l] + dm) * is), 0, 15);
            qs[32 * (j / 2) + l] |= (unsigned char)(q << (4 * (j % 2)));
        }
    }
}

/* ---- Q6_K: x ≈ (d·sc_j)·q, q in −32..31, int8 sc_j per sub-block of 16 ------------------------ */

/* Fits x[0..n) ≈ s·q, q in −32..31: the element of largest magnitude m mapped to −32·(1 + k/64)
 * for a few k (k > 0 clips it, k < 0 leaves room on the other side), the scale refitted by least
 * squares to each candidate's quants; the best. */
static float fit_scale_sym(const float *x, int n)
{
    float m = 0.0f, sxx = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > fabsf(m)) m = x[i];
        sxx += x[i] * x[i];
    }
    if (m == 0.0f) return 0.0f;
    float best = FLT_MAX, best_s = -m / 32.0f;
    for (int k = -2; k <= 6; k++) {
        const float is = -(32.0f + 0.5f * (float)k) / m;
        float sqx = 0.0f, sq2 = 0.0f;
        for (int i = 0; i < n; i++) {
            const float q = (float)clampi(nearest(x[i] * is), -32, 31);
            sqx += q * x[i];
            sq2 += q * q;
        }
        if (!(sq2 > 0.0f)) continue;
        const float err = sxx - sqx * sqx / sq2; /* at the least-squares scale sqx / sq2 */
        if (err < best) {
            best = err;
            best_s = sqx / sq2;
        }
    }
    return best_s;
}

static void q6_k_block(const float *x, unsigned char *b)
{
    float s[16], amax = 0.0f;
    for (int j = 0; j < 16; j++) {
        s[j] = fit_scale_sym(x + 16 * j, 16);
        amax = fmaxf(amax, fabsf(s[j]));
    }
    const float d = put_f16(b + 208, amax / 127.0f);
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    unsigned char *ql = b, *qh = b + 128;
    int8_t *scales = (int8_t *)(b + 192);
    memset(b, 0, 192);
    /* the int8 scale of each sub-block: floor or ceil of s_j / d, whichever fits its 16 values best */
    for (int j = 0; j < 16; j++) {
        const int lo = clampi((int)floorf(s[j] * id), -128, 127);
        float best = FLT_MAX;
        scales[j] = (int8_t)lo;
        for (int c = lo; c <= lo + 1 && c <= 127; c++) {
            const float ds = d * (float)c, is = ds != 0.0f ? 1.0f / ds : 0.0f;
            float err = 0.0f;
            for (int l = 0; l < 16; l++) {
                const float r = ds * (float)clampi(nearest(x[16 * j + l] * is), -32, 31) - x[16 * j + l];
                err += r * r;
            }
            if (err < best) {
                best = err;
                scales[j] = (int8_t)c;
            }
        }
    }
    for (int e = 0; e < 256; e++) {
        const float ds = d * (float)scales[e / 16];
        const int q = (ds != 0.0f ? clampi(nearest(x[e] / ds), -32, 31) : 0) + 32;
        /* element e: half n = e/128, group g = (e%128)/32, lane l = e%32; the low nibble goes to
         * ql[64n + l + 32(g&1)] (high nibble when g ≥ 2), the top two bits to qh[32n + l] at 2g */
        const int n = e / 128, g = (e % 128) / 32, l = e % 32;
        ql[64 * n + l + 32 * (g & 1)] |= (unsigned char)((q & 0xF) << (4 * (g >> 1)));
        qh[32 * n + l] |= (unsigned char)((q >> 4) << (2 * g));
    }
}

/* ---- rows --------------------------------------------------------------------------------------- */

void bench_quantize_row(bench_qtype t, const float *x, int64_t n, unsigned char *dst)
{
    switch (t) {
    case BENCH_Q_F32: memcpy(dst, x, (size_t)n * sizeof(float)); break;
    case BENCH_Q_F16:
        for (int64_t i = 0; i < n; i++) put_u16(dst + 2 * i, pt_f32_to_f16(x[i]));
        break;
    case BENCH_Q_BF16:
        for (int64_t i = 0; i < n; i++) put_u16(dst + 2 * i, pt_f32_to_bf16(x[i]));
        break;
    default: {
        void (*block_fn)(const float *, unsigned char *) = t == BENCH_Q_Q8_0   ? q8_0_block
                                                           : t == BENCH_Q_Q5_0 ? q5_0_block
                                                           : t == BENCH_Q_Q4_K ? q4_k_block
                                                                               : q6_k_block;
        const qtype_info *q = info_of(t);
        for (int64_t i = 0; i < n / q->block; i++) block_fn(x + (size_t)q->block * (size_t)i, dst + (size_t)q->bytes * (size_t)i);
        break;
    }
    }
}

typedef struct quant_job {
    bench_qtype t;
    const float *src;
    int64_t row0, row1, n_cols;
    unsigned char *dst;
    size_t row_bytes;
} quant_job;

static void *quant_rows(void *arg)
{
    const quant_job *j = arg;
    for (int64_t r = j->row0; r < j->row1; r++)
        bench_quantize_row(j->t, j->src + r * j->n_cols, j->n_cols, j->dst + (size_t)r * j->row_bytes);
    return NULL;
}

#define MAX_QUANT_THREADS 256

int bench_quantize(bench_qtype t, const float *src, int64_t n_rows, int64_t n_cols, void *dst, int n_threads)
{
    const size_t row_bytes = bench_qtype_row_bytes(t, n_cols);
    if (!row_bytes || n_rows < 0 || !src || !dst) return -1;
    if (n_threads > MAX_QUANT_THREADS) n_threads = MAX_QUANT_THREADS;
    if (n_threads > n_rows) n_threads = (int)n_rows;
    if (n_rows * n_cols < (1 << 16)) n_threads = 1; /* not worth a thread */
    if (n_threads < 1) n_threads = 1;
    pthread_t tid[MAX_QUANT_THREADS];
    quant_job jobs[MAX_QUANT_THREADS];
    bool started[MAX_QUANT_THREADS] = {false};
    for (int i = 0; i < n_threads; i++)
        jobs[i] = (quant_job){t, src, n_rows * i / n_threads, n_rows * (i + 1) / n_threads, n_cols, dst, row_bytes};
    for (int i = 1; i < n_threads; i++) started[i] = pthread_create(&tid[i], NULL, quant_rows, &jobs[i]) == 0;
    quant_rows(&jobs[0]);
    for (int i = 1; i < n_threads; i++) {
        if (started[i]) pthread_join(tid[i], NULL);
        else quant_rows(&jobs[i]); /* no thread: do it here */
    }
    return 0;
}
