/* est_conv.c -- conv2d as implicit GEMMs (dcol + col2im for some input gradients) and
 * max / avg pooling, NHWC (est_conv.h). */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "est_internal.h"

/* a*b, or -1 when it would overflow int64 (inputs non-negative). */
static int64_t mul_or_neg(int64_t a, int64_t b) {
    if (a < 0 || b < 0) return -1;
    if (a != 0 && b > INT64_MAX / a) return -1;
    return a * b;
}

static est_status out_size(int64_t in, int64_t k, int64_t s, est_padding padding, int64_t *out,
                           int64_t *pad_before) {
    if (padding == EST_PADDING_SAME) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + k - in;
        if (*out == 0 || total < 0) total = 0;
        *pad_before = total / 2;
    } else if (padding == EST_PADDING_VALID) {
        if (in < k) {
            if (in != 0) return EST_ERR_INVALID_ARGUMENT;
            *out = 0;
        } else {
            *out = (in - k) / s + 1;
        }
        *pad_before = 0;
    } else {
        return EST_ERR_INVALID_ARGUMENT;
    }
    return EST_OK;
}

est_status est_window_init(int64_t batch, int64_t in_h, int64_t in_w, int64_t in_c, int64_t k_h,
                           int64_t k_w, int64_t out_c, int64_t stride_h, int64_t stride_w,
                           est_padding padding, est_window *out) {
    if (out == NULL || batch < 0 || in_h < 0 || in_w < 0 || in_c < 1 || k_h < 1 || k_w < 1 ||
        out_c < 1 || stride_h < 1 || stride_w < 1)
        return EST_ERR_INVALID_ARGUMENT;
    est_window g = {batch, in_h, in_w, in_c, k_h, k_w, out_c, stride_h, stride_w, 0, 0, 0, 0};
    est_status st = out_size(in_h, k_h, stride_h, padding, &g.out_h, &g.pad_top);
    if (st == EST_OK) st = out_size(in_w, k_w, stride_w, padding, &g.out_w, &g.pad_left);
    if (st != EST_OK) return st;
    /* Every buffer size derived from g must fit in int64 and GEMM sizes in int. */
    int64_t rows = mul_or_neg(mul_or_neg(batch, g.out_h), g.out_w);
    int64_t kk = mul_or_neg(mul_or_neg(k_h, k_w), in_c);
    int64_t in_sz = mul_or_neg(mul_or_neg(mul_or_neg(batch, in_h), in_w), in_c);
    if (rows < 0 || kk < 0 || in_sz < 0 || mul_or_neg(rows, kk) < 0 || mul_or_neg(rows, out_c) < 0 ||
        mul_or_neg(kk, out_c) < 0 || rows > INT32_MAX || kk > INT32_MAX || out_c > INT32_MAX)
        return EST_ERR_INVALID_ARGUMENT;
    /* ... and so must their sizes in bytes: the kernels size buffers (their own
     * per-thread scratch included) as (size_t)elements * sizeof(T), which must not wrap
     * (rows * kk alone may reach 2^62 within the limits above). */
    const int64_t max_elems = INT64_MAX / 8;
    if (in_sz > max_elems || rows * kk > max_elems || rows * out_c > max_elems ||
        kk * out_c > max_elems)
        return EST_ERR_INVALID_ARGUMENT;
    *out = g;
    return EST_OK;
}


/* Valid [k0,k1) of window offsets for output coordinate o along one axis. */
static inline void window_range(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in,
                                int64_t *k0, int64_t *k1) {
    int64_t start = o * stride - pad;
    *k0 = start < 0 ? -start : 0;
    *k1 = start + k > in ? in - start : k;
    if (*k1 < *k0) *k1 = *k0;
}

/* True when the conv GEMM operand is the input itself (1x1 window, stride 1, no padding). */
static int conv_is_direct(const est_window *g) {
    return g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1;
}

