/* Kernels against straightforward double-precision references: norms, RoPE, GELU/SwiGLU,
 * ALiBi slopes and causal attention (with GQA-style strides and ALiBi). */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "kernels/fastmath.h"

static void fill(pt_rng *r, float *x, int n)
{
    for (int i = 0; i < n; i++) x[i] = (float)pt_rng_normal(r);
}

static void test_norms(void **state)
{
    (void)state;
    pt_rng r;
    pt_rng_seed(&r, 1);
    enum { N = 3, C = 37 };
    float x[N * C], w[C], b[C], y[N * C], mean[N], rstd[N];
    fill(&r, x, N * C);
    fill(&r, w, C);
    fill(&r, b, C);
    pt_layernorm_forward(y, mean, rstd, x, w, b, N, C, 1e-5f);
    for (int n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int i = 0; i < C; i++) m += x[n * C + i];
        m /= C;
        for (int i = 0; i < C; i++) v += (x[n * C + i] - m) * (x[n * C + i] - m);
        double rs = 1 / sqrt(v / C + 1e-5);
        assert_true(fabs(mean[n] - m) < 1e-6 && fabs(rstd[n] - rs) < 1e-5);
        for (int i = 0; i < C; i++) assert_true(fabs(y[n * C + i] - ((x[n * C + i] - m) * rs * w[i] + b[i])) < 1e-5);
    }
    pt_rmsnorm_forward(y, rstd, x, w, N, C, 1e-6f);
    for (int n = 0; n < N; n++) {
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)x[n * C + i] * x[n * C + i];
        double rs = 1 / sqrt(ss / C + 1e-6);
        for (int i = 0; i < C; i++) assert_true(fabs(y[n * C + i] - x[n * C + i] * rs * w[i]) < 1e-5);
    }
}

static void test_rope_rotate_half(void **state)
{
    (void)state;
    enum { HD = 8, HALF = 4, NPOS = 10 };
    float cs[NPOS * HALF], sn[NPOS * HALF];
    pt_rope_tables(cs, sn, NPOS, HD, 10000.0);
    float x[2 * HD], orig[2 * HD];
    pt_rng r;
    pt_rng_seed(&r, 2);
    fill(&r, x, 2 * HD);
    for (int i = 0; i < 2 * HD; i++) orig[i] = x[i];
    const int pos = 7;
    pt_rope_forward(x, 2, HD, HD, cs + pos * HALF, sn + pos * HALF);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < HALF; i++) {
            double a = pos * pow(10000.0, -2.0 * i / HD);
            double x0 = orig[h * HD + i], x1 = orig[h * HD + i + HALF];
            assert_true(fabs(x[h * HD + i] - (x0 * cos(a) - x1 * sin(a))) < 1e-5);
            assert_true(fabs(x[h * HD + i + HALF] - (x1 * cos(a) + x0 * sin(a))) < 1e-5);
        }
    /* position 0 is the identity */
    for (int i = 0; i < 2 * HD; i++) x[i] = orig[i];
    pt_rope_forward(x, 2, HD, HD, cs, sn);
    for (int i = 0; i < 2 * HD; i++) assert_true(x[i] == orig[i]);
}

static void test_activations(void **state)
{
    (void)state;
    float x[5] = {-3.0f, -0.5f, 0.0f, 0.7f, 4.0f}, y[5];
    pt_gelu_tanh_forward(y, x, 5);
    for (int i = 0; i < 5; i++) {
        double v = x[i];
        double want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        assert_true(fabs(y[i] - want) < 1e-6);
    }
    float gu[2 * 3] = {1.0f, -2.0f, 0.5f, 3.0f, 4.0f, -1.0f}, out[3];
    pt_swiglu_forward(out, gu, 1, 3);
    for (int i = 0; i < 3; i++) {
        double g = gu[i];
        assert_true(fabs(out[i] - g / (1 + exp(-g)) * gu[3 + i]) < 1e-6);
    }
    /* the vectorisable exp: relative error within 2e-7 over the float range, 0 below −87.3 */
    for (float x = -87.0f; x < 88.0f; x += 0.173f) {
        double want = exp((double)x);
        assert_true(fabs(pt_expf(x) - want) <= 2e-7 * want);
    }
    assert_true(pt_expf(-INFINITY) == 0.0f && pt_expf(-100.0f) == 0.0f && pt_expf(0.0f) == 1.0f);
    assert_true(isfinite(pt_expf(1000.0f)) && pt_expf(1000.0f) > 1e38f);
    /* found by fuzz_gguf: NaN reached the float-to-int conversion (undefined behaviour) */
    assert_true(isnan(pt_expf(NAN)) && isnan(pt_expf(-NAN)));
}

