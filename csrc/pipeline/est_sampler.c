/* est_sampler.c -- stateless (seed, epoch, i) -> row; see est_sampler.h. */
#include "estcore/est_sampler.h"

#include <stdlib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EST_HAVE_ZMM_SAMPLER 1
#endif

#define EST_SAMPLER_MIN_BITS 8u  /* smaller domains are walked in a 256-element one */

/* Rounds by domain size: small Feistel networks need more rounds to look
 * uniform (measured with the position chi-square test); their cost does not
 * matter because their epochs are short. */
static unsigned rounds_for_bits(unsigned b) {
    return b <= 12 ? 24 : 8;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Round function: keyed multiply-shift, F(h) = high 32 bits of (h ^ k) * (k' | 1),
 * with k' = k rotated; h and F have at most 31 bits. */
static inline uint64_t round_fn(uint64_t half, uint64_t key) {
#ifdef EST_SAMPLER_STRONG_ROUND
    uint64_t z = half ^ key;
    z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
    z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
    return z ^ (z >> 33);
#else
    uint64_t mult = (key >> 32 | key << 32) | 1u;
    return ((half ^ key) * mult) >> 32;
#endif
}

est_status est_sampler_init(uint64_t num_rows, uint64_t seed, int shuffle, est_sampler *out) {
    if (out == NULL || num_rows == 0 || num_rows >= (1ull << 62) || (shuffle != 0 && shuffle != 1))
        return EST_ERR_INVALID_ARGUMENT;
    unsigned b = EST_SAMPLER_MIN_BITS;
    while (b < 63 && (1ull << b) < num_rows)
        b++;
    out->num_rows = num_rows;
    out->seed = seed;
    out->shuffle = shuffle;
    out->bits_left = b / 2;
    out->bits_right = b - b / 2;
    out->rounds = rounds_for_bits(b);
    return EST_OK;
}

void est_sampler_epoch_keys(const est_sampler *s, uint64_t epoch, est_epoch_keys *out) {
    /* Mix seed and epoch through two independent splitmix steps so nearby
     * (seed, epoch) pairs give unrelated key schedules. */
    uint64_t st = s->seed;
    uint64_t a = splitmix64(&st);
    st = a ^ (epoch * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    for (unsigned r = 0; r < s->rounds; r++)
        out->round[r] = splitmix64(&st);
    out->swap01 = (int)(splitmix64(&st) >> 63);
}

static inline uint64_t feistel(const est_sampler *s, const est_epoch_keys *k, uint64_t x) {
    unsigned wl = s->bits_left, wr = s->bits_right;
    uint64_t left = x >> wr;
    uint64_t right = x & ((1ull << wr) - 1);
    for (unsigned r = 0; r < s->rounds; r++) {
        /* (L, R) -> (R, L ^ F(R)); the widths swap with the halves. */
        uint64_t f = round_fn(right, k->round[r]) & ((1ull << wl) - 1);
        uint64_t new_right = left ^ f;
        left = right;
        right = new_right;
        unsigned t = wl;
        wl = wr;
        wr = t;
    }
    return (left << wr) | right;  /* even round count: the widths are back where they began */
}

uint64_t est_sampler_row_keyed(const est_sampler *s, const est_epoch_keys *keys, uint64_t i) {
    uint64_t n = s->num_rows;
    if (i >= n)
        i %= n;
    if (!s->shuffle || n == 1)
        return i;
    if (keys->swap01 && i < 2 && n >= 2)
        i ^= 1;
    /* Cycle walking: i lies on a cycle of the domain permutation that
     * contains i itself (< n), so the loop ends. */
    uint64_t x = feistel(s, keys, i);
    while (x >= n)
        x = feistel(s, keys, x);
    return x;
}

uint64_t est_sampler_row(const est_sampler *s, uint64_t epoch, uint64_t i) {
    est_epoch_keys keys;
    if (s->shuffle)
        est_sampler_epoch_keys(s, epoch, &keys);
    return est_sampler_row_keyed(s, &keys, i);
}

#define LANES 8  /* rows evaluated side by side so the rounds' latencies overlap */

#ifdef EST_HAVE_ZMM_SAMPLER
#define ZMM_VECS 4  /* independent vectors in flight: the 64-bit multiply's latency is long */

/* The same network as feistel() on ZMM_VECS * 8 indices at once (AVX-512F + DQ:
 * 64-bit lane multiplies). Lanes still >= num_rows are walked again under a
 * mask, so every lane gives exactly what est_sampler_row_keyed gives. Returns
 * the number of rows done (a multiple of 32). */
__attribute__((target("avx512f,avx512dq"))) static uint64_t fill_epoch_zmm(
    const est_sampler *s, const est_epoch_keys *k, uint64_t i, uint64_t count, uint64_t *out) {
    const __m512i n = _mm512_set1_epi64((long long)s->num_rows);
    const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const unsigned rounds = s->rounds, bl = s->bits_left, br = s->bits_right;
    __m512i key[EST_SAMPLER_MAX_ROUNDS], mult[EST_SAMPLER_MAX_ROUNDS];
    for (unsigned r = 0; r < rounds; r++) {
        uint64_t kr = k->round[r];
        key[r] = _mm512_set1_epi64((long long)kr);
        mult[r] = _mm512_set1_epi64((long long)((kr >> 32 | kr << 32) | 1u));
    }
    const __m128i sh_r = _mm_set_epi64x(0, br), sh_32 = _mm_set_epi64x(0, 32);
    const __m512i mask_r = _mm512_set1_epi64((long long)((1ull << br) - 1));
    const __m512i mask_l = _mm512_set1_epi64((long long)((1ull << bl) - 1));
    uint64_t j = 0;
    for (; j + 8 * ZMM_VECS <= count; j += 8 * ZMM_VECS) {
        __m512i y[ZMM_VECS];
        __mmask8 todo[ZMM_VECS];
        for (int v = 0; v < ZMM_VECS; v++) {
            y[v] = _mm512_add_epi64(_mm512_set1_epi64((long long)(i + j + 8u * (unsigned)v)), step);
            todo[v] = 0xFF;
        }
        /* First pass on every lane of every vector, then walk the few lanes left. */
        for (int pass = 0;; pass++) {
            int any = 0;
            for (int v = 0; v < ZMM_VECS; v++)
                any |= todo[v];
            if (!any)
                break;
            __m512i left[ZMM_VECS], right[ZMM_VECS];
            for (int v = 0; v < ZMM_VECS; v++) {
                left[v] = _mm512_srl_epi64(y[v], sh_r);
                right[v] = _mm512_and_si512(y[v], mask_r);
            }
            for (unsigned r = 0; r < rounds; r++) {
                /* Round r maps a right half of width wr to a new right half of
                 * width wl: bl on even rounds, br on odd ones (see feistel()). */
                const __m512i m = (r & 1u) ? mask_r : mask_l;
                for (int v = 0; v < ZMM_VECS; v++) {
                    __m512i f = _mm512_srl_epi64(
                        _mm512_mullo_epi64(_mm512_xor_si512(right[v], key[r]), mult[r]), sh_32);
                    __m512i nr = _mm512_xor_si512(left[v], _mm512_and_si512(f, m));
                    left[v] = right[v];
                    right[v] = nr;
                }
            }
            for (int v = 0; v < ZMM_VECS; v++) {
                y[v] = _mm512_mask_mov_epi64(
                    y[v], todo[v], _mm512_or_si512(_mm512_sll_epi64(left[v], sh_r), right[v]));
                todo[v] = _mm512_mask_cmpge_epu64_mask(todo[v], y[v], n);
            }
        }
        for (int v = 0; v < ZMM_VECS; v++)
            _mm512_storeu_si512((void *)(out + j + 8u * (unsigned)v), y[v]);
    }
    return j;
}
#endif

/* out[j] = row of in-epoch index i + j for j < count (all in one epoch). */
static void fill_epoch(const est_sampler *s, const est_epoch_keys *k, uint64_t i,
                       uint64_t count, uint64_t *out) {
    const uint64_t n = s->num_rows;
    uint64_t j = 0;
#ifdef EST_HAVE_ZMM_SAMPLER
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        j = fill_epoch_zmm(s, k, i, count, out);
#endif
    {  /* callers keep i >= 2, past the keyed swap of rows 0 and 1 */
        for (; j + LANES <= count; j += LANES) {  /* the portable path */
            uint64_t x[LANES];
            for (int l = 0; l < LANES; l++)
                x[l] = i + j + (uint64_t)l;
            unsigned wl = s->bits_left, wr = s->bits_right;
            uint64_t left[LANES], right[LANES];
            for (int l = 0; l < LANES; l++) {
                left[l] = x[l] >> wr;
                right[l] = x[l] & ((1ull << wr) - 1);
            }
            for (unsigned r = 0; r < s->rounds; r++) {
                const uint64_t key = k->round[r], mask = (1ull << wl) - 1;
                for (int l = 0; l < LANES; l++) {
                    uint64_t nr = left[l] ^ (round_fn(right[l], key) & mask);
                    left[l] = right[l];
                    right[l] = nr;
                }
                unsigned t = wl;
                wl = wr;
                wr = t;
            }
            for (int l = 0; l < LANES; l++) {
                uint64_t y = (left[l] << wr) | right[l];
                while (y >= n)  /* cycle walking, rare for n > 256 */
                    y = feistel(s, k, y);
                out[j + (uint64_t)l] = y;
            }
        }
    }
    for (; j < count; j++)
        out[j] = est_sampler_row_keyed(s, k, i + j);
}

void est_sampler_fill(const est_sampler *s, uint64_t first, uint64_t count, uint64_t *out) {
    uint64_t n = s->num_rows;
    uint64_t epoch = first / n, i = first % n;
    while (count > 0) {
        uint64_t seg = n - i < count ? n - i : count;
        if (!s->shuffle || n == 1) {
            for (uint64_t j = 0; j < seg; j++)
                out[j] = i + j;
        } else {
            est_epoch_keys keys;
            est_sampler_epoch_keys(s, epoch, &keys);
            /* The keyed swap of rows 0 and 1 only touches indices 0 and 1. */
            uint64_t head = i < 2 ? (2 - i < seg ? 2 - i : seg) : 0;
            for (uint64_t j = 0; j < head; j++)
                out[j] = est_sampler_row_keyed(s, &keys, i + j);
            fill_epoch(s, &keys, i + head, seg - head, out + head);
        }
        out += seg;
        count -= seg;
        epoch++;
        i = 0;
    }
}

/* A uniform integer in [0, range) (range >= 1) from the splitmix64 stream: Lemire's
 * multiply-shift with rejection of the biased low products. */
static uint64_t bounded(uint64_t *state, uint64_t range) {
    __uint128_t m = (__uint128_t)splitmix64(state) * range;
    uint64_t low = (uint64_t)m;
    if (low < range) {
        uint64_t threshold = (0 - range) % range;
        while (low < threshold) {
            m = (__uint128_t)splitmix64(state) * range;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

est_status est_shuffle_buffer_order(const uint64_t *in, uint64_t n, uint64_t buffer_size,
                                    uint64_t seed, uint64_t *out) {
    if (buffer_size == 0 || (out == NULL && n > 0))
        return EST_ERR_INVALID_ARGUMENT;
    if (n == 0)
        return EST_OK;
    uint64_t b = buffer_size < n ? buffer_size : n;
    uint64_t *buf = malloc((size_t)b * sizeof *buf);
    if (buf == NULL)
        return EST_ERR_OUT_OF_MEMORY;
    uint64_t st = seed ^ 0x6A09E667F3BCC909ull;  /* its own stream, apart from the Feistel keys */
    for (uint64_t i = 0; i < b; i++)
        buf[i] = in ? in[i] : i;
    uint64_t j = 0;
    for (uint64_t i = b; i < n; i++) {  /* steady state: emit a slot, refill it */
        uint64_t r = bounded(&st, buffer_size);
        out[j++] = buf[r];
        buf[r] = in ? in[i] : i;
    }
    for (uint64_t m = b; m > 0; m--) {  /* end of input: the rest in random order */
        uint64_t r = bounded(&st, m);
        out[j++] = buf[r];
        buf[r] = buf[m - 1];
    }
    free(buf);
    return EST_OK;
}

est_status est_batch_span(uint64_t batch_size, uint64_t total_examples, uint64_t k,
                          uint32_t shard, uint32_t num_shards,
                          uint64_t *first, uint64_t *count) {
    if (batch_size == 0 || num_shards == 0 || shard >= num_shards)
        return EST_ERR_INVALID_ARGUMENT;
    if (k > UINT64_MAX / batch_size)
        return EST_ERR_INVALID_ARGUMENT;
    uint64_t start = k * batch_size;
    if (start >= total_examples)
        return EST_ERR_OUT_OF_RANGE;
    uint64_t c = total_examples - start < batch_size ? total_examples - start : batch_size;
    /* c * shard fits: c <= batch_size and shards are 32-bit, but guard anyway. */
    unsigned __int128 lo = (unsigned __int128)c * shard / num_shards;
    unsigned __int128 hi = (unsigned __int128)c * (shard + 1u) / num_shards;
    *first = start + (uint64_t)lo;
    *count = (uint64_t)(hi - lo);
    return EST_OK;
}
