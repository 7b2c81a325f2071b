/* test_records.c -- record framing: lines (every '\r' dropped, last line), fixed
 * records (header, footer, the body check at open and at the end), TFRecord (both
 * checksums, truncation), fd and push modes agree for every buffer size and every
 * feed cut, chunk limits, skip, error persistence. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "est_test.h"
#include "estcore/est_crc32c.h"
#include "estcore/est_records.h"

#define MAXREC 64

typedef struct got {
    int n;
    char rec[MAXREC][64];
    size_t len[MAXREC];
    est_status st;   /* the status that ended the walk (OUT_OF_RANGE = clean end) */
    int kind;
    char err[EST_RECORDS_ERROR_LEN];
} got;

static void take(got *g, const est_records_chunk *c) {
    for (uint64_t i = 0; i < c->count; i++) {
        CHECK(g->n < MAXREC);
        CHECK(c->lengths[i] < 64);
        CHECK_EQ(c->first + i, (uint64_t)g->n);
        memcpy(g->rec[g->n], c->base + c->offsets[i], c->lengths[i]);
        g->len[g->n++] = c->lengths[i];
    }
}

static void finish(got *g, est_records *r, est_status st) {
    g->st = st;
    g->kind = est_records_error_kind(r);
    est_records_error(r, g->err, sizeof g->err);
}

/* Push mode: the data fed in pieces of `cut` bytes, chunks of at most max_records. */
static got run_push(const est_records_config *cfg, const char *data, size_t len, size_t cut,
                    uint64_t max_records) {
    got g;
    memset(&g, 0, sizeof g);
    est_records *r = NULL;
    CHECK(est_records_open_push(cfg, &r) == EST_OK);
    size_t pos = 0;
    for (;;) {
        est_records_chunk c;
        est_status st = est_records_next(r, max_records, 0, &c);
        if (st != EST_OK) {
            finish(&g, r, st);
            break;
        }
        take(&g, &c);
        if (c.need_input) {
            CHECK_EQ(c.count, 0);
            size_t k = len - pos < cut ? len - pos : cut;
            CHECK(est_records_feed(r, data + pos, k, pos + k == len) == EST_OK);
            pos += k;
        }
    }
    est_records_destroy(r);
    return g;
}

/* fd mode over a temporary file holding the data. */
static got run_fd(const est_records_config *cfg, const char *data, size_t len,
                  uint64_t max_records) {
    got g;
    memset(&g, 0, sizeof g);
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK_EQ(fwrite(data, 1, len, f), len);
    fflush(f);
    int fd = fileno(f);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    est_records *r = NULL;
    CHECK(est_records_open_fd(cfg, fd, (int64_t)len, &r) == EST_OK);
    for (;;) {
        est_records_chunk c;
        est_status st = est_records_next(r, max_records, 0, &c);
        if (st != EST_OK) {
            finish(&g, r, st);
            break;
        }
        CHECK(c.count > 0);
        CHECK_EQ(c.need_input, 0);
        take(&g, &c);
    }
    /* the error (or the end) repeats */
    est_records_chunk c;
    CHECK(est_records_next(r, max_records, 0, &c) == g.st);
    est_records_destroy(r);
    fclose(f);
    return g;
}

static void same(const got *a, const got *b) {
    CHECK_EQ(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        CHECK_EQ(a->len[i], b->len[i]);
        CHECK(memcmp(a->rec[i], b->rec[i], a->len[i]) == 0);
    }
    CHECK_EQ(a->st, b->st);
    CHECK_EQ(a->kind, b->kind);
    CHECK(strcmp(a->err, b->err) == 0);
}

/* Every buffer size, cut and chunk limit gives the same result as fd mode with
 * the defaults. */
static got run_all(const est_records_config *base, const char *data, size_t len) {
    got ref = run_fd(base, data, len, 1000);
    for (size_t buf = 64; buf <= 256; buf += 64) {
        est_records_config cfg = *base;
        cfg.buffer_size = buf;
        for (uint64_t mr = 1; mr <= 5; mr += 2) {
            got a = run_fd(&cfg, data, len, mr);
            same(&ref, &a);
            for (size_t cut = 1; cut <= 13; cut += 3) {
                got b = run_push(&cfg, data, len, cut, mr);
                /* push mode cannot know the size: a FIXED body error comes at the end */
                if (base->format != EST_RECORDS_FIXED || ref.kind != EST_RECORDS_INVALID)
                    same(&ref, &b);
            }
        }
    }
    return ref;
}

static int is(const got *g, int i, const char *s) {
    return g->len[i] == strlen(s) && memcmp(g->rec[i], s, g->len[i]) == 0;
}

