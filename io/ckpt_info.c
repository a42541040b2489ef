/*
 * ckpt_info.c — a checkpoint file from one process, without MPI: opening it
 * (format attribute and complete flag checked), its attributes and training
 * state, the list of its tensors, one whole tensor. Used by `zeropt ckpt`
 * and by every rank reading the header before a collective load.
 */
#include "ckpt.h"

#include "h5attr.h"

#include "mpi/err.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
