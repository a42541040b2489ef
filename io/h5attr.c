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

hid_t h5_create_ds(hid_t loc, const char *name, hid_t type, hid_t space) {
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(pl, 0);
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, pl, H5P_DEFAULT);
    H5Pclose(pl);
    return d;
}

hid_t h5_create_group(hid_t loc, const char *name) {
    hid_t pl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(pl, 0);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, pl, H5P_DEFAULT);
    H5Pclose(pl);
    return g;
}

int h5_put_strings(hid_t loc, const char *name, const char *const *s, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) + 1 > len) len = strlen(s[i]) + 1;
    char *all = z_calloc((size_t)(n ? n : 1), len, "string list");
    for (int i = 0; i < n; i++) memcpy(all + (size_t)i * len, s[i], strlen(s[i]));
    hsize_t dim = (hsize_t)n;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &dim, NULL);
    H5Tset_size(t, len);
    hid_t d = h5_create_ds(loc, name, t, sp);
    int rc = d < 0 || (n && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) < 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp), H5Tclose(t);
    free(all);
    return rc ? -1 : 0;
}

int h5_get_strings(hid_t loc, const char *name, char ***out, int *n) {
    *out = NULL, *n = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t dim = 0;
    int ok = H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0 &&
             H5Sget_simple_extent_ndims(sp) == 1;
    if (ok) H5Sget_simple_extent_dims(sp, &dim, NULL);
    size_t len = ok ? H5Tget_size(t) : 0;
    char *all = ok ? z_calloc((size_t)(dim ? dim : 1), len + 1, "string list") : NULL;
    if (ok && dim) {
        hid_t mt = H5Tcopy(H5T_C_S1); /* room for a terminator the file may lack */
        H5Tset_size(mt, len + 1);
        ok = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0;
        H5Tclose(mt);
    }
    H5Tclose(t), H5Sclose(sp), H5Dclose(d);
    if (!ok) {
        free(all);
        return -1;
    }
    *out = z_calloc((size_t)(dim ? dim : 1), sizeof **out, "string list");
    for (hsize_t i = 0; i < dim; i++) (*out)[i] = z_strdup(all + i * (len + 1));
    *n = (int)dim;
    free(all);
    return 0;
}
