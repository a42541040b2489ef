/*
 * ckpt_write.c — writing a checkpoint file collectively (see ckpt.h).
 *
 * HDF5 (collectively, over MPI-IO) creates the file, its datasets and
 * attributes; the tensor bytes move directly at their dataset addresses
 * (CKPT_IO_DIRECT: each rank pwrites its parts, O_DIRECT for their aligned
 * interiors, CRC computed on the way; rank 0 first reserves the file's
 * blocks, so a full disk fails before any data moves) or through collective
 * H5Dwrite (CKPT_IO_HDF5: two-phase I/O through MPI-IO aggregators, the
 * better choice where many ranks contend for a parallel file system's locks).
 */
#include "ckpt_parts.h"

#include "h5attr.h"
#include "rawio.h"

#include "mpi/comm.h"
#include "mpi/err.h"
#include "mpi/fault.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_attr_u32(hid_t obj, const char *key, uint32_t v) {
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, key, H5T_STD_U32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT32, &v) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

/* Rank 0 reserves [0, bytes) of path (agreed). The fault point
 * ckpt-reserve makes it fail as if the disk had just filled (tests). */
static int reserve(const char *path, double bytes, char *err, size_t errlen) {
    int e = 0;
    if (z_rank() == 0 && z_fault("ckpt-reserve"))
        e = ENOSPC;
    else if (z_rank() == 0 && raw_reserve(path, (int64_t)bytes))
        e = errno ? errno : ENOSPC;
    e = comm_max_int(e, "checkpoint write");
    if (!e) return 0;
    return z_fail(err, errlen, "%s: checkpoint write failed: reserving %.1f MB: %s", path,
                  bytes / 1e6, strerror(e));
}

