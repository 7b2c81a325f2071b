/* test_conv.c -- conv2d forward/backward against a direct convolution, pooling against
 * naive loops, for SAME/VALID, strides, odd sizes and 1..2 threads. */
#include <string.h>

#include "est_test.h"

#define IDX4(a, b, c, d, B, C, D) ((((a) * (B) + (b)) * (C) + (c)) * (D) + (d))

/* direct convolution and its three gradients (dz given) */
static void direct_conv(const est_window *g, const double *x, const double *f, const double *b,
                        double *y) {
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t oy = 0; oy < g->out_h; oy++)
            for (int64_t ox = 0; ox < g->out_w; ox++)
                for (int64_t co = 0; co < g->out_c; co++) {
                    double acc = b ? b[co] : 0;
                    for (int64_t ky = 0; ky < g->k_h; ky++)
                        for (int64_t kx = 0; kx < g->k_w; kx++) {
                            int64_t iy = oy * g->stride_h - g->pad_top + ky, ix = ox * g->stride_w - g->pad_left + kx;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                            for (int64_t ci = 0; ci < g->in_c; ci++)
                                acc += x[IDX4(n, iy, ix, ci, g->in_h, g->in_w, g->in_c)] *
                                       f[IDX4(ky, kx, ci, co, g->k_w, g->in_c, g->out_c)];
                        }
                    y[IDX4(n, oy, ox, co, g->out_h, g->out_w, g->out_c)] = acc;
                }
}

static void direct_conv_grads(const est_window *g, const double *x, const double *f, const double *dz,
                              double *dx, double *df, double *db) {
    memset(dx, 0, 8 * (size_t)(g->batch * g->in_h * g->in_w * g->in_c));
    memset(df, 0, 8 * (size_t)(g->k_h * g->k_w * g->in_c * g->out_c));
    memset(db, 0, 8 * (size_t)g->out_c);
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t oy = 0; oy < g->out_h; oy++)
            for (int64_t ox = 0; ox < g->out_w; ox++)
                for (int64_t co = 0; co < g->out_c; co++) {
                    double d = dz[IDX4(n, oy, ox, co, g->out_h, g->out_w, g->out_c)];
                    db[co] += d;
                    for (int64_t ky = 0; ky < g->k_h; ky++)
                        for (int64_t kx = 0; kx < g->k_w; kx++) {
                            int64_t iy = oy * g->stride_h - g->pad_top + ky, ix = ox * g->stride_w - g->pad_left + kx;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                            for (int64_t ci = 0; ci < g->in_c; ci++) {
                                int64_t xi = IDX4(n, iy, ix, ci, g->in_h, g->in_w, g->in_c);
                                int64_t fi = IDX4(ky, kx, ci, co, g->k_w, g->in_c, g->out_c);
                                dx[xi] += d * f[fi];
                                df[fi] += d * x[xi];
                            }
                        }
                }
}

static void test_conv_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                           int64_t oc, int64_t sh, int64_t sw, est_padding pad) {
    est_window g;
    CHECK_OK(est_window_init(n, h, w, c, kh, kw, oc, sh, sw, pad, &g));
    int64_t nx = n * h * w * c, nf = kh * kw * c * oc, ny = n * g.out_h * g.out_w * oc;
    int64_t ncol = est_conv2d_col_size(&g);
    double *x = malloc(8 * (size_t)nx + 8), *f = malloc(8 * (size_t)nf), *b = malloc(8 * (size_t)oc);
    double *y = malloc(8 * (size_t)ny + 8), *ry = malloc(8 * (size_t)ny + 8), *col = malloc(8 * (size_t)ncol + 8);
    double *dy = malloc(8 * (size_t)ny + 8), *dz = malloc(8 * (size_t)ny + 8), *rdz = malloc(8 * (size_t)ny + 8);
    double *dx = malloc(8 * (size_t)nx + 8), *df = malloc(8 * (size_t)nf), *db = malloc(8 * (size_t)oc);
    double *rdx = malloc(8 * (size_t)nx + 8), *rdf = malloc(8 * (size_t)nf), *rdb = malloc(8 * (size_t)oc);
    float *xf = malloc(4 * (size_t)nx + 4), *ff = malloc(4 * (size_t)nf), *bf = malloc(4 * (size_t)oc);
    float *yf = malloc(4 * (size_t)ny + 4), *colf = malloc(4 * (size_t)ncol + 4);
    fill_d(x, nx); fill_d(f, nf); fill_d(b, oc); fill_d(dy, ny);
    for (int64_t i = 0; i < nx; i++) xf[i] = (float)x[i];
    for (int64_t i = 0; i < nf; i++) ff[i] = (float)f[i];
    for (int64_t i = 0; i < oc; i++) bf[i] = (float)b[i];
    direct_conv(&g, x, f, b, ry);
    for (int64_t i = 0; i < ny; i++) ry[i] = ry[i] > 0 ? ry[i] : 0; /* relu */
    CHECK_OK(est_conv2d_forward_f64(&g, x, f, b, y, col, EST_ACT_RELU, 0));
    CHECK(max_rel_d(y, ry, ny) < 1e-12);
    CHECK_OK(est_conv2d_forward_f32(&g, xf, ff, bf, yf, colf, EST_ACT_RELU, 0));
    CHECK(max_rel_fd(yf, ry, ny) < 1e-4);
    for (int64_t i = 0; i < ny; i++) rdz[i] = ry[i] > 0 ? dy[i] : 0;
    direct_conv_grads(&g, x, f, rdz, rdx, rdf, rdb);
    CHECK_OK(est_conv2d_backward_f64(&g, x, f, y, dy, dz, col, dx, df, db, EST_ACT_RELU, 0, 0));
    CHECK(max_rel_d(dx, rdx, nx) < 1e-10);
    CHECK(max_rel_d(df, rdf, nf) < 1e-10);
    CHECK(max_rel_d(db, rdb, oc) < 1e-10);
    CHECK_OK(est_conv2d_backward_f64(&g, x, f, y, dy, dz, col, dx, df, db, EST_ACT_RELU, 0, 1));
    for (int64_t i = 0; i < nx; i++) rdx[i] *= 2;
    for (int64_t i = 0; i < nf; i++) rdf[i] *= 2;
    CHECK(max_rel_d(dx, rdx, nx) < 1e-10);
    CHECK(max_rel_d(df, rdf, nf) < 1e-10);
    free(x); free(f); free(b); free(y); free(ry); free(col); free(dy); free(dz); free(rdz);
    free(dx); free(df); free(db); free(rdx); free(rdf); free(rdb); free(xf); free(ff); free(bf); free(yf); free(colf);
}

