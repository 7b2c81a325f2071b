/* test_dense.c -- row-major GEMM, fused dense forward/backward, elementwise helpers and
 * the instruction runner, against naive loops, with 1..3 threads. */
#include <string.h>

#include "../est_internal.h" /* est__exp_f32, est__tanh_f32 */
#include "est_test.h"
#include "estcore/est_optim.h"

/* naive row-major C = alpha op(A) op(B) + beta C */
static void naive_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, const double *b, double beta, double *c) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0;
            for (int64_t l = 0; l < k; l++)
                acc += (ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
            c[i * n + j] = alpha * acc + (beta == 0 ? 0 : beta * c[i * n + j]);
        }
}

static double act_ref(double v, est_act act, double alpha) {
    const double s = 1.0507009873554805, a = 1.6732632423543772;
    switch (act) {
    case EST_ACT_RELU: return v > 0 ? v : 0;
    case EST_ACT_RELU6: return v < 0 ? 0 : (v > 6 ? 6 : v);
    case EST_ACT_SIGMOID: return 1 / (1 + exp(-v));
    case EST_ACT_TANH: return tanh(v);
    case EST_ACT_ELU: return v > 0 ? v : alpha * (exp(v) - 1);
    case EST_ACT_SELU: return v > 0 ? s * v : s * a * (exp(v) - 1);
    case EST_ACT_SOFTPLUS: return log(1 + exp(v));
    case EST_ACT_LEAKY_RELU: return v > 0 ? v : alpha * v;
    default: return v;
    }
}

/* derivative from the input x (independent of the kernel's from-output formula) */
static double dact_ref(double v, est_act act, double alpha) {
    const double s = 1.0507009873554805, a = 1.6732632423543772;
    switch (act) {
    case EST_ACT_RELU: return v > 0;
    case EST_ACT_RELU6: return v > 0 && v < 6;
    case EST_ACT_SIGMOID: { double y = 1 / (1 + exp(-v)); return y * (1 - y); }
    case EST_ACT_TANH: return 1 - tanh(v) * tanh(v);
    case EST_ACT_ELU: return v > 0 ? 1 : alpha * exp(v);
    case EST_ACT_SELU: return v > 0 ? s : s * a * exp(v);
    case EST_ACT_SOFTPLUS: return 1 / (1 + exp(-v));
    case EST_ACT_LEAKY_RELU: return v > 0 ? 1 : alpha;
    default: return 1;
    }
}

static void test_gemm(void) {
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {13, 17, 11}, {64, 48, 40}, {257, 129, 67}, {3, 300, 2}, {5, 4, 0}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
                double *a = malloc(sizeof(double) * (size_t)(m * k + 1));
                double *b = malloc(sizeof(double) * (size_t)(k * n + 1));
                double *c = malloc(sizeof(double) * (size_t)(m * n)), *r = malloc(sizeof(double) * (size_t)(m * n));
                float *af = malloc(sizeof(float) * (size_t)(m * k + 1)), *bf = malloc(sizeof(float) * (size_t)(k * n + 1));
                float *cf = malloc(sizeof(float) * (size_t)(m * n));
                fill_d(a, m * k); fill_d(b, k * n); fill_d(c, m * n);
                memcpy(r, c, sizeof(double) * (size_t)(m * n));
                for (int64_t i = 0; i < m * k; i++) af[i] = (float)a[i];
                for (int64_t i = 0; i < k * n; i++) bf[i] = (float)b[i];
                for (int64_t i = 0; i < m * n; i++) cf[i] = (float)c[i];
                naive_gemm(ta, tb, m, n, k, 0.5, a, b, 2.0, r);
                CHECK_OK(est_gemm_f64(ta, tb, m, n, k, 0.5, a, ta ? m : k, b, tb ? k : n, 2.0, c, n));
                CHECK(max_rel_d(c, r, m * n) < 1e-12);
                CHECK_OK(est_gemm_f32(ta, tb, m, n, k, 0.5f, af, ta ? m : k, bf, tb ? k : n, 2.0f, cf, n));
                CHECK(max_rel_fd(cf, r, m * n) < 1e-4);
                free(a); free(b); free(c); free(r); free(af); free(bf); free(cf);
            }
    double x = 1;
    CHECK(est_gemm_f64(0, 0, 2, 2, 2, 1, &x, 1, &x, 2, 0, &x, 2) == EST_ERR_INVALID_ARGUMENT); /* lda < k */
    CHECK(est_gemm_f64(0, 0, -1, 2, 2, 1, &x, 2, &x, 2, 0, &x, 2) == EST_ERR_INVALID_ARGUMENT);
}

