/* test_sparse.c -- FarmHash fingerprints (values TF's StringToHashBucketFast agrees with,
 * see tests/graph/test_sparse_hash.py) and the row-sparse updates / combine. */
#include <string.h>

#include "estcore/est_sparse.h"
#include "est_test.h"

static void test_fingerprints(void) {
    char buf[101];
    memset(buf, 'x', 20);
    CHECK(est_fingerprint64("", 0) == 0x9ae16a3b2f90404full);
    CHECK(est_fingerprint64("a", 1) == 0xb3454265b6df75e3ull);
    CHECK(est_fingerprint64("hello world", 11) == 0x588fb7478bd6b01bull);
    CHECK(est_fingerprint64(buf, 20) == 0x7241ce1f8ef74dc4ull);
    memset(buf, 'y', 40);
    CHECK(est_fingerprint64(buf, 40) == 0x03d596369a03cfdeull);
    memset(buf, 'z', 100);
    CHECK(est_fingerprint64(buf, 100) == 0x7ff70a2c3be33a79ull);
    CHECK(est_fingerprint_cat64(0xDECAFCAFFEull, 12345) == 0xa2901d47b864df0dull);
    /* every length reads only its own bytes (ASan: no read past the end) */
    for (size_t n = 0; n <= 100; n++) {
        char *s = malloc(n ? n : 1);
        memset(s, 'q', n);
        uint64_t a = est_fingerprint64(s, n);
        CHECK(a == est_fingerprint64(s, n));
        free(s);
    }
}

static void test_updates(void) {
    /* rows 3 (twice, summed), 0; -1 skipped; sgd lr 0.5 */
    double var[10] = {0}, grad[8] = {1, 2, 3, 4, 9, 9, 1, 1};
    int64_t idx[4] = {3, 3, -1, 0};
    double h[6] = {0.5, 0, 0, 0, 0, 0};
    CHECK_OK(est_sparse_apply_f64(EST_SPARSE_SGD, var, NULL, NULL, NULL, 5, 2, grad, idx, 4, h, 0));
    double want[10] = {-0.5, -0.5, 0, 0, 0, 0, -2, -3, 0, 0};
    CHECK(memcmp(var, want, sizeof want) == 0);
    /* out of range: an error and nothing written */
    int64_t bad[2] = {0, 5};
    CHECK(est_sparse_apply_f64(EST_SPARSE_SGD, var, NULL, NULL, NULL, 5, 2, grad, bad, 2, h, 0) ==
          EST_ERR_INVALID_ARGUMENT);
    CHECK(memcmp(var, want, sizeof want) == 0);
    CHECK(est_sparse_apply_f64(EST_SPARSE_ADAGRAD, var, NULL, NULL, NULL, 5, 2, grad, idx, 4, h, 0) ==
          EST_ERR_INVALID_ARGUMENT); /* adagrad needs its accumulator */
    /* adagrad on many random rows with duplicates vs a dense reference */
    enum { R = 50, D = 3, N = 400 };
    float v[R * D], a[R * D], rv[R * D], ra[R * D], g[N * D], dense[R * D];
    int64_t ix[N];
    fill_f(v, R * D);
    for (int i = 0; i < R * D; i++) { a[i] = 0.1f; rv[i] = v[i]; ra[i] = a[i]; dense[i] = 0; }
    fill_f(g, N * D);
    for (int i = 0; i < N; i++) {
        ix[i] = (int64_t)((rnd() + 1) / 2 * R) % R;
        if (i % 7 == 0) ix[i] = -1;
        for (int d = 0; d < D && ix[i] >= 0; d++) dense[ix[i] * D + d] += g[i * D + d];
    }
    double hg[6] = {0.1, 0, 0, 0, 0, 0};
    CHECK_OK(est_sparse_apply_f32(EST_SPARSE_ADAGRAD, v, a, NULL, NULL, R, D, g, ix, N, hg, 0));
    double err = 0;
    for (int r = 0; r < R; r++) {
        int touched = 0;
        for (int i = 0; i < N; i++) touched |= ix[i] == r;
        for (int d = 0; d < D; d++) {
            int k = r * D + d;
            if (touched) {
                ra[k] += dense[k] * dense[k];
                rv[k] -= 0.1f * dense[k] / sqrtf(ra[k]);
            }
            err = fmax(err, fabs((double)v[k] - rv[k]) + fabs((double)a[k] - ra[k]));
        }
    }
    CHECK(err < 1e-5);
}

static void test_combine(void) {
    double p[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[4];
    int64_t ids[4] = {0, 3, 99, 2};  /* 99 sits in a zero-weight slot: not read */
    double w[4] = {2, 1, 0, 0.5};
    CHECK_OK(est_sparse_combine_f64(p, 4, 2, ids, w, 2, 2, out));
    CHECK(out[0] == 2 * 1 + 7 && out[1] == 2 * 2 + 8 && out[2] == 2.5 && out[3] == 3);
    w[2] = 1;
    CHECK(est_sparse_combine_f64(p, 4, 2, ids, w, 2, 2, out) == EST_ERR_INVALID_ARGUMENT);
}

int main(void) {
    test_fingerprints();
    test_updates();
    test_combine();
    return est_test_finish("test_sparse");
}
