/* est_csv.c -- CSV records into typed columns (contract: est_csv.h).
 *
 * Per record: split into field spans (checking quotes), check the field count,
 * then convert the kept fields. The split comes first so that a record with the
 * wrong field count reports the count, as TF does, before any conversion error.
 */
#include "estcore/est_csv.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const char ERR_QUOTE_ESC[] = "Quote inside a string has to be escaped by another quote";
static const char ERR_UNQUOTED[] = "Unquoted fields cannot have quotes/CRLFs inside";
static const char ERR_QUOTE_END[] = "Quoted field has to end with quote followed by delim or end";

typedef struct span {
    const char *p;
    size_t n;
    int escaped;
} span;

typedef struct job {
    const est_csv_config *cfg;
    const char *const *recs;
    const size_t *lens;
    size_t lo, hi;
    const est_csv_column *cols;
    int ncols;
    est_status st;
    est_csv_error err;
} job;

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static est_status job_fail(job *j, size_t rec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static est_status job_fail(job *j, size_t rec, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err.message, sizeof j->err.message, fmt, ap);
    va_end(ap);
    j->err.record = (int64_t)rec;
    j->st = EST_ERR_INVALID_ARGUMENT;
    return j->st;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define EST_CSV_SWAR 1
#endif

#ifdef EST_CSV_SWAR
/* Bytes of w equal to the byte repeated in pat: the high bit of the lowest such byte
 * is set (higher flags may be false positives; only the lowest is used). */
static inline uint64_t match_bytes(uint64_t w, uint64_t pat) {
    uint64_t x = w ^ pat;
    return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}
#endif

/* The first index >= pos of the delimiter, '\n', '\r' or (with quote) '"' in
 * rec[0, len), or len. Eight bytes at a time where the byte order allows. */
static size_t find_special(const char *rec, size_t pos, size_t len, char d, int quote) {
    size_t k = pos;
#ifdef EST_CSV_SWAR
    const uint64_t ones = 0x0101010101010101ull;
    const uint64_t pd = ones * (unsigned char)d, pn = ones * '\n', pr = ones * '\r';
    const uint64_t pq = ones * '"';
    while (k + 8 <= len) {
        uint64_t w;
        memcpy(&w, rec + k, 8);
        uint64_t m = match_bytes(w, pd) | match_bytes(w, pn) | match_bytes(w, pr);
        if (quote) m |= match_bytes(w, pq);
        if (m) return k + ((size_t)__builtin_ctzll(m) >> 3);
        k += 8;
    }
#endif
    for (; k < len; k++) {
        char c = rec[k];
        if (c == d || c == '\n' || c == '\r' || (quote && c == '"')) return k;
    }
    return len;
}

/* Split rec[0, len) into the kept fields fs[0, ncols); *count: fields found (all of
 * them without select_cols, the kept ones with it). NULL, or the error text. */
static const char *split(const est_csv_config *cfg, const char *rec, size_t len, int ncols,
                         span *fs, int64_t *count) {
    const int64_t *sel = cfg->select_cols;
    int64_t total = 0, col = 0;
    int kept = 0;
    const char d = cfg->delim;
    const int quote = cfg->use_quote;
    *count = 0;
    if (len == 0) return NULL;
    size_t pos = 0;
    for (;;) {
        span f = {rec + pos, 0, 0};
        size_t next;
        if (quote && pos < len && rec[pos] == '"') {
            size_t i = pos + 1;
            for (;;) {
                const char *q = i < len ? memchr(rec + i, '"', len - i) : NULL;
                if (q == NULL) return ERR_QUOTE_END;
                size_t qi = (size_t)(q - rec);
                if (qi + 1 < len && rec[qi + 1] == '"') {
                    f.escaped = 1;
                    i = qi + 2;
                    continue;
                }
                if (qi + 1 < len && rec[qi + 1] != d) return ERR_QUOTE_ESC;
                f.p = rec + pos + 1;
                f.n = qi - pos - 1;
                next = qi + 1;
                break;
            }
        } else {
            size_t k = find_special(rec, pos, len, d, quote);
            if (k < len && rec[k] != d) return ERR_UNQUOTED;
            f.n = k - pos;
            next = k;
        }
        if (sel != NULL) {
            if (col == sel[kept]) {
                fs[kept++] = f;
                if (kept == ncols) {
                    *count = kept;
                    return NULL;
                }
            }
        } else if (total < ncols) {
            fs[total] = f;
        }
        total++;
        col++;
        if (next >= len) break;
        pos = next + 1;
    }
    *count = sel != NULL ? kept : total;
    return NULL;
}

/* [ws] ['-'] digits [ws] within [lo, hi]. */
static int parse_int(const char *p, size_t n, int64_t lo, int64_t hi, int64_t *out) {
    size_t i = 0;
    while (i < n && is_ws(p[i])) i++;
    while (n > i && is_ws(p[n - 1])) n--;
    if (i == n) return -1;
    int neg = p[i] == '-';
    if (neg && ++i == n) return -1;
    uint64_t lim = neg ? (uint64_t)(-(lo + 1)) + 1u : (uint64_t)hi;
    while (i + 1 < n && p[i] == '0') i++;  /* leading zeros (one digit stays) */
    if (n - i > 19) {                      /* 20 digits or more: beyond int64 (or junk) */
        for (; i < n; i++)
            if ((unsigned)(unsigned char)p[i] - '0' > 9) return -1;
        return -1;
    }
    uint64_t v = 0;                        /* at most 19 digits: no uint64 overflow */
    for (; i < n; i++) {
        unsigned c = (unsigned)(unsigned char)p[i] - '0';
        if (c > 9) return -1;
        v = v * 10 + c;
    }
    if (v > lim) return -1;
    if (!neg) *out = (int64_t)v;
    else *out = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    return 0;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int lower_eq(const char *p, size_t n, const char *word) {
    size_t w = strlen(word);
    if (n != w) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != word[i]) return 0;
    }
    return 1;
}