/* True when a pool's windows tile its input: stride = window, no padding, and in_h,
 * in_w whole numbers of windows (every input element in exactly one window). */
static int pool_tiles(const est_window *g) {
    return g->stride_h == g->k_h && g->stride_w == g->k_w && g->pad_top == 0 &&
           g->pad_left == 0 && g->out_h * g->k_h == g->in_h && g->out_w * g->k_w == g->in_w;
}

/* pool_tiles, with windows small enough for a pick to be a byte (EST_POOL_PICK_NONE). */
static int pool_picks_fit(const est_window *g) {
    return pool_tiles(g) && g->k_h * g->k_w < EST_POOL_PICK_NONE;
}

static est_status check_window(const est_window *g) {
    if (g == NULL) return EST_ERR_INVALID_ARGUMENT;
    est_window chk;
    /* Recompute from the primary fields: a hand-filled struct must be consistent. */
    est_padding pad = (g->pad_top == 0 && g->pad_left == 0 && g->in_h >= g->k_h && g->in_w >= g->k_w &&
                       g->out_h == (g->in_h - g->k_h) / g->stride_h + 1 &&
                       g->out_w == (g->in_w - g->k_w) / g->stride_w + 1)
                          ? EST_PADDING_VALID : EST_PADDING_SAME;
    if (g->stride_h < 1 || g->stride_w < 1) return EST_ERR_INVALID_ARGUMENT;
    if (est_window_init(g->batch, g->in_h, g->in_w, g->in_c, g->k_h, g->k_w, g->out_c, g->stride_h,
                        g->stride_w, pad, &chk) != EST_OK)
        return EST_ERR_INVALID_ARGUMENT;
    if (memcmp(&chk, g, sizeof chk) != 0) return EST_ERR_INVALID_ARGUMENT;
    return EST_OK;
}

/* Images per group of the filter gradient: at least 256 output rows (the inner
 * dimension of each group's GEMM), a constant of the geometry, never of the thread
 * count, so the summation order and the result do not depend on the split. */
static int64_t conv_dw_group(const est_window *g) {
    const int64_t per_img = g->out_h * g->out_w;
    int64_t imgs = per_img > 0 ? (256 + per_img - 1) / per_img : 1;
    return imgs > g->batch ? (g->batch > 0 ? g->batch : 1) : imgs;
}

/* Images per implicit GEMM of the forward pass and the input gradient (est_conv.inc:
 * igemm_plan): groups of this many consecutive images (the last may be short), fixed
 * by the geometry and the batch, never by the thread count. Several images let the
 * small classes of edge pixels (whose windows reach into the same padding) fill whole
 * tiles, which then skip those taps: a 5x5 SAME conv on 14x14 runs 93.1% of the full
 * windows' multiply-adds with 12-row tiles one image at a time, 86.1% three at a time
 * (all of the padding left out: 83.6%); 6-row tiles 88.2% -> 84.2%. Only for small
 * images (at most 256 pixels: the tutorial's 28x28 conv1 forward, whose edge classes
 * already fill tiles, ran 4% slower in groups) and batches of 16 groups or more, so
 * that many threads still get whole groups. */
#define EST_CONV_IGEMM_IMGS 3
static int64_t conv_igemm_imgs(const est_window *g) {
    const int64_t px = g->out_h * g->out_w > g->in_h * g->in_w ? g->out_h * g->out_w
                                                               : g->in_h * g->in_w;
    return px <= 256 && g->batch >= 16 * EST_CONV_IGEMM_IMGS ? EST_CONV_IGEMM_IMGS : 1;
}

/* Groups of conv_igemm_imgs images in the batch (the last may be short). */
static int64_t conv_igemm_groups(const est_window *g) {
    return (g->batch + conv_igemm_imgs(g) - 1) / conv_igemm_imgs(g);
}