int ckpt_write(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, CkptIo io,
               char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (comm_any(z_fault("ckpt-write"), "checkpoint write"))
        return z_fail(err, errlen,
                      "%s: checkpoint write failed (injected: ZEROPT_FAULT=ckpt-write)", path);
    /* Parallel HDF5 (1.10) cannot close a file after a write failed on one
     * rank: its metadata flush fails there, the ranks fall out of step and
     * wait for each other forever. So the disk space is checked (rank 0; the
     * answer is agreed) and then reserved before HDF5 writes anything, and
     * after any failure past H5Fcreate the file is left open and unflushed:
     * the caller exits (main disables HDF5's flush at exit). */
    double need = 64 << 10, room = -1; /* metadata: ~0.5 KB per tensor measured, 2 KB allowed */
    for (int i = 0; i < n; i++)
        need += 2048 + 4.0 * (double)t[i].dims[0] * (double)(t[i].ndim == 2 ? t[i].dims[1] : 1);
    if (z_rank() == 0) {
        remove(path); /* a stale file of this name would be truncated anyway */
        room = (double)raw_free_bytes(path);
    }
    if (comm_any(room >= 0 && room < need, "checkpoint write"))
        return z_fail(err, errlen,
                      "%s: checkpoint write failed: not enough disk space (%.1f MB needed, %.1f MB "
                      "free)",
                      path, need / 1e6, room / 1e6);
    hid_t fapl = ckpt_mpio_fapl();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (comm_any(f < 0,
                 "checkpoint write")) /* left open where it succeeded: closing is collective */
        return z_fail(err, errlen, "%s: cannot create checkpoint file", path);
    if (reserve(path, need, err, errlen)) return -1; /* the disk may have filled since */
    int rc =
        h5_put_attr_str(f, "format", CKPT_FORMAT) || h5_put_attr_i64(f, "version", CKPT_VERSION);
    for (int i = 0; i < meta->nint; i++)
        rc |= h5_put_attr_i64(f, meta->int_key[i], meta->int_val[i]);
    for (int i = 0; i < meta->nstr; i++)
        rc |= h5_put_attr_str(f, meta->str_key[i], meta->str_val[i]);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dxpl = H5Pcreate(H5P_DATASET_XFER);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    /* every element is written by its owner: never write fill values first
     * (parallel HDF5 allocates early and would write each dataset twice) */
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t *ds = z_malloc((size_t)(n ? n : 1) * sizeof *ds, "datasets");
    int64_t *addr = z_malloc((size_t)(n ? n : 1) * sizeof *addr, "addresses");
    uint32_t *part_crc = z_calloc((size_t)(n ? n : 1), sizeof *part_crc, "part crcs");
    uint32_t *crc = z_calloc((size_t)(n ? n : 1), sizeof *crc, "crcs");
    int made = 0, sys_errno = 0; /* rc below: 0 ok, 1 failed, 2 failed with err set (agreed) */
    rc = comm_any(rc, "checkpoint write")
             ? 1
             : 0; /* the loops below must start (or not) on every rank */
    while (made < n && !rc) {
        hsize_t dims[2] = {(hsize_t)t[made].dims[0], (hsize_t)t[made].dims[1]};
        hid_t sp = H5Screate_simple(t[made].ndim, dims, NULL);
        hid_t d = H5Dcreate2(f, t[made].name, H5T_IEEE_F32LE, sp, lcpl, dcpl, H5P_DEFAULT);
        H5Sclose(sp);
        if (comm_any(
                d < 0,
                "checkpoint write")) { /* every rank stops here together, none enters a write */
            if (d >= 0) H5Dclose(d);
            rc = 1;
            break;
        }
        addr[made] = io == CKPT_IO_DIRECT ? ckpt_direct_addr(d) : -1;
        ds[made++] = d;
    }
    for (int i = 0; i < meta->nstate && !rc; i++) { /* small scalars: rank 0 writes the value */
        char name[128];
        snprintf(name, sizeof name, "state/%s", meta->state_key[i]);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t d = H5Dcreate2(f, name, H5T_STD_I64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(sp);
        if (comm_any(d < 0, "checkpoint write")) {
            if (d >= 0) H5Dclose(d);
            rc = 1;
            break;
        }
        hid_t sel = H5Dget_space(d), ms = H5Screate(H5S_SCALAR);
        if (z_rank() != 0) H5Sselect_none(sel), H5Sselect_none(ms);
        rc |= H5Dwrite(d, H5T_NATIVE_INT64, ms, sel, dxpl, &meta->state_val[i]) < 0;
        H5Sclose(ms);
        H5Sclose(sel);
        H5Dclose(d);
        rc = comm_any(rc, "checkpoint write") ? 1 : 0;
    }
    haddr_t eoa = 0; /* the estimate fell short: reserve the rest (err set: rc 2) */
    if (!rc && H5Fget_eoa(f, &eoa) >= 0 && (double)eoa + (64 << 10) > need)
        rc = reserve(path, (double)eoa + (64 << 10), err, errlen) ? 2 : 0;
    for (int i = 0; i < made && !rc; i++) { /* through HDF5, collectively, in the same order */
        if (addr[i] >= 0) continue;
        int bad = ckpt_hdf5_part(ds[i], &t[i], dxpl, 1);
        part_crc[i] = raw_crc(t[i].data, ckpt_part_bytes(&t[i]));
        rc = comm_any(bad, "checkpoint write") ? 1 : 0;
    }
    if (!rc && ckpt_direct_parts(path, t, addr, made, 1, part_crc)) sys_errno = errno, rc = 1;
    rc = comm_any(rc, "checkpoint write") ? 1 : 0;
    if (!rc && ckpt_joined_crcs(path, t, n, part_crc, crc, err, errlen)) rc = 2;
    if (!rc) {
        for (int i = 0; i < made; i++) rc |= put_attr_u32(ds[i], "crc32", crc[i]);
        rc = comm_any(rc, "checkpoint write") ? 1 : 0;
    }
    if (!rc)
        rc = comm_any(h5_put_attr_i64(f, "complete", 1), "checkpoint write")
                 ? 1
                 : 0; /* the last thing written */
    H5Pclose(lcpl);
    H5Pclose(dxpl);
    H5Pclose(dcpl);
    if (!rc) {
        for (int i = 0; i < made; i++) H5Dclose(ds[i]);
        rc = comm_any(H5Fclose(f) < 0, "checkpoint write") ? 1 : 0;
    } /* else left open: see the top */
    free(ds), free(addr), free(part_crc), free(crc);
    int e = comm_max_int(sys_errno, "checkpoint write");
    if (!rc) return 0;
    if (rc == 2) return -1;
    if (e) return z_fail(err, errlen, "%s: checkpoint write failed: %s", path, strerror(e));
    return z_fail(err, errlen, "%s: checkpoint write failed (HDF5 could not write it)", path);
}
