/*
 * ckpt.c — collective HDF5 checkpoint files (see ckpt.h).
 */
#include "ckpt.h"

#include "../mpi/err.h"
#include "h5attr.h"

#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 0 when every rank succeeded; the same answer everywhere. */
static int agree(int rc) {
    int bad = rc != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any ? -1 : 0;
}

/* CRC-32 of a tensor from each rank's part: crc32_combine in element order. */
static uint32_t combined_crc(const CkptTensor *t) {
    uLong mine = crc32(0L, Z_NULL, 0);
    size_t bytes = (size_t)(t->hi - t->lo) * sizeof(float);
    const unsigned char *p = (const unsigned char *)t->data;
    for (size_t o = 0; o < bytes; o += 1u << 30) { /* crc32 takes a uInt length */
        size_t c = bytes - o < (1u << 30) ? bytes - o : (1u << 30);
        mine = crc32(mine, p + o, (uInt)c);
    }
    int n = z_nranks();
    struct {
        int64_t lo, bytes;
        uint64_t crc;
    } part = {t->lo, (int64_t)bytes, mine}, *all = z_malloc(n * sizeof part, "crc parts");
    MPI_Allgather(&part, sizeof part, MPI_BYTE, all, sizeof part, MPI_BYTE, MPI_COMM_WORLD);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int k = 0; k < n; k++) { /* parts in element order (selection sort: n is small) */
        int best = -1;
        for (int j = 0; j < n; j++)
            if (all[j].bytes > 0 && (best < 0 || all[j].lo < all[best].lo)) best = j;
        if (best < 0) break;
        crc = crc32_combine(crc, (uLong)all[best].crc, (z_off_t)all[best].bytes);
        all[best].bytes = 0;
    }
    free(all);
    return (uint32_t)crc;
}

/* File selection of the flat range [lo, hi) of a row-major tensor: a partial
 * first row, whole middle rows, a partial last row. */
static hid_t select_range(hid_t ds, const CkptTensor *t) {
    hid_t fs = H5Dget_space(ds);
    if (t->hi <= t->lo) {
        H5Sselect_none(fs);
        return fs;
    }
    if (t->ndim == 1) {
        hsize_t s = (hsize_t)t->lo, c = (hsize_t)(t->hi - t->lo);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &s, NULL, &c, NULL);
        return fs;
    }
    int64_t C = t->dims[1], lo = t->lo, hi = t->hi;
    H5S_seloper_t op = H5S_SELECT_SET;
    while (lo < hi) {
        int64_t r = lo / C, c = lo % C, n;
        hsize_t s[2], cnt[2];
        if (c == 0 && hi - lo >= C) { /* whole rows */
            int64_t rows = (hi - lo) / C;
            s[0] = (hsize_t)r, s[1] = 0, cnt[0] = (hsize_t)rows, cnt[1] = (hsize_t)C;
            n = rows * C;
        } else { /* part of one row */
            n = (C - c < hi - lo) ? C - c : hi - lo;
            s[0] = (hsize_t)r, s[1] = (hsize_t)c, cnt[0] = 1, cnt[1] = (hsize_t)n;
        }
        H5Sselect_hyperslab(fs, op, s, NULL, cnt, NULL);
        op = H5S_SELECT_OR;
        lo += n;
    }
    return fs;
}

static hid_t mpio_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    return fapl;
}

static int put_attr_u32(hid_t obj, const char *key, uint32_t v) {
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, key, H5T_STD_U32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT32, &v) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

