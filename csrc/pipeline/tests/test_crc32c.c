/* test_crc32c.c -- CRC-32C: known vectors, the hardware and portable paths agree on
 * every length and alignment, chaining, masking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estcore/est_crc32c.h"

static int failures = 0;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

int main(void) {
    /* RFC 3720 / iSCSI check values */
    CHECK(est_crc32c("123456789", 9, 0) == 0xE3069283u);
    CHECK(est_crc32c_portable("123456789", 9, 0) == 0xE3069283u);
    unsigned char zeros[32] = {0};
    CHECK(est_crc32c(zeros, 32, 0) == 0x8A9136AAu);
    unsigned char ones[32];
    memset(ones, 0xFF, sizeof ones);
    CHECK(est_crc32c(ones, 32, 0) == 0x62A8AB43u);
    unsigned char inc[32];
    for (int i = 0; i < 32; i++) inc[i] = (unsigned char)i;
    CHECK(est_crc32c(inc, 32, 0) == 0x46DD794Eu);
    /* empty input: the running value is unchanged, data not read */
    CHECK(est_crc32c(NULL, 0, 0) == 0);
    CHECK(est_crc32c(NULL, 0, 0x1234u) == 0x1234u);

    /* both paths, every length 0..300 at every alignment 0..7, and chaining */
    unsigned char *buf = malloc(320);
    if (buf == NULL) return 1;
    unsigned int state = 12345u;
    for (int i = 0; i < 320; i++) {
        state = state * 1103515245u + 12345u;
        buf[i] = (unsigned char)(state >> 16);
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= 300; len++) {
            uint32_t a = est_crc32c(buf + off, len, 0);
            uint32_t b = est_crc32c_portable(buf + off, len, 0);
            CHECK(a == b);
            size_t cut = len / 3;
            uint32_t chained = est_crc32c(buf + off + cut, len - cut,
                                          est_crc32c(buf + off, cut, 0));
            CHECK(chained == a);
        }
    }
    free(buf);

    /* TFRecord's mask of the empty checksum */
    CHECK(est_crc32c_mask(0) == 0xA282EAD8u);
    CHECK(est_crc32c_mask(0xE3069283u) == (((0xE3069283u >> 15) | (0xE3069283u << 17))
                                           + 0xA282EAD8u));
    printf("crc32c: hardware=%d, %s\n", est_crc32c_hardware(), failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
