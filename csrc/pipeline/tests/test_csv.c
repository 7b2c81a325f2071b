/* test_csv.c -- decode_csv's kernel: fields, quotes, defaults, na_value,
 * select_cols, TF's error texts, number syntax, correctly rounded floats (against
 * strtod / strtof on random decimals), and the same result and the same (lowest)
 * error record for 1..8 threads. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est_test.h"
#include "estcore/est_csv.h"

static est_csv_config config(void) {
    est_csv_config cfg = {',', 1, NULL, 0, NULL, 1, 0};
    return cfg;
}

static est_status parse1(const est_csv_config *cfg, const char *rec, est_csv_column *cols,
                         int ncols, est_csv_error *err) {
    size_t len = strlen(rec);
    return est_csv_parse(cfg, &rec, &len, 1, cols, ncols, err);
}

static void test_basic(void) {
    est_csv_config cfg = config();
    int32_t a;
    float b;
    est_csv_field s;
    est_csv_column cols[3] = {{EST_CSV_INT32, 1, {.i32 = 7}, &a},
                              {EST_CSV_FLOAT, 1, {.f32 = 1.5f}, &b},
                              {EST_CSV_STRING, 1, {.i32 = 0}, &s}};
    est_csv_error err;
    CHECK(parse1(&cfg, "1,2.5,abc", cols, 3, &err) == EST_OK);
    CHECK(a == 1 && b == 2.5f && s.offset == 6 && s.length == 3 && s.flags == 0);
    CHECK(parse1(&cfg, ",,", cols, 3, &err) == EST_OK);  /* three empty fields */
    CHECK(a == 7 && b == 1.5f && (s.flags & EST_CSV_DEFAULT));
    CHECK(parse1(&cfg, "\"3\",\" 4 \",\"x,\"\"y\"", cols, 3, &err) == EST_OK);
    CHECK(a == 3 && b == 4.0f && s.offset == 11 && s.length == 5 && s.flags == EST_CSV_ESCAPED);
    CHECK(parse1(&cfg, "\"\",1,\"\"", cols, 3, &err) == EST_OK);  /* quoted empty = empty */
    CHECK(a == 7 && (s.flags & EST_CSV_DEFAULT));
    CHECK(parse1(&cfg, " 5 ,  ,s", cols, 3, &err) == EST_OK);  /* blank float is 0 */
    CHECK(a == 5 && b == 0.0f);
    cfg.na_value = "NA";
    cfg.na_len = 2;
    CHECK(parse1(&cfg, "NA,NA,NA", cols, 3, &err) == EST_OK);
    CHECK(a == 7 && b == 1.5f && (s.flags & EST_CSV_DEFAULT));
    CHECK(parse1(&cfg, "\"NA\",1,x", cols, 3, &err) == EST_OK);
    CHECK(a == 7);
    cfg = config();
    cfg.delim = ';';
    cfg.use_quote = 0;
    CHECK(parse1(&cfg, "1;2;\"q\"", cols, 3, &err) == EST_OK);
    CHECK(s.offset == 4 && s.length == 3 && s.flags == 0);
}