static void test_dense(void) {
    /* {24, 600, 40}: the forward over K in two halves (est_dense.inc) */
    const int64_t shapes[][3] = {{1, 1, 1}, {5, 3, 7}, {31, 17, 13}, {260, 90, 100}, {2, 3, 400}, {16, 50, 700}, {24, 600, 40}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        double *x = malloc(8 * (size_t)(m * k)), *w = malloc(8 * (size_t)(k * n)), *b = malloc(8 * (size_t)n);
        double *y = malloc(8 * (size_t)(m * n)), *z = malloc(8 * (size_t)(m * n)), *ry = malloc(8 * (size_t)(m * n));
        double *dy = malloc(8 * (size_t)(m * n)), *dz = malloc(8 * (size_t)(m * n)), *rdz = malloc(8 * (size_t)(m * n));
        double *dw = malloc(8 * (size_t)(k * n)), *db = malloc(8 * (size_t)n), *dx = malloc(8 * (size_t)(m * k));
        double *rdw = malloc(8 * (size_t)(k * n)), *rdb = malloc(8 * (size_t)n), *rdx = malloc(8 * (size_t)(m * k));
        float *xf = malloc(4 * (size_t)(m * k)), *wf = malloc(4 * (size_t)(k * n)), *bf = malloc(4 * (size_t)n), *yf = malloc(4 * (size_t)(m * n));
        fill_d(x, m * k); fill_d(w, k * n); fill_d(b, n); fill_d(dy, m * n);
        for (int64_t i = 0; i < m * k; i++) xf[i] = (float)x[i];
        for (int64_t i = 0; i < k * n; i++) wf[i] = (float)w[i];
        for (int64_t i = 0; i < n; i++) bf[i] = (float)b[i];
        naive_gemm(0, 0, m, n, k, 1, x, w, 0, z);
        for (int64_t i = 0; i < m; i++) for (int64_t j = 0; j < n; j++) z[i * n + j] += b[j];
        for (int act = 0; act < EST_ACT__COUNT; act++) {
            double alpha = act == EST_ACT_LEAKY_RELU ? 0.2 : 1.0;
            for (int64_t i = 0; i < m * n; i++) ry[i] = act_ref(z[i], (est_act)act, alpha);
            CHECK_OK(est_dense_forward_f64(x, w, b, y, m, k, n, (est_act)act, alpha));
            CHECK(max_rel_d(y, ry, m * n) < 1e-12);
            CHECK_OK(est_dense_forward_f32(xf, wf, bf, yf, m, k, n, (est_act)act, (float)alpha));
            CHECK(max_rel_fd(yf, ry, m * n) < 1e-4);
            /* backward vs the derivative taken from the pre-activation z */
            for (int64_t i = 0; i < m * n; i++) rdz[i] = dy[i] * dact_ref(z[i], (est_act)act, alpha);
            naive_gemm(1, 0, k, n, m, 1, x, rdz, 0, rdw);
            naive_gemm(0, 1, m, k, n, 1, rdz, w, 0, rdx);
            for (int64_t j = 0; j < n; j++) { rdb[j] = 0; for (int64_t i = 0; i < m; i++) rdb[j] += rdz[i * n + j]; }
            CHECK_OK(est_dense_backward_f64(x, w, y, dy, dz, dw, db, dx, m, k, n, (est_act)act, alpha, 0));
            CHECK(max_rel_d(dw, rdw, k * n) < 1e-9);
            CHECK(max_rel_d(db, rdb, n) < 1e-9);
            CHECK(max_rel_d(dx, rdx, m * k) < 1e-9);
            /* accumulate: a second call doubles the gradients */
            CHECK_OK(est_dense_backward_f64(x, w, y, dy, dz, dw, db, dx, m, k, n, (est_act)act, alpha, 1));
            for (int64_t i = 0; i < k * n; i++) rdw[i] *= 2;
            for (int64_t i = 0; i < n; i++) rdb[i] *= 2;
            for (int64_t i = 0; i < m * k; i++) rdx[i] *= 2;
            CHECK(max_rel_d(dw, rdw, k * n) < 1e-9);
            CHECK(max_rel_d(db, rdb, n) < 1e-9);
            CHECK(max_rel_d(dx, rdx, m * k) < 1e-9);
        }
        /* in place dz == dy, and no dx (input layer) */
        CHECK_OK(est_dense_forward_f64(x, w, b, y, m, k, n, EST_ACT_TANH, 0));
        for (int64_t i = 0; i < m * n; i++) rdz[i] = dy[i] * dact_ref(z[i], EST_ACT_TANH, 0);
        naive_gemm(1, 0, k, n, m, 1, x, rdz, 0, rdw);
        memcpy(dz, dy, 8 * (size_t)(m * n));
        CHECK_OK(est_dense_backward_f64(x, NULL, y, dz, dz, dw, NULL, NULL, m, k, n, EST_ACT_TANH, 0, 0));
        CHECK(max_rel_d(dw, rdw, k * n) < 1e-9);
        CHECK(max_rel_d(dz, rdz, m * n) < 1e-12);
        free(x); free(w); free(b); free(y); free(z); free(ry); free(dy); free(dz); free(rdz);
        free(dw); free(db); free(dx); free(rdw); free(rdb); free(rdx); free(xf); free(wf); free(bf); free(yf);
    }
    double v = 0;
    CHECK(est_dense_forward_f64(&v, &v, NULL, &v, 1, 1, 1, EST_ACT__COUNT, 0) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_dense_forward_f64(&v, &v, NULL, &v, 1, 1, 1, EST_ACT_LEAKY_RELU, -1) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_dense_forward_f64(NULL, &v, NULL, &v, 1, 1, 1, EST_ACT_NONE, 0) == EST_ERR_INVALID_ARGUMENT);
}