/* Tasks of the implicit GEMMs' passes: at most `parts`, each whole groups of images
 * (est_conv.inc: igemm_part splits the groups among them). */
static int64_t conv_igemm_parts(const est_window *g, int64_t parts) {
    const int64_t groups = conv_igemm_groups(g);
    return parts > groups ? groups : parts;
}

/* Filter gradient in fixed chunks of images (conv_dw_chunk_task), at most this many,
 * with their partial sums at most EST_CONV_DW_PARTIAL_ELEMS elements in all; a
 * geometry with fewer than 2 chunks (one group of images, or a filter too large for
 * two partial sums) splits the rows of df over the tasks instead (conv_dw_rows_task). */
#define EST_CONV_DW_CHUNKS 16
#define EST_CONV_DW_PARTIAL_ELEMS ((int64_t)1 << 21)

static int64_t conv_dw_chunks(const est_window *g) {
    const int64_t grp = conv_dw_group(g), groups = g->batch > 0 ? (g->batch + grp - 1) / grp : 0;
    const int64_t filt = (g->k_h * g->k_w * g->in_c + 1) * g->out_c; /* df and db */
    int64_t n = groups < EST_CONV_DW_CHUNKS ? groups : EST_CONV_DW_CHUNKS;
    if (filt > 0 && n > EST_CONV_DW_PARTIAL_ELEMS / filt) n = EST_CONV_DW_PARTIAL_ELEMS / filt;
    return n;
}

/* Every convolution but a 1x1 stride-1 one (whose GEMM operand is the input itself)
 * runs its forward pass and filter gradient as implicit GEMMs (est__igemm /
 * est__kgemm: the tiles read each window row's k_w * in_c contiguous elements
 * straight from a zero-padded copy of the image, no im2col matrix; measured on the
 * tutorial CNN, one thread: conv1 (1 channel) forward 2.9 -> 1.0 ms, filter gradient
 * 3.0 -> 1.5; conv2 (32 channels) 14.9 -> 11.4 and 16.1 -> 12.3). The input gradient
 * does so with stride 1 from this many input channels (a convolution of the padded dz
 * with the flipped filter, vectorized over in_c: fewer leave most of a vector idle;
 * conv2 13.6 -> 11.9 ms); otherwise dz @ f^T and col2im per chunk of rows. */
#define EST_CONV_IMPLICIT_DX_MIN_C 16
static int conv_implicit_dx(const est_window *g) {
    return !conv_is_direct(g) && g->stride_h == 1 && g->stride_w == 1 &&
           g->in_c >= EST_CONV_IMPLICIT_DX_MIN_C;
}

/* The zero-padded image an implicit GEMM reads: ph x pw pixels of `c` channels, the
 * image's pixel (iy, ix) at (iy + top, ix + left). Forward: every window of every
 * output pixel, top/left the padding before (rows past the last window are not
 * kept). Input gradient: dz padded by k - 1 - pad before, so that
 * dx[iy, ix] = sum over taps (ky', kx') of dzp[iy + ky', ix + kx'] @ f[flipped tap]^T. */
typedef struct {
    int64_t ph, pw, c, top, left, h, w; /* h, w: the source image */
} conv_pad;

static conv_pad conv_pad_fwd(const est_window *g) {
    conv_pad p = {(g->out_h - 1) * g->stride_h + g->k_h, (g->out_w - 1) * g->stride_w + g->k_w,
                  g->in_c, g->pad_top, g->pad_left, g->in_h, g->in_w};
    return p;
}

static conv_pad conv_pad_dx(const est_window *g) {
    conv_pad p = {g->in_h + g->k_h - 1, g->in_w + g->k_w - 1, g->out_c, g->k_h - 1 - g->pad_top,
                  g->k_w - 1 - g->pad_left, g->out_h, g->out_w};
    return p;
}

/* The `col` scratch is no longer used by any path (kept in the API for callers). */
int64_t est_conv2d_col_size(const est_window *g) {
    (void)g;
    return 0;
}