/* strtod / strtof of p[0, n) (already validated). */
static double slow_real(const char *p, size_t n, int is_float, int *ok) {
    char stack[96];
    char *b = n < sizeof stack ? stack : malloc(n + 1);
    if (b == NULL) {
        *ok = 0;
        return 0;
    }
    memcpy(b, p, n);
    b[n] = 0;
    double v = is_float ? (double)strtof(b, NULL) : strtod(b, NULL);
    if (b != stack) free(b);
    *ok = 1;
    return v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* TF's float syntax (est_csv.h); the value in *out (as float when is_float). */
static int parse_real(const char *p, size_t n, int is_float, double *out) {
    size_t i = 0;
    while (i < n && is_ws(p[i])) i++;
    while (n > i && is_ws(p[n - 1])) n--;
    if (i == n) {
        *out = 0.0;
        return 0;
    }
    const char *s = p + i;
    size_t m = n - i, k = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        k = 1;
    }
    if (lower_eq(s + k, m - k, "inf")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (lower_eq(s + k, m - k, "nan")) {
        *out = NAN;
        return 0;
    }
    if (m - k > 2 && s[k] == '0' && (s[k + 1] == 'x' || s[k + 1] == 'X')) {
        uint64_t u = 0;
        for (size_t j = k + 2; j < m; j++)
            if (hexval(s[j]) < 0) return -1;
        if (m - k - 2 <= 15) {
            for (size_t j = k + 2; j < m; j++) u = u * 16 + (uint64_t)hexval(s[j]);
            double v = is_float ? (double)(float)u : (double)u;
            *out = neg ? -v : v;
            return 0;
        }
        int ok;
        double v = slow_real(s, m, is_float, &ok);
        if (!ok) return -1;
        *out = v;
        return 0;
    }
    /* decimal: mantissa digits, optional fraction, optional exponent */
    uint64_t mant = 0;
    int sig = 0, digits = 0;
    long frac = 0;
    size_t j = k;
    for (; j < m && s[j] >= '0' && s[j] <= '9'; j++, digits++) {
        if (mant == 0 && s[j] == '0') continue;
        if (sig < 19) mant = mant * 10 + (uint64_t)(s[j] - '0');
        sig++;
    }
    if (j < m && s[j] == '.') {
        for (j++; j < m && s[j] >= '0' && s[j] <= '9'; j++, digits++) {
            if (mant == 0 && s[j] == '0') {
                frac++;
                continue;
            }
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(s[j] - '0');
                frac++;
            }
            sig++;
        }
    }
    if (digits == 0) return -1;
    long e10 = 0;
    if (j < m && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        int eneg = 0;
        if (j < m && (s[j] == '+' || s[j] == '-')) eneg = s[j++] == '-';
        if (j == m) return -1;
        for (; j < m && s[j] >= '0' && s[j] <= '9'; j++)
            if (e10 < 100000) e10 = e10 * 10 + (s[j] - '0');
        if (eneg) e10 = -e10;
    }
    if (j != m) return -1;
    if (mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    long e = e10 - frac;
    if (sig <= 19 && mant <= ((uint64_t)1 << 53) && e >= -22 && e <= 22) {
        double d = (double)mant;
        d = e < 0 ? d / POW10[-e] : d * POW10[e];
        if (!is_float) {
            *out = neg ? -d : d;
            return 0;
        }
        /* d is the correctly rounded double; rounding it to float is correct unless
         * d falls exactly on the midpoint of two floats (a double rounding): in the
         * normal float range that is a double whose 29 bits below float precision are
         * exactly 1 followed by zeros. Outside that range, the slow path. */
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        if (d >= 0x1p-126 && d <= 0x1.fffffep127 &&
            (bits & 0x1FFFFFFFull) != 0x10000000ull) {
            double back = (double)(float)d;
            *out = neg ? -back : back;
            return 0;
        }
    }
    int ok;
    double v = slow_real(s, m, is_float, &ok);
    if (!ok) return -1;
    *out = v;
    return 0;
}

static const char *type_name(int type) {
    switch (type) {
    case EST_CSV_INT32: return "int32";
    case EST_CSV_INT64: return "int64";
    case EST_CSV_FLOAT: return "float";
    default: return "double";
    }
}

/* The fast path: one pass over a plain record (unquoted, unpadded numbers in the
 * exact fast-conversion range, non-empty fields that are not na_value), writing each
 * column as it goes. Anything else returns -1 and the record takes the full
 * path (split, count check, conversion), which gives the same values for what this
 * accepts and TF's errors for the rest. */
#define FAST_WORDS 4                 /* records up to 256 bytes get delimiter bitmaps */
#define FAST_MAX (64 * FAST_WORDS)

/* Bit k of dm: rec[k] is the delimiter. Returns 1 if the record holds '\n', '\r' or
 * (with quote) '"', which the fast path leaves to the full path. */
static int scan_masks(const char *rec, size_t len, char d, int quote, uint64_t *dm) {
    memset(dm, 0, FAST_WORDS * sizeof *dm);
    unsigned special = 0;
    size_t i = 0;
#ifdef __SSE2__
    const __m128i vd = _mm_set1_epi8(d), vq = _mm_set1_epi8('"');
    const __m128i vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(rec + i));
        unsigned md = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vd));
        __m128i sp = _mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vr));
        if (quote) sp = _mm_or_si128(sp, _mm_cmpeq_epi8(x, vq));
        special |= (unsigned)_mm_movemask_epi8(sp);
        dm[i >> 6] |= (uint64_t)md << (i & 63);
    }
