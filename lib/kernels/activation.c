/* Activation kernels (forward). */
#include "kernels/activation.h"

#include <math.h>
#include <stddef.h>

#define PT_GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

void pt_gelu_tanh_forward(float *out, const float *inp, long n)
{
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float u = PT_GELU_SCALE * (x + 0.044715f * x * x * x);
        out[i] = 0.5f * x * (1.0f + tanhf(u));
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
            o[i] = x / (1.0f + expf(-x)) * u[i];
        }
    }
}