/* ---- max-pool backward, windows that tile the image, AVX-512 -----------------------
 * One image of the backward for windows that tile it exactly (stride = window, no
 * padding, out * window = in on both axes; each dx element is written once) with
 * in_c a multiple of 16, float32: max_window_grad's rule (est_pool.inc) lane by lane,
 * 16 channels per register, the running maximum and the pick flags in registers
 * instead of stack arrays (one thread, 100x28x28x32: 2.1 -> 0.93 ms, a 10 MB copy
 * taking 0.72). Same picks, ties, NaNs and bits, -0.0 included (dx = 0 + value).
 * x, dy, dx: the image's first element. max_tile_grad_f32 / _f64 return 0 (nothing
 * done) where it does not apply: another type, ISA or channel count. */
#if defined(EST_HAVE_X86_GEMM)
#include <immintrin.h>

/* The max-pool rule (est_pool.inc: max_window) for 16 channels of one kh x kw window:
 * the first element, then each later one in window order replaces the running
 * maximum when greater or when it is the first NaN. x0: the window's first element;
 * rows `row` elements apart, taps `c` apart. Shared by both AVX-512 pool paths. */
__attribute__((target("avx512f"))) static inline __m512 max_window_avx512(const float *x0,
        int64_t row, int64_t c, int64_t kh, int64_t kw) {
    __m512 best = _mm512_loadu_ps(x0);
    for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = ky == 0 ? 1 : 0; kx < kw; kx++) {
            const __m512 v = _mm512_loadu_ps(x0 + ky * row + kx * c);
            const __mmask16 takes = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) &
                 _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
            best = _mm512_mask_mov_ps(best, takes, v);
        }
    return best;
}

__attribute__((target("avx512f"))) static void max_tile_grad_avx512(const est_window *g,
        const float *x, const float *dy, float *dx, int relu) {
    const int64_t c = g->in_c, in_w = g->in_w, kh = g->k_h, kw = g->k_w;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            const int64_t base = (oy * kh * in_w + ox * kw) * c;
            const float *gyp = dy + (oy * g->out_w + ox) * c;
            for (int64_t c0 = 0; c0 < c; c0 += 16) {
                const float *x0 = x + base + c0;
                float *d0 = dx + base + c0;
                const __m512 best = max_window_avx512(x0, in_w * c, c, kh, kw);
                __m512 gy = _mm512_loadu_ps(gyp + c0);
                if (relu)
                    gy = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(best, zero, _CMP_GT_OQ), gy);
                const __mmask16 best_nan = _mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q);
                __mmask16 left = 0xFFFF; /* lanes whose pick is not found yet */
                for (int64_t ky = 0; ky < kh; ky++)
                    for (int64_t kx = 0; kx < kw; kx++) {
                        const int64_t off = (ky * in_w + kx) * c;
                        const __m512 v = _mm512_loadu_ps(x0 + off);
                        const __mmask16 hit = left & (_mm512_cmp_ps_mask(v, best, _CMP_EQ_OQ) |
                            (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & best_nan));
                        left &= (__mmask16)~hit;
                        const __m512 out = _mm512_add_ps(zero, _mm512_maskz_mov_ps(hit, gy));
                        _mm512_storeu_ps(d0 + off, out);
                    }
            }
        }
}
#endif

/* ---- max-pool forward, windows inside the image, AVX-512 -----------------------------
 * One image of the forward where no window reaches into padding (pad 0 and the last
 * window ends inside the image; any stride) with in_c a multiple of 16, float32:
 * max_window_avx512 per 16 channels, the running maximum in a register. Same values,
 * ties, NaNs and bits (-0.0 and +0.0 keep the first seen). Measured, 2x2 windows over 100x28x28x32:
 * the conv forward with its pool, 2 threads, 0.80-0.81 -> 0.74-0.76 ms (the pool
 * reads each image from cache); the pool alone, 1 thread, 0.56-0.58 -> 0.51-0.54 ms
 * (reading 10 MB from memory bounds it). x, y: the image's first element.
 * max_window_fwd_f32 / _f64 return 0 (nothing done) where it does not apply. */
