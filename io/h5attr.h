/*
 * h5attr.h — scalar HDF5 attributes (strings and int64), the one place the
 * io/ modules read and write them; untimed object creation; string lists. Strings are read whether
 * stored fixed- or variable-length (h5py writes the latter).
 */
#ifndef ZEROPT_H5ATTR_H
#define ZEROPT_H5ATTR_H

#include <hdf5.h>
#include <stdint.h>

/* Datasets and groups created without timestamps, so that the same content
 * gives the same file, byte for byte. Negative on failure. */
hid_t h5_create_ds(hid_t loc, const char *name, hid_t type, hid_t space);
hid_t h5_create_group(hid_t loc, const char *name);
/* A one-dimensional dataset of n fixed-length strings (h5dump prints them).
 * 0 on success. */
int h5_put_strings(hid_t loc, const char *name, const char *const *s, int n);
/* Reads one back: n malloc'd strings in *out (free each, then the array).
 * 0 on success. */
int h5_get_strings(hid_t loc, const char *name, char ***out, int *n);

/* 0 on success. */
int h5_put_attr_str(hid_t obj, const char *name, const char *value);
int h5_put_attr_i64(hid_t obj, const char *name, int64_t value);
/* malloc'd string, or NULL when absent or not a string. */
char *h5_attr_str(hid_t obj, const char *name);
/* 0 when present and read. */
int h5_attr_i64(hid_t obj, const char *name, int64_t *value);

#endif
