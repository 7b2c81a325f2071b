/* est_example.h -- serialized tf.train.Example protos into fixed-size feature columns
 * (the kernel of parse_example for FixedLenFeature).
 *
 * For each record and each requested key, the parser finds the key's final Feature
 * with protobuf's rules (fields in any order, unknown fields skipped, packed or
 * unpacked repeated values, the last map entry of a key wins; an entry without a
 * value, or a Feature with no kind set, does not replace an earlier one) and, when the
 * kind and the value count are the expected ones, writes the values:
 *   EST_EXAMPLE_FLOAT  float  out[record * count + j]
 *   EST_EXAMPLE_INT64  int64  out[record * count + j]
 *   EST_EXAMPLE_BYTES  est_example_span out[record * count + j] (offset into the record)
 * found[record * nkeys + k] says whether the key was present (0: the caller applies
 * the default or reports a required feature).
 *
 * A record that is not a valid Example, or whose feature has another kind or another
 * number of values, stops the parse: *bad is its index (the lowest such record, for
 * any thread count) and EST_ERR_INVALID_ARGUMENT is returned; the caller re-reads
 * that record to word the error (TF's messages live with the caller). Outputs of
 * other records are unspecified then.
 *
 * Threads: up to num_threads threads, created and joined inside the call, over
 * contiguous ranges of records (small inputs run on the calling thread). Reentrant;
 * inputs are only read; each output element is written by one thread.
 * Ownership: nothing is retained after the call.
 */
#ifndef ESTCORE_EST_EXAMPLE_H
#define ESTCORE_EST_EXAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Feature oneof field numbers (example.proto). */
enum { EST_EXAMPLE_BYTES = 1, EST_EXAMPLE_FLOAT = 2, EST_EXAMPLE_INT64 = 3 };

#define EST_EXAMPLE_MAX_THREADS 64

typedef struct est_example_span {
    uint64_t offset;
    uint64_t length;
} est_example_span;

typedef struct est_example_key {
    const char *name;
    size_t name_len;
    int kind;          /* EST_EXAMPLE_* */
    uint64_t count;    /* values per record */
    void *out;         /* n * count elements (see above) */
} est_example_key;

est_status est_example_parse(const char *const *records, const size_t *lengths, size_t n,
                             const est_example_key *keys, int nkeys, uint8_t *found,
                             int num_threads, int64_t *bad);

/* VarLenFeature: any number of values per record, row-padded. Same walk and rules as
 * est_example_parse (keys[k].count is ignored); per record and key,
 * counts[record * nkeys + k] receives the value count (0 when absent) and found[...]
 * whether the key was present. With strides == NULL only counts and found are written
 * (the count pass; keys[k].out may be NULL). With strides (the row width per key, at
 * least the largest count of that key) the values are written too, to
 * out[record * strides[k] + j] for j < count (elements as above; the rest of each row
 * is left as it was). A record that is not a valid Example, or whose feature has another
 * kind (or, in the write pass, more values than its stride), stops the parse as above. */
est_status est_example_parse_varlen(const char *const *records, const size_t *lengths,
                                    size_t n, const est_example_key *keys, int nkeys,
                                    uint8_t *found, int64_t *counts, const uint64_t *strides,
                                    int num_threads, int64_t *bad);

#ifdef __cplusplus
}
#endif

#endif /* ESTCORE_EST_EXAMPLE_H */
