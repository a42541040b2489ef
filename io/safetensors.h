/*
 * safetensors.h — the safetensors format (Hugging Face): an 8-byte
 * little-endian header length, a JSON header mapping each tensor name to
 * {dtype, shape, data_offsets}, then the raw little-endian data. We write
 * F32 or BF16 (rounded to nearest even); we read F32, F16 and BF16
 * (converted to float).
 */
#ifndef ZEROPT_SAFETENSORS_H
#define ZEROPT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[512];
    int ndim;
    int64_t dims[4];
    const float *data;
} StTensor;

/* Write tensors (and string metadata pairs, may be NULL) to path, as F32 or
 * (bf16) BF16. 0 on success. */
int st_write(const char *path, const StTensor *t, int n, const char *const *meta_kv, int nmeta,
             int bf16, char *err, size_t errlen);

typedef struct StFile StFile;
StFile *st_open(const char *path, char *err, size_t errlen);
void st_close(StFile *f);
int st_count(const StFile *f);
const char *st_name(const StFile *f, int i);
/* Shape of a tensor by name; −1 when absent. */
int st_shape(const StFile *f, const char *name, int64_t dims[4]);
/* The tensor as float (malloc'd); NULL + err when absent or of another dtype. */
float *st_read(StFile *f, const char *name, size_t *numel, char *err, size_t errlen);

#endif
