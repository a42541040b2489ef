/*
 * bertshard.c — NVIDIA BERT shards as documents of token ids (see
 * bertshard.h).
 */
#include "bertshard.h"

#include "mpi/err.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 1024 /* rows read at once */

static const char *NAMES[5] = {"input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                               "masked_lm_ids"};

struct BertShard {
    char path[1024];
    hid_t f, d[5];
    int64_t rows, seq, pred, at, end;
    int vocab, cls, sep;
    int32_t *ids, *mask, *pos, *mid; /* a block: [BLOCK][seq] or [BLOCK][pred] */
    int64_t b0, bn;                  /* the block's first row and row count */
    int32_t *out;
};

/* dims of a 1- or 2-D integer dataset; 0 when it is one */
static int dims_of(hid_t d, int want, int64_t *n, int64_t *m) {
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(sp), ok = H5Tget_class(t) == H5T_INTEGER && nd == want;
    hsize_t dm[2] = {0, 0};
    if (ok) H5Sget_simple_extent_dims(sp, dm, NULL);
    H5Tclose(t), H5Sclose(sp);
    *n = (int64_t)dm[0], *m = want == 2 ? (int64_t)dm[1] : 1;
    return ok ? 0 : -1;
}

/* Opens the file and checks the layout into b. 0 on success. */
static int check_layout(struct BertShard *b, const char *path, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(b->path, sizeof b->path, "%s", path);
    b->f = -1;
    for (int i = 0; i < 5; i++) b->d[i] = -1;
    FILE *probe = fopen(path, "rb");
    if (!probe) return z_fail(err, errlen, "cannot open %s", path);
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0)
        return z_fail(err, errlen, "%s: not an HDF5 file (--format nvidia-bert)", path);
    b->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (b->f < 0) return z_fail(err, errlen, "%s: cannot open as HDF5", path);
    int64_t n[5], m[5];
    for (int i = 0; i < 5; i++) {
        if (H5Lexists(b->f, NAMES[i], H5P_DEFAULT) <= 0)
            return z_fail(err, errlen, "%s: no /%s: not an NVIDIA BERT shard", path, NAMES[i]);
        b->d[i] = H5Dopen2(b->f, NAMES[i], H5P_DEFAULT);
        if (b->d[i] < 0 || dims_of(b->d[i], 2, &n[i], &m[i]))
            return z_fail(err, errlen, "%s: /%s must be a 2-D integer array", path, NAMES[i]);
    }
    for (int i = 1; i < 5; i++)
        if (n[i] != n[0] || (i < 3 && m[i] != m[0]) || (i == 4 && m[4] != m[3]))
            return z_fail(err, errlen, "%s: /%s is [%ld, %ld], which does not match /%s [%ld, %ld]",
                          path, NAMES[i], (long)n[i], (long)m[i], NAMES[i < 3 ? 0 : 3],
                          (long)n[i < 3 ? 0 : 3], (long)m[i < 3 ? 0 : 3]);
    if (m[0] < 1) return z_fail(err, errlen, "%s: /input_ids has no columns", path);
    b->rows = n[0], b->seq = m[0], b->pred = m[3];
    return 0;
}

static void close_all(struct BertShard *b) {
    for (int i = 0; i < 5; i++)
        if (b->d[i] >= 0) H5Dclose(b->d[i]);
    if (b->f >= 0) H5Fclose(b->f);
}

int bs_rows(const char *path, int64_t *rows, char *err, size_t errlen) {
    struct BertShard b;
    memset(&b, 0, sizeof b);
    int rc = check_layout(&b, path, err, errlen);
    close_all(&b);
    *rows = rc ? 0 : b.rows;
    return rc;
}