int ckpt_write(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, char *err,
               size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = mpio_fapl();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (agree(f < 0)) {
        if (f >= 0) H5Fclose(f);
        return z_fail(err, errlen, "%s: cannot create checkpoint file", path);
    }
    int rc =
        h5_put_attr_str(f, "format", CKPT_FORMAT) || h5_put_attr_i64(f, "version", CKPT_VERSION);
    for (int i = 0; i < meta->nint; i++)
        rc |= h5_put_attr_i64(f, meta->int_key[i], meta->int_val[i]);
    for (int i = 0; i < meta->nstr; i++)
        rc |= h5_put_attr_str(f, meta->str_key[i], meta->str_val[i]);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dxpl = H5Pcreate(H5P_DATASET_XFER);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    /* every element is written by its owner: never write fill values first
     * (parallel HDF5 allocates early and would write each dataset twice) */
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    rc = agree(rc) ? 1 : 0; /* the loops below must start (or not) on every rank */
    for (int i = 0; i < n && !rc; i++) {
        hsize_t dims[2] = {(hsize_t)t[i].dims[0], (hsize_t)t[i].dims[1]};
        hid_t sp = H5Screate_simple(t[i].ndim, dims, NULL);
        hid_t ds = H5Dcreate2(f, t[i].name, H5T_IEEE_F32LE, sp, lcpl, dcpl, H5P_DEFAULT);
        H5Sclose(sp);
        if (agree(ds < 0)) { /* every rank stops here together, none enters the write */
            if (ds >= 0) H5Dclose(ds);
            rc = 1;
            break;
        }
        hid_t fs = select_range(ds, &t[i]);
        hsize_t cnt = (hsize_t)(t[i].hi > t[i].lo ? t[i].hi - t[i].lo : 0);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        if (!cnt) H5Sselect_none(ms);
        rc |= H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, dxpl, t[i].data) < 0;
        rc |= put_attr_u32(ds, "crc32", combined_crc(&t[i]));
        H5Sclose(ms);
        H5Sclose(fs);
        H5Dclose(ds);
        rc = agree(rc) ? 1 : 0;
    }
    for (int i = 0; i < meta->nstate && !rc; i++) { /* small scalars: rank 0 writes the value */
        char name[128];
        snprintf(name, sizeof name, "state/%s", meta->state_key[i]);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t ds = H5Dcreate2(f, name, H5T_STD_I64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(sp);
        if (agree(ds < 0)) {
            if (ds >= 0) H5Dclose(ds);
            rc = 1;
            break;
        }
        hid_t sel = H5Dget_space(ds), ms = H5Screate(H5S_SCALAR);
        if (z_rank() != 0) H5Sselect_none(sel), H5Sselect_none(ms);
        rc |= H5Dwrite(ds, H5T_NATIVE_INT64, ms, sel, dxpl, &meta->state_val[i]) < 0;
        H5Sclose(ms);
        H5Sclose(sel);
        H5Dclose(ds);
    }
    if (!agree(rc)) rc = h5_put_attr_i64(f, "complete", 1); /* the last thing written */
    H5Pclose(lcpl);
    H5Pclose(dxpl);
    H5Pclose(dcpl);
    rc |= H5Fclose(f) < 0;
    if (agree(rc)) return z_fail(err, errlen, "%s: checkpoint write failed (disk full?)", path);
    return 0;
}

int ckpt_read(const char *path, CkptTensor *t, int n, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = mpio_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (agree(f < 0)) {
        if (f >= 0) H5Fclose(f);
        return z_fail(err, errlen, "%s: cannot open checkpoint (truncated or not HDF5)", path);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (H5Lexists(f, t[i].name, H5P_DEFAULT) <= 0) {
            rc = z_fail(err, errlen, "%s: missing tensor /%s", path, t[i].name);
            break;
        }
        hid_t ds = H5Dopen2(f, t[i].name, H5P_DEFAULT), sp = H5Dget_space(ds);
        hsize_t d[2] = {0, 0};
        int nd = H5Sget_simple_extent_ndims(sp);
        if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, d, NULL);
        H5Sclose(sp);
        if (nd != t[i].ndim || (int64_t)d[0] != t[i].dims[0] ||
            (nd == 2 && (int64_t)d[1] != t[i].dims[1])) {
            H5Dclose(ds);
            if (t[i].ndim == 2)
                rc = z_fail(err, errlen,
                            "%s: /%s has shape [%llu, %llu], the model needs [%ld, %ld]", path,
                            t[i].name, (unsigned long long)d[0], (unsigned long long)d[1],
                            (long)t[i].dims[0], (long)t[i].dims[1]);
            else
                rc = z_fail(err, errlen,
                            "%s: /%s has %d dimensions or length %llu, the model needs [%ld]", path,
                            t[i].name, nd, (unsigned long long)d[0], (long)t[i].dims[0]);
            break;
        }
        hid_t fs = select_range(ds, &t[i]);
        hsize_t cnt = (hsize_t)(t[i].hi > t[i].lo ? t[i].hi - t[i].lo : 0);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        if (!cnt) H5Sselect_none(ms);
        int bad = H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, dxpl, t[i].data) < 0;
        H5Sclose(ms);
        H5Sclose(fs);
        uint32_t want = 0;
        hid_t a = H5Aexists(ds, "crc32") > 0 ? H5Aopen(ds, "crc32", H5P_DEFAULT) : -1;
        bad |= a < 0 || H5Aread(a, H5T_NATIVE_UINT32, &want) < 0;
        if (a >= 0) H5Aclose(a);
        H5Dclose(ds);
        if (agree(bad)) {
            rc = z_fail(err, errlen, "%s: cannot read /%s (or its crc32)", path, t[i].name);
            break;
        }
        uint32_t got = combined_crc(&t[i]);
        if (got != want)
            rc = z_fail(err, errlen, "%s: checksum mismatch in /%s (crc32 %08x, stored %08x)", path,
                        t[i].name, got, want);
    }
    H5Pclose(dxpl);
    H5Fclose(f);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* serial access                                                              */

struct CkptInfo {
    hid_t f;
    char path[1024];
};

CkptInfo *ckpt_open(const char *path, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        z_fail(err, errlen, "%s: cannot open checkpoint", path);
        return NULL;
    }
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        z_fail(err, errlen, "%s: not an HDF5 file (truncated?)", path);
        return NULL;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        z_fail(err, errlen, "%s: cannot open checkpoint (truncated?)", path);
        return NULL;
    }
    CkptInfo *c = z_calloc(1, sizeof *c, "checkpoint");
    c->f = f;
    snprintf(c->path, sizeof c->path, "%s", path);
    char *fmt = ckpt_attr_str(c, "format");
    int64_t complete = 0;
    if (!fmt || strcmp(fmt, CKPT_FORMAT)) {
        z_fail(err, errlen, "%s: not a zeropt checkpoint (format attribute %s)", path,
               fmt ? fmt : "missing");
        free(fmt);
        ckpt_close(c);
        return NULL;
    }
    free(fmt);
    if (ckpt_attr_int(c, "complete", &complete) || complete != 1) {
        z_fail(err, errlen, "%s: incomplete checkpoint (no complete flag): refused", path);
        ckpt_close(c);
        return NULL;
    }
    return c;
}