static void test_pool_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s,
                           est_padding pad, int with_ties) {
    est_window g;
    CHECK_OK(est_window_init(n, h, w, c, k, k, c, s, s, pad, &g));
    int64_t nx = n * h * w * c, ny = n * g.out_h * g.out_w * c;
    double *x = malloc(8 * (size_t)nx), *y = malloc(8 * (size_t)ny), *ry = malloc(8 * (size_t)ny);
    double *dy = malloc(8 * (size_t)ny), *dx = malloc(8 * (size_t)nx), *rdx = malloc(8 * (size_t)nx);
    fill_d(x, nx); fill_d(dy, ny);
    if (with_ties) for (int64_t i = 0; i < nx; i++) x[i] = (double)((int)(x[i] * 2)); /* many equal values */
    for (int avg = 0; avg < 2; avg++) {
        memset(rdx, 0, 8 * (size_t)nx);
        for (int64_t b = 0; b < n; b++)
            for (int64_t oy = 0; oy < g.out_h; oy++)
                for (int64_t ox = 0; ox < g.out_w; ox++)
                    for (int64_t ch = 0; ch < c; ch++) {
                        double best = -INFINITY, sum = 0;
                        int64_t at = -1, cnt = 0;
                        for (int64_t ky = 0; ky < k; ky++)
                            for (int64_t kx = 0; kx < k; kx++) {
                                int64_t iy = oy * s - g.pad_top + ky, ix = ox * s - g.pad_left + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                int64_t xi = IDX4(b, iy, ix, ch, h, w, c);
                                if (at < 0 || x[xi] > best) { best = x[xi]; at = xi; }
                                sum += x[xi];
                                cnt++;
                            }
                        int64_t yi = IDX4(b, oy, ox, ch, g.out_h, g.out_w, c);
                        ry[yi] = avg ? sum / (double)cnt : best;
                        if (!avg) { rdx[at] += dy[yi]; continue; }
                        for (int64_t ky = 0; ky < k; ky++)
                            for (int64_t kx = 0; kx < k; kx++) {
                                int64_t iy = oy * s - g.pad_top + ky, ix = ox * s - g.pad_left + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                rdx[IDX4(b, iy, ix, ch, h, w, c)] += dy[yi] / (double)cnt;
                            }
                    }
        if (avg) {
            CHECK_OK(est_avg_pool2d_forward_f64(&g, x, y));
            CHECK_OK(est_avg_pool2d_backward_f64(&g, dy, dx));
        } else {
            CHECK_OK(est_max_pool2d_forward_f64(&g, x, y));
            CHECK_OK(est_max_pool2d_backward_f64(&g, x, dy, dx));
        }
        CHECK(max_rel_d(y, ry, ny) < 1e-12);
        CHECK(max_rel_d(dx, rdx, nx) < 1e-12);
    }
    free(x); free(y); free(ry); free(dy); free(dx); free(rdx);
}

