/* test_example.c -- parse_example's kernel on hand-encoded Examples: packed and
 * unpacked values, unknown fields, the last entry of a key wins, entries without a
 * value or a kind replace nothing, kind / count mismatches and malformed bytes stop
 * the parse at the lowest bad record for any thread count. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est_test.h"
#include "estcore/est_example.h"

typedef struct buf {
    unsigned char b[4096];
    size_t n;
} buf;

static void put_varint(buf *o, uint64_t v) {
    do {
        unsigned char c = v & 0x7F;
        v >>= 7;
        o->b[o->n++] = (unsigned char)(c | (v ? 0x80 : 0));
    } while (v);
}

static void put_bytes(buf *o, uint32_t field, const void *p, size_t n) {
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, n);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

/* entry(key, feature) wrapped as Features.feature[...] */
static void put_entry(buf *features, const char *key, const buf *feature) {
    buf e = {{0}, 0};
    put_bytes(&e, 1, key, strlen(key));
    if (feature) put_bytes(&e, 2, feature->b, feature->n);
    put_bytes(features, 1, e.b, e.n);
}

static buf float_feature(const float *v, int n, int packed) {
    buf list = {{0}, 0}, f = {{0}, 0};
    if (packed) {
        put_bytes(&list, 1, v, (size_t)n * 4);
    } else {
        for (int i = 0; i < n; i++) {
            put_varint(&list, 1 << 3 | 5);
            memcpy(list.b + list.n, &v[i], 4);
            list.n += 4;
        }
    }
    put_varint(&list, 9 << 3 | 0);  /* an unknown field inside the list */
    put_varint(&list, 5);
    put_bytes(&f, EST_EXAMPLE_FLOAT, list.b, list.n);
    return f;
}

static buf int_feature(const int64_t *v, int n, int packed) {
    buf list = {{0}, 0}, f = {{0}, 0}, pk = {{0}, 0};
    for (int i = 0; i < n; i++) {
        if (packed) {
            put_varint(&pk, (uint64_t)v[i]);
        } else {
            put_varint(&list, 1 << 3 | 0);
            put_varint(&list, (uint64_t)v[i]);
        }
    }
    if (packed) put_bytes(&list, 1, pk.b, pk.n);
    put_bytes(&f, EST_EXAMPLE_INT64, list.b, list.n);
    return f;
}

static buf bytes_feature(const char *a, const char *b) {
    buf list = {{0}, 0}, f = {{0}, 0};
    put_bytes(&list, 1, a, strlen(a));
    put_bytes(&list, 1, b, strlen(b));
    put_bytes(&f, EST_EXAMPLE_BYTES, list.b, list.n);
    return f;
}

static buf example(const buf *features) {
    buf e = {{0}, 0};
    put_varint(&e, 7 << 3 | 0);  /* an unknown top-level field */
    put_varint(&e, 300);
    put_bytes(&e, 1, features->b, features->n);
    return e;
}

typedef struct outs {
    float f[2];
    int64_t i[3];
    est_example_span s[2];
    uint8_t found[3];
} outs;

static est_status parse1(const buf *e, outs *o, int64_t *bad) {
    est_example_key keys[3] = {{"f", 1, EST_EXAMPLE_FLOAT, 2, o->f},
                               {"ids", 3, EST_EXAMPLE_INT64, 3, o->i},
                               {"s", 1, EST_EXAMPLE_BYTES, 2, o->s}};
    const char *rec = (const char *)e->b;
    size_t len = e->n;
    memset(o->found, 7, sizeof o->found);
    return est_example_parse(&rec, &len, 1, keys, 3, o->found, 1, bad);
}

static void test_values(void) {
    const float fv[2] = {1.5f, -2.25f};
    const int64_t iv[3] = {-1, 300, INT64_MAX};
    for (int packed = 0; packed < 2; packed++) {
        buf feats = {{0}, 0};
        buf ff = float_feature(fv, 2, packed), fi = int_feature(iv, 3, packed);
        buf fs = bytes_feature("ab", "");
        put_entry(&feats, "other", &fi);
        put_entry(&feats, "f", &ff);
        put_entry(&feats, "ids", &fi);
        put_entry(&feats, "s", &fs);
        buf e = example(&feats);
        outs o;
        int64_t bad;
        CHECK(parse1(&e, &o, &bad) == EST_OK);
        CHECK_EQ(bad, (uint64_t)-1);
        CHECK(o.found[0] == 1 && o.found[1] == 1 && o.found[2] == 1);
        CHECK(o.f[0] == 1.5f && o.f[1] == -2.25f);
        CHECK(o.i[0] == -1 && o.i[1] == 300 && o.i[2] == INT64_MAX);
        CHECK(o.s[0].length == 2 && memcmp(e.b + o.s[0].offset, "ab", 2) == 0);
        CHECK(o.s[1].length == 0);
    }
}

