/* est_blas.c -- ISA selection, per-thread packing workspace, argument checks and the
 * row-major, pool-split GEMM (est_blas.h). The packed kernels are in est_gemm_*.c. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "est_gemm_isa.h"
#include "est_internal.h"

/* ---- ISA selection ----------------------------------------------------------------- */

static const char *const g_isa_names[EST_ISA__COUNT] = {"auto", "generic", "avx2", "avx512"};

const char *est_isa_name(est_isa isa) {
    return (isa >= 0 && isa < EST_ISA__COUNT) ? g_isa_names[isa] : "unknown";
}

int est_gemm_isa_supported(est_isa isa) {
    switch (isa) {
    case EST_ISA_AUTO:
    case EST_ISA_GENERIC:
        return 1;
#if defined(EST_HAVE_X86_GEMM)
    /* libgcc's CPU model checks the OS's XSAVE support for the ymm / zmm state too. */
    case EST_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EST_ISA_AVX512:
        return __builtin_cpu_supports("avx512f");
#else
    case EST_ISA_AVX2:
    case EST_ISA_AVX512:
        return 0;
#endif
    default:
        return 0;
    }
}

static est_isa best_isa(void) {
    for (int i = EST_ISA__COUNT - 1; i > EST_ISA_GENERIC; i--)
        if (est_gemm_isa_supported((est_isa)i)) return (est_isa)i;
    return EST_ISA_GENERIC;
}

/* The ISA in use; 0 (AUTO) until resolved. Relaxed is enough: the value is an
 * enum, and every ISA's kernels are plain code present from load time. */
static _Atomic int g_isa;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;

/* First use: ESTCORE_ISA if set to a known name (falling back to the best ISA below
 * it that this CPU supports), else the best one. */
static void resolve_isa(void) {
    est_isa isa = best_isa();
    const char *env = getenv("ESTCORE_ISA");
    if (env != NULL) {
        for (int i = EST_ISA_GENERIC; i < EST_ISA__COUNT; i++) {
            if (strcmp(env, g_isa_names[i]) != 0) continue;
            int want = i;
            while (want > EST_ISA_GENERIC && !est_gemm_isa_supported((est_isa)want)) want--;
            isa = (est_isa)want;
        }
    }
    int expected = EST_ISA_AUTO; /* est_gemm_set_isa may have run first */
    atomic_compare_exchange_strong_explicit(&g_isa, &expected, (int)isa, memory_order_relaxed,
                                            memory_order_relaxed);
}

est_isa est_gemm_get_isa(void) {
    pthread_once(&g_isa_once, resolve_isa);
    return (est_isa)atomic_load_explicit(&g_isa, memory_order_relaxed);
}

int est__gemm_row_align(int isa) {
    switch (isa) {
#if defined(EST_HAVE_X86_GEMM)
    case EST_ISA_AVX2: return 2 * EST__MR_AVX2;
    case EST_ISA_AVX512: return 2 * EST__MR_AVX512;
#endif
    default: return 2 * EST__MR_GENERIC;
    }
}

est_status est_gemm_set_isa(est_isa isa) {
    if (isa < 0 || isa >= EST_ISA__COUNT || !est_gemm_isa_supported(isa))
        return EST_ERR_INVALID_ARGUMENT;
    pthread_once(&g_isa_once, resolve_isa);
    atomic_store_explicit(&g_isa, (int)(isa == EST_ISA_AUTO ? best_isa() : isa),
                          memory_order_relaxed);
    return EST_OK;
}

/* ---- per-thread packing workspace -------------------------------------------------- */

/* Each thread's workspace hangs off this key; its destructor frees it when the thread
 * exits. g_ws_key_ok is written once under g_ws_once. */
static pthread_key_t g_ws_key;
static int g_ws_key_ok;
static pthread_once_t g_ws_once = PTHREAD_ONCE_INIT;

static void ws_free(void *p) { free(p); }
static void ws_key_init(void) { g_ws_key_ok = pthread_key_create(&g_ws_key, ws_free) == 0; }

/* The calling thread's workspace (EST__GEMM_WS_BYTES, 64-byte aligned), or NULL if
 * it cannot be had (the caller then uses a stack buffer). */
static void *ws_get(void) {
    pthread_once(&g_ws_once, ws_key_init);
    if (!g_ws_key_ok) return NULL;
    void *p = pthread_getspecific(g_ws_key);
    if (p != NULL) return p;
    p = aligned_alloc(64, EST__GEMM_WS_BYTES);
    if (p != NULL && pthread_setspecific(g_ws_key, p) != 0) {
        free(p);
        p = NULL;
    }
    return p;
}

/* ---- per-thread growable buffers (est__tls_buf) ------------------------------------ */

/* Each slot's buffer starts with a 64-byte header holding its capacity. */
static pthread_key_t g_buf_key[EST__BUF__COUNT];
static int g_buf_key_ok;
static pthread_once_t g_buf_once = PTHREAD_ONCE_INIT;

static void buf_key_init(void) {
    int ok = 1;
    for (int i = 0; i < EST__BUF__COUNT; i++) ok &= pthread_key_create(&g_buf_key[i], ws_free) == 0;
    g_buf_key_ok = ok;
}