static void expect_error(const est_csv_config *cfg, const char *rec, est_csv_column *cols,
                         int ncols, const char *msg) {
    est_csv_error err;
    CHECK(parse1(cfg, rec, cols, ncols, &err) == EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(err.record, 0);
    if (strcmp(err.message, msg) != 0) {
        fprintf(stderr, "record %s: got '%s', want '%s'\n", rec, err.message, msg);
        CHECK(0);
    }
}

static void test_errors(void) {
    est_csv_config cfg = config();
    int32_t a;
    double b;
    est_csv_field s;
    est_csv_column cols[3] = {{EST_CSV_INT32, 0, {.i32 = 0}, &a},
                              {EST_CSV_DOUBLE, 1, {.f64 = 0}, &b},
                              {EST_CSV_STRING, 1, {.i32 = 0}, &s}};
    expect_error(&cfg, "1,2", cols, 3, "Expect 3 fields but have 2 in record 0");
    expect_error(&cfg, "1,2,3,4", cols, 3, "Expect 3 fields but have 4 in record 0");
    expect_error(&cfg, "", cols, 3, "Expect 3 fields but have 0 in record 0");
    expect_error(&cfg, ",2,3", cols, 3, "Field 0 is required but missing in record 0!");
    expect_error(&cfg, "1.5,2,3", cols, 3, "Field 0 in record 0 is not a valid int32: 1.5");
    expect_error(&cfg, "1,2x,3", cols, 3, "Field 1 in record 0 is not a valid double: 2x");
    expect_error(&cfg, "2147483648,2,3", cols, 3,
                 "Field 0 in record 0 is not a valid int32: 2147483648");
    expect_error(&cfg, "+5,2,3", cols, 3, "Field 0 in record 0 is not a valid int32: +5");
    expect_error(&cfg, "1,\"a\"b,c", cols, 3,
                 "Quote inside a string has to be escaped by another quote");
    expect_error(&cfg, "1,a\"b,c", cols, 3, "Unquoted fields cannot have quotes/CRLFs inside");
    expect_error(&cfg, "1,a\nb,c", cols, 3, "Unquoted fields cannot have quotes/CRLFs inside");
    expect_error(&cfg, "1,2,\"abc", cols, 3,
                 "Quoted field has to end with quote followed by delim or end");
    expect_error(&cfg, "1,2,\"a\"\"", cols, 3,
                 "Quoted field has to end with quote followed by delim or end");
    /* the count is checked before any conversion, as TF does */
    expect_error(&cfg, "x,y", cols, 3, "Expect 3 fields but have 2 in record 0");
}

static void test_select(void) {
    est_csv_config cfg = config();
    int64_t sel[2] = {0, 2};
    cfg.select_cols = sel;
    int32_t a;
    est_csv_field s;
    est_csv_column cols[2] = {{EST_CSV_INT32, 0, {.i32 = 0}, &a},
                              {EST_CSV_STRING, 0, {.i32 = 0}, &s}};
    est_csv_error err;
    CHECK(parse1(&cfg, "1,skip,c,\"bad", cols, 2, &err) == EST_OK);  /* not examined */
    CHECK(a == 1 && s.offset == 7 && s.length == 1);
    expect_error(&cfg, "1,a", cols, 2, "Expect 2 fields but have 1 in record 0");
    int64_t bad[2] = {2, 1};
    cfg.select_cols = bad;
    CHECK(parse1(&cfg, "1,2,3", cols, 2, &err) == EST_ERR_INVALID_ARGUMENT);
}

static double real(const char *text, int is_float, int *ok) {
    est_csv_config cfg = config();
    float f = 0;
    double d = 0;
    est_csv_column col = {is_float ? EST_CSV_FLOAT : EST_CSV_DOUBLE, 0, {.i32 = 0},
                          is_float ? (void *)&f : (void *)&d};
    est_csv_error err;
    *ok = parse1(&cfg, text, &col, 1, &err) == EST_OK;
    return is_float ? (double)f : d;
}

static void test_numbers(void) {
    int ok;
    const char *good[] = {"1e3", ".5", "5.", "-0", "+1.5", "inf", "-INF", "NaN", "0x10",
                          "0X1A", " 2 ", "1e400", "1e-400", "00012", "1E+2"};
    const double want[] = {1000, 0.5, 5, -0.0, 1.5, INFINITY, -INFINITY, NAN, 16,
                           26, 2, INFINITY, 0, 12, 100};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        double v = real(good[i], 0, &ok);
        CHECK(ok);
        CHECK(isnan(want[i]) ? isnan(v) : v == want[i]);
    }
    const char *bad[] = {".", "-", "1e", "1e+", "0x", "0x1p3", "Infinity", "1.5f", "1_0",
                         "+-1", "1 2", "e5", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        real(bad[i], 0, &ok);
        if (ok) fprintf(stderr, "accepted %s\n", bad[i]);
        CHECK(!ok);
    }
    CHECK(signbit(real("-0", 1, &ok)));
    /* random decimals: the same bits as strtod / strtof */
    unsigned long long state = 88172645463325252ull;
    char text[64];
    for (int i = 0; i < 200000; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        int digits = 1 + (int)(state % 19), point = (int)((state >> 8) % (unsigned)(digits + 1));
        int e = (int)((state >> 16) % 90) - 45;
        int k = 0;
        if (state & (1ull << 40)) text[k++] = '-';
        unsigned long long s2 = state;
        for (int d = 0; d < digits; d++) {
            if (d == point) text[k++] = '.';
            text[k++] = (char)('0' + s2 % 10);
            s2 /= 10;
        }
        if (state & (1ull << 41)) k += sprintf(text + k, "e%d", e);
        text[k] = 0;
        double d = real(text, 0, &ok);
        CHECK(ok);
        double sd = strtod(text, NULL);
        CHECK(memcmp(&d, &sd, sizeof d) == 0);
        float f = (float)real(text, 1, &ok);
        CHECK(ok);
        float sf = strtof(text, NULL);
        if (memcmp(&f, &sf, sizeof f) != 0) fprintf(stderr, "float %s: %a vs %a\n", text, f, sf);
        CHECK(memcmp(&f, &sf, sizeof f) == 0);
    }
    /* float midpoints: 1 + 2^-24 is halfway between 1 and the next float */
    CHECK((float)real("1.000000059604644775390625", 1, &ok) == 1.0f);
    CHECK((float)real("1.0000000596046448", 1, &ok) == strtof("1.0000000596046448", NULL));
    /* integers at the limits */
    est_csv_config cfg = config();
    int64_t v;
    est_csv_column col = {EST_CSV_INT64, 0, {.i32 = 0}, &v};
    est_csv_error err;
    CHECK(parse1(&cfg, "-9223372036854775808", &col, 1, &err) == EST_OK && v == INT64_MIN);
    CHECK(parse1(&cfg, "9223372036854775807", &col, 1, &err) == EST_OK && v == INT64_MAX);
    CHECK(parse1(&cfg, "9223372036854775808", &col, 1, &err) == EST_ERR_INVALID_ARGUMENT);
    CHECK(parse1(&cfg, "-9223372036854775809", &col, 1, &err) == EST_ERR_INVALID_ARGUMENT);
    CHECK(parse1(&cfg, "  ", &col, 1, &err) == EST_ERR_INVALID_ARGUMENT);
}

