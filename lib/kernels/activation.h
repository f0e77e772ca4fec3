/* Feed-forward activations, forward and backward: GELU (tanh approximation) and SwiGLU
 * (silu(gate) * up). */
#ifndef PT_KERNELS_ACTIVATION_H
#define PT_KERNELS_ACTIVATION_H

/* out[n] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); out may alias inp. */
void pt_gelu_tanh_forward(float *out, const float *inp, long n);

/* For each of n rows of gate_up[2F] (gate = first F, up = last F):
 * out[r, F] = silu(gate) * up. */
void pt_swiglu_forward(float *out, const float *gate_up, int n, int F);

/* dinp[n] = dout · gelu'(inp) (overwrites; dinp may be inp). */
void pt_gelu_tanh_backward(float *dinp, const float *inp, const float *dout, long n);

/* For n rows: d(gate_up)[2F] from dout[F] = d(silu(gate)·up) (overwrites; dgate_up may be
 * gate_up). */
void pt_swiglu_backward(float *dgate_up, const float *gate_up, const float *dout, int n, int F);

#endif
