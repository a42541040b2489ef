/*
 * rawio.c — large byte ranges at fixed file offsets (see rawio.h).
 */
#include "rawio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

enum {
    ALIGN = 4096,           /* O_DIRECT offset, length and buffer alignment */
    BOUNCE = 8 << 20,       /* one direct transfer */
    SLICE = 256 << 10,      /* copied and checksummed while in cache */
    MIN_DIRECT = 256 << 10, /* smaller ranges go through the page cache */
};

static uLong crc_more(uLong crc, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (size_t o = 0; o < bytes; o += 1u << 30) { /* crc32 takes a uInt length */
        size_t c = bytes - o < (1u << 30) ? bytes - o : (1u << 30);
        crc = crc32(crc, p + o, (uInt)c);
    }
    return crc;
}

uint32_t raw_crc(const void *data, size_t bytes) {
    return (uint32_t)crc_more(crc32(0L, Z_NULL, 0), data, bytes);
}

/* pwrite/pread all of it (either may move less than asked). */
static int move_all(int fd, char *p, size_t n, off_t off, int writing) {
    while (n) {
        ssize_t k = writing ? pwrite(fd, p, n, off) : pread(fd, p, n, off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = writing ? ENOSPC : EIO; /* no progress / file too short */
            return -1;
        }
        p += k, n -= (size_t)k, off += k;
    }
    return 0;
}

/* [off, off + n) through the page cache; a write's writeback starts now. */
static int cached(int fd, char *p, size_t n, off_t off, int writing, uLong *crc) {
    if (!n) return 0;
    if (move_all(fd, p, n, off, writing)) return -1;
#ifdef SYNC_FILE_RANGE_WRITE
    if (writing) sync_file_range(fd, off, (off_t)n, SYNC_FILE_RANGE_WRITE);
#endif
    *crc = crc_more(*crc, p, n);
    return 0;
}

/* The aligned [off, off + n) with O_DIRECT, BOUNCE bytes at a time, each
 * slice checksummed while it sits in cache after its copy. 1 when the file
 * system refuses direct I/O before anything moved (the caller then uses the
 * page cache); −1 on an error. */
static int direct(int fd, char *bounce, char *p, size_t n, off_t off, int writing, uLong *crc) {
    uLong c = *crc;
    for (size_t o = 0; o < n; o += BOUNCE) {
        size_t len = n - o < BOUNCE ? n - o : BOUNCE;
        if (writing)
            for (size_t s = 0; s < len; s += SLICE) {
                size_t k = len - s < SLICE ? len - s : SLICE;
                memcpy(bounce + s, p + o + s, k);
                c = crc_more(c, bounce + s, k);
            }
        if (move_all(fd, bounce, len, off + (off_t)o, writing))
            return o == 0 && errno == EINVAL ? 1 : -1;
        if (!writing)
            for (size_t s = 0; s < len; s += SLICE) {
                size_t k = len - s < SLICE ? len - s : SLICE;
                memcpy(p + o + s, bounce + s, k);
                c = crc_more(c, bounce + s, k);
            }
    }
    *crc = c;
    return 0;
}

int raw_move(const char *path, RawRange *r, int n, int writing) {
    int mode = writing ? O_WRONLY : O_RDONLY;
    int fd = open(path, mode);
    if (fd < 0) return -1;
#ifdef O_DIRECT
    int fdd = open(path, mode | O_DIRECT); /* −1 where refused */
#else
    int fdd = -1;
#endif
    char *bounce = fdd >= 0 ? aligned_alloc(ALIGN, BOUNCE) : NULL;
    if (!bounce && fdd >= 0) close(fdd), fdd = -1;
#ifdef POSIX_FADV_SEQUENTIAL
    if (!writing) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char *p = r[i].data;
        off_t off = (off_t)r[i].off, end = off + (off_t)r[i].bytes;
        off_t a0 = (off + ALIGN - 1) / ALIGN * ALIGN, a1 = end / ALIGN * ALIGN;
        uLong crc = crc32(0L, Z_NULL, 0);
        if (fdd >= 0 && a1 - a0 >= MIN_DIRECT) { /* edge, aligned interior, edge */
            rc = cached(fd, p, (size_t)(a0 - off), off, writing, &crc);
            int d = rc ? -1 : direct(fdd, bounce, p + (a0 - off), (size_t)(a1 - a0), a0, writing, &crc);
            if (d == 1) { /* refused: the page cache from here on */
                close(fdd), fdd = -1;
                d = cached(fd, p + (a0 - off), (size_t)(a1 - a0), a0, writing, &crc);
            }
            rc = d ? -1 : cached(fd, p + (a1 - off), (size_t)(end - a1), a1, writing, &crc);
        } else {
            rc = cached(fd, p, r[i].bytes, off, writing, &crc);
        }
        r[i].crc = (uint32_t)crc;
    }
    int saved = errno;
    free(bounce);
    if (fdd >= 0) close(fdd);
    if (close(fd) && !rc) rc = -1, saved = errno; /* a deferred write error */
    errno = saved;
    return rc;
}

int raw_reserve(const char *path, int64_t size) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int rc = 0;
#ifdef FALLOC_FL_KEEP_SIZE
    if (size > 0 && fallocate(fd, 0, 0, (off_t)size)) /* not posix_fallocate: no zero-filling */
        rc = errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? -1 : 0;
#endif
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int64_t raw_free_bytes(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    struct statvfs s;
    if (statvfs(dir, &s)) return -1;
    return (int64_t)s.f_bavail * (int64_t)s.f_frsize;
}
