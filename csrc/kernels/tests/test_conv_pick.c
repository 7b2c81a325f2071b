/* test_conv_pick.c -- the pool's picks (est_conv.h: est_conv2d_forward_pooled_pick,
 * est_conv2d_backward_pooled_pick, est_max_pool2d_relu_backward_pick) against the
 * paths that keep the conv output y: the pooled output, the pool's gradient and the
 * filter and bias gradients bit for bit, the picks against a naive first-maximum
 * search, with ties, zeros, NaN and inf in the data, float32 (the AVX-512 pick loops
 * where the ISA runs them) and float64 (the scalar ones), every GEMM ISA, 1 to 3
 * threads; and the geometries the picks refuse. */
#include <string.h>

#include "est_test.h"

/* Inputs that make ties (values on a coarse grid), zeros (relu of negatives; mode 1:
 * all of x zero, so every window's maximum is relu(bias) or 0), NaN and inf (mode 2). */
static void fill_mode(double *x, int64_t n, int mode) {
    for (int64_t i = 0; i < n; i++) x[i] = mode == 1 ? 0.0 : (double)((int)(rnd() * 4.0)) * 0.5;
    if (mode == 2 && n > 7) {
        x[n / 3] = NAN;
        x[n / 2] = INFINITY;
        x[n - 5] = -INFINITY;
    }
}

/* The naive picks of y's pool (windows pk x pk that tile it): the first maximum in
 * window order under the pool's rule, or EST_POOL_PICK_NONE where it is not > 0. */
static void naive_picks(const est_window *pw, const double *y, uint8_t *pick) {
    const int64_t c = pw->in_c;
    for (int64_t b = 0; b < pw->batch; b++)
        for (int64_t oy = 0; oy < pw->out_h; oy++)
            for (int64_t ox = 0; ox < pw->out_w; ox++)
                for (int64_t ch = 0; ch < c; ch++) {
                    double best = 0;
                    int at = -1, nan = 0;
                    for (int64_t ky = 0; ky < pw->k_h; ky++)
                        for (int64_t kx = 0; kx < pw->k_w; kx++) {
                            const int64_t iy = oy * pw->k_h + ky, ix = ox * pw->k_w + kx;
                            const double v = y[((b * pw->in_h + iy) * pw->in_w + ix) * c + ch];
                            if (v != v) nan = 1;
                            if (!nan && (at < 0 || v > best)) { best = v; at = (int)(ky * pw->k_w + kx); }
                        }
                    pick[((b * pw->out_h + oy) * pw->out_w + ox) * c + ch] =
                        !nan && best > 0 ? (uint8_t)at : (uint8_t)EST_POOL_PICK_NONE;
                }
}

/* One geometry, both types: forward with picks == forward then pool (py bit for bit,
 * picks as the naive search), backward from picks == backward from y (df, db bit
 * for bit, with and without accumulate). */