/* est_conv2d_backward_pooled == est_max_pool2d_relu_backward then est_conv2d_backward,
 * bit for bit (float32, chunked filter gradient and the two-kernel fallback), with
 * accumulate; refuses a pool that does not tile the conv output. */
static void test_pooled_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t oc,
                             int64_t pk) {
    est_window g, pw;
    CHECK_OK(est_window_init(n, h, w, c, k, k, oc, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(n, g.out_h, g.out_w, oc, pk, pk, oc, pk, pk, EST_PADDING_VALID, &pw));
    const int64_t nx = n * h * w * c, nf = k * k * c * oc, ny = n * g.out_h * g.out_w * oc;
    const int64_t np = n * pw.out_h * pw.out_w * oc;
    float *x = malloc(4 * (size_t)nx), *f = malloc(4 * (size_t)nf), *y = malloc(4 * (size_t)ny);
    float *pdy = malloc(4 * (size_t)np), *dz = malloc(4 * (size_t)ny);
    float *df[2], *db[2];
    for (int r = 0; r < 2; r++) { df[r] = malloc(4 * (size_t)nf); db[r] = malloc(4 * (size_t)oc); }
    fill_f(x, nx); fill_f(f, nf); fill_f(pdy, np);
    CHECK_OK(est_conv2d_forward_f32(&g, x, f, NULL, y, NULL, EST_ACT_RELU, 0));
    for (int acc = 0; acc < 2; acc++) {
        for (int r = 0; r < 2; r++) {
            for (int64_t i = 0; i < nf; i++) df[r][i] = 0.5f;
            for (int64_t i = 0; i < oc; i++) db[r][i] = -0.5f;
        }
        CHECK_OK(est_max_pool2d_relu_backward_f32(&pw, y, pdy, dz));
        CHECK_OK(est_conv2d_backward_f32(&g, x, NULL, NULL, dz, NULL, NULL, NULL, df[0], db[0],
                                         EST_ACT_NONE, 0, acc));
        CHECK_OK(est_conv2d_backward_pooled_f32(&g, x, y, pdy, pk, pk, dz, df[1], db[1], acc));
        CHECK(memcmp(df[0], df[1], 4 * (size_t)nf) == 0);
        CHECK(memcmp(db[0], db[1], 4 * (size_t)oc) == 0);
    }
    if (g.out_h > 1)
        CHECK(est_conv2d_backward_pooled_f32(&g, x, y, pdy, g.out_h + 1, pk, dz, df[1], db[1],
                                             0) == EST_ERR_INVALID_ARGUMENT);
    free(x); free(f); free(y); free(pdy); free(dz);
    for (int r = 0; r < 2; r++) { free(df[r]); free(db[r]); }
}

/* est_conv2d_forward_pooled == est_conv2d_forward then est_max_pool2d_forward of its
 * output, bit for bit (float32; image by image, and the 1x1 conv run in turn). */
static void test_pooled_fwd_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k,
                                 int64_t oc, int64_t pk, int64_t ps, est_padding ppad) {
    est_window g, pw;
    CHECK_OK(est_window_init(n, h, w, c, k, k, oc, 1, 1, EST_PADDING_SAME, &g));
    CHECK_OK(est_window_init(n, g.out_h, g.out_w, oc, pk, pk, oc, ps, ps, ppad, &pw));
    const int64_t nx = n * h * w * c, nf = k * k * c * oc, ny = n * g.out_h * g.out_w * oc;
    const int64_t np = n * pw.out_h * pw.out_w * oc;
    float *x = malloc(4 * (size_t)nx), *f = malloc(4 * (size_t)nf), *b = malloc(4 * (size_t)oc);
    float *y[2], *py[2];
    for (int r = 0; r < 2; r++) { y[r] = malloc(4 * (size_t)ny); py[r] = malloc(4 * (size_t)np); }
    fill_f(x, nx); fill_f(f, nf); fill_f(b, oc);
    CHECK_OK(est_conv2d_forward_f32(&g, x, f, b, y[0], NULL, EST_ACT_RELU, 0));
    CHECK_OK(est_max_pool2d_forward_f32(&pw, y[0], py[0]));
    CHECK_OK(est_conv2d_forward_pooled_f32(&g, x, f, b, y[1], EST_ACT_RELU, 0, &pw, py[1]));
    CHECK(memcmp(y[0], y[1], 4 * (size_t)ny) == 0);
    CHECK(memcmp(py[0], py[1], 4 * (size_t)np) == 0);
    est_window bad = pw;
    bad.in_c = oc + 1;
    CHECK(est_conv2d_forward_pooled_f32(&g, x, f, b, y[1], EST_ACT_RELU, 0, &bad, py[1]) ==
          EST_ERR_INVALID_ARGUMENT);
    free(x); free(f); free(b);
    for (int r = 0; r < 2; r++) { free(y[r]); free(py[r]); }
}

