/* Normalisation kernels, forward and input-gradient backward. Sums accumulate in double. */
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

void pt_layernorm_backward(float *dinp, const float *dout, const float *inp, const float *w, const float *mean,
                           const float *rstd, int n, int C)
{
    /* xhat = (x - m)·r; y = xhat·w + b; g = dy·w:  dx = r·(g - mean(g) - xhat·mean(g·xhat)) */
    for (int r = 0; r < n; r++) {
        const float *x = inp + (size_t)r * C, *dy = dout + (size_t)r * C;
        float *dx = dinp + (size_t)r * C;
        const double m = mean[r], rs = rstd[r];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int i = 0; i < C; i++) {
            double g = (double)dy[i] * w[i];
            sum_g += g;
            sum_gx += g * (x[i] - m) * rs;
        }
        sum_g /= C;
        sum_gx /= C;
        for (int i = 0; i < C; i++) {
            double xhat = (x[i] - m) * rs;
            dx[i] += (float)(rs * ((double)dy[i] * w[i] - sum_g - xhat * sum_gx));
        }
    }
}

void pt_rmsnorm_backward(float *dinp, const float *dout, const float *inp, const float *w, const float *rstd, int n,
                         int C)
{
    /* y = x·r·w, r = (mean(x²) + eps)^(-1/2):  dx = r·g - x·r³·mean(g·x), g = dy·w */
    for (int r = 0; r < n; r++) {
        const float *x = inp + (size_t)r * C, *dy = dout + (size_t)r * C;
        float *dx = dinp + (size_t)r * C;
        const double rs = rstd[r];
        double sum_gx = 0.0;
        for (int i = 0; i < C; i++) sum_gx += (double)dy[i] * w[i] * x[i];
        const double k = rs * rs * rs * sum_gx / C;
        for (int i = 0; i < C; i++) dx[i] += (float)(rs * dy[i] * w[i] - x[i] * k);
    }
}
