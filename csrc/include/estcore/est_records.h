/* est_records.h -- record framing of the file sources: text lines, fixed-length
 * records, TFRecord (length + masked CRC-32C framing).
 *
 * A reader turns a byte stream into records. The bytes come either from a file
 * descriptor the reader read()s itself (est_records_open_fd), or from its caller
 * (est_records_open_push + est_records_feed: a decompressor, a test). The reader
 * frames whole records only; what it hands out is a chunk of spans into its own
 * buffer, so no record is copied in C.
 *
 * Semantics (TF's readers):
 *   LINES     records end at '\n'; every '\r' in a line is dropped (TF's
 *             InputBuffer::ReadLine); a last line without '\n' is a record when it
 *             is not empty after that.
 *   FIXED     header_bytes skipped, then records of record_bytes, footer_bytes
 *             left at the end. A body that is not a multiple of record_bytes is
 *             an error: before any record when the size is known at open (a
 *             regular file: EST_RECORDS_INVALID), at the end otherwise
 *             (EST_RECORDS_DATA_LOSS), after the whole records.
 *   TFRECORD  uint64 length (LE), masked CRC-32C of those 8 bytes, data, masked
 *             CRC-32C of the data; both checksums checked. A stream cut inside a
 *             record or inside a header is EST_RECORDS_DATA_LOSS (TF stops
 *             silently at a cut header; estcore reports the lost bytes).
 *
 * Errors: a call that fails returns EST_ERR_INVALID_ARGUMENT (or
 * EST_ERR_OUT_OF_MEMORY), est_records_error() gives the text ("corrupted record at
 * 12 (record 0)") and est_records_error_kind() the class (DATA_LOSS, INVALID, IO
 * with errno). Records framed before the failure in the same call are delivered
 * first; the error comes from the next call, and every later call repeats it.
 *
 * Memory: the buffer holds buffer_size bytes (default 256 KiB) and grows only to
 * hold one record that is larger (bounded by the largest record, not the file).
 *
 * Threads: a reader is not shared: one thread at a time (no internal locks; the
 * caller serialises). Different readers are independent. Nothing blocks but
 * read() on the descriptor. The reader never closes the descriptor (its owner
 * does, after est_records_destroy).
 *
 * Ownership: the chunk's spans point into the reader's buffer and stay valid until
 * the next call on the reader (next, skip, feed) or its destruction.
 */
#ifndef ESTCORE_EST_RECORDS_H
#define ESTCORE_EST_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    EST_RECORDS_LINES = 0,
    EST_RECORDS_FIXED = 1,
    EST_RECORDS_TFRECORD = 2,
};

/* est_records_error_kind() */
enum {
    EST_RECORDS_OK = 0,
    EST_RECORDS_DATA_LOSS = 1,  /* corrupted / truncated data   -> DataLossError */
    EST_RECORDS_INVALID = 2,    /* wrong arguments for the data -> InvalidArgumentError */
    EST_RECORDS_IO = 3,         /* read() failed (errno in est_records_errno) */
};

#define EST_RECORDS_ERROR_LEN 256

typedef struct est_records_config {
    int format;             /* EST_RECORDS_* */
    uint64_t record_bytes;  /* FIXED: > 0 */
    uint64_t header_bytes;  /* FIXED */
    uint64_t footer_bytes;  /* FIXED */
    size_t buffer_size;     /* bytes per read; 0: 256 KiB */
} est_records_config;

typedef struct est_records_chunk {
    const char *base;         /* record i is base[offsets[i], offsets[i] + lengths[i]) */
    const uint64_t *offsets;
    const uint64_t *lengths;
    uint64_t count;           /* records in this chunk */
    uint64_t first;           /* index of the chunk's first record in the stream */
    int need_input;           /* push mode: count may be 0; feed more bytes */
} est_records_chunk;

typedef struct est_records est_records;

/* A reader over `fd` (read from its current position). `size_hint`: the bytes left
 * in the file when known (a regular file), else -1; FIXED checks the body length
 * with it before any record. */
est_status est_records_open_fd(const est_records_config *cfg, int fd, int64_t size_hint,
                               est_records **out);

/* A reader fed by est_records_feed. */
est_status est_records_open_push(const est_records_config *cfg, est_records **out);

void est_records_destroy(est_records *r);

/* Push mode: append data[0, len) (copied); eof = 1 when no more bytes will come
 * (len may be 0). EST_ERR_FAILED_PRECONDITION on an fd reader or after eof. */
est_status est_records_feed(est_records *r, const void *data, size_t len, int eof);

/* Frame up to max_records records (at least 1) and at most about max_bytes bytes
 * of them (one record always fits). EST_OK with count >= 1, or (push mode) with
 * count == 0 and need_input == 1; EST_ERR_OUT_OF_RANGE at the end of the stream. */
est_status est_records_next(est_records *r, uint64_t max_records, size_t max_bytes,
                            est_records_chunk *out);

/* Skip up to n records (an fd FIXED reader on a seekable file seeks); *skipped
 * says how many (fewer only at the end of the stream or, push mode, when input is
 * needed: call again after feeding). Errors as est_records_next. */
est_status est_records_skip(est_records *r, uint64_t n, uint64_t *skipped);

/* Records framed so far (handed out or skipped). */
uint64_t est_records_position(const est_records *r);

int est_records_error_kind(const est_records *r);
int est_records_errno(const est_records *r);
void est_records_error(const est_records *r, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ESTCORE_EST_RECORDS_H */
