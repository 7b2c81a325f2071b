/* est_records.c -- record framing of the file sources (contract: est_records.h).
 *
 * One buffer holds the unconsumed bytes [start, end). Each call first moves them to
 * the front (the previous chunk's spans are dead by contract), tops the buffer up
 * (fd mode), then frames records in place. A record that does not fit makes the
 * buffer grow to exactly what it needs.
 */
#include "estcore/est_records.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "estcore/est_crc32c.h"

#define DEFAULT_BUFFER (256u * 1024u)
#define TFR_HEADER 12u
#define TFR_FOOTER 4u
/* A TFRecord length above this is refused (a checksummed length this large is
 * a writer's bug, and the buffer would have to hold it). */
#define TFR_MAX_RECORD ((uint64_t)1 << 40)

enum { FRAME_OK, FRAME_NEED, FRAME_END, FRAME_ERR };

struct est_records {
    est_records_config cfg;
    int fd;              /* -1: push mode */
    int eof;             /* no more input will come */
    char *buf;
    size_t cap, start, end;
    size_t scan;         /* LINES: no '\n' in [start, scan) */
    size_t need;         /* bytes from start the pending record needs */
    uint64_t stream_off; /* stream offset of buf[start] */
    uint64_t index;      /* records framed */
    uint64_t header_left; /* FIXED: header bytes still to skip */
    uint64_t *offsets, *lengths;
    size_t spans_cap;
    est_status err_status; /* != EST_OK: every call returns it */
    int err_kind, err_no;
    char err[EST_RECORDS_ERROR_LEN];
};

static est_status fail(est_records *r, est_status st, int kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->err_status = st;
    r->err_kind = kind;
    return st;
}

static est_status make(const est_records_config *cfg, int fd, est_records **out) {
    if (cfg == NULL || out == NULL) return EST_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (cfg->format != EST_RECORDS_LINES && cfg->format != EST_RECORDS_FIXED &&
        cfg->format != EST_RECORDS_TFRECORD)
        return EST_ERR_INVALID_ARGUMENT;
    if (cfg->format == EST_RECORDS_FIXED &&
        (cfg->record_bytes == 0 || cfg->record_bytes > ((uint64_t)1 << 40) ||
         cfg->footer_bytes > ((uint64_t)1 << 40)))
        return EST_ERR_INVALID_ARGUMENT;
    est_records *r = calloc(1, sizeof *r);
    if (r == NULL) return EST_ERR_OUT_OF_MEMORY;
    r->cfg = *cfg;
    if (r->cfg.buffer_size == 0) r->cfg.buffer_size = DEFAULT_BUFFER;
    if (r->cfg.buffer_size < 64) r->cfg.buffer_size = 64;
    r->fd = fd;
    r->cap = r->cfg.buffer_size;
    r->buf = malloc(r->cap);
    r->spans_cap = 1024;
    r->offsets = malloc(r->spans_cap * sizeof *r->offsets);
    r->lengths = malloc(r->spans_cap * sizeof *r->lengths);
    if (r->buf == NULL || r->offsets == NULL || r->lengths == NULL) {
        est_records_destroy(r);
        return EST_ERR_OUT_OF_MEMORY;
    }
    r->header_left = cfg->format == EST_RECORDS_FIXED ? cfg->header_bytes : 0;
    *out = r;
    return EST_OK;
}

est_status est_records_open_fd(const est_records_config *cfg, int fd, int64_t size_hint,
                               est_records **out) {
    if (fd < 0) return EST_ERR_INVALID_ARGUMENT;
    est_status st = make(cfg, fd, out);
    if (st != EST_OK) return st;
    est_records *r = *out;
    if (cfg->format == EST_RECORDS_FIXED && size_hint >= 0) {
        uint64_t size = (uint64_t)size_hint, h = cfg->header_bytes, f = cfg->footer_bytes;
        if (size < h + f) {
            fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_INVALID,
                 "the file has %llu bytes, fewer than the header (%llu bytes) and footer "
                 "(%llu bytes)", (unsigned long long)size, (unsigned long long)h,
                 (unsigned long long)f);
        } else if ((size - h - f) % cfg->record_bytes != 0) {
            fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_INVALID,
                 "excluding the header (%llu bytes) and footer (%llu bytes), the body "
                 "length %llu bytes is not an exact multiple of the record length (%llu "
                 "bytes)", (unsigned long long)h, (unsigned long long)f,
                 (unsigned long long)(size - h - f), (unsigned long long)cfg->record_bytes);
        }
    }
    return EST_OK;
}

