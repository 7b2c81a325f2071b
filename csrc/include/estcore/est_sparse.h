/* est_sparse.h -- sparse kernels: FarmHash fingerprints and row-sparse optimizer updates.
 *
 * Fingerprints (pure, thread-safe, no allocation):
 *   est_fingerprint64(s, len)  FarmHash's Fingerprint64 (farmhashna::Hash64), the hash TF's
 *                              StringToHashBucketFast and sparse_cross use; bucket =
 *                              fingerprint % num_buckets (unsigned).
 *   est_fingerprint_cat64(a, b) TF's FingerprintCat64 (chaining for crossed features).
 *
 * Row-sparse updates (TF1's SparseApply* semantics on the rows named by idx):
 *   var, s1, s2, s3: [rows, dim] row-major, caller-owned, written in place (NULL where the
 *   kind has no such slot).
 *   grad: [n, dim], idx: [n] int64; idx[i] == -1 marks a row to skip, any other value
 *   outside [0, rows) is EST_ERR_INVALID_ARGUMENT (nothing is written then).
 *   Duplicate indices are summed first (TF's _deduplicate_indexed_slices), then each
 *   touched row is updated once; untouched rows (and their slots) are not read or written.
 *   Cost: O(n * dim) (a hash table finds the distinct rows), independent of `rows`;
 *   scratch memory O(n * dim) is malloc'ed per call (EST_ERR_OUT_OF_MEMORY if that fails).
 *   h: the hyperparameters of the kind, read at call time:
 *     EST_SPARSE_SGD       h[0]=lr                              var -= lr g
 *     EST_SPARSE_MOMENTUM  h[0]=lr h[1]=momentum, flag=nesterov  (s1 = accum)
 *     EST_SPARSE_ADAGRAD   h[0]=lr                               (s1 = accum)
 *     EST_SPARSE_ADAM      h[0]=lr h[1]=beta1 h[2]=beta2 h[3]=eps h[4]=beta1_power
 *                          h[5]=beta2_power, flag=nesterov       (s1 = m, s2 = v)
 *                          lazy: only the touched rows' m, v and var change.
 *     EST_SPARSE_FTRL      h[0]=lr h[1]=l1 h[2]=l2 h[3]=lr_power h[4]=l2_shrinkage
 *                          (s1 = accum, s2 = linear; TF's ApplyFtrlV2 per row)
 *     EST_SPARSE_RMSPROP   h[0]=lr h[1]=rho h[2]=momentum h[3]=eps, flag=centered
 *                          (s1 = ms, s2 = mom, s3 = mg when centered; TF's SparseApplyRMSProp)
 * Threads: single-threaded (u * dim is small by construction). Concurrent calls on
 * different variables are fine.
 */
#ifndef ESTCORE_EST_SPARSE_H
#define ESTCORE_EST_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

uint64_t est_fingerprint64(const char *s, size_t len);
uint64_t est_fingerprint_cat64(uint64_t fp1, uint64_t fp2);

typedef enum est_sparse_kind {
    EST_SPARSE_SGD = 0,
    EST_SPARSE_MOMENTUM = 1,
    EST_SPARSE_ADAGRAD = 2,
    EST_SPARSE_ADAM = 3,
    EST_SPARSE_FTRL = 4,
    EST_SPARSE_RMSPROP = 5
} est_sparse_kind;

est_status est_sparse_apply_f32(est_sparse_kind kind, float *var, float *s1, float *s2,
                                float *s3, int64_t rows, int64_t dim, const float *grad,
                                const int64_t *idx, int64_t n, const double *h, int flag);
est_status est_sparse_apply_f64(est_sparse_kind kind, double *var, double *s1, double *s2,
                                double *s3, int64_t rows, int64_t dim, const double *grad,
                                const int64_t *idx, int64_t n, const double *h, int flag);

/* out[b] = sum_l w[b, l] * params[ids[b, l]] (rows of width dim); slots with w == 0 are
 * skipped (their id is not read); an id outside [0, rows) where w != 0 is
 * EST_ERR_INVALID_ARGUMENT (nothing written). The embedding lookup's forward pass. */
est_status est_sparse_combine_f32(const float *params, int64_t rows, int64_t dim,
                                  const int64_t *ids, const float *w, int64_t batch,
                                  int64_t slots, float *out);
est_status est_sparse_combine_f64(const double *params, int64_t rows, int64_t dim,
                                  const int64_t *ids, const double *w, int64_t batch,
                                  int64_t slots, double *out);

#ifdef __cplusplus
}
#endif

#endif /* ESTCORE_EST_SPARSE_H */