static void test_eltwise(void) {
    enum { N = 70001 }; /* above the split threshold, odd */
    double *a = malloc(8 * N), *b = malloc(8 * N), *o = malloc(8 * N);
    fill_d(a, N); fill_d(b, N);
    CHECK_OK(est_binary_f64(EST_BINOP_SUB, a, b, o, N));
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= o[i] == a[i] - b[i];
    CHECK(ok);
    double two = 2;
    CHECK_OK(est_axpy_f64(a, o, N, &two)); /* o = a - b + 2a */
    ok = 1;
    for (int i = 0; i < N; i++) ok &= fabs(o[i] - (3 * a[i] - b[i])) < 1e-12;
    CHECK(ok);
    double sum = 0, out = 0;
    for (int i = 0; i < N; i++) sum += a[i];
    CHECK_OK(est_reduce_sum_f64(a, 1, N, EST_REDUCE_ALL, 1, 0, &out));
    CHECK(fabs(out - sum / N) < 1e-12);
    /* rows [7, N/7] column sums and row means */
    int64_t rows = 7, cols = N / 7;
    double *cs = calloc((size_t)cols, 8), *rm = calloc((size_t)rows, 8);
    CHECK_OK(est_reduce_sum_f64(a, rows, cols, EST_REDUCE_ROWS, 0, 0, cs));
    CHECK_OK(est_reduce_sum_f64(a, rows, cols, EST_REDUCE_COLS, 1, 0, rm));
    double e1 = 0, e2 = 0;
    for (int64_t j = 0; j < cols; j++) { double s = 0; for (int64_t i = 0; i < rows; i++) s += a[i * cols + j]; e1 = fmax(e1, fabs(s - cs[j])); }
    for (int64_t i = 0; i < rows; i++) { double s = 0; for (int64_t j = 0; j < cols; j++) s += a[i * cols + j]; e2 = fmax(e2, fabs(s / cols - rm[i])); }
    CHECK(e1 < 1e-12 && e2 < 1e-12);
    CHECK_OK(est_fill_f64(o, N, 3.5));
    CHECK(o[0] == 3.5 && o[N - 1] == 3.5);
    CHECK_OK(est_copy_f64(a, o, N));
    CHECK(memcmp(a, o, 8 * N) == 0);
    int64_t step = 41;
    CHECK_OK(est_increment_i64(&step, 1));
    CHECK(step == 42);
    free(a); free(b); free(o); free(cs); free(rm);
}