#endif
    for (; i < len; i++) {
        char c = rec[i];
        dm[i >> 6] |= (uint64_t)(c == d) << (i & 63);
        special |= (unsigned)(c == '\n' || c == '\r' || (quote && c == '"'));
    }
    return special != 0;
}

/* The first delimiter at or after pos (len if none), from the bitmaps. */
static size_t mask_next(const uint64_t *dm, size_t pos, size_t len) {
    size_t w = pos >> 6;
    if (w >= FAST_WORDS) return len;
    uint64_t bits = dm[w] & (~0ull << (pos & 63));
    while (bits == 0) {
        if (++w >= FAST_WORDS) return len;
        bits = dm[w];
    }
    size_t k = (w << 6) + (size_t)__builtin_ctzll(bits);
    return k < len ? k : len;
}

static int fast_record(const est_csv_config *cfg, const char *rec, size_t len,
                       const est_csv_column *cols, int ncols, size_t r) {
    const char d = cfg->delim;
    const int64_t *sel = cfg->select_cols;
    size_t i = 0;
    int64_t src = 0;  /* source column at i */
    uint64_t dm[FAST_WORDS];
    const int masked = len <= FAST_MAX;
    if (masked && scan_masks(rec, len, d, cfg->use_quote, dm)) return -1;
#define FIELD_END(from) \
    (masked ? mask_next(dm, (from), len) : find_special(rec, (from), len, d, cfg->use_quote))
    for (int c = 0; c < ncols; c++) {
        const est_csv_column *col = &cols[c];
        for (; sel != NULL && src < sel[c]; src++) {  /* fields not kept: skip them */
            if (i < len && rec[i] == '"' && cfg->use_quote) return -1;
            i = FIELD_END(i);
            if (i >= len || rec[i] != d) return -1;
            i++;
        }
        src++;
        const size_t start = i;
        if (col->type == EST_CSV_STRING) {
            if (i < len && rec[i] == '"' && cfg->use_quote) return -1;
            i = FIELD_END(i);
            if (i == start || (i < len && rec[i] != d)) return -1;
            est_csv_field *o = &((est_csv_field *)col->out)[r];
            o->offset = (uint32_t)start;
            o->length = (uint32_t)(i - start);
            o->flags = 0;
        } else {
            int neg = 0;
            if (i < len && rec[i] == '-') {
                neg = 1;
                i++;
            }
            uint64_t m = 0;
            int digits = 0;
            while (i < len && (unsigned)(unsigned char)rec[i] - '0' <= 9) {
                m = m * 10 + (uint64_t)(rec[i] - '0');
                i++;
                digits++;
            }
            if (col->type <= EST_CSV_INT64) {
                if (digits == 0 || digits > 18) return -1;
                int64_t v = neg ? -(int64_t)m : (int64_t)m;
                if (col->type == EST_CSV_INT32) {
                    if (v < INT32_MIN || v > INT32_MAX) return -1;
                    ((int32_t *)col->out)[r] = (int32_t)v;
                } else {
                    ((int64_t *)col->out)[r] = v;
                }
            } else {
                long e = 0;
                if (i < len && rec[i] == '.') {
                    i++;
                    while (i < len && (unsigned)(unsigned char)rec[i] - '0' <= 9) {
                        m = m * 10 + (uint64_t)(rec[i] - '0');
                        i++;
                        digits++;
                        e--;
                    }
                }
                if (digits == 0 || digits > 19 || m > ((uint64_t)1 << 53) || e < -22)
                    return -1;
                if (i < len && (rec[i] == 'e' || rec[i] == 'E')) return -1;
                double v = (double)m;
                if (e < 0) v /= POW10[-e];
                if (col->type == EST_CSV_FLOAT) {
                    uint64_t bits;
                    memcpy(&bits, &v, sizeof bits);
                    if (m != 0 && (v < 0x1p-126 || v > 0x1.fffffep127 ||
                                   (bits & 0x1FFFFFFFull) == 0x10000000ull))
                        return -1;
                    float f = (float)v;
                    ((float *)col->out)[r] = neg ? -f : f;
                } else {
                    ((double *)col->out)[r] = neg ? -v : v;
                }
            }
            if (i < len && rec[i] != d) return -1;
        }
        if (cfg->na_len && i - start == cfg->na_len &&
            memcmp(rec + start, cfg->na_value, cfg->na_len) == 0)
            return -1;                /* an NA field: the full path takes the default */
        if (c + 1 < ncols) {
            if (i >= len) return -1;  /* too few fields */
            i++;                      /* the delimiter */
        } else if (i != len && sel == NULL) {
            return -1;                /* more fields (with select_cols: not examined) */
        }
    }
    return 0;
#undef FIELD_END
}

