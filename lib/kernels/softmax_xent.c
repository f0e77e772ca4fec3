/* Log-sum-exp of logit rows (the log-softmax normaliser used for log-probabilities and the
 * cross-entropy loss). */
#include "kernels/softmax_xent.h"

#include <math.h>

double pt_logsumexp(const float *row, int V)
{
    float mx = -INFINITY;
    for (int j = 0; j < V; j++)
        if (row[j] > mx) mx = row[j];
    double s = 0.0;
    for (int j = 0; j < V; j++) s += exp((double)(row[j] - mx));
    return (double)mx + log(s);
}