static void test_threads(void) {
    enum { N = 20000 };
    char **recs = malloc(N * sizeof *recs);
    size_t *lens = malloc(N * sizeof *lens);
    CHECK(recs != NULL && lens != NULL);
    for (int i = 0; i < N; i++) {
        recs[i] = malloc(64);
        CHECK(recs[i] != NULL);
        lens[i] = (size_t)sprintf(recs[i], "%d,%d.%d,\"name %d\"", i, i / 7, i % 7, i);
    }
    int32_t *ref_a = malloc(N * sizeof *ref_a), *a = malloc(N * sizeof *a);
    float *ref_b = malloc(N * sizeof *ref_b), *b = malloc(N * sizeof *b);
    est_csv_field *ref_s = malloc(N * sizeof *ref_s), *s = malloc(N * sizeof *s);
    CHECK(ref_a && a && ref_b && b && ref_s && s);
    for (int t = 1; t <= 8; t++) {
        est_csv_config cfg = config();
        cfg.num_threads = t;
        est_csv_column cols[3] = {{EST_CSV_INT32, 0, {.i32 = 0}, t == 1 ? ref_a : a},
                                  {EST_CSV_FLOAT, 0, {.i32 = 0}, t == 1 ? ref_b : b},
                                  {EST_CSV_STRING, 0, {.i32 = 0}, t == 1 ? ref_s : s}};
        est_csv_error err;
        CHECK(est_csv_parse(&cfg, (const char *const *)recs, lens, N, cols, 3, &err) == EST_OK);
        if (t > 1) {
            CHECK(memcmp(a, ref_a, N * sizeof *a) == 0);
            CHECK(memcmp(b, ref_b, N * sizeof *b) == 0);
            CHECK(memcmp(s, ref_s, N * sizeof *s) == 0);
        }
        CHECK(ref_a[N - 1] == N - 1 && ref_s[5].offset == 7);
        /* two bad records: the lower one is reported whatever the split */
        char *keep1 = recs[N / 3], *keep2 = recs[N - 5];
        recs[N / 3] = "x,1,a";
        recs[N - 5] = "1,2";
        size_t l1 = lens[N / 3], l2 = lens[N - 5];
        lens[N / 3] = 5;
        lens[N - 5] = 3;
        CHECK(est_csv_parse(&cfg, (const char *const *)recs, lens, N, cols, 3, &err) ==
              EST_ERR_INVALID_ARGUMENT);
        CHECK_EQ(err.record, N / 3);
        recs[N / 3] = keep1;
        recs[N - 5] = keep2;
        lens[N / 3] = l1;
        lens[N - 5] = l2;
    }
    for (int i = 0; i < N; i++) free(recs[i]);
    free(recs);
    free(lens);
    free(ref_a);
    free(a);
    free(ref_b);
    free(b);
    free(ref_s);
    free(s);
}

/* One record parsed with the one-pass fast path allowed and with the full path only
 * (also with select_cols and an na_value): same status, same message, same bits. */
typedef struct parsed {
    est_status st;
    char msg[320];
    int32_t a;
    float bf, cf;
    double bd, cd;
    est_csv_field s;
} parsed;