BertShard *bs_open(const char *path, int64_t begin, int64_t end, int vocab, int cls, int sep,
                   char *err, size_t errlen) {
    BertShard *b = z_calloc(1, sizeof *b, "NVIDIA shard");
    if (check_layout(b, path, err, errlen)) {
        close_all(b);
        free(b);
        return NULL;
    }
    b->at = begin, b->end = end < 0 || end > b->rows ? b->rows : end;
    b->vocab = vocab, b->cls = cls, b->sep = sep;
    b->ids = z_malloc((size_t)(BLOCK * b->seq) * sizeof(int32_t), "shard block");
    b->mask = z_malloc((size_t)(BLOCK * b->seq) * sizeof(int32_t), "shard block");
    b->pos = z_malloc((size_t)(BLOCK * (b->pred ? b->pred : 1)) * sizeof(int32_t), "shard block");
    b->mid = z_malloc((size_t)(BLOCK * (b->pred ? b->pred : 1)) * sizeof(int32_t), "shard block");
    b->out = z_malloc((size_t)b->seq * sizeof(int32_t), "shard sample");
    b->b0 = b->bn = 0;
    return b;
}

static int read_rows(BertShard *b, int i, int32_t *out, int64_t r0, int64_t nr, int64_t cols) {
    if (cols == 0) return 0;
    hsize_t s[2] = {(hsize_t)r0, 0}, c[2] = {(hsize_t)nr, (hsize_t)cols};
    hid_t fs = H5Dget_space(b->d[i]), ms = H5Screate_simple(2, c, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, s, NULL, c, NULL);
    herr_t rc = H5Dread(b->d[i], H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms), H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

int bs_next(BertShard *b, const int32_t **ids, size_t *n, int64_t *row, char *err, size_t errlen) {
    if (b->at >= b->end) return 0;
    if (b->at >= b->b0 + b->bn) { /* the next block */
        b->b0 = b->at;
        b->bn = b->end - b->at < BLOCK ? b->end - b->at : BLOCK;
        if (read_rows(b, 0, b->ids, b->b0, b->bn, b->seq) ||
            read_rows(b, 1, b->mask, b->b0, b->bn, b->seq) ||
            read_rows(b, 3, b->pos, b->b0, b->bn, b->pred) ||
            read_rows(b, 4, b->mid, b->b0, b->bn, b->pred))
            return z_fail(err, errlen, "%s: cannot read rows [%ld, %ld)", b->path, (long)b->b0,
                          (long)(b->b0 + b->bn));
    }
    int64_t r = b->at - b->b0, S = b->seq, len = 0;
    const int32_t *id = b->ids + r * S, *mk = b->mask + r * S;
    while (len < S && mk[len]) len++; /* the sample's tokens: input_mask's leading ones */
    memcpy(b->out, id, (size_t)len * sizeof *b->out);
    for (int64_t j = 0; j < b->pred; j++) {
        int32_t p = b->pos[r * b->pred + j], v = b->mid[r * b->pred + j];
        if (p == 0) break; /* NVIDIA pads the list with zeros */
        if (p < 0 || p >= len)
            return z_fail(err, errlen,
                          "%s: row %ld: masked_lm_positions[%ld] = %d is outside its %ld tokens",
                          b->path, (long)b->at, (long)j, p, (long)len);
        b->out[p] = v;
    }
    for (int64_t t = 0; t < len; t++)
        if (b->out[t] < 0 || b->out[t] >= b->vocab)
            return z_fail(err, errlen,
                          "%s: row %ld: token id %d at %ld is outside the vocabulary (%d)", b->path,
                          (long)b->at, b->out[t], (long)t, b->vocab);
    int64_t a = 0, e = len;
    if (e > 0 && b->cls >= 0 && b->out[0] == b->cls) a = 1;
    if (e > a && b->sep >= 0 && b->out[e - 1] == b->sep) e--;
    *ids = b->out + a, *n = (size_t)(e - a), *row = b->at;
    b->at++;
    return 1;
}

void bs_close(BertShard *b) {
    if (!b) return;
    close_all(b);
    free(b->ids), free(b->mask), free(b->pos), free(b->mid), free(b->out);
    free(b);
}
