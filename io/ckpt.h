/*
 * ckpt.h — checkpoint files: named fp32 tensors with their real shapes,
 * written and read collectively with parallel HDF5 (MPI-IO), each rank
 * moving only the contiguous part of each tensor it owns.
 *
 *   /                 attrs: format="zeropt-checkpoint", version, the caller's
 *                     integer and string attributes, complete=1 (written last)
 *   /<tensor name>    float32 [shape], attr crc32 = CRC-32 of the whole tensor
 *   /state/<name>     int64 scalars (the caller's training state)
 *
 * A tensor's CRC is combined from the ranks' parts (zlib crc32_combine, in
 * one reduction for all tensors), so no rank ever holds a whole tensor to
 * checksum it; reading checks the CRC the same way. The commit protocol
 * (partial name, rename, `latest`) is the caller's; this module writes and
 * reads one file. ckpt_write and ckpt_read are collective over
 * MPI_COMM_WORLD and return the same result on every rank; the CkptInfo
 * calls are serial.
 *
 *   ckpt_write.c  collective write        ckpt_crc.c    CRCs joined across ranks
 *   ckpt_read.c   collective read         ckpt_parts.c  where a part's bytes go
 *   ckpt_info.c   serial inspection
 */
#ifndef ZEROPT_CKPT_IO_H
#define ZEROPT_CKPT_IO_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_FORMAT "zeropt-checkpoint"
#define CKPT_VERSION 1
#define CKPT_MAX_ATTRS 24

typedef struct {
    char name[96]; /* dataset path, e.g. "model/blocks.03.attn.qkv.weight" */
    int ndim;
    int64_t dims[2];
    int64_t lo, hi; /* this rank's flat element range of the tensor */
    float *data;    /* hi − lo floats */
} CkptTensor;

typedef struct {
    int nint, nstr, nstate;
    const char *int_key[CKPT_MAX_ATTRS];
    int64_t int_val[CKPT_MAX_ATTRS];
    const char *str_key[CKPT_MAX_ATTRS];
    const char *str_val[CKPT_MAX_ATTRS];
    const char *state_key[CKPT_MAX_ATTRS]; /* /state/<key> int64 datasets */
    int64_t state_val[CKPT_MAX_ATTRS];
} CkptMeta;

/* How tensor bytes move (the file is the same either way): DIRECT — each
 * rank pwrite/preads its parts at the dataset's address; HDF5 — collective
 * H5Dwrite/H5Dread (two-phase I/O through MPI-IO aggregators). */
typedef enum { CKPT_IO_DIRECT, CKPT_IO_HDF5 } CkptIo;

/* Write path (created or truncated). The ranks' parts of each tensor must
 * tile it in rank order (rank r's part below rank r+1's). The disk space is
 * checked and reserved first. 0 on success; err says why otherwise, and the
 * caller then exits: after some failures the file is left open, because
 * closing it would need a disk write that cannot succeed. */
int ckpt_write(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, CkptIo io,
               char *err, size_t errlen);

/* The same in three calls, so that the tensor bytes can move while training
 * goes on (an asynchronous save):
 *   ckpt_write_begin  collective: the file, its datasets, attributes and
 *                     state scalars; with CKPT_IO_HDF5 the tensors too.
 *                     NULL (and err) on failure, agreed.
 *   ckpt_write_data   this rank's direct parts (CKPT_IO_DIRECT) and their
 *                     CRCs: no MPI and no HDF5 call, so any thread may run
 *                     it while the main thread trains. t[i].data must stay
 *                     valid and unchanged until it returns (a snapshot).
 *                     −1 with the errno kept for the end.
 *   ckpt_write_end    collective: failures agreed, CRCs joined and stored,
 *                     complete = 1, the file closed; ckpt_write's result.
 * A file whose end never ran has no complete flag: never loaded. */
typedef struct CkptWriter CkptWriter;
CkptWriter *ckpt_write_begin(const char *path, const CkptTensor *t, int n, const CkptMeta *meta,
                             CkptIo io, char *err, size_t errlen);
int ckpt_write_data(CkptWriter *w);
int ckpt_write_end(CkptWriter *w, char *err, size_t errlen);

/* Read the tensors' parts (each must exist with its shape and crc32
 * attribute, and the CRCs must hold; the parts tile each tensor in rank
 * order). Any subset of a file's tensors may be read. 0 on success. */
int ckpt_read(const char *path, CkptTensor *t, int n, CkptIo io, char *err, size_t errlen);

/* Serial access by one process (tools, and every rank reading the header
 * before a collective load): opening checks the format attribute and the
 * complete flag. */
typedef struct CkptInfo CkptInfo;
CkptInfo *ckpt_open(const char *path, char *err, size_t errlen);
void ckpt_close(CkptInfo *c);
int ckpt_attr_int(CkptInfo *c, const char *key, int64_t *v); /* 0 when present */
char *ckpt_attr_str(CkptInfo *c, const char *key);           /* malloc'd or NULL */
int ckpt_state(CkptInfo *c, const char *key, int64_t *v);    /* /state/<key> */
/* Every float tensor (dataset with a crc32 attribute), depth-first in name
 * order: fn(ctx, name, ndim, dims). */
void ckpt_list(CkptInfo *c, void (*fn)(void *ctx, const char *name, int ndim, const int64_t *dims),
               void *ctx);
/* A whole tensor (malloc'd), with its shape. NULL + err when absent. */
float *ckpt_tensor(CkptInfo *c, const char *name, int *ndim, int64_t dims[2], char *err,
                   size_t errlen);

#endif
