/*
 * ckpt_parts.h — private to io/ckpt_*.c: where a rank's part of a tensor
 * lies in a checkpoint file and how its bytes move (through HDF5's
 * collective I/O, or directly at the dataset's byte address), and the
 * whole-tensor CRCs joined across ranks.
 */
#ifndef ZEROPT_CKPT_PARTS_H
#define ZEROPT_CKPT_PARTS_H

#include "ckpt.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of this rank's part of a tensor. */
size_t ckpt_part_bytes(const CkptTensor *t);
/* Collective H5Dwrite/H5Dread of this rank's part (1 on failure). */
int ckpt_hdf5_part(hid_t ds, const CkptTensor *t, hid_t dxpl, int writing);
/* Byte address of a dataset's elements when they can be moved directly
 * (contiguous, no external storage, float32 LE = native float), else −1.
 * The file decides, so every rank gets the same answer. */
int64_t ckpt_direct_addr(hid_t ds);
/* Direct transfer of every part with addr[i] ≥ 0 (no communication); each
 * part's CRC into part_crc. −1 with errno on the first failure. */
int ckpt_direct_parts(const char *path, const CkptTensor *t, const int64_t *addr, int n,
                      int writing, uint32_t *part_crc);
/* File access through MPI-IO over all ranks. */
hid_t ckpt_mpio_fapl(void);
/* Whole-tensor CRCs from every rank's parts (ranks own ascending ranges):
 * crc[i] on every rank. −1 (and err) when the parts do not tile a tensor. */
int ckpt_joined_crcs(const char *path, const CkptTensor *t, int n, const uint32_t *part_crc,
                     uint32_t *crc, char *err, size_t errlen);

#endif
