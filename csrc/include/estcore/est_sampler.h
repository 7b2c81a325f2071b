/* est_sampler.h -- stateless index sampling for the input pipeline.
 *
 * The sampler is the first half of the input pipeline (the second half, the
 * threaded batch stream, is est_stream.h). It is a pure function
 *
 *     (seed, epoch, i) -> row        for 0 <= i < num_rows
 *
 * shuffle = 0: identity (row = i).
 * shuffle = 1: for each (seed, epoch) a pseudo-random permutation of
 *   [0, num_rows). It is a keyed Feistel network on the smallest bit domain
 *   2^b >= num_rows (b >= 8; unbalanced halves when b is odd; 24 rounds for
 *   b <= 12 and 8 above -- small networks need more rounds to look uniform;
 *   the round function is a keyed multiply-shift, the high 32 bits of
 *   (half ^ key) * (rotated key | 1)), restricted to
 *   [0, num_rows) by cycle walking. Round keys come from splitmix64 of (seed,
 *   epoch), so every epoch has its own order. A keyed transposition of rows 0
 *   and 1 is composed in front so that odd permutations are reachable too
 *   (a Feistel network alone only produces even permutations of its domain).
 *   The order is a bijection by construction (every row exactly once per
 *   epoch) and statistically uniform (chi-square tests in tests/inputs).
 *
 * Memory: O(1); nothing is allocated. Cost: shuffle=0 is a copy; shuffle=1 is
 * `rounds` rounds of ~5 integer ops per Feistel evaluation and on average
 * fewer than 2 evaluations per row (2^b / num_rows for num_rows < 256).
 * est_sampler_fill evaluates 8 rows side by side (scalar lanes, ~12-16 ns per
 * row for large num_rows), or 32 at a time in AVX-512 lanes where the CPU has
 * AVX-512F+DQ (checked at run time; ~5 ns per row, bit-identical results);
 * est_sampler_row ~20-40 ns. All functions are pure: any thread may call
 * them at any time on a shared, initialised est_sampler.
 *
 * The global example stream is epoch 0 ++ epoch 1 ++ ...: global position g
 * is (epoch g / num_rows, index g % num_rows). Batch k of a stream covers the
 * global positions [k * batch_size, (k + 1) * batch_size) clipped to the
 * stream's total (num_rows * num_epochs when finite), so batches cross epoch
 * boundaries and only the last batch of a finite stream is short.
 *
 * Sharding (for data-parallel training; not exposed in Python yet): a global
 * batch of c rows is split into num_shards contiguous pieces; shard s gets the
 * positions [c*s/num_shards, c*(s+1)/num_shards) of it (floor division), so
 * the shards of one global batch partition it exactly and differ in size by at
 * most one row. est_batch_span() computes that piece.
 */
#ifndef ESTCORE_EST_SAMPLER_H
#define ESTCORE_EST_SAMPLER_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EST_SAMPLER_MAX_ROUNDS 24  /* Feistel rounds are even, so the halves end where they began */

typedef struct est_sampler {
    uint64_t num_rows;    /* N >= 1 */
    uint64_t seed;
    int shuffle;          /* 0 or 1 */
    unsigned bits_left;   /* Feistel half widths (left <= right), left + right = b */
    unsigned bits_right;
    unsigned rounds;      /* 24 for b <= 12, else 8 */
} est_sampler;

/* Round keys of one epoch, derived from (seed, epoch); plain data. */
typedef struct est_epoch_keys {
    uint64_t round[EST_SAMPLER_MAX_ROUNDS];
    int swap01;           /* 1: rows 0 and 1 are exchanged before the network */
} est_epoch_keys;

/* Fill *out for num_rows rows. num_rows must be >= 1 and < 2^62, shuffle 0 or 1;
 * otherwise EST_ERR_INVALID_ARGUMENT and *out is untouched. */
est_status est_sampler_init(uint64_t num_rows, uint64_t seed, int shuffle, est_sampler *out);

/* Keys for one epoch (pure; a few ns). Needed only by est_sampler_row_keyed. */
void est_sampler_epoch_keys(const est_sampler *s, uint64_t epoch, est_epoch_keys *out);

/* The row at in-epoch index i (i < num_rows; larger i returns i % num_rows's row). */
uint64_t est_sampler_row_keyed(const est_sampler *s, const est_epoch_keys *keys, uint64_t i);
uint64_t est_sampler_row(const est_sampler *s, uint64_t epoch, uint64_t i);

/* out[j] = row of global position first + j, for j < count. Crosses epoch
 * boundaries (keys are recomputed once per epoch segment). */
void est_sampler_fill(const est_sampler *s, uint64_t first, uint64_t count, uint64_t *out);

/* TF's shuffle-buffer order of one pass (tf.data's shuffle with buffer_size < n):
 *   the buffer holds the first min(buffer_size, n) inputs; for each further input a
 *   slot r, uniform in [0, buffer_size), is emitted and the input takes its place; at
 *   the end the rest of the buffer is emitted in uniformly random order (Fisher-Yates).
 * out[j] = in[position of the j-th emitted input]; in == NULL means in[i] = i. So out
 * is a permutation of in, and out[j] is one of in[0 .. j + buffer_size - 1]; with
 * buffer_size >= n it is a uniform permutation. Random numbers: splitmix64 from seed,
 * bounded without bias (Lemire's multiply with rejection); pure function of
 * (in, n, buffer_size, seed). Memory: min(buffer_size, n) * 8 bytes, allocated and
 * freed here. out must not overlap in.
 * Returns EST_ERR_INVALID_ARGUMENT (buffer_size == 0, out == NULL with n > 0) or
 * EST_ERR_OUT_OF_MEMORY. Cost: ~5-10 ns per element. Any thread. */
est_status est_shuffle_buffer_order(const uint64_t *in, uint64_t n, uint64_t buffer_size,
                                    uint64_t seed, uint64_t *out);

/* Global position and row count of shard `shard` of batch k.
 * total_examples = UINT64_MAX means an endless stream. Returns EST_ERR_OUT_OF_RANGE
 * when batch k starts at or past total_examples; EST_ERR_INVALID_ARGUMENT when
 * batch_size == 0, num_shards == 0, shard >= num_shards or k * batch_size overflows.
 * count may be 0 for a shard of a batch with fewer rows than shards. */
est_status est_batch_span(uint64_t batch_size, uint64_t total_examples, uint64_t k,
                          uint32_t shard, uint32_t num_shards,
                          uint64_t *first, uint64_t *count);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_SAMPLER_H */