static void test_lines(void) {
    est_records_config cfg = {EST_RECORDS_LINES, 0, 0, 0, 0};
    const char data[] = "l1\r\nl2\n\nl3\r\r\na\rb\nlast";
    got g = run_all(&cfg, data, sizeof data - 1);
    CHECK_EQ(g.st, EST_ERR_OUT_OF_RANGE);
    CHECK_EQ(g.n, 6);
    CHECK(is(&g, 0, "l1") && is(&g, 1, "l2") && is(&g, 2, "") && is(&g, 3, "l3"));
    CHECK(is(&g, 4, "ab") && is(&g, 5, "last"));
    const char only_cr[] = "x\n\r\r";  /* a last line of only '\r' is no record */
    g = run_all(&cfg, only_cr, sizeof only_cr - 1);
    CHECK_EQ(g.n, 1);
    const char nl[] = "\n\n";
    g = run_all(&cfg, nl, 2);
    CHECK_EQ(g.n, 2);
    g = run_all(&cfg, "", 0);
    CHECK_EQ(g.n, 0);
    CHECK_EQ(g.st, EST_ERR_OUT_OF_RANGE);
    /* lines longer than the buffer grow it (fd mode reads them whole) */
    char big[300];
    memset(big, 'z', sizeof big);
    big[150] = '\n';
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK_EQ(fwrite(big, 1, sizeof big, f), sizeof big);
    fflush(f);
    CHECK(lseek(fileno(f), 0, SEEK_SET) == 0);
    est_records_config small = cfg;
    small.buffer_size = 64;
    est_records *r = NULL;
    CHECK(est_records_open_fd(&small, fileno(f), -1, &r) == EST_OK);
    est_records_chunk c;
    uint64_t lens[2] = {0, 0};
    int n = 0;
    while (est_records_next(r, 10, 0, &c) == EST_OK)
        for (uint64_t i = 0; i < c.count; i++) {
            CHECK(n < 2);
            for (uint64_t k = 0; k < c.lengths[i]; k++) CHECK(c.base[c.offsets[i] + k] == 'z');
            lens[n++] = c.lengths[i];
        }
    CHECK_EQ(n, 2);
    CHECK_EQ(lens[0], 150);
    CHECK_EQ(lens[1], 149);
    est_records_destroy(r);
    fclose(f);
}