est_status est_records_open_push(const est_records_config *cfg, est_records **out) {
    return make(cfg, -1, out);
}

void est_records_destroy(est_records *r) {
    if (r == NULL) return;
    free(r->buf);
    free(r->offsets);
    free(r->lengths);
    free(r);
}

/* Move [start, end) to the front; the scan mark moves with it. */
static void compact(est_records *r) {
    if (r->start == 0) return;
    size_t n = r->end - r->start;
    if (n) memmove(r->buf, r->buf + r->start, n);
    r->scan -= r->start;
    r->end = n;
    r->start = 0;
}

/* Capacity for at least `want` bytes (start == 0). */
static est_status reserve(est_records *r, size_t want) {
    if (want <= r->cap) return EST_OK;
    size_t cap = r->cap;
    while (cap < want) cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *nb = realloc(r->buf, cap);
    if (nb == NULL)
        return fail(r, EST_ERR_OUT_OF_MEMORY, EST_RECORDS_INVALID,
                    "could not allocate %zu bytes for a record", cap);
    r->buf = nb;
    r->cap = cap;
    return EST_OK;
}

/* fd mode: read until `want` bytes are buffered (or end of file), filling any free
 * space with the first read. start == 0. */
static est_status fill(est_records *r, size_t want) {
    est_status st = reserve(r, want);
    if (st != EST_OK) return st;
    while (!r->eof && r->end < r->cap) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0) {
            if (errno == EINTR) continue;
            r->err_no = errno;
            return fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_IO,
                        "read failed after %llu bytes: %s",
                        (unsigned long long)(r->stream_off + r->end), strerror(errno));
        }
        if (n == 0) {
            r->eof = 1;
            break;
        }
        r->end += (size_t)n;
        if (r->end >= want) break;
    }
    return EST_OK;
}

static int grow_spans(est_records *r) {
    size_t cap = r->spans_cap * 2;
    uint64_t *o = realloc(r->offsets, cap * sizeof *o);
    if (o == NULL) return -1;
    r->offsets = o;
    uint64_t *l = realloc(r->lengths, cap * sizeof *l);
    if (l == NULL) return -1;
    r->lengths = l;
    r->spans_cap = cap;
    return 0;
}