static void test_last_wins_and_missing(void) {
    const float a[2] = {1, 2}, b[2] = {3, 4}, three[3] = {0, 0, 0};
    buf feats = {{0}, 0};
    buf fa = float_feature(a, 2, 1), f3 = float_feature(three, 3, 1), fb = float_feature(b, 2, 0);
    buf nokind = {{0}, 0};
    put_entry(&feats, "f", &f3);   /* wrong count, but replaced below */
    put_entry(&feats, "f", &fa);
    put_entry(&feats, "f", &fb);   /* the last valid one wins */
    put_entry(&feats, "f", NULL);  /* no value: replaces nothing */
    put_entry(&feats, "f", &nokind);  /* a Feature without a kind: replaces nothing */
    buf e = example(&feats);
    outs o;
    int64_t bad;
    CHECK(parse1(&e, &o, &bad) == EST_OK);
    CHECK(o.found[0] == 1 && o.f[0] == 3 && o.f[1] == 4);
    CHECK(o.found[1] == 0 && o.found[2] == 0);  /* absent keys */
    buf empty = {{0}, 0};
    CHECK(parse1(&empty, &o, &bad) == EST_OK);  /* an empty Example: all missing */
    CHECK(o.found[0] == 0 && o.found[1] == 0 && o.found[2] == 0);
}

static void test_bad_records(void) {
    const float fv[3] = {1, 2, 3};
    const int64_t iv[2] = {1, 2};
    outs o;
    int64_t bad;
    buf feats = {{0}, 0};
    buf f3 = float_feature(fv, 3, 1);
    put_entry(&feats, "f", &f3);  /* 3 values for a count of 2 */
    buf e = example(&feats);
    CHECK(parse1(&e, &o, &bad) == EST_ERR_INVALID_ARGUMENT && bad == 0);
    buf feats2 = {{0}, 0};
    buf fi = int_feature(iv, 2, 1);
    put_entry(&feats2, "f", &fi);  /* int64 where float is expected */
    e = example(&feats2);
    CHECK(parse1(&e, &o, &bad) == EST_ERR_INVALID_ARGUMENT && bad == 0);
    buf junk = {{0x0a, 0x7f, 0x01}, 3};  /* a length beyond the end */
    CHECK(parse1(&junk, &o, &bad) == EST_ERR_INVALID_ARGUMENT && bad == 0);
    buf trunc = {{0x08, 0x80}, 2};       /* a truncated varint */
    CHECK(parse1(&trunc, &o, &bad) == EST_ERR_INVALID_ARGUMENT && bad == 0);
    buf odd = {{0}, 0}, list = {{0}, 0}, feat = {{0}, 0}, fs = {{0}, 0};
    put_bytes(&list, 1, "abcde", 5);      /* a packed float list of 5 bytes */
    put_bytes(&feat, EST_EXAMPLE_FLOAT, list.b, list.n);
    put_entry(&fs, "f", &feat);
    odd = example(&fs);
    CHECK(parse1(&odd, &o, &bad) == EST_ERR_INVALID_ARGUMENT && bad == 0);
}

static void test_threads_lowest_bad(void) {
    enum { N = 30000 };
    const float fv[2] = {1, 2};
    const int64_t iv[3] = {4, 5, 6};
    buf feats = {{0}, 0};
    buf ff = float_feature(fv, 2, 1), fi = int_feature(iv, 3, 1), fs = bytes_feature("x", "y");
    put_entry(&feats, "f", &ff);
    put_entry(&feats, "ids", &fi);
    put_entry(&feats, "s", &fs);
    buf good = example(&feats);
    buf junk = {{0x0a, 0x7f, 0x01}, 3};
    const char **recs = malloc(N * sizeof *recs);
    size_t *lens = malloc(N * sizeof *lens);
    float *f = malloc(N * 2 * sizeof *f);
    int64_t *ids = malloc(N * 3 * sizeof *ids);
    est_example_span *s = malloc(N * 2 * sizeof *s);
    uint8_t *found = malloc(N * 3);
    CHECK(recs && lens && f && ids && s && found);
    for (int i = 0; i < N; i++) {
        recs[i] = (const char *)good.b;
        lens[i] = good.n;
    }
    est_example_key keys[3] = {{"f", 1, EST_EXAMPLE_FLOAT, 2, f},
                               {"ids", 3, EST_EXAMPLE_INT64, 3, ids},
                               {"s", 1, EST_EXAMPLE_BYTES, 2, s}};
    for (int t = 1; t <= 8; t++) {
        int64_t bad;
        CHECK(est_example_parse(recs, lens, N, keys, 3, found, t, &bad) == EST_OK);
        CHECK(f[2 * (N - 1) + 1] == 2 && ids[3 * 777 + 2] == 6 && found[3 * 123 + 2] == 1);
        recs[N - 10] = recs[N / 2] = (const char *)junk.b;
        lens[N - 10] = lens[N / 2] = junk.n;
        CHECK(est_example_parse(recs, lens, N, keys, 3, found, t, &bad) ==
              EST_ERR_INVALID_ARGUMENT);
        CHECK_EQ(bad, N / 2);
        recs[N - 10] = recs[N / 2] = (const char *)good.b;
        lens[N - 10] = lens[N / 2] = good.n;
    }
    free(recs);
    free(lens);
    free(f);
    free(ids);
    free(s);
    free(found);
}

