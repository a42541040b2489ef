/*
 * test_rawio.c — io/rawio.c: byte ranges written at fixed offsets of a file
 * and read back, small ones through the page cache and large ones with an
 * O_DIRECT interior (unaligned edges on both sides), each range's CRC equal
 * to zlib's of the bytes; a read past the end of the file fails with EIO;
 * free space is reported and a reservation works.
 */
#include "tests/lib/check.h"

#include "io/rawio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

int main(void) {
    check_plan(5);
    char path[] = "/tmp/zeropt_test_rawio_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        printf("not ok - mkstemp\n");
        return 1;
    }
    close(fd);
    /* three ranges: 100 bytes at 7, 3 MB at 4096 + 13 (O_DIRECT interior,
     * both edges unaligned), 70 000 bytes right after it */
    size_t big = 3u << 20;
    size_t len[3] = {100, big, 70000};
    int64_t off[3] = {7, 4096 + 13, 4096 + 13 + (int64_t)big};
    unsigned char *src[3], *dst[3];
    RawRange w[3], r[3];
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < 3; k++) {
        src[k] = malloc(len[k]), dst[k] = calloc(len[k], 1);
        for (size_t i = 0; i < len[k]; i++)
            x ^= x << 13, x ^= x >> 7, x ^= x << 17, src[k][i] = (unsigned char)x;
        w[k] = (RawRange){src[k], off[k], len[k], 0};
        r[k] = (RawRange){dst[k], off[k], len[k], 0};
    }
    int64_t end = off[2] + (int64_t)len[2];
    int rr = raw_reserve(path, end);
    check(rr == 0 && raw_free_bytes(path) > 0, "free space known, reservation of the file's size",
          "%.0f MB free", raw_free_bytes(path) / 1e6);
    int wc = raw_move(path, w, 3, 1), rc = raw_move(path, r, 3, 0);
    int same = !wc && !rc;
    for (int k = 0; k < 3; k++) same &= !memcmp(src[k], dst[k], len[k]);
    check(same, "ranges written at their offsets read back byte for byte",
          "100 B, 3 MB (O_DIRECT interior), 70 kB");
    int crc_ok = !wc && !rc;
    for (int k = 0; k < 3; k++) {
        uint32_t z = (uint32_t)crc32(crc32(0L, Z_NULL, 0), src[k], (uInt)len[k]);
        crc_ok &= w[k].crc == z && r[k].crc == z && raw_crc(src[k], len[k]) == z;
    }
    check(crc_ok, "each range's CRC on the way equals zlib's", NULL);
    /* the bytes between the ranges were never written: a file of holes and data */
    int fdr = open(path, O_RDONLY);
    unsigned char gap[7] = {1, 1, 1, 1, 1, 1, 1};
    ssize_t got = pread(fdr, gap, 7, 0);
    close(fdr);
    check(got == 7 && !memcmp(gap, "\0\0\0\0\0\0\0", 7), "bytes outside the ranges are untouched",
          NULL);
    RawRange past = {dst[0], end + 100, 10, 0};
    errno = 0;
    int pr = raw_move(path, &past, 1, 0);
    check(pr != 0 && errno == EIO, "a read past the end of the file fails with EIO", "errno %d",
          errno);
    for (int k = 0; k < 3; k++) free(src[k]), free(dst[k]);
    remove(path);
    return check_exit();
}