/* Drop every '\r' from p[0, n) in place; the new length. */
static size_t strip_cr(char *p, size_t n) {
    char *cr = memchr(p, '\r', n);
    if (cr == NULL) return n;
    size_t w = (size_t)(cr - p);
    for (size_t i = w + 1; i < n; i++)
        if (p[i] != '\r') p[w++] = p[i];
    return w;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) {
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void consume(est_records *r, size_t n) {
    r->start += n;
    r->stream_off += n;
    if (r->scan < r->start) r->scan = r->start;
}

static int frame_line(est_records *r, uint64_t *off, uint64_t *len) {
    size_t avail_scan = r->end - r->scan;
    char *nl = avail_scan ? memchr(r->buf + r->scan, '\n', avail_scan) : NULL;
    size_t n, next;
    if (nl != NULL) {
        n = (size_t)(nl - (r->buf + r->start));
        next = n + 1;
    } else if (!r->eof) {
        r->scan = r->end;
        r->need = r->end - r->start + 1;
        return FRAME_NEED;
    } else if (r->start == r->end) {
        return FRAME_END;
    } else {
        n = next = r->end - r->start;
    }
    size_t kept = strip_cr(r->buf + r->start, n);
    size_t at = r->start;
    consume(r, next);
    if (nl == NULL && kept == 0) return FRAME_END;  /* a last line of only '\r' */
    *off = at;
    *len = kept;
    return FRAME_OK;
}

static int frame_fixed(est_records *r, uint64_t *off, uint64_t *len) {
    size_t avail = r->end - r->start;
    uint64_t h = r->cfg.header_bytes, f = r->cfg.footer_bytes, rb = r->cfg.record_bytes;
    if (r->header_left) {
        size_t skip = avail < r->header_left ? avail : (size_t)r->header_left;
        consume(r, skip);
        r->header_left -= skip;
        avail -= skip;
        if (r->header_left && !r->eof) {
            r->need = 1;
            return FRAME_NEED;
        }
        if (r->header_left) {
            fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
                 "the stream has %llu bytes, fewer than the header (%llu bytes) and footer "
                 "(%llu bytes)", (unsigned long long)r->stream_off, (unsigned long long)h,
                 (unsigned long long)f);
            return FRAME_ERR;
        }
    }
    if (avail >= rb + f) {
        *off = r->start;
        *len = rb;
        consume(r, (size_t)rb);
        return FRAME_OK;
    }
    if (!r->eof) {
        r->need = (size_t)(rb + f);
        return FRAME_NEED;
    }
    if (avail == f) return FRAME_END;
    if (avail < f) {
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "the stream ends %llu bytes after the last whole record, fewer than the footer "
             "(%llu bytes)", (unsigned long long)avail, (unsigned long long)f);
    } else {
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "excluding the header (%llu bytes) and footer (%llu bytes), the body length "
             "%llu bytes is not an exact multiple of the record length (%llu bytes)",
             (unsigned long long)h, (unsigned long long)f,
             (unsigned long long)(r->index * rb + (avail - f)), (unsigned long long)rb);
    }
    return FRAME_ERR;
}

static int frame_tfrecord(est_records *r, uint64_t *off, uint64_t *len) {
    size_t avail = r->end - r->start;
    const unsigned char *p = (const unsigned char *)r->buf + r->start;
    unsigned long long at = (unsigned long long)r->stream_off;
    unsigned long long k = (unsigned long long)r->index;
    if (avail < TFR_HEADER) {
        if (!r->eof) {
            r->need = TFR_HEADER;
            return FRAME_NEED;
        }
        if (avail == 0) return FRAME_END;
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "truncated record at %llu (record %llu): the stream ends %zu bytes into the "
             "12-byte header", at, k, avail);
        return FRAME_ERR;
    }
    uint64_t n = le64(p);
    if (est_crc32c_mask(est_crc32c(p, 8, 0)) != le32(p + 8)) {
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "corrupted record at %llu (record %llu): the length's checksum does not "
             "match%s", at, k, at == 0 ? " (Is this even a TFRecord file?)" : "");
        return FRAME_ERR;
    }
    if (n > TFR_MAX_RECORD || n > SIZE_MAX - TFR_HEADER - TFR_FOOTER) {
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "record at %llu (record %llu) claims %llu bytes, more than 2**40", at, k,
             (unsigned long long)n);
        return FRAME_ERR;
    }
    size_t total = TFR_HEADER + (size_t)n + TFR_FOOTER;
    if (avail < total) {
        if (!r->eof) {
            r->need = total;
            return FRAME_NEED;
        }
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "truncated record at %llu (record %llu): %llu data bytes expected, the stream "
             "ends after %zu", at, k, (unsigned long long)n, avail - TFR_HEADER);
        return FRAME_ERR;
    }
    if (est_crc32c_mask(est_crc32c(p + TFR_HEADER, (size_t)n, 0)) !=
        le32(p + TFR_HEADER + n)) {
        fail(r, EST_ERR_INVALID_ARGUMENT, EST_RECORDS_DATA_LOSS,
             "corrupted record at %llu (record %llu): the data's checksum does not match",
             at + TFR_HEADER, k);
        return FRAME_ERR;
    }
    *off = r->start + TFR_HEADER;
    *len = n;
    consume(r, total);
    return FRAME_OK;
}

static int frame_one(est_records *r, uint64_t *off, uint64_t *len) {
    switch (r->cfg.format) {
    case EST_RECORDS_LINES: return frame_line(r, off, len);
    case EST_RECORDS_FIXED: return frame_fixed(r, off, len);
    default: return frame_tfrecord(r, off, len);
    }
}

