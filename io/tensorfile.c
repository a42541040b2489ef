/*
 * tensorfile.c — serial HDF5 named tensors (see tensorfile.h).
 */
#include "tensorfile.h"

#include "mpi/err.h"
#include "h5attr.h"

#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct TensorFile {
    hid_t file;
    char path[1024];
    char err[Z_ERR_MAX];
};

static int fail(TensorFile *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(f->err, sizeof f->err, "%s: ", f->path);
    vsnprintf(f->err + n, sizeof f->err - n, fmt, ap);
    va_end(ap);
    return -1;
}

static TensorFile *open_common(const char *path, int create, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    TensorFile *f = z_calloc(1, sizeof *f, "tensor file");
    snprintf(f->path, sizeof f->path, "%s", path);
    if (create)
        f->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    else
        f->file = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f->file < 0) {
        snprintf(err, errlen, "%s: cannot %s HDF5 file", path, create ? "create" : "open");
        free(f);
        return NULL;
    }
    return f;
}

TensorFile *tf_create(const char *path, char *err, size_t errlen) {
    return open_common(path, 1, err, errlen);
}
TensorFile *tf_open(const char *path, char *err, size_t errlen) {
    return open_common(path, 0, err, errlen);
}
const char *tf_error(const TensorFile *f) {
    return f->err;
}

int tf_close(TensorFile *f) {
    int rc = H5Fclose(f->file) < 0 ? -1 : 0;
    free(f);
    return rc;
}

int tf_set_attr(TensorFile *f, const char *name, const char *value) {
    return h5_put_attr_str(f->file, name, value) ? fail(f, "cannot write attribute %s", name) : 0;
}

char *tf_get_attr(TensorFile *f, const char *name) {
    return h5_attr_str(f->file, name);
}

int tf_write(TensorFile *f, const char *name, char dtype, const void *data, int ndim,
             const int64_t *dims) {
    hsize_t d[4];
    for (int i = 0; i < ndim; i++) d[i] = (hsize_t)dims[i];
    hid_t sp = H5Screate_simple(ndim, d, NULL), lc = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lc, 1);
    hid_t ft = dtype == 'f' ? H5T_IEEE_F32LE : H5T_STD_I32LE;
    hid_t mt = dtype == 'f' ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32;
    hid_t ds = H5Dcreate2(f->file, name, ft, sp, lc, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(lc);
    H5Sclose(sp);
    return rc < 0 ? fail(f, "cannot write tensor %s (disk full?)", name) : 0;
}

int tf_shape(TensorFile *f, const char *name, int64_t dims[4]) {
    if (H5Lexists(f->file, name, H5P_DEFAULT) <= 0) return -1;
    hid_t ds = H5Dopen2(f->file, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t d[H5S_MAX_RANK];
    if (nd > 4) nd = -1;
    if (nd > 0) {
        H5Sget_simple_extent_dims(sp, d, NULL);
        for (int i = 0; i < nd; i++) dims[i] = (int64_t)d[i];
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return nd;
}

int tf_read(TensorFile *f, const char *name, char dtype, void *data, size_t numel) {
    int64_t dims[4];
    int nd = tf_shape(f, name, dims);
    if (nd < 0) return fail(f, "missing tensor %s", name);
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)dims[i];
    if (n != numel) return fail(f, "tensor %s has %zu elements, expected %zu", name, n, numel);
    hid_t ds = H5Dopen2(f->file, name, H5P_DEFAULT);
    herr_t rc = H5Dread(ds, dtype == 'f' ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32, H5S_ALL, H5S_ALL,
                        H5P_DEFAULT, data);
    H5Dclose(ds);
    return rc < 0 ? fail(f, "cannot read tensor %s", name) : 0;
}
