/* test_xent_optim.c -- softmax cross-entropy and optimizer updates against formulas. */
#include <string.h>

#include "est_test.h"

static void test_sparse_xent(int64_t m, int64_t c) {
    double *l = malloc(8 * (size_t)(m * c)), *loss = malloc(8 * (size_t)m), *d = malloc(8 * (size_t)(m * c));
    int64_t *lab = calloc((size_t)m, 8);
    int32_t *lab32 = calloc((size_t)m, 4);
    fill_d(l, m * c);
    for (int64_t i = 0; i < m * c; i++) l[i] *= 30; /* large logits: needs max-subtraction */
    for (int64_t i = 0; i < m; i++) { lab[i] = (int64_t)((rnd() + 1) / 2 * (double)c) % c; lab32[i] = (int32_t)lab[i]; }
    double scale = 1.0 / (double)m;
    CHECK_OK(est_sparse_softmax_xent_f64(l, lab, 1, m, c, &scale, loss, d, NULL));
    double err = 0;
    for (int64_t i = 0; i < m; i++) {
        double mx = -INFINITY, s = 0;
        for (int64_t k = 0; k < c; k++) mx = fmax(mx, l[i * c + k]);
        for (int64_t k = 0; k < c; k++) s += exp(l[i * c + k] - mx);
        double lse = mx + log(s);
        err = fmax(err, fabs(loss[i] - (lse - l[i * c + lab[i]])));
        for (int64_t k = 0; k < c; k++) {
            double p = exp(l[i * c + k] - lse) - (k == lab[i]);
            err = fmax(err, fabs(d[i * c + k] - p * scale));
        }
    }
    CHECK(err < 1e-12);
    double *loss2 = malloc(8 * (size_t)m);
    CHECK_OK(est_sparse_softmax_xent_f64(l, lab32, 0, m, c, NULL, loss2, NULL, NULL));
    CHECK(memcmp(loss, loss2, 8 * (size_t)m) == 0);
    /* dense labels = one-hot gives the same loss and gradient */
    double *t = calloc((size_t)(m * c), 8), *loss3 = malloc(8 * (size_t)m), *d3 = malloc(8 * (size_t)(m * c));
    for (int64_t i = 0; i < m; i++) t[i * c + lab[i]] = 1;
    CHECK_OK(est_softmax_xent_f64(l, t, m, c, &scale, loss3, d3));
    CHECK(max_rel_d(loss3, loss, m) < 1e-12);
    CHECK(max_rel_d(d3, d, m * c) < 1e-12);
    /* bad label: error, first bad row, nothing written */
    int64_t bad = 0;
    lab[m - 1] = c;
    loss[m - 1] = 12345;
    CHECK(est_sparse_softmax_xent_f64(l, lab, 1, m, c, NULL, loss, d, &bad) == EST_ERR_INVALID_ARGUMENT);
    CHECK(bad == m - 1 && loss[m - 1] == 12345);
    lab32[0] = -1;
    CHECK(est_sparse_softmax_xent_f64(l, lab32, 0, m, c, NULL, loss, d, &bad) == EST_ERR_INVALID_ARGUMENT);
    CHECK(bad == 0);
    free(l); free(loss); free(d); free(lab); free(lab32); free(loss2); free(t); free(loss3); free(d3);
}