static parsed parse_record(const char *rec, int use_double, int full, int variant) {
    static const int64_t sel[4] = {0, 1, 2, 4};
    parsed p;
    memset(&p, 0, sizeof p);
    est_csv_config cfg = config();
    if (variant & 1) cfg.select_cols = sel;
    if (variant & 2) {
        cfg.na_value = "7";
        cfg.na_len = 1;
    }
    cfg.full_path_only = full;
    est_csv_column cols[4] = {
        {EST_CSV_INT32, 1, {.i32 = -1}, &p.a},
        {use_double ? EST_CSV_DOUBLE : EST_CSV_FLOAT, 1, {.f64 = 0}, NULL},
        {use_double ? EST_CSV_DOUBLE : EST_CSV_FLOAT, 1, {.f64 = 0}, NULL},
        {EST_CSV_STRING, 1, {.i32 = 0}, &p.s}};
    if (use_double) {
        cols[1].def.f64 = 0.25;
        cols[2].def.f64 = 0.25;
    } else {
        cols[1].def.f32 = 0.25f;
        cols[2].def.f32 = 0.25f;
    }
    cols[1].out = use_double ? (void *)&p.bd : (void *)&p.bf;
    cols[2].out = use_double ? (void *)&p.cd : (void *)&p.cf;
    est_csv_error err;
    p.st = parse1(&cfg, rec, cols, 4, &err);
    if (p.st != EST_OK) snprintf(p.msg, sizeof p.msg, "%s", err.message);
    return p;
}

static void test_fast_path_equals_full_path(void) {
    const char *fixed[] = {"1,-0,0.5,x", "-0,-0.0,1.,yy", "2147483647,1e5,.5,z",
                           "-2147483648,0.000000059604644775390625,7,w",
                           "2147483648,1,1,a", "1, 2,3,b", "1,2 ,3,c", "1,\"2\",3,d",
                           "1,2,3,\"q\"", "1,2,3,", ",2,3,e", "1,2,3,e,f", "1,2,3",
                           "1,1.0000000596046448,3,g", "0001,00.100,-.0,h",
                           "1,12345678901234567890,1,i", "1,1e-40,1,j", "1,3.4028236e38,1,k",
                           "1,340282356779733661637539395458142568448,1,l", "5,6,7,m\r",
                           "-,1,2,n", "1,-,2,o", "1,.,2,p", "1,1.5.5,2,q", "1,0x10,2,r",
                           "1,1.00000005960464477539062,2,s", "1,0.0000000000000000000001,2,t",
                           "999999999999999999,1,2,u", "1,9007199254740993,2,v", "", ",,,", "1,7,7,x,y", "7,2,3,\"x\",y",
                           "1,2,3,x,\"y", "1,2,3,\"x,y"};
    char text[160], longer[3][400];
    memset(longer, 0, sizeof longer);   /* over 256 bytes: the scanning fast path */
    snprintf(longer[0], sizeof longer[0], "1,2.5,3,%0300d", 7);
    snprintf(longer[1], sizeof longer[1], "1,2.5,3,%0300d,x", 7);
    snprintf(longer[2], sizeof longer[2], "%0200d,2.5,3,%0100d", 7, 8);
    unsigned long long state = 12345;
    const int nfixed = (int)(sizeof fixed / sizeof *fixed);
    for (int i = 0; i < nfixed + 3 + 20000; i++) {
        const char *rec = text;
        if (i < nfixed) {
            rec = fixed[i];
        } else if (i < nfixed + 3) {
            rec = longer[i - nfixed];
        } else {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            double v = (double)(int64_t)(state >> 11) / (double)(1ull << (state % 60));
            snprintf(text, sizeof text, "%lld,%.*f,%.*g,s%llu",
                     (long long)(int32_t)(state >> 20), (int)(state % 12), v,
                     (int)(1 + state % 17), v / 3, state % 1000);
        }
        for (int k = 0; k < 8; k++) {
            int dbl = k & 1, variant = k >> 1;
            parsed f = parse_record(rec, dbl, 0, variant), g = parse_record(rec, dbl, 1, variant);
            CHECK_EQ(f.st, g.st);
            if (f.st != EST_OK) {
                CHECK(strcmp(f.msg, g.msg) == 0);
                continue;
            }
            if (memcmp(&f, &g, sizeof f) != 0) fprintf(stderr, "differ on '%s'\n", rec);
            CHECK(memcmp(&f, &g, sizeof f) == 0);
        }
    }
}

int main(void) {
    RUN(test_basic);
    RUN(test_errors);
    RUN(test_select);
    RUN(test_numbers);
    RUN(test_threads);
    RUN(test_fast_path_equals_full_path);
    return 0;
}
