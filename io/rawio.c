/*
 * rawio.c — large byte ranges at fixed file offsets (see rawio.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT, fallocate, sync_file_range */
#endif
#include "rawio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* The aligned [off, off + n) read with O_DIRECT, BOUNCE bytes at a time,
 * each slice copied out and checksummed while in cache. 1 when the file
 * system refuses direct I/O before anything moved; −1 on an error. */
static int direct_read(int fd, char *bounce, char *p, size_t n, off_t off, uLong *crc) {
    uLong c = *crc;
    for (size_t o = 0; o < n; o += BOUNCE) {
        size_t len = n - o < BOUNCE ? n - o : BOUNCE;
        if (move_all(fd, bounce, len, off + (off_t)o, 0)) return o == 0 && errno == EINVAL ? 1 : -1;
        for (size_t s = 0; s < len; s += SLICE) {
            size_t k = len - s < SLICE ? len - s : SLICE;
            memcpy(p + o + s, bounce + s, k);
            c = crc_more(c, bounce + s, k);
        }
    }
    *crc = c;
    return 0;
}

/* Direct writes run in a second thread over two bounce buffers: while it
 * waits for the device to take buffer k, the caller copies (and checksums)
 * the next BOUNCE bytes into buffer k^1. */
typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    char *buf[2];
    size_t len[2];
    off_t off[2];
    int full[2], next, quit, err; /* err: errno of the first failed write */
} Writer;

static void *writer_main(void *arg) {
    Writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (int k = 0;; k ^= 1) {
        while (!w->full[k] && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->full[k]) break; /* quit, nothing pending */
        pthread_mutex_unlock(&w->mu);
        int rc = w->err ? 0 : move_all(w->fd, w->buf[k], w->len[k], w->off[k], 1);
        int e = errno;
        pthread_mutex_lock(&w->mu);
        if (rc && !w->err) w->err = e ? e : EIO;
        w->full[k] = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int writer_start(Writer *w, int fd) {
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->buf[0] = aligned_alloc(ALIGN, 2 * (size_t)BOUNCE);
    if (!w->buf[0]) return -1;
    w->buf[1] = w->buf[0] + BOUNCE;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w)) {
        free(w->buf[0]);
        return -1;
    }
    return 0;
}

/* Queue the aligned [off, off + n) from p: copied and checksummed here, the
 * device writes in the writer thread. Errors surface in writer_stop. */
static void writer_put(Writer *w, const char *p, size_t n, off_t off, uLong *crc) {
    for (size_t o = 0; o < n; o += BOUNCE) {
        size_t len = n - o < BOUNCE ? n - o : BOUNCE;
        int k = w->next;
        pthread_mutex_lock(&w->mu);
        while (w->full[k]) pthread_cond_wait(&w->cv, &w->mu);
        int failed = w->err;
        pthread_mutex_unlock(&w->mu);
        if (failed) return; /* reported by writer_stop */
        for (size_t s = 0; s < len; s += SLICE) {
            size_t c = len - s < SLICE ? len - s : SLICE;
            memcpy(w->buf[k] + s, p + o + s, c);
            *crc = crc_more(*crc, w->buf[k] + s, c);
        }
        pthread_mutex_lock(&w->mu);
        w->len[k] = len, w->off[k] = off + (off_t)o, w->full[k] = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        w->next = k ^ 1;
    }
}

/* Wait for every queued write; 0, or the errno of the first that failed. */
static int writer_stop(Writer *w) {
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->buf[0]);
    return w->err;
}

/* Edge, aligned interior, edge of each range, or all of it through the page
 * cache (small ranges, or fdd < 0). */
static int write_ranges(int fd, int fdd, RawRange *r, int n) {
    Writer w;
    if (fdd >= 0 && writer_start(&w, fdd)) fdd = -1;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char *p = r[i].data;
        off_t off = (off_t)r[i].off, end = off + (off_t)r[i].bytes;
        off_t a0 = (off + ALIGN - 1) / ALIGN * ALIGN, a1 = end / ALIGN * ALIGN;
        uLong crc = crc32(0L, Z_NULL, 0);
        if (fdd >= 0 && a1 - a0 >= MIN_DIRECT) {
            rc = cached(fd, p, (size_t)(a0 - off), off, 1, &crc);
            if (!rc) writer_put(&w, p + (a0 - off), (size_t)(a1 - a0), a0, &crc);
            if (!rc) rc = cached(fd, p + (a1 - off), (size_t)(end - a1), a1, 1, &crc);
        } else {
            rc = cached(fd, p, r[i].bytes, off, 1, &crc);
        }
        r[i].crc = (uint32_t)crc;
    }
    int e = rc ? errno : 0, we = fdd >= 0 ? writer_stop(&w) : 0;
    if (!rc && we == EINVAL) return write_ranges(fd, -1, r, n); /* direct I/O refused: again */
    errno = rc ? e : we;
    return rc || we ? -1 : 0;
}

static int read_ranges(int fd, int fdd, RawRange *r, int n) {
    char *bounce = fdd >= 0 ? aligned_alloc(ALIGN, BOUNCE) : NULL;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char *p = r[i].data;
        off_t off = (off_t)r[i].off, end = off + (off_t)r[i].bytes;
        off_t a0 = (off + ALIGN - 1) / ALIGN * ALIGN, a1 = end / ALIGN * ALIGN;
        uLong crc = crc32(0L, Z_NULL, 0);
        if (bounce && a1 - a0 >= MIN_DIRECT) {
            rc = cached(fd, p, (size_t)(a0 - off), off, 0, &crc);
            int d = rc ? -1 : direct_read(fdd, bounce, p + (a0 - off), (size_t)(a1 - a0), a0, &crc);
            if (d == 1) { /* refused: the page cache from here on */
                free(bounce), bounce = NULL;
                d = cached(fd, p + (a0 - off), (size_t)(a1 - a0), a0, 0, &crc);
            }
            rc = d ? -1 : cached(fd, p + (a1 - off), (size_t)(end - a1), a1, 0, &crc);
        } else {
            rc = cached(fd, p, r[i].bytes, off, 0, &crc);
        }
        r[i].crc = (uint32_t)crc;
    }
    int e = errno;
    free(bounce);
    errno = e;
    return rc;
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
#ifdef POSIX_FADV_SEQUENTIAL
    if (!writing) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    int rc = writing ? write_ranges(fd, fdd, r, n) : read_ranges(fd, fdd, r, n);
    /* on disk before the commit, from every rank (ranks on other nodes have
     * their own page caches); cheap: writeback is already under way */
    if (writing && !rc && fdatasync(fd)) rc = -1;
    int saved = errno;
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