static void test_optimizers(int64_t n) {
    double *v = malloc(8 * (size_t)n), *g = malloc(8 * (size_t)n), *s1 = malloc(8 * (size_t)n);
    double *s2 = malloc(8 * (size_t)n), *s3 = malloc(8 * (size_t)n);
    double *rv = malloc(8 * (size_t)n), *r1 = malloc(8 * (size_t)n), *r2 = malloc(8 * (size_t)n), *r3 = malloc(8 * (size_t)n);
    double lr = 0.01, b1p = 0.9 * 0.9, b2p = 0.999 * 0.999;
    for (int kind = 0; kind < 7; kind++) {
        fill_d(v, n); fill_d(g, n); fill_d(s1, n); fill_d(s2, n); fill_d(s3, n);
        for (int64_t i = 0; i < n; i++) { s1[i] = fabs(s1[i]) + 0.1; s2[i] = fabs(s2[i]) + 0.1; s3[i] *= 0.1; }
        memcpy(rv, v, 8 * (size_t)n); memcpy(r1, s1, 8 * (size_t)n); memcpy(r2, s2, 8 * (size_t)n); memcpy(r3, s3, 8 * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            double gi = g[i];
            switch (kind) {
            case 0: rv[i] -= lr * gi; break;
            case 1: r1[i] = 0.9 * r1[i] + gi; rv[i] -= lr * r1[i]; break;
            case 2: r1[i] = 0.9 * r1[i] + gi; rv[i] -= lr * (gi + 0.9 * r1[i]); break;
            case 3: r1[i] += gi * gi; rv[i] -= lr * gi / sqrt(r1[i]); break;
            case 4: r1[i] = 0.9 * r1[i] + 0.1 * gi * gi; r2[i] = 0.5 * r2[i] + lr * gi / sqrt(r1[i] + 1e-7); rv[i] -= r2[i]; break;
            case 5: r1[i] = 0.9 * r1[i] + 0.1 * gi * gi; r3[i] = 0.9 * r3[i] + 0.1 * gi;
                    r2[i] = 0.5 * r2[i] + lr * gi / sqrt(r1[i] - r3[i] * r3[i] + 1e-7); rv[i] -= r2[i]; break;
            case 6: { double lrt = lr * sqrt(1 - b2p) / (1 - b1p);
                      r1[i] = 0.9 * r1[i] + 0.1 * gi; r2[i] = 0.999 * r2[i] + 0.001 * gi * gi;
                      rv[i] -= lrt * r1[i] / (sqrt(r2[i]) + 1e-8); break; }
            }
        }
        switch (kind) {
        case 0: CHECK_OK(est_apply_sgd_f64(v, g, n, &lr)); break;
        case 1: CHECK_OK(est_apply_momentum_f64(v, s1, g, n, &lr, 0.9, 0)); break;
        case 2: CHECK_OK(est_apply_momentum_f64(v, s1, g, n, &lr, 0.9, 1)); break;
        case 3: CHECK_OK(est_apply_adagrad_f64(v, s1, g, n, &lr)); break;
        case 4: CHECK_OK(est_apply_rmsprop_f64(v, s1, s2, NULL, g, n, &lr, 0.9, 0.5, 1e-7, 0)); break;
        case 5: CHECK_OK(est_apply_rmsprop_f64(v, s1, s2, s3, g, n, &lr, 0.9, 0.5, 1e-7, 1)); break;
        case 6: CHECK_OK(est_apply_adam_f64(v, s1, s2, g, n, &b1p, &b2p, &lr, 0.9, 0.999, 1e-8, 0)); break;
        }
        CHECK(max_rel_d(v, rv, n) < 1e-12);
        CHECK(max_rel_d(s1, r1, n) < 1e-12);
        CHECK(max_rel_d(s2, r2, n) < 1e-12);
        CHECK(max_rel_d(s3, r3, n) < 1e-12);
    }
    CHECK(est_apply_sgd_f64(v, g, n, NULL) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_apply_rmsprop_f64(v, s1, s2, NULL, g, n, &lr, 0.9, 0.5, 1e-7, 1) == EST_ERR_INVALID_ARGUMENT);
    free(v); free(g); free(s1); free(s2); free(s3); free(rv); free(r1); free(r2); free(r3);
}

int main(void) {
    for (int t = 1; t <= 2; t++) {
        CHECK_OK(est_set_num_threads(t));
        test_sparse_xent(1, 1);
        test_sparse_xent(7, 3);
        test_sparse_xent(997, 61); /* large enough to split */
        test_optimizers(1);
        test_optimizers(13);
        test_optimizers(100003);
    }
    CHECK_OK(est_set_num_threads(1));
    return est_test_finish("test_xent_optim");
}