/* Frame up to max records; spans are stored only when `keep`. */
static est_status frame(est_records *r, uint64_t max, size_t max_bytes, int keep,
                        uint64_t *count, int *need_input) {
    *count = 0;
    *need_input = 0;
    if (r->err_status != EST_OK) return r->err_status;
    size_t bytes = 0;
    compact(r);
    if (r->fd >= 0 && r->end < r->cap) {
        est_status st = fill(r, r->end + 1);
        if (st != EST_OK) return st;
    }
    while (*count < max && bytes < max_bytes) {
        uint64_t off = 0, len = 0;
        int fr = frame_one(r, &off, &len);
        if (fr == FRAME_OK) {
            if (keep) {
                if (*count == r->spans_cap && grow_spans(r) != 0)
                    return fail(r, EST_ERR_OUT_OF_MEMORY, EST_RECORDS_INVALID,
                                "could not allocate the record table");
                r->offsets[*count] = off;
                r->lengths[*count] = len;
            }
            (*count)++;
            r->index++;
            bytes += (size_t)len + 1;
            continue;
        }
        if (fr == FRAME_ERR) {
            if (*count > 0) return EST_OK;  /* the error comes with the next call */
            return r->err_status;
        }
        if (fr == FRAME_END) return *count > 0 ? EST_OK : EST_ERR_OUT_OF_RANGE;
        /* FRAME_NEED */
        if (r->fd < 0) {
            *need_input = *count == 0;
            return EST_OK;
        }
        if (*count > 0 && keep) return EST_OK;  /* reading would move the spans */
        compact(r);
        est_status st = fill(r, r->need > r->end + 1 ? r->need : r->end + 1);
        if (st != EST_OK) return *count > 0 ? EST_OK : st;
    }
    return EST_OK;
}

est_status est_records_next(est_records *r, uint64_t max_records, size_t max_bytes,
                            est_records_chunk *out) {
    if (r == NULL || out == NULL || max_records == 0) return EST_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->first = r->index;
    uint64_t count = 0;
    int need_input = 0;
    est_status st = frame(r, max_records, max_bytes ? max_bytes : SIZE_MAX, 1, &count,
                          &need_input);
    if (st != EST_OK) return st;
    out->base = r->buf;
    out->offsets = r->offsets;
    out->lengths = r->lengths;
    out->count = count;
    out->need_input = need_input;
    return EST_OK;
}

est_status est_records_skip(est_records *r, uint64_t n, uint64_t *skipped) {
    if (r == NULL || skipped == NULL) return EST_ERR_INVALID_ARGUMENT;
    *skipped = 0;
    while (*skipped < n) {
        uint64_t count = 0;
        int need_input = 0;
        est_status st = frame(r, n - *skipped, SIZE_MAX, 0, &count, &need_input);
        *skipped += count;
        if (st == EST_ERR_OUT_OF_RANGE) return EST_OK;
        if (st != EST_OK) return st;
        if (need_input || count == 0) return EST_OK;
    }
    return EST_OK;
}

est_status est_records_feed(est_records *r, const void *data, size_t len, int eof) {
    if (r == NULL || (len && data == NULL)) return EST_ERR_INVALID_ARGUMENT;
    if (r->fd >= 0 || r->eof) return EST_ERR_FAILED_PRECONDITION;
    compact(r);
    if (len) {
        if (len > SIZE_MAX - r->end) return EST_ERR_INVALID_ARGUMENT;
        est_status st = reserve(r, r->end + len);
        if (st != EST_OK) return st;
        memcpy(r->buf + r->end, data, len);
        r->end += len;
    }
    if (eof) r->eof = 1;
    return EST_OK;
}

uint64_t est_records_position(const est_records *r) { return r ? r->index : 0; }

int est_records_error_kind(const est_records *r) {
    return r && r->err_status != EST_OK ? r->err_kind : EST_RECORDS_OK;
}

int est_records_errno(const est_records *r) { return r ? r->err_no : 0; }

void est_records_error(const est_records *r, char *buf, size_t len) {
    if (buf == NULL || len == 0) return;
    snprintf(buf, len, "%s", r && r->err_status != EST_OK ? r->err : "");
}
