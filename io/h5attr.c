/*
 * h5attr.c — scalar HDF5 attributes (see h5attr.h).
 */
#include "h5attr.h"

#include "mpi/err.h"

#include <stdlib.h>
#include <string.h>

int h5_put_attr_str(hid_t obj, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, t, value) < 0 ? -1 : 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return rc;
}

int h5_put_attr_i64(hid_t obj, const char *name, int64_t value) {
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_INT64, &value) < 0 ? -1 : 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

char *h5_attr_str(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a);
    char *out = NULL;
    if (H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            if (H5Aread(a, t, &s) >= 0 && s) out = z_strdup(s);
            H5free_memory(s);
        } else {
            out = z_calloc(H5Tget_size(t) + 1, 1, "attribute");
            if (H5Aread(a, t, out) < 0) free(out), out = NULL;
        }
    }
    H5Tclose(t);
    H5Aclose(a);
    return out;
}

int h5_attr_i64(hid_t obj, const char *name, int64_t *value) {
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    int rc = H5Aread(a, H5T_NATIVE_INT64, value) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}