static void test_program(void) {
    /* y = relu(x W + b); then sgd on W with dW from the backward; run as a program */
    enum { M = 9, K = 5, N = 4 };
    double x[M * K], w[K * N], b[N], y[M * N], dy[M * N], dz[M * N], dw[K * N], lr = 0.1;
    double w2[K * N], y2[M * N], dz2[M * N], dw2[K * N];
    fill_d(x, M * K); fill_d(w, K * N); fill_d(b, N); fill_d(dy, M * N);
    memcpy(w2, w, sizeof w);
    est_instr prog[3];
    memset(prog, 0, sizeof prog);
    prog[0] = (est_instr){.op = EST_OP_DENSE_FORWARD, .dtype = EST_DTYPE_F64, .act = EST_ACT_RELU,
                          .n = {M, K, N}, .p = {x, w, b, y}};
    prog[1] = (est_instr){.op = EST_OP_DENSE_BACKWARD, .dtype = EST_DTYPE_F64, .act = EST_ACT_RELU,
                          .n = {M, K, N}, .p = {x, w, y, dy, dz, dw, NULL, NULL}};
    prog[2] = (est_instr){.op = EST_OP_SGD, .dtype = EST_DTYPE_F64, .n = {K * N}, .p = {w, dw, &lr}};
    int64_t failed = 0, detail = 0;
    CHECK_OK(est_program_run(prog, 3, &failed, &detail));
    CHECK(failed == -1);
    CHECK_OK(est_dense_forward_f64(x, w2, b, y2, M, K, N, EST_ACT_RELU, 0));
    CHECK_OK(est_dense_backward_f64(x, w2, y2, dy, dz2, dw2, NULL, NULL, M, K, N, EST_ACT_RELU, 0, 0));
    CHECK_OK(est_apply_sgd_f64(w2, dw2, K * N, &lr));
    CHECK(memcmp(w, w2, sizeof w) == 0);
    /* a failing instruction reports its index and detail */
    int32_t labels[2] = {0, 9};
    double logits[4] = {0}, loss[2];
    prog[1] = (est_instr){.op = EST_OP_SPARSE_XENT, .dtype = EST_DTYPE_F64, .n = {2, 2},
                          .p = {logits, labels, NULL, loss, NULL}};
    CHECK(est_program_run(prog, 3, &failed, &detail) == EST_ERR_INVALID_ARGUMENT);
    CHECK(failed == 1 && detail == 1);
    /* the profiling runner: same failure report, times up to the failure, -1 after */
    int64_t ns[3] = {0, 0, 0};
    CHECK(est_program_profile(prog, 3, ns, &failed, &detail) == EST_ERR_INVALID_ARGUMENT);
    CHECK(failed == 1 && detail == 1);
    CHECK(ns[0] >= 0 && ns[1] >= 0 && ns[2] == -1);
    CHECK(est_program_profile(prog, 1, NULL, &failed, &detail) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_program_profile(prog, 0, NULL, &failed, &detail));
    memcpy(w2, w, sizeof w);
    CHECK_OK(est_program_profile(prog, 1, ns, &failed, &detail)); /* dense forward only */
    CHECK(failed == -1 && ns[0] >= 0);
    CHECK(memcmp(w, w2, sizeof w) == 0);
    prog[0].op = EST_OP__COUNT;
    CHECK(est_instr_run(&prog[0], NULL) == EST_ERR_INVALID_ARGUMENT);
}

