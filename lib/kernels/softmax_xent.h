/* Row-wise log-softmax statistics for the fused LM-head / cross-entropy pass. */
#ifndef PT_KERNELS_SOFTMAX_XENT_H
#define PT_KERNELS_SOFTMAX_XENT_H

/* log(sum_j exp(row[j])) over V entries, computed stably in double. */
double pt_logsumexp(const float *row, int V);

#endif
