/*
 * ckpt_read.c — reading a checkpoint file collectively (see ckpt.h): every
 * requested tensor must exist with its shape and crc32 attribute; each rank
 * reads its parts (directly where the dataset allows it, else through
 * collective H5Dread — a file h5repack'd to chunks or compression, another
 * float type), and the joined CRCs must match the stored ones.
 */
#include "ckpt_parts.h"

#include "rawio.h"

#include "mpi/comm.h"
#include "mpi/err.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ckpt_read(const char *path, CkptTensor *t, int n, CkptIo io, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = ckpt_mpio_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (comm_any(f < 0,
                 "checkpoint read")) /* left open where it succeeded: closing is collective */
        return z_fail(err, errlen, "%s: cannot open checkpoint (truncated or not HDF5)", path);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    int64_t *addr = z_malloc((size_t)(n ? n : 1) * sizeof *addr, "addresses");
    uint32_t *want = z_calloc((size_t)(n ? n : 1), sizeof *want, "crcs");
    uint32_t *part_crc = z_calloc((size_t)(n ? n : 1), sizeof *part_crc, "part crcs");
    uint32_t *got = z_calloc((size_t)(n ? n : 1), sizeof *got, "crcs");
    int rc = 0;
    /* every rank sees the same file, so every check below fails everywhere or nowhere */
    for (int i = 0; i < n && !rc; i++) {
        if (H5Lexists(f, t[i].name, H5P_DEFAULT) <= 0) {
            rc = z_fail(err, errlen, "%s: missing tensor /%s", path, t[i].name);
            break;
        }
        hid_t ds = H5Dopen2(f, t[i].name, H5P_DEFAULT), sp = H5Dget_space(ds);
        hsize_t d[2] = {0, 0};
        int nd = H5Sget_simple_extent_ndims(sp);
        if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, d, NULL);
        H5Sclose(sp);
        if (nd != t[i].ndim || (int64_t)d[0] != t[i].dims[0] ||
            (nd == 2 && (int64_t)d[1] != t[i].dims[1])) {
            H5Dclose(ds);
            if (t[i].ndim == 2)
                rc = z_fail(err, errlen,
                            "%s: /%s has shape [%llu, %llu], the model needs [%ld, %ld]", path,
                            t[i].name, (unsigned long long)d[0], (unsigned long long)d[1],
                            (long)t[i].dims[0], (long)t[i].dims[1]);
            else
                rc = z_fail(err, errlen,
                            "%s: /%s has %d dimensions or length %llu, the model needs [%ld]", path,
                            t[i].name, nd, (unsigned long long)d[0], (long)t[i].dims[0]);
            break;
        }
        hid_t a = H5Aexists(ds, "crc32") > 0 ? H5Aopen(ds, "crc32", H5P_DEFAULT) : -1;
        int bad = a < 0 || H5Aread(a, H5T_NATIVE_UINT32, &want[i]) < 0;
        if (a >= 0) H5Aclose(a);
        addr[i] = io == CKPT_IO_DIRECT ? ckpt_direct_addr(ds) : -1;
        if (addr[i] < 0) { /* collective: same datasets, same order, every rank */
            bad |= ckpt_hdf5_part(ds, &t[i], dxpl, 0);
            part_crc[i] = raw_crc(t[i].data, ckpt_part_bytes(&t[i]));
        }
        H5Dclose(ds);
        if (comm_any(bad, "checkpoint read"))
            rc = z_fail(err, errlen, "%s: cannot read /%s (or its crc32)", path, t[i].name);
    }
    H5Pclose(dxpl);
    H5Fclose(f);
    if (!rc) {
        int bad = ckpt_direct_parts(path, t, addr, n, 0, part_crc);
        int e = comm_max_int(bad ? errno : 0, "checkpoint read");
        if (comm_any(bad, "checkpoint read"))
            rc =
                z_fail(err, errlen, "%s: cannot read tensor data: %s", path, strerror(e ? e : EIO));
    }
    if (!rc) rc = ckpt_joined_crcs(path, t, n, part_crc, got, err, errlen);
    for (int i = 0; i < n && !rc; i++)
        if (got[i] != want[i])
            rc = z_fail(err, errlen, "%s: checksum mismatch in /%s (crc32 %08x, stored %08x)", path,
                        t[i].name, got[i], want[i]);
    free(addr), free(want), free(part_crc), free(got);
    return rc;
}