static void test_alibi_slopes(void **state)
{
    (void)state;
    float s[8];
    pt_alibi_slopes(s, 6); /* HF/ggml: [1/4, 1/16, 1/64, 1/256, 1/2, 1/8] */
    const float want6[6] = {0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f};
    for (int i = 0; i < 6; i++) assert_true(fabs(s[i] - want6[i]) < 1e-7);
    pt_alibi_slopes(s, 8); /* powers of two: 2^(-8(h+1)/n) */
    for (int i = 0; i < 8; i++) assert_true(fabs(s[i] - pow(2.0, -(i + 1.0))) < 1e-7);
}

static void test_attention_matches_reference(void **state)
{
    (void)state;
    enum { T = 9, HD = 6, LD = 20 };
    pt_rng r;
    pt_rng_seed(&r, 3);
    float qkv[T * LD], out[T * 8], probs[T * T];
    fill(&r, qkv, T * LD);
    const float *q = qkv, *k = qkv + 6, *v = qkv + 12;
    for (int use_alibi = 0; use_alibi < 2; use_alibi++) {
        float slope = use_alibi ? 0.125f : 0.0f, scale = 1.0f / sqrtf(HD);
        pt_attn a = {.q = q, .k = k, .v = v, .ld_qkv = LD, .T = T, .head_dim = HD, .scale = scale, .alibi_slope = slope};
        pt_attention_forward(&a, out, 8, probs);
        for (int i = 0; i < T; i++) {
            double sc[T], mx = -1e300, sum = 0;
            for (int j = 0; j <= i; j++) {
                double d = 0;
                for (int c = 0; c < HD; c++) d += (double)q[i * LD + c] * k[j * LD + c];
                sc[j] = d * scale + slope * j; /* HF's form: slope · key position */
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int j = 0; j <= i; j++) sum += exp(sc[j] - mx);
            for (int c = 0; c < HD; c++) {
                double o = 0;
                for (int j = 0; j <= i; j++) o += exp(sc[j] - mx) / sum * v[j * LD + c];
                assert_true(fabs(out[i * 8 + c] - o) < 1e-5);
            }
            for (int j = i + 1; j < T; j++) assert_true(probs[i * T + j] == 0.0f);
        }
    }
}

/* A sequence behind a shared prefix must see exactly what it sees as the tail of the
 * concatenated sequence: same outputs, and the same gradients for q, k, v of both parts. */
static void test_attention_prefix_equals_concatenation(void **state)
{
    (void)state;
    enum { P = 5, T = 7, N = P + T, HD = 4, LD = 12 };
    pt_rng r;
    pt_rng_seed(&r, 11);
    float qkv[N * LD], dout[N * HD];
    fill(&r, qkv, N * LD);
    fill(&r, dout, N * HD);
    for (int use_alibi = 0; use_alibi < 2; use_alibi++) {
        const float slope = use_alibi ? 0.25f : 0.0f, scale = 0.5f;
        /* the whole sequence at once */
        float out_all[N * HD], g_all[N * LD] = {0}, probs[N * N], dprobs[N * N];
        pt_attn all = {.q = qkv, .k = qkv + 4, .v = qkv + 8, .ld_qkv = LD, .T = N, .head_dim = HD, .scale = scale,
                       .alibi_slope = slope};
        pt_attention_forward(&all, out_all, HD, probs);
        pt_attention_backward(&all, dout, HD, g_all, g_all + 4, g_all + 8, LD, NULL, NULL, 0, probs, dprobs);
        /* the prefix alone, then the tail behind it */
        float out_split[N * HD], g_split[N * LD] = {0};
        pt_attn pre = {.q = qkv, .k = qkv + 4, .v = qkv + 8, .ld_qkv = LD, .T = P, .head_dim = HD, .scale = scale,
                       .alibi_slope = slope};
        pt_attn tail = {.q = qkv + P * LD, .k = qkv + P * LD + 4, .v = qkv + P * LD + 8, .ld_qkv = LD, .T = T,
                        .kp = qkv + 4, .vp = qkv + 8, .ld_p = LD, .P = P, .head_dim = HD, .scale = scale,
                        .alibi_slope = slope};
        pt_attention_forward(&pre, out_split, HD, probs);
        pt_attention_forward(&tail, out_split + P * HD, HD, probs);
        pt_attention_backward(&tail, dout + P * HD, HD, g_split + P * LD, g_split + P * LD + 4, g_split + P * LD + 8, LD,
                              g_split + 4, g_split + 8, LD, probs, dprobs);
        pt_attention_backward(&pre, dout, HD, g_split, g_split + 4, g_split + 8, LD, NULL, NULL, 0, probs, dprobs);
        for (int i = 0; i < N * HD; i++) assert_true(fabsf(out_all[i] - out_split[i]) < 1e-5f);
        for (int i = 0; i < N * LD; i++) assert_true(fabsf(g_all[i] - g_split[i]) < 1e-5f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_rope_rotate_half),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_alibi_slopes),
        cmocka_unit_test(test_attention_matches_reference),
        cmocka_unit_test(test_attention_prefix_equals_concatenation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
