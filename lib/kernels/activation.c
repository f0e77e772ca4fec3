/* Activation kernels, forward and backward. Written as straight loops over pt_expf so the
 * compiler vectorises them: 0.5·(1 + tanh(u)) = σ(2u) turns GELU's tanh into one exp. */
#include "kernels/activation.h"
#include "kernels/fastmath.h"

#include <stddef.h>

#define PT_GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

void pt_gelu_tanh_forward(float *out, const float *inp, long n)
{
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float u = PT_GELU_SCALE * (x + 0.044715f * x * x * x);
        out[i] = x * pt_sigmoidf(2.0f * u);
    }
}

void pt_swiglu_forward(float *out, const float *gate_up, int n, int F)
{
    for (int r = 0; r < n; r++) {
        const float *g = gate_up + (size_t)r * 2 * F;
        const float *u = g + F;
        float *o = out + (size_t)r * F;
        for (int i = 0; i < F; i++) {
            float x = g[i];
            o[i] = x * pt_sigmoidf(x) * u[i];
        }
    }
}

void pt_gelu_tanh_backward(float *dinp, const float *inp, const float *dout, long n)
{
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        /* with s = σ(2u): 0.5·(1 + tanh u) = s and 0.5·(1 − tanh² u) = 2·s·(1 − s) */
        float s = pt_sigmoidf(2.0f * PT_GELU_SCALE * (x + 0.044715f * x * x * x));
        float du = PT_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = dout[i] * (s + 2.0f * x * s * (1.0f - s) * du);
    }
}

void pt_swiglu_backward(float *dgate_up, const float *gate_up, const float *dout, int n, int F)
{
    for (int r = 0; r < n; r++) {
        const float *g = gate_up + (size_t)r * 2 * F, *u = g + F, *dy = dout + (size_t)r * F;
        float *dg = dgate_up + (size_t)r * 2 * F, *du = dg + F;
        for (int i = 0; i < F; i++) {
            const float x = g[i], up = u[i]; /* both read first: dgate_up may be gate_up */
            float sig = pt_sigmoidf(x);
            float silu = x * sig;
            du[i] = dy[i] * silu;
            dg[i] = dy[i] * up * sig * (1.0f + x * (1.0f - sig));
        }
    }
}