/* The vectorizable float32 exp/tanh against libm in double, over the whole range. */
static void test_fast_exp_tanh(void) {
    double worst_exp = 0, worst_tanh = 0;
    for (float x = -87.0f; x < 88.5f; x += 0.00037f) {
        double e = exp((double)x);
        worst_exp = fmax(worst_exp, fabs((double)est__exp_f32(x) - e) / e);
    }
    for (float x = -20.0f; x < 20.0f; x += 0.0001f) {
        double t = tanh((double)x);
        worst_tanh = fmax(worst_tanh, fabs((double)est__tanh_f32(x) - t) / fmax(fabs(t), 1e-30));
    }
    CHECK(worst_exp < 3e-7);  /* about 2 ulp */
    CHECK(worst_tanh < 5e-7);
    CHECK(isinf(est__exp_f32(89.0f)) && est__exp_f32(-200.0f) == 0.0f);
    CHECK(isnan(est__exp_f32(NAN)) && isnan(est__tanh_f32(NAN)));
    float sub = est__exp_f32(-95.0f); /* subnormal result */
    CHECK(sub > 0 && fabs((double)sub - exp(-95.0)) < 2e-45);
    CHECK(est__tanh_f32(0.0f) == 0.0f && est__tanh_f32(30.0f) == 1.0f && est__tanh_f32(-30.0f) == -1.0f);
}

/* The separate update, as the unfused program runs it after the backward. */
static void apply_update_f32(int kind, float *var, float *s1, float *s2, float *s3,
                             const float *g, int64_t n, const float *lr, const float *b1p,
                             const float *b2p, int flag) {
    switch (kind) {
    case EST_UPDATE_SGD: CHECK_OK(est_apply_sgd_f32(var, g, n, lr)); break;
    case EST_UPDATE_MOMENTUM: CHECK_OK(est_apply_momentum_f32(var, s1, g, n, lr, 0.9f, flag)); break;
    case EST_UPDATE_ADAGRAD: CHECK_OK(est_apply_adagrad_f32(var, s1, g, n, lr)); break;
    case EST_UPDATE_RMSPROP:
        CHECK_OK(est_apply_rmsprop_f32(var, s1, s2, s3, g, n, lr, 0.9f, 0.5f, 1e-7f, flag));
        break;
    default:
        CHECK_OK(est_apply_adam_f32(var, s1, s2, g, n, b1p, b2p, lr, 0.9f, 0.999f, 1e-7f, flag));
    }
}

/* dense backward + update fused == est_dense_backward then est_apply_<kind>, bit for
 * bit, every kind, with dx (the update's var being the layer's w, read by dx before
 * the update) and without, dW kept or only in scratch (keep_dw 0) */