int main(void) {
    est_isa isas[EST_ISA__COUNT];
    const int n_isas = est_test_isas(isas);
    for (int t = 1; t <= 2; t++) {
        CHECK_OK(est_set_num_threads(t));
        for (int pad = 0; pad < 2; pad++) {
            est_padding p = (est_padding)pad;
            for (int ii = 0; ii < n_isas; ii++) { /* conv runs on the GEMM of each ISA */
                CHECK_OK(est_gemm_set_isa(isas[ii]));
                test_conv_case(1, 1, 1, 1, 1, 1, 1, 1, 1, p);
                test_conv_case(2, 7, 5, 3, 3, 3, 4, 1, 1, p);
                test_conv_case(3, 11, 13, 2, 5, 3, 5, 2, 3, p);
                test_conv_case(2, 9, 9, 4, 1, 1, 3, 1, 1, p);    /* 1x1: im2col skipped */
                test_conv_case(2, 8, 8, 3, 2, 2, 2, 2, 2, p);
                test_conv_case(4, 28, 28, 1, 5, 5, 8, 1, 1, p);  /* large enough to split */
                test_conv_case(2, 6, 6, 3, 3, 3, 70, 1, 1, p);   /* out_c over one AVX-512 tile */
                test_conv_case(20, 4, 4, 9, 3, 3, 6, 1, 1, p);   /* in_c >= 8: df per tap slice, 2 groups */
                test_conv_case(6, 10, 10, 16, 5, 5, 8, 1, 1, p); /* ... split over threads */
                /* filter gradient in chunks of images: many groups, small and large in_c,
                 * strides (transposed im2col for in_c <= 3) */
                test_conv_case(40, 9, 7, 2, 3, 3, 5, 2, 1, p);
                test_conv_case(37, 6, 5, 1, 2, 3, 3, 1, 2, p);
                test_conv_case(33, 6, 6, 16, 3, 3, 4, 1, 1, p);
                /* implicit GEMMs (in_c / out_c >= 8): even windows, strides, images
                 * smaller than a tile of rows, window near the image size */
                test_conv_case(3, 7, 9, 8, 4, 2, 9, 1, 1, p);
                test_conv_case(2, 5, 6, 10, 3, 3, 33, 3, 2, p);
                test_conv_case(5, 3, 4, 12, 2, 3, 16, 1, 1, p);
                test_conv_case(1, 6, 6, 16, 5, 5, 8, 1, 1, p);
                /* 50 small images: groups of 3 per implicit GEMM, the last short
                 * (16 input channels: the input gradient's too) */
                test_conv_case(50, 5, 6, 16, 3, 3, 9, 1, 1, p);
            }
            CHECK_OK(est_gemm_set_isa(EST_ISA_AUTO));
            test_pool_case(2, 7, 7, 3, 2, 2, p, 0);
            test_pool_case(3, 9, 11, 2, 3, 2, p, 1);
            test_pool_case(1, 5, 5, 1, 3, 3, p, 1);
            test_pool_case(8, 16, 16, 8, 3, 1, p, 0);      /* large enough to split */
            test_pool_case(4, 8, 8, 20, 2, 2, p, 0);       /* tiled windows: dx zeroed per window */
        }
        test_pooled_case(12, 8, 8, 1, 5, 32, 2); /* chunks of images, AVX-512 pool path */
        test_pooled_case(20, 6, 9, 3, 3, 7, 3);  /* chunks, odd channels: the generic pool rule */
        test_pooled_case(1, 4, 4, 2, 3, 5, 2);   /* one group: the two kernels in turn */
        test_pooled_fwd_case(6, 12, 12, 1, 5, 32, 2, 2, EST_PADDING_VALID);
        test_pooled_fwd_case(3, 9, 7, 5, 3, 7, 3, 2, EST_PADDING_SAME);
        test_pooled_fwd_case(2, 6, 6, 4, 1, 3, 2, 2, EST_PADDING_VALID); /* 1x1: in turn */
        test_pooled_fwd_case(49, 6, 6, 8, 3, 9, 2, 2, EST_PADDING_SAME); /* groups of 3 images */
    }
    est_window g;
    CHECK(est_window_init(1, 3, 3, 1, 5, 5, 1, 1, 1, EST_PADDING_VALID, &g) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_window_init(1, 3, 3, 1, 2, 2, 1, 0, 1, EST_PADDING_SAME, &g) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_window_init(1, 3, 3, 1, 2, 2, 1, 1, 1, EST_PADDING_SAME, &g));
    g.out_h = 7; /* inconsistent geometry is refused, not trusted */
    double v = 0;
    CHECK(est_max_pool2d_forward_f64(&g, &v, &v) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_set_num_threads(1));
    return est_test_finish("test_conv");
}