static est_status run_range(job *j, span *fs) {
    const est_csv_config *cfg = j->cfg;
    const int ncols = j->ncols;
    for (size_t r = j->lo; r < j->hi; r++) {
        const char *rec = j->recs[r];
        size_t len = j->lens[r];
        if (!cfg->full_path_only && fast_record(cfg, rec, len, j->cols, ncols, r) == 0)
            continue;
        int64_t count = 0;
        const char *msg = split(cfg, rec, len, ncols, fs, &count);
        if (msg != NULL) return job_fail(j, r, "%s", msg);
        if (count != ncols)
            return job_fail(j, r, "Expect %d fields but have %lld in record %zu", ncols,
                            (long long)count, r);
        for (int c = 0; c < ncols; c++) {
            const est_csv_column *col = &j->cols[c];
            span f = fs[c];
            int na = f.n == 0 || (cfg->na_len && !f.escaped && f.n == cfg->na_len &&
                                  memcmp(f.p, cfg->na_value, f.n) == 0);
            if (na && !col->has_default)
                return job_fail(j, r, "Field %d is required but missing in record %zu!", c, r);
            int64_t iv;
            double dv;
            switch (col->type) {
            case EST_CSV_INT32:
                if (na) iv = col->def.i32;
                else if (parse_int(f.p, f.n, INT32_MIN, INT32_MAX, &iv) != 0) goto bad;
                ((int32_t *)col->out)[r] = (int32_t)iv;
                break;
            case EST_CSV_INT64:
                if (na) iv = col->def.i64;
                else if (parse_int(f.p, f.n, INT64_MIN, INT64_MAX, &iv) != 0) goto bad;
                ((int64_t *)col->out)[r] = iv;
                break;
            case EST_CSV_FLOAT:
                if (na) dv = col->def.f32;
                else if (parse_real(f.p, f.n, 1, &dv) != 0) goto bad;
                ((float *)col->out)[r] = (float)dv;
                break;
            case EST_CSV_DOUBLE:
                if (na) dv = col->def.f64;
                else if (parse_real(f.p, f.n, 0, &dv) != 0) goto bad;
                ((double *)col->out)[r] = dv;
                break;
            default: {
                est_csv_field *o = &((est_csv_field *)col->out)[r];
                o->offset = (uint32_t)(f.p - rec);
                o->length = (uint32_t)f.n;
                o->flags = (na ? EST_CSV_DEFAULT : 0) | (f.escaped ? EST_CSV_ESCAPED : 0);
                break;
            }
            }
            continue;
        bad:
            return job_fail(j, r, "Field %d in record %zu is not a valid %s: %.*s", c, r,
                            type_name(col->type), f.n > 200 ? 200 : (int)f.n, f.p);
        }
    }
    return EST_OK;
}