#if defined(EST_HAVE_X86_GEMM)
__attribute__((target("avx512f"))) static void max_window_fwd_avx512(const est_window *g,
        const float *x, float *y) {
    const int64_t c = g->in_c, in_w = g->in_w, kh = g->k_h, kw = g->k_w;
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            const float *x0 = x + (oy * g->stride_h * in_w + ox * g->stride_w) * c;
            float *yp = y + (oy * g->out_w + ox) * c;
            for (int64_t c0 = 0; c0 < c; c0 += 16)
                _mm512_storeu_ps(yp + c0, max_window_avx512(x0 + c0, in_w * c, c, kh, kw));
        }
}
#endif

static int max_window_fwd_f32(const est_window *g, const float *x, float *y) {
#if defined(EST_HAVE_X86_GEMM)
    if (g->in_c % 16 == 0 && g->pad_top == 0 && g->pad_left == 0 && g->out_h > 0 &&
        g->out_w > 0 && (g->out_h - 1) * g->stride_h + g->k_h <= g->in_h &&
        (g->out_w - 1) * g->stride_w + g->k_w <= g->in_w &&
        est_gemm_get_isa() == EST_ISA_AVX512) {
        max_window_fwd_avx512(g, x, y);
        return 1;
    }
#else
    (void)g; (void)x; (void)y;
#endif
    return 0;
}

static int max_window_fwd_f64(const est_window *g, const double *x, double *y) {
    (void)g; (void)x; (void)y;
    return 0;
}

static int max_tile_grad_f32(const est_window *g, const float *x, const float *dy, float *dx,
                             int relu) {
#if defined(EST_HAVE_X86_GEMM)
    if (g->in_c % 16 == 0 && est_gemm_get_isa() == EST_ISA_AVX512) {
        max_tile_grad_avx512(g, x, dy, dx, relu);
        return 1;
    }
#else
    (void)g; (void)x; (void)dy; (void)dx; (void)relu;
#endif
    return 0;
}

static int max_tile_grad_f64(const est_window *g, const double *x, const double *dy, double *dx,
                             int relu) {
    (void)g; (void)x; (void)dy; (void)dx; (void)relu;
    return 0;
}

/* ---- the pool's picks, AVX-512 (est_pool.inc: max_pick_fwd_image / _grad_image) -----
 * One image, windows that tile it, in_c a multiple of 16, float32: 16 channels per
 * register, the running maximum and its position in registers (max_window_avx512's
 * rule, so the same y bits), the picks narrowed to bytes; the backward widens 16
 * picks and compares them with each position of the window. Same values as the
 * scalar loops. max_pick_fwd_f32 / _f64 and max_pick_grad_f32 / _f64 return 0
 * (nothing done) where they do not apply. */
