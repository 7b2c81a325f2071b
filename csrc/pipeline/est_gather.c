/* est_gather.c -- source column layout and the row gather used by the workers
 * (est_stream.h). Per-example dims are collapsed once at stream creation so
 * the common cases are one memcpy per row. */
#include "estcore/est_stream.h"
#include "est_stream_internal.h"

#include <string.h>

#define PREFETCH_AHEAD 4  /* rows prefetched ahead in the gather loop */

/* Collapse one source column's per-example dims; EST_ERR_INVALID_ARGUMENT if bad. */
est_status est__prepare_column(const est_column *in, uint64_t num_rows, est__column *c) {
    if (in->data == NULL || in->itemsize == 0 || in->ndim < 1 || in->shape == NULL ||
        in->strides == NULL || in->shape[0] < 0 || (uint64_t)in->shape[0] != num_rows)
        return EST_ERR_INVALID_ARGUMENT;
    memset(c, 0, sizeof *c);
    c->data = in->data;
    c->row_stride = in->strides[0];
    int64_t shape[64], strides[64];
    int nd = 0;
    size_t row_bytes = in->itemsize;
    if (in->ndim - 1 > 64)
        return EST_ERR_INVALID_ARGUMENT;
    for (int d = 1; d < in->ndim; d++) {
        int64_t n = in->shape[d];
        if (n < 0)
            return EST_ERR_INVALID_ARGUMENT;
        if (n == 0)
            row_bytes = 0;
        else if (row_bytes > SIZE_MAX / (uint64_t)n)
            return EST_ERR_INVALID_ARGUMENT;
        else
            row_bytes *= (size_t)n;
        if (n != 1) {
            shape[nd] = n;
            strides[nd] = in->strides[d];
            nd++;
        }
    }
    c->row_bytes = row_bytes;
    if (row_bytes == 0) {
        c->ndim = 0;
        c->chunk = 0;
        return EST_OK;
    }
    /* Fold innermost dims whose data is contiguous into the copy chunk. */
    size_t chunk = in->itemsize;
    while (nd > 0 && strides[nd - 1] == (int64_t)chunk) {
        chunk *= (size_t)shape[nd - 1];
        nd--;
    }
    /* Merge neighbours where dim d steps over exactly all of dim d + 1. */
    int out = 0;
    for (int d = 0; d < nd; d++) {
        if (out > 0 && c->strides[out - 1] == shape[d] * strides[d]) {
            c->shape[out - 1] *= shape[d];
            c->strides[out - 1] = strides[d];
        } else {
            if (out == EST_STREAM_MAX_DIMS)
                return EST_ERR_INVALID_ARGUMENT;
            c->shape[out] = shape[d];
            c->strides[out] = strides[d];
            out++;
        }
    }
    c->ndim = out;
    c->chunk = chunk;
    return EST_OK;
}

static void copy_strided(char *dst, const char *src, const est__column *c) {
    int64_t idx[EST_STREAM_MAX_DIMS] = {0};
    const int nd = c->ndim;
    for (;;) {
        memcpy(dst, src, c->chunk);
        dst += c->chunk;
        int d = nd - 1;
        for (; d >= 0; d--) {
            src += c->strides[d];
            if (++idx[d] < c->shape[d])
                break;
            src -= c->strides[d] * c->shape[d];
            idx[d] = 0;
        }
        if (d < 0)
            return;
    }
}

/* Copy rows[lo..hi) of column c into out (row lo at out). */
void est__gather_rows(const est__column *c, const uint64_t *rows, uint64_t lo, uint64_t hi,
                      char *out) {
    const size_t rb = c->row_bytes;
    if (rb == 0)
        return;
    if (c->ndim == 0) {
        /* Small fixed sizes (labels, ids): a constant-size copy the compiler inlines. */
#define EST_GATHER_FIXED(n)                                                         \
    case n:                                                                         \
        for (uint64_t j = lo; j < hi; j++, out += n)                                \
            memcpy(out, c->data + (int64_t)rows[j] * c->row_stride, n);             \
        return;
        switch (rb) {
            EST_GATHER_FIXED(1)
            EST_GATHER_FIXED(2)
            EST_GATHER_FIXED(4)
            EST_GATHER_FIXED(8)
            EST_GATHER_FIXED(16)
        default:
            break;
        }
#undef EST_GATHER_FIXED
        for (uint64_t j = lo; j < hi; j++) {
            if (j + PREFETCH_AHEAD < hi)
                __builtin_prefetch(c->data + (int64_t)rows[j + PREFETCH_AHEAD] * c->row_stride);
            memcpy(out, c->data + (int64_t)rows[j] * c->row_stride, rb);
            out += rb;
        }
    } else {
        for (uint64_t j = lo; j < hi; j++) {
            copy_strided(out, c->data + (int64_t)rows[j] * c->row_stride, c);
            out += rb;
        }
    }
}