static void test_dense_backward_update(void) {
    /* {4, 6, 20000}: a wide layer (dW blocks of a few rows in scratch); {96, 256, 70}:
     * on 2 threads W's rows split 128 + 128 (whole panels of dx's columns) */
    const int64_t shapes[][3] = {{1, 1, 1},      {5, 3, 7},      {37, 23, 17},
                                 {128, 200, 90}, {300, 150, 70}, {4, 6, 20000}, {3, 0, 4},
                                 {96, 256, 70}};
    const float h[5][3] = {{0, 0, 0}, {0.9f, 0, 0}, {0, 0, 0}, {0.9f, 0.5f, 1e-7f},
                           {0.9f, 0.999f, 1e-7f}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        size_t mk = (size_t)(m * k), kn = (size_t)(k * n), mn = (size_t)(m * n);
        float *x = malloc(4 * mk + 4), *y = malloc(4 * mn), *dy = malloc(4 * mn);
        float *dz[2], *dw[2], *db[2], *dx[2], *var[2], *sl[2][3];
        for (int r = 0; r < 2; r++) {
            dz[r] = malloc(4 * mn); dw[r] = malloc(4 * kn + 4); db[r] = malloc(4 * (size_t)n);
            dx[r] = malloc(4 * mk + 4); var[r] = malloc(4 * kn + 4);
            for (int q = 0; q < 3; q++) sl[r][q] = malloc(4 * kn + 4);
        }
        fill_f(x, (int64_t)mk); fill_f(y, (int64_t)mn); fill_f(dy, (int64_t)mn);
        float b1p = 0.81f, b2p = 0.998f, lr = 0.01f;
        for (int kind = EST_UPDATE_SGD; kind <= EST_UPDATE_ADAM; kind++) {
            fill_f(var[0], (int64_t)kn);
            for (int q = 0; q < 3; q++)
                for (size_t i = 0; i < kn; i++) sl[0][q][i] = (float)fabs(rnd()) + (q == 0);
            memcpy(var[1], var[0], 4 * kn);
            for (int q = 0; q < 3; q++) memcpy(sl[1][q], sl[0][q], 4 * kn);
            for (int keep = 0; keep < 2; keep++)
            for (int with_dx = 0; with_dx < 2; with_dx++)
                for (int flag = 0; flag < 2; flag++)
                    for (int act = EST_ACT_NONE; act <= EST_ACT_RELU; act++) {
                        CHECK_OK(est_dense_backward_f32(x, var[0], y, dy, dz[0], dw[0], db[0],
                                                        with_dx ? dx[0] : NULL, m, k, n,
                                                        (est_act)act, 0, 0));
                        apply_update_f32(kind, var[0], sl[0][0], sl[0][1], sl[0][2], dw[0],
                                         k * n, &lr, &b1p, &b2p, flag);
                        CHECK_OK(est_dense_backward_update_f32(
                            x, var[1], y, dy, dz[1], dw[1], db[1], with_dx ? dx[1] : NULL, m,
                            k, n, (est_act)act, 0, kind, var[1], sl[1][0], sl[1][1], sl[1][2],
                            &lr, &b1p, &b2p, h[kind][0], h[kind][1], h[kind][2], flag, keep));
                        CHECK(!keep || memcmp(dw[0], dw[1], 4 * kn) == 0);
                        CHECK(memcmp(db[0], db[1], 4 * (size_t)n) == 0);
                        CHECK(!with_dx || memcmp(dx[0], dx[1], 4 * mk) == 0);
                        CHECK(memcmp(var[0], var[1], 4 * kn) == 0);
                        for (int q = 0; q < 3; q++) CHECK(memcmp(sl[0][q], sl[1][q], 4 * kn) == 0);
                    }
        }
        float f = 0;
        CHECK(est_dense_backward_update_f32(x, NULL, y, dy, dz[1], dw[1], db[1], NULL, m, k, n,
                                            EST_ACT_NONE, 0, EST_UPDATE_ADAM, var[1], sl[1][0],
                                            sl[1][1], NULL, &lr, NULL, &b2p, 0.9f, 0.999f, 1e-7f,
                                            0, 1) == EST_ERR_INVALID_ARGUMENT);
        CHECK(est_dense_backward_update_f32(&f, &f, &f, &f, &f, &f, &f, NULL, 1, 1, 1,
                                            EST_ACT_RELU, 0, EST_UPDATE_MOMENTUM, &f, NULL, NULL,
                                            NULL, &lr, NULL, NULL, 0.9f, 0, 0, 0, 1)
              == EST_ERR_INVALID_ARGUMENT);
        CHECK(est_dense_backward_update_f32(&f, &f, &f, &f, &f, &f, &f, NULL, 1, 1, 1,
                                            EST_ACT_RELU, 0, 99, &f, &f, &f, &f, &lr, &b1p, &b2p,
                                            0, 0, 0, 0, 1) == EST_ERR_INVALID_ARGUMENT);
        free(x); free(y); free(dy);
        for (int r = 0; r < 2; r++) {
            free(dz[r]); free(dw[r]); free(db[r]); free(dx[r]); free(var[r]);
            for (int q = 0; q < 3; q++) free(sl[r][q]);
        }
    }
}

/* The fused op's passes in turn (est_dense.inc), against the unfused ops bit for bit:
 * dz computed in place (dz == dy: the one-region path would overwrite dy that other
 * tasks still read; tanh, whose gradient applied twice differs) and a dz larger than
 * EST_DENSE_COPY_MAX (2^21) elements (the copies of all tasks together must fit). */