#if defined(EST_HAVE_X86_GEMM)
__attribute__((target("avx512f"))) static void max_pick_fwd_avx512(const est_window *g,
        const float *x, float *y, uint8_t *pick) {
    const int64_t c = g->in_c, in_w = g->in_w, kh = g->k_h, kw = g->k_w;
    const __m512 zero = _mm512_setzero_ps();
    const __m512i none = _mm512_set1_epi32(EST_POOL_PICK_NONE);
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            const float *x0 = x + (oy * kh * in_w + ox * kw) * c;
            const int64_t o = (oy * g->out_w + ox) * c;
            for (int64_t c0 = 0; c0 < c; c0 += 16) {
                __m512 best = _mm512_loadu_ps(x0 + c0);
                __m512i pos = _mm512_setzero_si512();
                for (int64_t ky = 0; ky < kh; ky++)
                    for (int64_t kx = ky == 0 ? 1 : 0; kx < kw; kx++) {
                        const __m512 v = _mm512_loadu_ps(x0 + (ky * in_w + kx) * c + c0);
                        const __mmask16 takes = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                            (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) &
                             _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
                        best = _mm512_mask_mov_ps(best, takes, v);
                        pos = _mm512_mask_mov_epi32(pos, takes,
                                                    _mm512_set1_epi32((int)(ky * kw + kx)));
                    }
                _mm512_storeu_ps(y + o + c0, best);
                const __m512i code = _mm512_mask_mov_epi32(
                    none, _mm512_cmp_ps_mask(best, zero, _CMP_GT_OQ), pos);
                _mm_storeu_si128((__m128i *)(void *)(pick + o + c0), _mm512_cvtepi32_epi8(code));
            }
        }
}

__attribute__((target("avx512f"))) static void max_pick_grad_avx512(const est_window *g,
        const uint8_t *pick, const float *dy, float *dx) {
    const int64_t c = g->in_c, in_w = g->in_w, kh = g->k_h, kw = g->k_w;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            const int64_t o = (oy * g->out_w + ox) * c;
            float *d0 = dx + (oy * kh * in_w + ox * kw) * c;
            for (int64_t c0 = 0; c0 < c; c0 += 16) {
                const __m512i code = _mm512_cvtepu8_epi32(
                    _mm_loadu_si128((const __m128i *)(const void *)(pick + o + c0)));
                const __m512 gy = _mm512_loadu_ps(dy + o + c0);
                for (int64_t ky = 0; ky < kh; ky++)
                    for (int64_t kx = 0; kx < kw; kx++) {
                        const __mmask16 hit = _mm512_cmpeq_epi32_mask(
                            code, _mm512_set1_epi32((int)(ky * kw + kx)));
                        _mm512_storeu_ps(d0 + (ky * in_w + kx) * c + c0,
                                         _mm512_add_ps(zero, _mm512_maskz_mov_ps(hit, gy)));
                    }
            }
        }
}
#endif

static int max_pick_fwd_f32(const est_window *g, const float *x, float *y, uint8_t *pick) {
#if defined(EST_HAVE_X86_GEMM)
    if (g->in_c % 16 == 0 && est_gemm_get_isa() == EST_ISA_AVX512) {
        max_pick_fwd_avx512(g, x, y, pick);
        return 1;
    }
#else
    (void)g; (void)x; (void)y; (void)pick;
#endif
    return 0;
}

static int max_pick_fwd_f64(const est_window *g, const double *x, double *y, uint8_t *pick) {
    (void)g; (void)x; (void)y; (void)pick;
    return 0;
}

static int max_pick_grad_f32(const est_window *g, const uint8_t *pick, const float *dy,
                             float *dx) {
#if defined(EST_HAVE_X86_GEMM)
    if (g->in_c % 16 == 0 && est_gemm_get_isa() == EST_ISA_AVX512) {
        max_pick_grad_avx512(g, pick, dy, dx);
        return 1;
    }
#else
    (void)g; (void)pick; (void)dy; (void)dx;
#endif
    return 0;
}

static int max_pick_grad_f64(const est_window *g, const uint8_t *pick, const double *dy,
                             double *dx) {
    (void)g; (void)pick; (void)dy; (void)dx;
    return 0;
}

/* pooling job kinds; P_MAX_BWD_RELU: max backward through the ReLU that made x */
enum { P_MAX_FWD, P_AVG_FWD, P_MAX_BWD, P_AVG_BWD, P_MAX_BWD_RELU };

#include "est_tmpl_f32.h"
#include "est_conv.inc"
#include "est_conv_pooled.inc"
#include "est_pool.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_conv.inc"
#include "est_conv_pooled.inc"
#include "est_pool.inc"
#include "est_tmpl_end.h"
