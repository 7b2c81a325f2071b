/* est_sparse.c -- FarmHash fingerprints and row-sparse optimizer updates (est_sparse.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estcore/est_sparse.h"

/* ------------------------------------------------------------------ FarmHash (na) */
static const uint64_t K0 = 0xc3a5c85c97cb3127ULL;
static const uint64_t K1 = 0xb492b66fbe98f273ULL;
static const uint64_t K2 = 0x9ae16a3b2f90404fULL;

static inline uint64_t fetch64(const char *p) {
    uint64_t r;
    memcpy(&r, p, 8); /* little-endian hosts (x86-64, aarch64) */
    return r;
}

static inline uint32_t fetch32(const char *p) {
    uint32_t r;
    memcpy(&r, p, 4);
    return r;
}

static inline uint64_t rot64(uint64_t v, int s) { return s == 0 ? v : (v >> s) | (v << (64 - s)); }

static inline uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

static inline uint64_t hash16(uint64_t u, uint64_t v, uint64_t mul) {
    uint64_t a = (u ^ v) * mul;
    a ^= a >> 47;
    uint64_t b = (v ^ a) * mul;
    b ^= b >> 47;
    return b * mul;
}

static uint64_t len0to16(const char *s, size_t len) {
    if (len >= 8) {
        uint64_t mul = K2 + len * 2;
        uint64_t a = fetch64(s) + K2;
        uint64_t b = fetch64(s + len - 8);
        uint64_t c = rot64(b, 37) * mul + a;
        uint64_t d = (rot64(a, 25) + b) * mul;
        return hash16(c, d, mul);
    }
    if (len >= 4) {
        uint64_t mul = K2 + len * 2;
        uint64_t a = fetch32(s);
        return hash16(len + (a << 3), fetch32(s + len - 4), mul);
    }
    if (len > 0) {
        uint8_t a = (uint8_t)s[0], b = (uint8_t)s[len >> 1], c = (uint8_t)s[len - 1];
        uint32_t y = (uint32_t)a + ((uint32_t)b << 8);
        uint32_t z = (uint32_t)len + ((uint32_t)c << 2);
        return shift_mix(y * K2 ^ z * K0) * K2;
    }
    return K2;
}

static uint64_t len17to32(const char *s, size_t len) {
    uint64_t mul = K2 + len * 2;
    uint64_t a = fetch64(s) * K1;
    uint64_t b = fetch64(s + 8);
    uint64_t c = fetch64(s + len - 8) * mul;
    uint64_t d = fetch64(s + len - 16) * K2;
    return hash16(rot64(a + b, 43) + rot64(c, 30) + d, a + rot64(b + K2, 18) + c, mul);
}

static uint64_t len33to64(const char *s, size_t len) {
    uint64_t mul = K2 + len * 2;
    uint64_t a = fetch64(s) * K2;
    uint64_t b = fetch64(s + 8);
    uint64_t c = fetch64(s + len - 8) * mul;
    uint64_t d = fetch64(s + len - 16) * K2;
    uint64_t y = rot64(a + b, 43) + rot64(c, 30) + d;
    uint64_t z = hash16(y, a + rot64(b + K2, 18) + c, mul);
    uint64_t e = fetch64(s + 16) * mul;
    uint64_t f = fetch64(s + 24);
    uint64_t g = (y + fetch64(s + len - 32)) * mul;
    uint64_t h = (z + fetch64(s + len - 24)) * mul;
    return hash16(rot64(e + f, 43) + rot64(g, 30) + h, e + rot64(f + a, 18) + g, mul);
}

/* (first, second) of a 32-byte block mixed with two seeds */
static inline void weak32(const char *s, uint64_t a, uint64_t b, uint64_t *o1, uint64_t *o2) {
    uint64_t w = fetch64(s), x = fetch64(s + 8), y = fetch64(s + 16), z = fetch64(s + 24);
    a += w;
    b = rot64(b + a + z, 21);
    uint64_t c = a;
    a += x;
    a += y;
    b += rot64(a, 44);
    *o1 = a + z;
    *o2 = b + c;
}

uint64_t est_fingerprint64(const char *s, size_t len) {
    const uint64_t seed = 81;
    if (len <= 16) return len0to16(s, len);
    if (len <= 32) return len17to32(s, len);
    if (len <= 64) return len33to64(s, len);
    uint64_t x = seed, y = seed * K1 + 113, z = shift_mix(y * K2 + 113) * K2;
    uint64_t v1 = 0, v2 = 0, w1 = 0, w2 = 0, t;
    x = x * K2 + fetch64(s);
    const char *end = s + ((len - 1) / 64) * 64;
    const char *last64 = end + ((len - 1) & 63) - 63;
    do {
        x = rot64(x + y + v1 + fetch64(s + 8), 37) * K1;
        y = rot64(y + v2 + fetch64(s + 48), 42) * K1;
        x ^= w2;
        y += v1 + fetch64(s + 40);
        z = rot64(z + w1, 33) * K1;
        weak32(s, v2 * K1, x + w1, &v1, &v2);
        weak32(s + 32, z + w2, y + fetch64(s + 16), &w1, &w2);
        t = z; z = x; x = t;
        s += 64;
    } while (s != end);
    uint64_t mul = K1 + ((z & 0xff) << 1);
    s = last64;
    w1 += ((len - 1) & 63);
    v1 += w1;
    w1 += v1;
    x = rot64(x + y + v1 + fetch64(s + 8), 37) * mul;
    y = rot64(y + v2 + fetch64(s + 48), 42) * mul;
    x ^= w2 * 9;
    y += v1 * 9 + fetch64(s + 40);
    z = rot64(z + w1, 33) * mul;
    weak32(s, v2 * mul, x + w1, &v1, &v2);
    weak32(s + 32, z + w2, y + fetch64(s + 16), &w1, &w2);
    t = z; z = x; x = t;
    return hash16(hash16(v1, w1, mul) + shift_mix(y) * K0 + z, hash16(v2, w2, mul) + x, mul);
}

uint64_t est_fingerprint_cat64(uint64_t fp1, uint64_t fp2) {
    const uint64_t mul = 0xc6a4a7935bd1e995ULL;
    uint64_t r = fp1 ^ mul;
    r ^= shift_mix(fp2 * mul) * mul;
    r *= mul;
    r = shift_mix(r) * mul;
    return shift_mix(r);
}

/* ------------------------------------------------------------------ sparse updates */
#define T float
#define SFX(name) name##_f32
#define SQRT sqrtf
#define POW powf
#include "est_sparse.inc"
#undef T
#undef SFX
#undef SQRT
#undef POW
#define T double
#define SFX(name) name##_f64
#define SQRT sqrt
#define POW pow
#include "est_sparse.inc"
#undef T
#undef SFX
#undef SQRT
#undef POW