static void test_fixed(void) {
    est_records_config cfg = {EST_RECORDS_FIXED, 5, 2, 1, 0};
    const char data[] = "HHabcdefghijF";
    got g = run_all(&cfg, data, sizeof data - 1);
    CHECK_EQ(g.st, EST_ERR_OUT_OF_RANGE);
    CHECK_EQ(g.n, 2);
    CHECK(is(&g, 0, "abcde") && is(&g, 1, "fghij"));
    /* body of 10 bytes, records of 3: an error at open (fd) or after 3 records (push) */
    est_records_config three = {EST_RECORDS_FIXED, 3, 2, 1, 0};
    g = run_fd(&three, data, sizeof data - 1, 100);
    CHECK_EQ(g.n, 0);
    CHECK_EQ(g.st, EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(g.kind, EST_RECORDS_INVALID);
    CHECK(strstr(g.err, "body length 10 bytes") != NULL);
    got p = run_push(&three, data, sizeof data - 1, 4, 100);
    CHECK_EQ(p.n, 3);
    CHECK_EQ(p.kind, EST_RECORDS_DATA_LOSS);
    CHECK(strstr(p.err, "body length 10 bytes") != NULL);
    /* a stream shorter than its header */
    got s = run_push(&cfg, "H", 1, 1, 10);
    CHECK_EQ(s.kind, EST_RECORDS_DATA_LOSS);
    CHECK_EQ(s.n, 0);
    /* no header, no footer */
    est_records_config plain = {EST_RECORDS_FIXED, 4, 0, 0, 0};
    g = run_all(&plain, "abcdefgh", 8);
    CHECK_EQ(g.n, 2);
    CHECK(is(&g, 1, "efgh"));
}

static size_t put_tfrecord(char *out, const char *data, uint64_t n) {
    unsigned char *p = (unsigned char *)out;
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(n >> (8 * i));
    uint32_t c = est_crc32c_mask(est_crc32c(p, 8, 0));
    for (int i = 0; i < 4; i++) p[8 + i] = (unsigned char)(c >> (8 * i));
    memcpy(p + 12, data, n);
    c = est_crc32c_mask(est_crc32c(data, n, 0));
    for (int i = 0; i < 4; i++) p[12 + n + i] = (unsigned char)(c >> (8 * i));
    return 16 + n;
}

static void test_tfrecord(void) {
    est_records_config cfg = {EST_RECORDS_TFRECORD, 0, 0, 0, 0};
    char data[256];
    size_t len = 0;
    len += put_tfrecord(data + len, "rec0", 4);
    len += put_tfrecord(data + len, "", 0);
    len += put_tfrecord(data + len, "record-two", 10);
    got g = run_all(&cfg, data, len);
    CHECK_EQ(g.st, EST_ERR_OUT_OF_RANGE);
    CHECK_EQ(g.n, 3);
    CHECK(is(&g, 0, "rec0") && is(&g, 1, "") && is(&g, 2, "record-two"));

    char bad[256];
    memcpy(bad, data, len);
    bad[12] ^= 1;  /* record 0's data */
    g = run_all(&cfg, bad, len);
    CHECK_EQ(g.n, 0);
    CHECK_EQ(g.kind, EST_RECORDS_DATA_LOSS);
    CHECK(strstr(g.err, "corrupted record at 12 (record 0)") != NULL);

    memcpy(bad, data, len);
    bad[20 + 2] ^= 1;  /* record 1's length */
    g = run_all(&cfg, bad, len);
    CHECK_EQ(g.n, 1);
    CHECK(strstr(g.err, "corrupted record at 20 (record 1)") != NULL);
    CHECK(strstr(g.err, "Is this even") == NULL);

    memcpy(bad, data, len);
    bad[0] ^= 1;
    g = run_all(&cfg, bad, len);
    CHECK(strstr(g.err, "corrupted record at 0 (record 0)") != NULL);
    CHECK(strstr(g.err, "Is this even a TFRecord file?") != NULL);

    g = run_all(&cfg, data, len - 3);  /* cut inside the last record */
    CHECK_EQ(g.n, 2);
    CHECK_EQ(g.kind, EST_RECORDS_DATA_LOSS);
    CHECK(strstr(g.err, "truncated record at 36 (record 2)") != NULL);

    g = run_all(&cfg, data, 36 + 5);  /* cut inside the last header */
    CHECK_EQ(g.n, 2);
    CHECK(strstr(g.err, "truncated record at 36 (record 2)") != NULL);
}

static void test_skip(void) {
    est_records_config cfg = {EST_RECORDS_LINES, 0, 0, 0, 64};
    char data[400];
    size_t len = 0;
    for (int i = 0; i < 40; i++) len += (size_t)sprintf(data + len, "line%d\n", i);
    est_records *r = NULL;
    CHECK(est_records_open_push(&cfg, &r) == EST_OK);
    CHECK(est_records_feed(r, data, len, 1) == EST_OK);
    uint64_t skipped = 0;
    CHECK(est_records_skip(r, 33, &skipped) == EST_OK);
    CHECK_EQ(skipped, 33);
    CHECK_EQ(est_records_position(r), 33);
    est_records_chunk c;
    CHECK(est_records_next(r, 100, 0, &c) == EST_OK);
    CHECK_EQ(c.first, 33);
    CHECK_EQ(c.count, 7);
    CHECK(c.lengths[0] == 6 && memcmp(c.base + c.offsets[0], "line33", 6) == 0);
    CHECK(est_records_skip(r, 5, &skipped) == EST_OK);
    CHECK_EQ(skipped, 0);
    est_records_destroy(r);
    /* max_bytes bounds a chunk; one record always fits */
    CHECK(est_records_open_push(&cfg, &r) == EST_OK);
    CHECK(est_records_feed(r, data, len, 1) == EST_OK);
    CHECK(est_records_next(r, 100, 1, &c) == EST_OK);
    CHECK_EQ(c.count, 1);
    CHECK(est_records_next(r, 100, 20, &c) == EST_OK);  /* 6 bytes a line (+1): 4 lines */
    CHECK_EQ(c.count, 4);
    CHECK(est_records_feed(r, "x", 1, 0) == EST_ERR_FAILED_PRECONDITION);  /* after eof */
    est_records_destroy(r);
}

static void test_arguments(void) {
    est_records *r = NULL;
    est_records_config cfg = {EST_RECORDS_FIXED, 0, 0, 0, 0};
    CHECK(est_records_open_push(&cfg, &r) == EST_ERR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    cfg.format = 7;
    CHECK(est_records_open_push(&cfg, &r) == EST_ERR_INVALID_ARGUMENT);
    cfg.format = EST_RECORDS_LINES;
    CHECK(est_records_open_fd(&cfg, -1, -1, &r) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_records_open_push(&cfg, &r) == EST_OK);
    est_records_chunk c;
    CHECK(est_records_next(r, 0, 0, &c) == EST_ERR_INVALID_ARGUMENT);
    est_records_destroy(r);
    est_records_destroy(NULL);
}

int main(void) {
    RUN(test_lines);
    RUN(test_fixed);
    RUN(test_tfrecord);
    RUN(test_skip);
    RUN(test_arguments);
    return 0;
}