static void test_pick_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t oc,
                           int64_t pk, int mode) {
    est_window g, pw;
    CHECK_OK(est_window_init(n, h, w, c, k, k, oc, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(n, g.out_h, g.out_w, oc, pk, pk, oc, pk, pk, EST_PADDING_VALID, &pw));
    const int64_t nx = n * h * w * c, nf = k * k * c * oc, ny = n * g.out_h * g.out_w * oc;
    const int64_t np = n * pw.out_h * pw.out_w * oc;
    double *xd = malloc(8 * (size_t)nx), *fd = malloc(8 * (size_t)nf), *bd = malloc(8 * (size_t)oc);
    double *pdyd = malloc(8 * (size_t)np), *yd = malloc(8 * (size_t)ny);
    uint8_t *want = malloc((size_t)np), *pick = malloc((size_t)np);
    fill_mode(xd, nx, mode);
    fill_mode(fd, nf, mode == 1 ? 0 : mode);
    fill_d(bd, oc);
    for (int64_t i = 0; i < oc; i += 3) bd[i] = 0; /* all-zero windows in mode 1 */
    fill_d(pdyd, np);
    for (int64_t i = 0; i < np; i += 5) pdyd[i] = -0.0; /* 0 + (-0) is +0 in dz */
    for (int t = 0; t < 2; t++) { /* 0: float32, 1: float64 */
        const size_t es = t ? 8 : 4;
        void *x = malloc(es * (size_t)nx), *f = malloc(es * (size_t)nf), *b = malloc(es * (size_t)oc);
        void *pdy = malloc(es * (size_t)np), *y = malloc(es * (size_t)ny), *dz = malloc(es * (size_t)ny);
        void *dz2 = malloc(es * (size_t)ny);
        void *py[2], *df[2], *db[2];
        for (int r = 0; r < 2; r++) {
            py[r] = malloc(es * (size_t)np);
            df[r] = malloc(es * (size_t)nf);
            db[r] = malloc(es * (size_t)oc);
        }
        for (int64_t i = 0; i < nx; i++) if (t) ((double *)x)[i] = xd[i]; else ((float *)x)[i] = (float)xd[i];
        for (int64_t i = 0; i < nf; i++) if (t) ((double *)f)[i] = fd[i]; else ((float *)f)[i] = (float)fd[i];
        for (int64_t i = 0; i < oc; i++) if (t) ((double *)b)[i] = bd[i]; else ((float *)b)[i] = (float)bd[i];
        for (int64_t i = 0; i < np; i++) if (t) ((double *)pdy)[i] = pdyd[i]; else ((float *)pdy)[i] = (float)pdyd[i];
        for (int64_t i = 0; i < np; i++) pick[i] = 0x5A;
        if (t) {
            CHECK_OK(est_conv2d_forward_f64(&g, x, f, b, y, NULL, EST_ACT_RELU, 0));
            CHECK_OK(est_max_pool2d_forward_f64(&pw, y, py[0]));
            CHECK_OK(est_conv2d_forward_pooled_pick_f64(&g, x, f, b, &pw, py[1], pick));
            memcpy(yd, y, 8 * (size_t)ny);
        } else {
            CHECK_OK(est_conv2d_forward_f32(&g, x, f, b, y, NULL, EST_ACT_RELU, 0));
            CHECK_OK(est_max_pool2d_forward_f32(&pw, y, py[0]));
            CHECK_OK(est_conv2d_forward_pooled_pick_f32(&g, x, f, b, &pw, py[1], pick));
            for (int64_t i = 0; i < ny; i++) yd[i] = ((float *)y)[i];
        }
        CHECK(memcmp(py[0], py[1], es * (size_t)np) == 0);
        naive_picks(&pw, yd, want);
        CHECK(memcmp(want, pick, (size_t)np) == 0);
        /* the pool's gradient alone: from the picks as from y */
        if (t) {
            CHECK_OK(est_max_pool2d_relu_backward_f64(&pw, y, pdy, dz));
            CHECK_OK(est_max_pool2d_relu_backward_pick_f64(&pw, pick, pdy, dz2));
        } else {
            CHECK_OK(est_max_pool2d_relu_backward_f32(&pw, y, pdy, dz));
            CHECK_OK(est_max_pool2d_relu_backward_pick_f32(&pw, pick, pdy, dz2));
        }
        CHECK(memcmp(dz, dz2, es * (size_t)ny) == 0);
        for (int acc = 0; acc < 2; acc++) {
            for (int r = 0; r < 2; r++) {
                memset(df[r], 0, es * (size_t)nf);
                memset(db[r], 0, es * (size_t)oc);
            }
            if (t) {
                CHECK_OK(est_conv2d_backward_pooled_f64(&g, x, y, pdy, pk, pk, dz, df[0], db[0], acc));
                CHECK_OK(est_conv2d_backward_pooled_pick_f64(&g, x, pick, pdy, pk, pk, dz2, df[1],
                                                             db[1], acc));
            } else {
                CHECK_OK(est_conv2d_backward_pooled_f32(&g, x, y, pdy, pk, pk, dz, df[0], db[0], acc));
                CHECK_OK(est_conv2d_backward_pooled_pick_f32(&g, x, pick, pdy, pk, pk, dz2, df[1],
                                                             db[1], acc));
            }
            CHECK(memcmp(df[0], df[1], es * (size_t)nf) == 0);
            CHECK(memcmp(db[0], db[1], es * (size_t)oc) == 0);
            if (n == 1) /* one group: the pool's gradient is written to dz whole */
                CHECK(memcmp(dz, dz2, es * (size_t)ny) == 0);
        }
        free(x); free(f); free(b); free(pdy); free(y); free(dz); free(dz2);
        for (int r = 0; r < 2; r++) { free(py[r]); free(df[r]); free(db[r]); }
    }
    free(xd); free(fd); free(bd); free(pdyd); free(yd); free(want); free(pick);
}

/* What the picks refuse: a 1x1 stride-1 conv (one product, not image by image), a pool
 * that does not tile the conv output, windows of 255 elements or more, NULL picks. */
static void test_pick_refusals(void) {
    est_window g, pw;
    float v[4096] = {0};
    uint8_t p[4096];
    CHECK_OK(est_window_init(1, 4, 4, 2, 1, 1, 16, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(1, 4, 4, 16, 2, 2, 16, 2, 2, EST_PADDING_VALID, &pw));
    CHECK(est_conv2d_forward_pooled_pick_f32(&g, v, v, NULL, &pw, v, p) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_window_init(1, 5, 5, 1, 3, 3, 16, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(1, 5, 5, 16, 2, 2, 16, 2, 2, EST_PADDING_VALID, &pw)); /* 5 = 2*2 + 1 */
    CHECK(est_conv2d_forward_pooled_pick_f32(&g, v, v, NULL, &pw, v, p) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_conv2d_backward_pooled_pick_f32(&g, v, p, v, 2, 2, v, v, v, 0) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_window_init(1, 16, 16, 1, 3, 3, 1, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(1, 16, 16, 1, 16, 16, 1, 16, 16, EST_PADDING_VALID, &pw));
    CHECK(est_conv2d_forward_pooled_pick_f32(&g, v, v, NULL, &pw, v, p) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_conv2d_backward_pooled_pick_f32(&g, v, p, v, 16, 16, v, v, v, 0) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_window_init(1, 4, 4, 1, 3, 3, 16, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(1, 4, 4, 16, 2, 2, 16, 2, 2, EST_PADDING_VALID, &pw));
    CHECK(est_conv2d_forward_pooled_pick_f32(&g, v, v, NULL, &pw, v, NULL) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_conv2d_backward_pooled_pick_f32(&g, v, NULL, v, 2, 2, v, v, v, 0) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_conv2d_forward_pooled_pick_f32(&g, v, v, NULL, &pw, v, p));
    CHECK_OK(est_conv2d_backward_pooled_pick_f32(&g, v, p, v, 2, 2, v, v, v, 0));
    CHECK(est_max_pool2d_relu_backward_pick_f32(&pw, NULL, v, v) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_max_pool2d_relu_backward_pick_f32(&pw, p, v, v));
    CHECK_OK(est_window_init(1, 5, 5, 16, 2, 2, 16, 2, 2, EST_PADDING_VALID, &pw));
    CHECK(est_max_pool2d_relu_backward_pick_f32(&pw, p, v, v) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_window_init(1, 4, 4, 16, 3, 3, 16, 1, 1, EST_PADDING_SAME, &pw));
    CHECK(est_max_pool2d_relu_backward_pick_f32(&pw, p, v, v) == EST_ERR_INVALID_ARGUMENT);
}

int main(void) {
    est_isa isas[EST_ISA__COUNT];
    const int n_isas = est_test_isas(isas);
    for (int t = 1; t <= 3; t++) {
        CHECK_OK(est_set_num_threads(t));
        for (int ii = 0; ii < n_isas; ii++) {
            CHECK_OK(est_gemm_set_isa(isas[ii]));
            for (int mode = 0; mode < 3; mode++) {
                test_pick_case(12, 8, 8, 1, 5, 32, 2, mode);  /* chunks of images, 16 lanes */
                test_pick_case(20, 6, 9, 3, 3, 7, 3, mode);   /* odd channels: scalar picks */
                test_pick_case(1, 4, 4, 2, 3, 5, 2, mode);    /* one group: kernels in turn */
                test_pick_case(1, 6, 4, 1, 3, 16, 2, mode);   /* ... dz whole, 16 lanes */
                test_pick_case(50, 6, 6, 8, 3, 16, 2, mode);  /* groups of 3 images */
            }
        }
        CHECK_OK(est_gemm_set_isa(EST_ISA_AUTO));
        test_pick_case(4, 28, 28, 1, 5, 32, 2, 2); /* the tutorial's first conv */
        test_pick_refusals();
    }
    CHECK_OK(est_set_num_threads(1));
    return est_test_finish("test_conv_pick");
}