void *est__tls_buf(int slot, size_t bytes) {
    if (slot < 0 || slot >= EST__BUF__COUNT || bytes > ((size_t)1 << 40)) return NULL;
    pthread_once(&g_buf_once, buf_key_init);
    if (!g_buf_key_ok) return NULL;
    char *p = pthread_getspecific(g_buf_key[slot]);
    if (p != NULL && *(size_t *)p >= bytes) return p + 64;
    size_t cap = bytes < ((size_t)256 << 10) ? ((size_t)256 << 10) : (bytes + 63) / 64 * 64;
    char *q = aligned_alloc(64, 64 + cap);
    if (q == NULL) return NULL;
    est__pool_note_warmup(); /* the caller's first touch of q is no sign of contention */
    if (pthread_setspecific(g_buf_key[slot], q) != 0) {
        free(q);
        return NULL;
    }
    free(p);
    *(size_t *)q = cap;
    return q + 64;
}

/* ---- checks ------------------------------------------------------------------------ */

static est_status check_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                             const void *a, int64_t lda, const void *b, int64_t ldb,
                             const void *c, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return EST_ERR_INVALID_ARGUMENT;
    if (lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) return EST_ERR_INVALID_ARGUMENT;
    if (lda < (trans_a ? m : k) || ldb < (trans_b ? k : n) || ldc < n) return EST_ERR_INVALID_ARGUMENT;
    if (m > 0 && n > 0 && c == NULL) return EST_ERR_INVALID_ARGUMENT;
    if (m > 0 && n > 0 && k > 0 && (a == NULL || b == NULL)) return EST_ERR_INVALID_ARGUMENT;
    return EST_OK;
}

#if defined(EST_HAVE_X86_GEMM)
#define EST__ISA_FN(T, SFX_)                                                                  \
    static void (*const g_gemm##SFX_[EST_ISA__COUNT])(int, int, int64_t, int64_t, int64_t, T,  \
        const T *, int64_t, const T *, int64_t, T, T *, int64_t, const T *, int, T *, size_t) = \
        {est__gemm_generic##SFX_, est__gemm_generic##SFX_, est__gemm_avx2##SFX_,              \
         est__gemm_avx512##SFX_};
#else
#define EST__ISA_FN(T, SFX_)                                                                  \
    static void (*const g_gemm##SFX_[EST_ISA__COUNT])(int, int, int64_t, int64_t, int64_t, T,  \
        const T *, int64_t, const T *, int64_t, T, T *, int64_t, const T *, int, T *, size_t) = \
        {est__gemm_generic##SFX_, est__gemm_generic##SFX_, est__gemm_generic##SFX_,           \
         est__gemm_generic##SFX_};
#endif
EST__ISA_FN(float, _f32)
EST__ISA_FN(double, _f64)
#undef EST__ISA_FN

/* The packed-B entry points per ISA (est_gemm_isa.h), in est_isa order. */
#if defined(EST_HAVE_X86_GEMM)
#define EST__ISA_LIST(NAME, SFX_)                                                             \
    {NAME##generic##SFX_, NAME##generic##SFX_, NAME##avx2##SFX_, NAME##avx512##SFX_}
#else
#define EST__ISA_LIST(NAME, SFX_)                                                             \
    {NAME##generic##SFX_, NAME##generic##SFX_, NAME##generic##SFX_, NAME##generic##SFX_}
#endif
#define EST__ISA_PB(T, SFX_)                                                                  \
    static int64_t (*const g_packb_size##SFX_[EST_ISA__COUNT])(int64_t, int64_t) =            \
        EST__ISA_LIST(est__packb_size_, SFX_);                                                \
    static void (*const g_packb##SFX_[EST_ISA__COUNT])(int, const T *, int64_t, int64_t,      \
                                                       int64_t, T *) =                        \
        EST__ISA_LIST(est__packb_, SFX_);                                                     \
    static void (*const g_gemm_pb##SFX_[EST_ISA__COUNT])(int, int64_t, int64_t, int64_t, T,   \
        const T *, int64_t, const T *, T, T *, int64_t, const T *, int, T *, size_t) =         \
        EST__ISA_LIST(est__gemm_pb_, SFX_);                                                \
    static void (*const g_packk##SFX_[EST_ISA__COUNT])(int, const T *, int64_t, int64_t,      \
                                                       int64_t, T *) =                        \
        EST__ISA_LIST(est__packk_, SFX_);                                                     \
    static void (*const g_igemm##SFX_[EST_ISA__COUNT])(int64_t, int64_t, const T *,           \
        const int64_t *, const int32_t *, const int32_t *, const int64_t *, int64_t,           \
        const int64_t *, int64_t, const T *,                                                  \
        int64_t, T, T *, int64_t, const T *, int) = EST__ISA_LIST(est__igemm_, SFX_);         \
    static void (*const g_kgemm##SFX_[EST_ISA__COUNT])(int64_t, int64_t, const T *,           \
        const int64_t *, const int32_t *, int64_t, const int32_t *, int64_t, const int64_t *, \
        int64_t, const T *, T,                                                                \
        T *, int64_t) =                                                                       \
        EST__ISA_LIST(est__kgemm_, SFX_);
EST__ISA_PB(float, _f32)
EST__ISA_PB(double, _f64)
#undef EST__ISA_PB
#undef EST__ISA_LIST

double est_fma_probe_f32(int64_t iters, float *sink) {
    if (iters < 0) iters = 0;
    float r;
    int lanes;
    switch (est_gemm_get_isa()) {
#if defined(EST_HAVE_X86_GEMM)
    case EST_ISA_AVX512: r = est__fma_probe_avx512_f32(iters); lanes = 16; break;
    case EST_ISA_AVX2: r = est__fma_probe_avx2_f32(iters); lanes = 8; break;
#endif
    default: r = est__fma_probe_generic_f32(iters); lanes = 1; break;
    }
    if (sink != NULL) *sink = r;
    return 2.0 * 16.0 * (double)lanes * (double)iters;
}

#include "est_tmpl_f32.h"
#include "est_blas.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_blas.inc"
#include "est_tmpl_end.h"
