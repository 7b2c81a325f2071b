/* est_example.c -- tf.train.Example protos into feature columns (contract: est_example.h).
 *
 * Per record: one walk over Example -> Features -> map entries keeps, for each wanted
 * key, the span of its last valid Feature value; then each kept value is decoded once
 * (count first, then the values), so a key given twice costs one decode.
 */
#include "estcore/est_example.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LENGTH = 2, WT_FIXED32 = 5 };

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

/* A varint; -1 if truncated or longer than 10 bytes (bits above 64 are dropped). */
static int read_varint(cursor *c, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) return -1;
        unsigned b = *c->p++;
        if (shift < 64) x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The next field: number, wire type, and for LENGTH its payload (others skipped).
 * 0 ok, 1 at the end, -1 malformed. */
static int next_field(cursor *c, uint32_t *field, int *wt, cursor *payload, uint64_t *value) {
    if (c->p >= c->end) return 1;
    uint64_t tag;
    if (read_varint(c, &tag) != 0) return -1;
    *field = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    if (*field == 0) return -1;
    switch (*wt) {
    case WT_VARINT:
        return read_varint(c, value);
    case WT_FIXED64:
        if (c->end - c->p < 8) return -1;
        c->p += 8;
        return 0;
    case WT_FIXED32:
        if (c->end - c->p < 4) return -1;
        *value = (uint64_t)c->p[0] | (uint64_t)c->p[1] << 8 | (uint64_t)c->p[2] << 16 |
                 (uint64_t)c->p[3] << 24;
        c->p += 4;
        return 0;
    case WT_LENGTH: {
        uint64_t n;
        if (read_varint(c, &n) != 0 || n > (uint64_t)(c->end - c->p)) return -1;
        payload->p = c->p;
        payload->end = c->p + n;
        c->p += n;
        return 0;
    }
    default:
        return -1;  /* groups (3, 4) are not in this schema; 6, 7 are invalid */
    }
}

typedef struct job {
    const char *const *recs;
    const size_t *lens;
    size_t lo, hi;
    const est_example_key *keys;
    int nkeys;
    uint8_t *found;
    int64_t bad;
    int64_t *counts;          /* VarLen mode: counts[r * nkeys + k] (NULL: FixedLen mode) */
    const uint64_t *strides;  /* VarLen write pass: row width per key (NULL: count pass) */
} job;

/* Count the values of a list message (FLOAT / INT64 / BYTES); -1 malformed or a
 * value of the wrong wire type. */
static int64_t count_values(int kind, cursor list) {
    int64_t count = 0;
    uint32_t f;
    int wt, rc;
    cursor pl = {0};
    uint64_t v;
    while ((rc = next_field(&list, &f, &wt, &pl, &v)) == 0) {
        if (f != 1) continue;
        if (kind == EST_EXAMPLE_BYTES) {
            if (wt == WT_LENGTH) count++;
        } else if (kind == EST_EXAMPLE_FLOAT) {
            if (wt == WT_LENGTH) {
                size_t n = (size_t)(pl.end - pl.p);
                if (n % 4) return -1;
                count += (int64_t)(n / 4);
            } else if (wt == WT_FIXED32) {
                count++;
            } else {
                return -1;
            }
        } else {
            if (wt == WT_LENGTH) {
                if (pl.p < pl.end && (pl.end[-1] & 0x80)) return -1;  /* truncated varint */
                for (const unsigned char *q = pl.p; q < pl.end; q++) count += !(*q & 0x80);
            } else if (wt == WT_VARINT) {
                count++;
            } else {
                return -1;
            }
        }
    }
    return rc < 0 ? -1 : count;
}

/* Write the (already counted) values of a list to out[0, count). */
static int write_values(int kind, cursor list, const unsigned char *rec, void *out) {
    uint64_t j = 0;
    uint32_t f;
    int wt;
    cursor pl = {0};
    uint64_t v = 0;
    while (next_field(&list, &f, &wt, &pl, &v) == 0) {
        if (f != 1) continue;
        if (kind == EST_EXAMPLE_BYTES) {
            if (wt != WT_LENGTH) continue;
            est_example_span *s = &((est_example_span *)out)[j++];
            s->offset = (uint64_t)(pl.p - rec);
            s->length = (uint64_t)(pl.end - pl.p);
        } else if (kind == EST_EXAMPLE_FLOAT) {
            float *o = (float *)out;
            if (wt == WT_LENGTH) {
                size_t n = (size_t)(pl.end - pl.p);
                memcpy(o + j, pl.p, n);  /* little-endian hosts (checked at build) */
                j += n / 4;
            } else {
                uint32_t u = (uint32_t)v;
                memcpy(o + j++, &u, 4);
            }
        } else {
            int64_t *o = (int64_t *)out;
            if (wt == WT_LENGTH) {
                while (pl.p < pl.end) {
                    uint64_t x;
                    if (read_varint(&pl, &x) != 0) return -1;
                    o[j++] = (int64_t)x;
                }
            } else {
                o[j++] = (int64_t)v;
            }
        }
    }
    return 0;
}

