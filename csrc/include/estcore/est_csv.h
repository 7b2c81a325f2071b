/* est_csv.h -- CSV records into typed columns (the kernel of decode_csv).
 *
 * est_csv_parse() splits each of n records into fields and converts the selected
 * fields into one output column each, with TF's DecodeCSV semantics:
 *   - fields are separated by `delim`; a record "" has no field, "a," has two;
 *   - with use_quote, a field that starts with '"' is quoted: it runs to the next
 *     '"' not doubled, which must be followed by the delimiter or the end; '""'
 *     inside stands for '"'. An unquoted field may not hold '"' (with use_quote),
 *     '\r' or '\n';
 *   - a field that is empty (or quoted empty) or equal to na_value takes the
 *     column's default; a column without one makes that an error;
 *   - numbers: int32 / int64 are [ws] ['-'] digits [ws] in range; float / double
 *     are [ws] [sign] (digits ['.' digits] | '.' digits) [e [sign] digits] [ws],
 *     "inf" / "nan" (any case), or a hexadecimal integer "0x1A", and a field of
 *     only whitespace is 0 (TF's double-conversion rules); out-of-range floats are
 *     +-inf. Decimal conversion is correctly rounded (exact fast path, else
 *     strtod / strtof, which read '.' as the decimal point in the "C" locale).
 *   - strings are not copied: each output is the field's span in its record and
 *     flags (EST_CSV_DEFAULT: take the default; EST_CSV_ESCAPED: the span holds
 *     '""' pairs to be read as '"').
 * With select_cols, only those source columns (strictly increasing) are kept and
 * fields after the last one are not examined; otherwise a record must have exactly
 * ncols fields.
 *
 * Errors: EST_ERR_INVALID_ARGUMENT with `err` filled (record index, message in TF's
 * words, e.g. "Expect 3 fields but have 2 in record 0"). With several bad records
 * the one reported is the lowest-indexed, whatever the thread count. Outputs are
 * unspecified after an error.
 *
 * Threads: the call splits the records into contiguous ranges over up to
 * num_threads threads it creates and joins before returning (small inputs run on
 * the calling thread). Reentrant: no global state; records and config are only
 * read; each output element is written by one thread. Callers may run several
 * calls at once on different outputs.
 *
 * Ownership: nothing is retained after the call; the caller owns every buffer.
 */
#ifndef ESTCORE_EST_CSV_H
#define ESTCORE_EST_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { EST_CSV_INT32 = 0, EST_CSV_INT64 = 1, EST_CSV_FLOAT = 2, EST_CSV_DOUBLE = 3,
       EST_CSV_STRING = 4 };

enum { EST_CSV_DEFAULT = 1, EST_CSV_ESCAPED = 2 };

#define EST_CSV_MAX_THREADS 64

typedef struct est_csv_field {  /* one STRING output */
    uint32_t offset;            /* into its record */
    uint32_t length;
    int32_t flags;              /* EST_CSV_DEFAULT | EST_CSV_ESCAPED */
} est_csv_field;

typedef struct est_csv_column {
    int type;          /* EST_CSV_* */
    int has_default;   /* 0: the field is required */
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } def;
    void *out;         /* n elements: int32_t / int64_t / float / double / est_csv_field */
} est_csv_column;

typedef struct est_csv_config {
    char delim;
    int use_quote;
    const char *na_value;      /* NULL or na_len == 0: none (empty fields are NA anyway) */
    size_t na_len;
    const int64_t *select_cols; /* NULL: every column; else ncols increasing indices */
    int num_threads;           /* >= 1 */
    int full_path_only;        /* tests: 1 skips the one-pass fast path (same results) */
} est_csv_config;

typedef struct est_csv_error {
    int64_t record;            /* -1: none */
    char message[320];
} est_csv_error;

/* Parse records[i][0, lengths[i]) for i < n into cols[0, ncols). Records longer
 * than 4 GiB are refused. */
est_status est_csv_parse(const est_csv_config *cfg, const char *const *records,
                         const size_t *lengths, size_t n, const est_csv_column *cols,
                         int ncols, est_csv_error *err);

/* Each strings[i][0, lengths[i]) as one number of `type` (EST_CSV_INT32 ..
 * EST_CSV_DOUBLE) with the field rules above (TF's StringToNumber): an empty
 * string is an error. EST_ERR_INVALID_ARGUMENT with *bad = the first string that
 * is not a number (*bad = -1 on success). Calling thread only; reentrant. */
est_status est_csv_numbers(const char *const *strings, const size_t *lengths, size_t n,
                           int type, void *out, int64_t *bad);

#ifdef __cplusplus
}
#endif

#endif /* ESTCORE_EST_CSV_H */