static void *worker(void *arg) {
    job *j = arg;
    span *fs = malloc((size_t)j->ncols * sizeof *fs);
    if (fs == NULL) {
        j->st = EST_ERR_OUT_OF_MEMORY;
        snprintf(j->err.message, sizeof j->err.message, "out of memory");
        return NULL;
    }
    run_range(j, fs);
    free(fs);
    return NULL;
}

est_status est_csv_parse(const est_csv_config *cfg, const char *const *records,
                         const size_t *lengths, size_t n, const est_csv_column *cols,
                         int ncols, est_csv_error *err) {
    if (err != NULL) {
        err->record = -1;
        err->message[0] = 0;
    }
    if (cfg == NULL || err == NULL || cols == NULL || ncols < 1 || cfg->num_threads < 1 ||
        (n && (records == NULL || lengths == NULL)))
        return EST_ERR_INVALID_ARGUMENT;
    for (int c = 0; c < ncols; c++) {
        if (cols[c].type < EST_CSV_INT32 || cols[c].type > EST_CSV_STRING ||
            (n && cols[c].out == NULL))
            return EST_ERR_INVALID_ARGUMENT;
        if (cfg->select_cols != NULL &&
            (cfg->select_cols[c] < 0 || (c && cfg->select_cols[c] <= cfg->select_cols[c - 1])))
            return EST_ERR_INVALID_ARGUMENT;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (lengths[i] > UINT32_MAX) {
            snprintf(err->message, sizeof err->message,
                     "record %zu has %zu bytes; records over 4 GiB are not supported", i,
                     lengths[i]);
            err->record = (int64_t)i;
            return EST_ERR_INVALID_ARGUMENT;
        }
        bytes += lengths[i];
    }
    size_t nt = (size_t)cfg->num_threads;
    if (nt > EST_CSV_MAX_THREADS) nt = EST_CSV_MAX_THREADS;
    if (nt > 1 + bytes / (64 * 1024)) nt = 1 + bytes / (64 * 1024);
    if (nt > n) nt = n ? n : 1;
    job jobs[EST_CSV_MAX_THREADS];
    pthread_t tids[EST_CSV_MAX_THREADS];
    int started[EST_CSV_MAX_THREADS] = {0};
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (job){cfg, records, lengths, n * t / nt, n * (t + 1) / nt, cols, ncols,
                        EST_OK, {-1, {0}}};
    }
    for (size_t t = 1; t < nt; t++)
        started[t] = pthread_create(&tids[t], NULL, worker, &jobs[t]) == 0;
    worker(&jobs[0]);
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tids[t], NULL);
        else worker(&jobs[t]);  /* no thread: run the range here */
    }
    for (size_t t = 0; t < nt; t++) {
        if (jobs[t].st != EST_OK) {
            *err = jobs[t].err;
            return jobs[t].st;
        }
    }
    return EST_OK;
}

