/*
 * rawio.h — moving large byte ranges between memory and fixed offsets of one
 * file, fast, computing each range's CRC-32 on the way.
 *
 * A checkpoint rank writes ~1/N of a model's state as a few hundred ranges
 * of kilobytes to hundreds of megabytes. Through the page cache every byte
 * costs a copy into freshly allocated cache pages and later a writeback; on
 * a VM that returns freed pages to its host, allocating them again is what
 * dominates (see bench/RESULTS.md). So the block-aligned interior of each
 * large range goes with O_DIRECT: copied into one of two aligned bounce
 * buffers and checksummed there while hot in cache, while a writer thread
 * hands the other buffer to the device. The unaligned edges,
 * which may share a block with another rank's range or with HDF5 metadata,
 * and small ranges go through the page cache, their writeback started at
 * once (sync_file_range). Where O_DIRECT is refused (tmpfs on older kernels,
 * alignment) everything goes through the page cache. The caller fsyncs.
 */
#ifndef ZEROPT_RAWIO_H
#define ZEROPT_RAWIO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *data;   /* bytes in memory (read into, or written from) */
    int64_t off;  /* file offset */
    size_t bytes; /* length */
    uint32_t crc; /* out: CRC-32 (zlib) of the bytes */
} RawRange;

/* Write (writing = 1) or read every range of an existing file. 0 on success;
 * −1 with errno set on the first failure (ENOSPC, EIO; EIO also for a file
 * shorter than a range). */
int raw_move(const char *path, RawRange *r, int n, int writing);

/* Reserve [0, size) of path on disk before ranks write into it (fallocate):
 * a full disk fails here, before any data moves, and later direct writes
 * land in allocated blocks. 0 on success or where the file system cannot
 * reserve (it is only an optimisation there); −1 with errno on ENOSPC. */
int raw_reserve(const char *path, int64_t size);

/* Bytes free to an unprivileged writer on the file system holding path
 * (its directory need only exist); −1 when unknown. */
int64_t raw_free_bytes(const char *path);

/* CRC-32 (zlib) of any length. */
uint32_t raw_crc(const void *data, size_t bytes);

#endif
