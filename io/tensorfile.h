/*
 * tensorfile.h — named tensors in a serial HDF5 file: one dataset per tensor
 * at its path (e.g. "model/blocks.03.attn.qkv.weight"), with its real shape,
 * plus string attributes on the root. Used for model.h5 and batch dumps;
 * collective checkpoints have their own module. Every call returns 0 on
 * success or −1 with a message in the file's error buffer (tf_error).
 */
#ifndef ZEROPT_TENSORFILE_H
#define ZEROPT_TENSORFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct TensorFile TensorFile;

TensorFile *tf_create(const char *path, char *err, size_t errlen);
TensorFile *tf_open(const char *path, char *err, size_t errlen);
const char *tf_error(const TensorFile *f);
int tf_close(TensorFile *f); /* frees f */

int tf_set_attr(TensorFile *f, const char *name, const char *value);
char *tf_get_attr(TensorFile *f, const char *name); /* malloc'd, NULL when absent */

/* dtype: 'f' float32, 'i' int32 */
int tf_write(TensorFile *f, const char *name, char dtype, const void *data, int ndim,
             const int64_t *dims);
/* Read a tensor whose element count must be numel (shape is checked by the
 * caller through tf_shape when it matters). */
int tf_read(TensorFile *f, const char *name, char dtype, void *data, size_t numel);
/* Rank and dims of a tensor; −1 when it does not exist. */
int tf_shape(TensorFile *f, const char *name, int64_t dims[4]);

#endif
