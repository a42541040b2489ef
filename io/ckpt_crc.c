/*
 * ckpt_crc.c — a tensor's CRC-32 from the ranks' parts: each rank checksums
 * its own contiguous part, one ordered reduction over all tensors joins them
 * (zlib's crc32_combine), so no rank ever holds a whole tensor to checksum it.
 */
#include "ckpt_parts.h"

#include "mpi/comm.h"
#include "mpi/err.h"

#include <stdlib.h>
#include <zlib.h>

/* A rank's part of one tensor: byte range [lo, lo + len) and its CRC.
 * len = −1 marks parts that overlap or leave a gap. */
typedef struct {
    int64_t lo, len, crc;
} CrcPart;

/* upper = lower ‖ upper: CRC(a ‖ b) = crc32_combine(CRC a, CRC b, |b|). */
static void crc_join(const void *lower, void *upper, int count) {
    const CrcPart *a = lower;
    CrcPart *b = upper;
    for (int i = 0; i < count; i++) {
        if (a[i].len < 0 || b[i].len < 0)
            b[i].len = -1;
        else if (a[i].len == 0)
            continue;
        else if (b[i].len == 0)
            b[i] = a[i];
        else if (a[i].lo + a[i].len != b[i].lo)
            b[i].len = -1;
        else {
            b[i].crc = (int64_t)crc32_combine((uLong)a[i].crc, (uLong)b[i].crc, (z_off_t)b[i].len);
            b[i].lo = a[i].lo;
            b[i].len += a[i].len;
        }
    }
}

int ckpt_joined_crcs(const char *path, const CkptTensor *t, int n, const uint32_t *part_crc,
                     uint32_t *crc, char *err, size_t errlen) {
    CrcPart *p = z_malloc((size_t)(n ? n : 1) * sizeof *p, "crc parts");
    for (int i = 0; i < n; i++) {
        int64_t len = t[i].hi > t[i].lo ? t[i].hi - t[i].lo : 0;
        p[i] = (CrcPart){len ? t[i].lo * 4 : 0, len * 4, part_crc[i]};
    }
    comm_reduce_ordered(p, n, sizeof *p, crc_join, "checkpoint checksums");
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        int64_t bytes = t[i].dims[0] * (t[i].ndim == 2 ? t[i].dims[1] : 1) * 4;
        if (p[i].len != bytes || (bytes && p[i].lo != 0))
            rc = z_fail(err, errlen, "%s: /%s: the ranks' parts do not cover it exactly once", path,
                        t[i].name);
        crc[i] = (uint32_t)p[i].crc;
    }
    free(p);
    return rc;
}