/* One record; 0 ok, -1 problem (the caller words it). */
static int parse_one(const job *jb, size_t r, cursor *last_value, int *last_kind) {
    const unsigned char *rec = (const unsigned char *)jb->recs[r];
    cursor ex = {rec, rec + jb->lens[r]};
    const int nk = jb->nkeys;
    for (int k = 0; k < nk; k++) last_kind[k] = 0;
    uint32_t f;
    int wt, rc;
    cursor feats, entry, kv, fv, sub;
    uint64_t v;
    while ((rc = next_field(&ex, &f, &wt, &feats, &v)) == 0) {
        if (f != 1 || wt != WT_LENGTH) continue;
        int rc2;
        while ((rc2 = next_field(&feats, &f, &wt, &entry, &v)) == 0) {
            if (f != 1 || wt != WT_LENGTH) continue;
            const unsigned char *key = NULL;
            size_t key_len = 0;
            int has_value = 0;
            cursor value = {NULL, NULL};
            int rc3;
            while ((rc3 = next_field(&entry, &f, &wt, &kv, &v)) == 0) {
                if (wt != WT_LENGTH) continue;
                if (f == 1) {
                    key = kv.p;
                    key_len = (size_t)(kv.end - kv.p);
                } else if (f == 2) {
                    value = kv;
                    has_value = 1;
                }
            }
            if (rc3 < 0) return -1;
            int k = 0;
            for (; k < nk; k++)
                if (jb->keys[k].name_len == key_len &&
                    (key_len == 0 || memcmp(jb->keys[k].name, key, key_len) == 0))
                    break;
            if (k == nk || !has_value) continue;
            int kind = 0;
            cursor list = {NULL, NULL};
            int rc4;
            fv = value;
            while ((rc4 = next_field(&fv, &f, &wt, &sub, &v)) == 0) {
                if (wt == WT_LENGTH && f >= 1 && f <= 3) {  /* oneof: the last set wins */
                    kind = (int)f;
                    list = sub;
                }
            }
            if (rc4 < 0) return -1;
            if (kind == 0) continue;  /* no kind set: missing, replaces nothing */
            last_kind[k] = kind;
            last_value[k] = list;
        }
        if (rc2 < 0) return -1;
    }
    if (rc < 0) return -1;
    for (int k = 0; k < nk; k++) {
        const est_example_key *key = &jb->keys[k];
        uint8_t *fd = &jb->found[r * (size_t)nk + (size_t)k];
        if (last_kind[k] == 0) {
            *fd = 0;
            if (jb->counts != NULL) jb->counts[r * (size_t)nk + (size_t)k] = 0;
            continue;
        }
        if (last_kind[k] != key->kind) return -1;
        int64_t count = count_values(key->kind, last_value[k]);
        if (jb->counts != NULL) {  /* VarLen: any count; values only in the write pass */
            if (count < 0) return -1;
            jb->counts[r * (size_t)nk + (size_t)k] = count;
            *fd = 1;
            if (jb->strides == NULL || count == 0) continue;
            if ((uint64_t)count > jb->strides[k]) return -1;
            size_t vitem = key->kind == EST_EXAMPLE_BYTES ? sizeof(est_example_span)
                           : key->kind == EST_EXAMPLE_FLOAT ? 4 : 8;
            void *vout = (char *)key->out + r * jb->strides[k] * vitem;
            if (write_values(key->kind, last_value[k], rec, vout) != 0) return -1;
            continue;
        }
        if (count < 0 || (uint64_t)count != key->count) return -1;
        size_t item = key->kind == EST_EXAMPLE_BYTES ? sizeof(est_example_span)
                      : key->kind == EST_EXAMPLE_FLOAT ? 4 : 8;
        void *out = (char *)key->out + r * key->count * item;
        if (write_values(key->kind, last_value[k], rec, out) != 0) return -1;
        *fd = 1;
    }
    return 0;
}

