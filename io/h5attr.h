/*
 * h5attr.h — scalar HDF5 attributes (strings and int64), the one place the
 * io/ modules read and write them. Strings are read whether stored fixed- or
 * variable-length (h5py writes the latter).
 */
#ifndef ZEROPT_H5ATTR_H
#define ZEROPT_H5ATTR_H

#include <hdf5.h>
#include <stdint.h>

/* 0 on success. */
int h5_put_attr_str(hid_t obj, const char *name, const char *value);
int h5_put_attr_i64(hid_t obj, const char *name, int64_t value);
/* malloc'd string, or NULL when absent or not a string. */
char *h5_attr_str(hid_t obj, const char *name);
/* 0 when present and read. */
int h5_attr_i64(hid_t obj, const char *name, int64_t *value);

#endif