void ckpt_close(CkptInfo *c) {
    if (!c) return;
    H5Fclose(c->f);
    free(c);
}

int ckpt_attr_int(CkptInfo *c, const char *key, int64_t *v) {
    return h5_attr_i64(c->f, key, v);
}

char *ckpt_attr_str(CkptInfo *c, const char *key) {
    return h5_attr_str(c->f, key);
}

int ckpt_state(CkptInfo *c, const char *key, int64_t *v) {
    char name[128];
    snprintf(name, sizeof name, "state/%s", key);
    if (H5Lexists(c->f, "state", H5P_DEFAULT) <= 0 || H5Lexists(c->f, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(c->f, name, H5P_DEFAULT);
    int rc = H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0 ? -1 : 0;
    H5Dclose(ds);
    return rc;
}

typedef struct {
    void (*fn)(void *, const char *, int, const int64_t *);
    void *ctx;
} ListCtx;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    ListCtx *l = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
    if (H5Aexists(ds, "crc32") > 0) {
        hid_t sp = H5Dget_space(ds);
        hsize_t d[2] = {0, 0};
        int nd = H5Sget_simple_extent_ndims(sp);
        if (nd >= 1 && nd <= 2) {
            H5Sget_simple_extent_dims(sp, d, NULL);
            int64_t dims[2] = {(int64_t)d[0], (int64_t)d[1]};
            l->fn(l->ctx, name, nd, dims);
        }
        H5Sclose(sp);
    }
    H5Dclose(ds);
    return 0;
}

void ckpt_list(CkptInfo *c, void (*fn)(void *ctx, const char *name, int ndim, const int64_t *dims),
               void *ctx) {
    ListCtx l = {fn, ctx};
    H5Ovisit(c->f, H5_INDEX_NAME, H5_ITER_INC, visit, &l);
}

float *ckpt_tensor(CkptInfo *c, const char *name, int *ndim, int64_t dims[2], char *err,
                   size_t errlen) {
    if (H5Lexists(c->f, name, H5P_DEFAULT) <= 0) {
        z_fail(err, errlen, "%s: missing tensor /%s", c->path, name);
        return NULL;
    }
    hid_t ds = H5Dopen2(c->f, name, H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t d[2] = {0, 1};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, d, NULL);
    H5Sclose(sp);
    if (nd < 1 || nd > 2) {
        H5Dclose(ds);
        z_fail(err, errlen, "%s: /%s is not a 1-D or 2-D tensor", c->path, name);
        return NULL;
    }
    size_t n = (size_t)d[0] * (nd == 2 ? (size_t)d[1] : 1);
    float *buf = z_malloc(n * sizeof(float), "tensor");
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        H5Dclose(ds);
        z_fail(err, errlen, "%s: cannot read /%s", c->path, name);
        return NULL;
    }
    H5Dclose(ds);
    *ndim = nd;
    dims[0] = (int64_t)d[0];
    dims[1] = nd == 2 ? (int64_t)d[1] : 0;
    return buf;
}

typedef struct {
    CkptInfo *c;
    char *err;
    size_t errlen;
    int bad;
} VerifyCtx;

static void verify_one(void *ctx, const char *name, int ndim, const int64_t *dims) {
    VerifyCtx *v = ctx;
    (void)ndim, (void)dims;
    if (v->bad) return;
    int nd;
    int64_t d[2];
    float *buf = ckpt_tensor(v->c, name, &nd, d, v->err, v->errlen);
    if (!buf) {
        v->bad = 1;
        return;
    }
    size_t bytes = (size_t)d[0] * (nd == 2 ? (size_t)d[1] : 1) * sizeof(float);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t o = 0; o < bytes; o += 1u << 30) {
        size_t n = bytes - o < (1u << 30) ? bytes - o : (1u << 30);
        crc = crc32(crc, (const unsigned char *)buf + o, (uInt)n);
    }
    free(buf);
    uint32_t want = 0;
    hid_t ds = H5Dopen2(v->c->f, name, H5P_DEFAULT);
    hid_t a = H5Aopen(ds, "crc32", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT32, &want);
    H5Aclose(a);
    H5Dclose(ds);
    if ((uint32_t)crc != want) {
        z_fail(v->err, v->errlen, "%s: checksum mismatch in /%s (crc32 %08x, stored %08x)",
               v->c->path, name, (uint32_t)crc, want);
        v->bad = 1;
    }
}

int ckpt_verify(CkptInfo *c, char *err, size_t errlen) {
    VerifyCtx v = {c, err, errlen, 0};
    ckpt_list(c, verify_one, &v);
    return v.bad ? -1 : 0;
}