static void *worker(void *arg) {
    job *jb = arg;
    cursor *last_value = malloc((size_t)jb->nkeys * sizeof *last_value);
    int *last_kind = malloc((size_t)jb->nkeys * sizeof *last_kind);
    if (last_value == NULL || last_kind == NULL) {
        jb->bad = -2;
    } else {
        for (size_t r = jb->lo; r < jb->hi; r++) {
            if (parse_one(jb, r, last_value, last_kind) != 0) {
                jb->bad = (int64_t)r;
                break;
            }
        }
    }
    free(last_value);
    free(last_kind);
    return NULL;
}

static est_status run_jobs(const char *const *records, const size_t *lengths, size_t n,
                           const est_example_key *keys, int nkeys, uint8_t *found,
                           int num_threads, int64_t *bad, int64_t *counts,
                           const uint64_t *strides) {
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    (void)records; (void)lengths; (void)n; (void)keys; (void)nkeys; (void)found;
    (void)num_threads; (void)bad; (void)counts; (void)strides;
    return EST_ERR_FAILED_PRECONDITION;  /* big-endian hosts: the caller's own decoder */
#else
    if (bad == NULL || nkeys < 1 || keys == NULL || num_threads < 1 ||
        (n && (records == NULL || lengths == NULL || found == NULL)) ||
        (n && counts == NULL && strides != NULL))
        return EST_ERR_INVALID_ARGUMENT;
    *bad = -1;
    for (int k = 0; k < nkeys; k++) {
        if ((keys[k].name == NULL && keys[k].name_len) || keys[k].kind < EST_EXAMPLE_BYTES ||
            keys[k].kind > EST_EXAMPLE_INT64)
            return EST_ERR_INVALID_ARGUMENT;
        uint64_t width = counts == NULL ? keys[k].count : strides == NULL ? 0 : strides[k];
        if (n && width && keys[k].out == NULL) return EST_ERR_INVALID_ARGUMENT;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += lengths[i];
    size_t nt = (size_t)num_threads;
    if (nt > EST_EXAMPLE_MAX_THREADS) nt = EST_EXAMPLE_MAX_THREADS;
    if (nt > 1 + bytes / (64 * 1024)) nt = 1 + bytes / (64 * 1024);
    if (nt > n) nt = n ? n : 1;
    job jobs[EST_EXAMPLE_MAX_THREADS];
    pthread_t tids[EST_EXAMPLE_MAX_THREADS];
    int started[EST_EXAMPLE_MAX_THREADS] = {0};
    for (size_t t = 0; t < nt; t++)
        jobs[t] = (job){records, lengths, n * t / nt, n * (t + 1) / nt, keys, nkeys, found, -1,
                        counts, strides};
    for (size_t t = 1; t < nt; t++)
        started[t] = pthread_create(&tids[t], NULL, worker, &jobs[t]) == 0;
    worker(&jobs[0]);
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tids[t], NULL);
        else worker(&jobs[t]);
    }
    for (size_t t = 0; t < nt; t++) {
        if (jobs[t].bad == -2) return EST_ERR_OUT_OF_MEMORY;
        if (jobs[t].bad >= 0) {
            *bad = jobs[t].bad;
            return EST_ERR_INVALID_ARGUMENT;
        }
    }
    return EST_OK;
#endif
}

est_status est_example_parse(const char *const *records, const size_t *lengths, size_t n,
                             const est_example_key *keys, int nkeys, uint8_t *found,
                             int num_threads, int64_t *bad) {
    return run_jobs(records, lengths, n, keys, nkeys, found, num_threads, bad, NULL, NULL);
}

est_status est_example_parse_varlen(const char *const *records, const size_t *lengths,
                                    size_t n, const est_example_key *keys, int nkeys,
                                    uint8_t *found, int64_t *counts, const uint64_t *strides,
                                    int num_threads, int64_t *bad) {
    if (n && counts == NULL) return EST_ERR_INVALID_ARGUMENT;
    return run_jobs(records, lengths, n, keys, nkeys, found, num_threads, bad,
                    n ? counts : NULL, n ? strides : NULL);
}
