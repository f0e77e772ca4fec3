/* Normalisation kernels (forward). Sums are accumulated in double for stability. */
#include "kernels/norm.h"

#include <math.h>
#include <stddef.h>

void pt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *w, const float *b, int n, int C, float eps)
{
    for (int r = 0; r < n; r++) {
        const float *x = inp + (size_t)r * (size_t)C;
        float *y = out + (size_t)r * (size_t)C;
        double s = 0.0;
        for (int i = 0; i < C; i++) s += x[i];
        double m = s / C;
        double v = 0.0;
        for (int i = 0; i < C; i++) {
            double d = x[i] - m;
            v += d * d;
        }
        double rs = 1.0 / sqrt(v / C + (double)eps);
        for (int i = 0; i < C; i++) {
            float norm = (float)((x[i] - m) * rs);
            y[i] = norm * w[i] + (b ? b[i] : 0.0f);
        }
        if (mean) mean[r] = (float)m;
        if (rstd) rstd[r] = (float)rs;
    }
}

void pt_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int n, int C,
                        float eps)
{
    for (int r = 0; r < n; r++) {
        const float *x = inp + (size_t)r * (size_t)C;
        float *y = out + (size_t)r * (size_t)C;
        double ss = 0.0;
        for (int i = 0; i < C; i++) ss += (double)x[i] * x[i];
        double rs = 1.0 / sqrt(ss / C + (double)eps);
        for (int i = 0; i < C; i++) y[i] = (float)(x[i] * rs) * w[i];
        if (rstd) rstd[r] = (float)rs;
    }
}
