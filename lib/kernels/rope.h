/* Rotary position embedding in the rotate_half layout (dimension i pairs with i + n_rot/2),
 * the one internal layout every RoPE model is converted to at load. */
#ifndef PT_KERNELS_ROPE_H
#define PT_KERNELS_ROPE_H

/* cos/sin tables [n_pos, n_rot/2]: angle(p, i) = p * theta^(-2i/n_rot), computed in double. */
void pt_rope_tables(float *cos_t, float *sin_t, int n_pos, int n_rot, double theta);

/* Rotates the first n_rot dims of each of n_heads heads (stride head_dim) in x at position
 * `pos`: x'[i] = x[i]·c - x[i+h]·s, x'[i+h] = x[i+h]·c + x[i]·s, h = n_rot/2. */
void pt_rope_forward(float *x, int n_heads, int head_dim, int n_rot, const float *cos_row,
                     const float *sin_row);

/* The transpose of pt_rope_forward (rotation by the opposite angle), for gradients. */
void pt_rope_backward(float *dx, int n_heads, int head_dim, int n_rot, const float *cos_row, const float *sin_row);

#endif
