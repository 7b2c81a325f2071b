/* est_xent.h -- fused softmax cross-entropy, forward and backward in one pass.
 *
 * Per row i of logits [m,c]: lse_i = max_i + log(sum_j exp(logits_ij - max_i))
 * (max-subtracted, so any finite logits are safe).
 *   sparse: loss_i = lse_i - logits_i,label_i
 *           dlogits_ij = scale * (softmax_ij - [j == label_i])
 *   dense:  loss_i = sum_j labels_ij * (lse_i - logits_ij)
 *           dlogits_ij = scale * (softmax_ij - labels_ij)     (TF's backprop; exact
 *           when each row of labels sums to 1)
 * `scale` is read by pointer (NULL = 1) so a mean-reduction or loss-scale factor that
 * changes per step can be folded in. loss or dlogits may be NULL to skip it.
 * Buffers: caller-owned, C-contiguous; loss [m], dlogits [m,c]; dlogits must not
 * overlap logits. Threads: rows split over the default pool when m*c is large.
 * Errors: EST_ERR_INVALID_ARGUMENT for bad sizes/NULLs, and (sparse) for a label
 * outside [0, c): nothing is written, and *bad_row (if not NULL) receives the first
 * offending row so the caller can report it. Cost: one exp per logit.
 */
#ifndef ESTCORE_EST_XENT_H
#define ESTCORE_EST_XENT_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* labels: int32 [m] (labels_int64 == 0) or int64 [m] (labels_int64 != 0). */
est_status est_sparse_softmax_xent_f32(const float *logits, const void *labels, int labels_int64,
                                       int64_t m, int64_t c, const float *scale, float *loss,
                                       float *dlogits, int64_t *bad_row);
est_status est_sparse_softmax_xent_f64(const double *logits, const void *labels, int labels_int64,
                                       int64_t m, int64_t c, const double *scale, double *loss,
                                       double *dlogits, int64_t *bad_row);

/* labels: same dtype as logits, [m,c]. */
est_status est_softmax_xent_f32(const float *logits, const float *labels, int64_t m, int64_t c,
                                const float *scale, float *loss, float *dlogits);
est_status est_softmax_xent_f64(const double *logits, const double *labels, int64_t m, int64_t c,
                                const double *scale, double *loss, double *dlogits);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_XENT_H */
