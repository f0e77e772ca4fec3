/* RoPE tables, the forward rotation (rotate_half pairing) and its transpose for gradients. */
#include "kernels/rope.h"

#include <math.h>
#include <stddef.h>

void pt_rope_tables(float *cos_t, float *sin_t, int n_pos, int n_rot, double theta)
{
    int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        double inv_freq = pow(theta, -2.0 * i / n_rot);
        for (int p = 0; p < n_pos; p++) {
            double a = p * inv_freq;
            cos_t[(size_t)p * half + i] = (float)cos(a);
            sin_t[(size_t)p * half + i] = (float)sin(a);
        }
    }
}

void pt_rope_forward(float *x, int n_heads, int head_dim, int n_rot, const float *cos_row,
                     const float *sin_row)
{
    int half = n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * cos_row[i] - b * sin_row[i];
            v[i + half] = b * cos_row[i] + a * sin_row[i];
        }
    }
}

void pt_rope_backward(float *dx, int n_heads, int head_dim, int n_rot, const float *cos_row, const float *sin_row)
{
    int half = n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = dx + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * cos_row[i] + b * sin_row[i];
            v[i + half] = b * cos_row[i] - a * sin_row[i];
        }
    }
}