/* VarLen: counts (0 when absent), a count pass without outputs, then values written
 * row-padded at the given strides (the padding untouched); a kind mismatch, a count over
 * the stride and junk bytes stop at the record. */
static void test_varlen(void) {
    const float fv[3] = {1.5f, -2.0f, 4.0f};
    const int64_t iv[2] = {-7, 9};
    buf f3 = float_feature(fv, 3, 1), f1 = float_feature(fv, 1, 0), fi = int_feature(iv, 2, 0);
    buf fs = bytes_feature("ab", "c");
    buf a = {{0}, 0}, b = {{0}, 0}, c = {{0}, 0};
    put_entry(&a, "f", &f3);
    put_entry(&a, "s", &fs);
    put_entry(&b, "ids", &fi);
    put_entry(&b, "f", &f1);
    buf ea = example(&a), eb = example(&b), ec = example(&c);
    const char *recs[3] = {(const char *)ea.b, (const char *)eb.b, (const char *)ec.b};
    size_t lens[3] = {ea.n, eb.n, ec.n};
    est_example_key keys[3] = {{"f", 1, EST_EXAMPLE_FLOAT, 0, NULL},
                               {"ids", 3, EST_EXAMPLE_INT64, 0, NULL},
                               {"s", 1, EST_EXAMPLE_BYTES, 0, NULL}};
    int64_t counts[9], bad;
    uint8_t found[9];
    memset(counts, 0x55, sizeof counts);
    CHECK(est_example_parse_varlen(recs, lens, 3, keys, 3, found, counts, NULL, 2, &bad) ==
          EST_OK);
    CHECK_EQ(bad, (uint64_t)-1);
    CHECK(counts[0] == 3 && counts[1] == 0 && counts[2] == 2);
    CHECK(counts[3] == 1 && counts[4] == 2 && counts[5] == 0);
    CHECK(counts[6] == 0 && counts[7] == 0 && counts[8] == 0);
    CHECK(found[0] == 1 && found[1] == 0 && found[4] == 1 && found[8] == 0);
    float f[9];
    int64_t ids[6];
    est_example_span s[6];
    for (int i = 0; i < 9; i++) f[i] = 99.0f;
    for (int i = 0; i < 6; i++) ids[i] = 99;
    keys[0].out = f;
    keys[1].out = ids;
    keys[2].out = s;
    const uint64_t strides[3] = {3, 2, 2};
    CHECK(est_example_parse_varlen(recs, lens, 3, keys, 3, found, counts, strides, 1, &bad) ==
          EST_OK);
    CHECK(f[0] == 1.5f && f[1] == -2.0f && f[2] == 4.0f && f[3] == 1.5f && f[4] == 99.0f);
    CHECK(f[6] == 99.0f && ids[0] == 99 && ids[2] == -7 && ids[3] == 9 && ids[4] == 99);
    CHECK(s[0].length == 2 && memcmp(ea.b + s[0].offset, "ab", 2) == 0 && s[1].length == 1);
    const uint64_t narrow[3] = {2, 2, 2};
    CHECK(est_example_parse_varlen(recs, lens, 3, keys, 3, found, counts, narrow, 1, &bad) ==
          EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(bad, 0);
    keys[1].kind = EST_EXAMPLE_FLOAT;  /* record 1 holds int64 values */
    CHECK(est_example_parse_varlen(recs, lens, 3, keys, 3, found, counts, NULL, 1, &bad) ==
          EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(bad, 1);
    keys[1].kind = EST_EXAMPLE_INT64;
    buf junk = {{0x0a, 0x7f, 0x01}, 3};
    recs[2] = (const char *)junk.b;
    lens[2] = junk.n;
    CHECK(est_example_parse_varlen(recs, lens, 3, keys, 3, found, counts, NULL, 1, &bad) ==
          EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(bad, 2);
    CHECK(est_example_parse_varlen(recs, lens, 3, keys, 3, found, NULL, NULL, 1, &bad) ==
          EST_ERR_INVALID_ARGUMENT);
}

int main(void) {
    RUN(test_values);
    RUN(test_last_wins_and_missing);
    RUN(test_bad_records);
    RUN(test_threads_lowest_bad);
    RUN(test_varlen);
    return 0;
}