static void test_dense_backward_update_fallbacks(void) {
    const int64_t shapes[][3] = {{37, 23, 17}, {128, 200, 90}, {2, 1, 1100000}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        const size_t mk = (size_t)(m * k), kn = (size_t)(k * n), mn = (size_t)(m * n);
        const int in_place_cases = n < 1000 ? 2 : 1;
        float *x = malloc(4 * mk), *y = malloc(4 * mn), *dy0 = malloc(4 * mn);
        fill_f(x, (int64_t)mk); fill_f(y, (int64_t)mn); fill_f(dy0, (int64_t)mn);
        float *dy[2], *dz[2], *dw[2], *db[2], *dx[2], *var[2], *m1[2], *v1[2];
        for (int r = 0; r < 2; r++) {
            dy[r] = malloc(4 * mn); dz[r] = malloc(4 * mn); dw[r] = malloc(4 * kn);
            db[r] = malloc(4 * (size_t)n); dx[r] = malloc(4 * mk); var[r] = malloc(4 * kn);
            m1[r] = malloc(4 * kn); v1[r] = malloc(4 * kn);
        }
        float b1p = 0.81f, b2p = 0.998f, lr = 0.01f;
        for (int in_place = 0; in_place < in_place_cases; in_place++) {
            fill_f(var[0], (int64_t)kn);
            for (size_t i = 0; i < kn; i++) { m1[0][i] = 0.1f * (float)(i % 7); v1[0][i] = 0.01f * (float)(i % 5); }
            for (int r = 0; r < 2; r++) memcpy(dy[r], dy0, 4 * mn);
            memcpy(var[1], var[0], 4 * kn); memcpy(m1[1], m1[0], 4 * kn); memcpy(v1[1], v1[0], 4 * kn);
            float *dz0 = in_place ? dy[0] : dz[0], *dz1 = in_place ? dy[1] : dz[1];
            CHECK_OK(est_dense_backward_f32(x, var[0], y, dy[0], dz0, dw[0], db[0], dx[0], m, k, n,
                                            EST_ACT_TANH, 0, 0));
            CHECK_OK(est_apply_adam_f32(var[0], m1[0], v1[0], dw[0], (int64_t)kn, &b1p, &b2p, &lr,
                                        0.9f, 0.999f, 1e-7f, 0));
            CHECK_OK(est_dense_backward_update_f32(x, var[1], y, dy[1], dz1, dw[1], db[1], dx[1], m,
                                                   k, n, EST_ACT_TANH, 0, EST_UPDATE_ADAM, var[1],
                                                   m1[1], v1[1], NULL, &lr, &b1p, &b2p, 0.9f,
                                                   0.999f, 1e-7f, 0, 0));
            CHECK(memcmp(dz0, dz1, 4 * mn) == 0);
            CHECK(memcmp(db[0], db[1], 4 * (size_t)n) == 0);
            CHECK(memcmp(dx[0], dx[1], 4 * mk) == 0);
            CHECK(memcmp(var[0], var[1], 4 * kn) == 0);
            CHECK(memcmp(m1[0], m1[1], 4 * kn) == 0);
            CHECK(memcmp(v1[0], v1[1], 4 * kn) == 0);
        }
        free(x); free(y); free(dy0);
        for (int r = 0; r < 2; r++) {
            free(dy[r]); free(dz[r]); free(dw[r]); free(db[r]); free(dx[r]); free(var[r]);
            free(m1[r]); free(v1[r]);
        }
    }
}

int main(void) {
    test_fast_exp_tanh();
    /* 8 threads: the larger GEMMs and dense layers split into 2-D grids of blocks */
    const int thread_counts[] = {1, 2, 3, 8};
    est_isa isas[EST_ISA__COUNT];
    const int n_isas = est_test_isas(isas);
    for (size_t ti = 0; ti < sizeof thread_counts / sizeof thread_counts[0]; ti++) {
        CHECK_OK(est_set_num_threads(thread_counts[ti]));
        for (int ii = 0; ii < n_isas; ii++) { /* the GEMM-based kernels under each ISA */
            CHECK_OK(est_gemm_set_isa(isas[ii]));
            test_gemm();
            test_dense();
            test_dense_backward_update();
            test_dense_backward_update_fallbacks();
        }
        CHECK_OK(est_gemm_set_isa(EST_ISA_AUTO));
        test_eltwise();
        test_program();
    }
    CHECK_OK(est_set_num_threads(1));
    return est_test_finish("test_dense");
}