est_status est_csv_numbers(const char *const *strings, const size_t *lengths, size_t n,
                           int type, void *out, int64_t *bad) {
    if (bad == NULL || type < EST_CSV_INT32 || type > EST_CSV_DOUBLE ||
        (n && (strings == NULL || lengths == NULL || out == NULL)))
        return EST_ERR_INVALID_ARGUMENT;
    *bad = -1;
    for (size_t i = 0; i < n; i++) {
        const char *p = strings[i];
        size_t len = lengths[i];
        int64_t iv;
        double dv;
        int rc = -1;
        if (len == 0) {
            rc = -1;
        } else if (type == EST_CSV_INT32) {
            rc = parse_int(p, len, INT32_MIN, INT32_MAX, &iv);
            if (rc == 0) ((int32_t *)out)[i] = (int32_t)iv;
        } else if (type == EST_CSV_INT64) {
            rc = parse_int(p, len, INT64_MIN, INT64_MAX, &iv);
            if (rc == 0) ((int64_t *)out)[i] = iv;
        } else {
            rc = parse_real(p, len, type == EST_CSV_FLOAT, &dv);
            if (rc == 0 && type == EST_CSV_FLOAT) ((float *)out)[i] = (float)dv;
            else if (rc == 0) ((double *)out)[i] = dv;
        }
        if (rc != 0) {
            *bad = (int64_t)i;
            return EST_ERR_INVALID_ARGUMENT;
        }
    }
    return EST_OK;
}
