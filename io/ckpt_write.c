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

/* A write in progress (ckpt.h's three calls). */
struct CkptWriter {
    char path[4096];
    const CkptTensor *t;
    int n, made, rc, sys_errno; /* rc: 0 ok, 1 failed, 2 failed with err set (agreed) */
    hid_t f, lcpl, dxpl, dcpl;
    hid_t *ds;
    int64_t *addr;
    uint32_t *part_crc, *crc;
    char msg[1536]; /* begin's error text when rc = 2, for the end */
};

static void writer_free(CkptWriter *w) {
    free(w->ds), free(w->addr), free(w->part_crc), free(w->crc);
    free(w);
}

CkptWriter *ckpt_write_begin(const char *path, const CkptTensor *t, int n, const CkptMeta *meta,
                             CkptIo io, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (comm_any(z_fault("ckpt-write"), "checkpoint write")) {
        z_fail(err, errlen, "%s: checkpoint write failed (injected: ZEROPT_FAULT=ckpt-write)",
               path);
        return NULL;
    }
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
    if (comm_any(room >= 0 && room < need, "checkpoint write")) {
        z_fail(err, errlen,
               "%s: checkpoint write failed: not enough disk space (%.1f MB needed, %.1f MB "
               "free)",
               path, need / 1e6, room / 1e6);
        return NULL;
    }
    hid_t fapl = ckpt_mpio_fapl();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (comm_any(f < 0, "checkpoint write")) { /* left open where it succeeded */
        z_fail(err, errlen, "%s: cannot create checkpoint file", path);
        return NULL;
    }
    if (reserve(path, need, err, errlen)) return NULL; /* the disk may have filled since */
    CkptWriter *w = z_calloc(1, sizeof *w, "checkpoint writer");
    snprintf(w->path, sizeof w->path, "%s", path);
    w->t = t, w->n = n, w->f = f;
    int rc =
        h5_put_attr_str(f, "format", CKPT_FORMAT) || h5_put_attr_i64(f, "version", CKPT_VERSION);
    for (int i = 0; i < meta->nint; i++)
        rc |= h5_put_attr_i64(f, meta->int_key[i], meta->int_val[i]);
    for (int i = 0; i < meta->nstr; i++)
        rc |= h5_put_attr_str(f, meta->str_key[i], meta->str_val[i]);
    w->lcpl = H5Pcreate(H5P_LINK_CREATE), w->dxpl = H5Pcreate(H5P_DATASET_XFER);
    w->dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(w->lcpl, 1);
    H5Pset_dxpl_mpio(w->dxpl, H5FD_MPIO_COLLECTIVE);
    /* every element is written by its owner: never write fill values first
     * (parallel HDF5 allocates early and would write each dataset twice) */
    H5Pset_fill_time(w->dcpl, H5D_FILL_TIME_NEVER);
    w->ds = z_malloc((size_t)(n ? n : 1) * sizeof *w->ds, "datasets");
    w->addr = z_malloc((size_t)(n ? n : 1) * sizeof *w->addr, "addresses");
    w->part_crc = z_calloc((size_t)(n ? n : 1), sizeof *w->part_crc, "part crcs");
    w->crc = z_calloc((size_t)(n ? n : 1), sizeof *w->crc, "crcs");
    rc = comm_any(rc, "checkpoint write") ? 1 : 0; /* the loops below start (or not) everywhere */
    while (w->made < n && !rc) {
        int i = w->made;
        hsize_t dims[2] = {(hsize_t)t[i].dims[0], (hsize_t)t[i].dims[1]};
        hid_t sp = H5Screate_simple(t[i].ndim, dims, NULL);
        hid_t d = H5Dcreate2(f, t[i].name, H5T_IEEE_F32LE, sp, w->lcpl, w->dcpl, H5P_DEFAULT);
        H5Sclose(sp);
        if (comm_any(d < 0, "checkpoint write")) { /* every rank stops here together */
            if (d >= 0) H5Dclose(d);
            rc = 1;
            break;
        }
        w->addr[i] = io == CKPT_IO_DIRECT ? ckpt_direct_addr(d) : -1;
        w->ds[w->made++] = d;
    }
    for (int i = 0; i < meta->nstate && !rc; i++) { /* small scalars: rank 0 writes the value */
        char name[128];
        snprintf(name, sizeof name, "state/%s", meta->state_key[i]);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t d = H5Dcreate2(f, name, H5T_STD_I64LE, sp, w->lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(sp);
        if (comm_any(d < 0, "checkpoint write")) {
            if (d >= 0) H5Dclose(d);
            rc = 1;
            break;
        }
        hid_t sel = H5Dget_space(d), ms = H5Screate(H5S_SCALAR);
        if (z_rank() != 0) H5Sselect_none(sel), H5Sselect_none(ms);
        rc |= H5Dwrite(d, H5T_NATIVE_INT64, ms, sel, w->dxpl, &meta->state_val[i]) < 0;
        H5Sclose(ms);
        H5Sclose(sel);
        H5Dclose(d);
        rc = comm_any(rc, "checkpoint write") ? 1 : 0;
    }
    haddr_t eoa = 0; /* the estimate fell short: reserve the rest (err set: rc 2) */
    if (!rc && H5Fget_eoa(f, &eoa) >= 0 && (double)eoa + (64 << 10) > need)
        rc = reserve(path, (double)eoa + (64 << 10), err, errlen) ? 2 : 0;
    for (int i = 0; i < w->made && !rc; i++) { /* through HDF5, collectively, in the same order */
        if (w->addr[i] >= 0) continue;
        int bad = ckpt_hdf5_part(w->ds[i], &t[i], w->dxpl, 1);
        w->part_crc[i] = raw_crc(t[i].data, ckpt_part_bytes(&t[i]));
        rc = comm_any(bad, "checkpoint write") ? 1 : 0;
    }
    w->rc = rc;
    if (rc == 2) snprintf(w->msg, sizeof w->msg, "%s", err);
    return w;
}

int ckpt_write_data(CkptWriter *w) {
    if (!w->rc && ckpt_direct_parts(w->path, w->t, w->addr, w->made, 1, w->part_crc))
        w->sys_errno = errno ? errno : EIO;
    return w->sys_errno ? -1 : 0;
}

int ckpt_write_end(CkptWriter *w, char *err, size_t errlen) {
    int rc = w->rc;
    if (rc == 0 && w->sys_errno) rc = 1;
    rc = comm_any(rc, "checkpoint write") ? (w->rc == 2 ? 2 : 1) : 0;
    if (!rc && ckpt_joined_crcs(w->path, w->t, w->n, w->part_crc, w->crc, err, errlen)) rc = 2;
    if (!rc) {
        for (int i = 0; i < w->made; i++) rc |= put_attr_u32(w->ds[i], "crc32", w->crc[i]);
        rc = comm_any(rc, "checkpoint write") ? 1 : 0;
    }
    if (!rc) /* the last thing written */
        rc = comm_any(h5_put_attr_i64(w->f, "complete", 1), "checkpoint write") ? 1 : 0;
    H5Pclose(w->lcpl);
    H5Pclose(w->dxpl);
    H5Pclose(w->dcpl);
    if (!rc) {
        for (int i = 0; i < w->made; i++) H5Dclose(w->ds[i]);
        rc = comm_any(H5Fclose(w->f) < 0, "checkpoint write") ? 1 : 0;
    } /* else left open: see ckpt_write_begin */
    int e = comm_max_int(w->sys_errno, "checkpoint write");
    char path[sizeof w->path], msg[sizeof w->msg];
    snprintf(path, sizeof path, "%s", w->path);
    snprintf(msg, sizeof msg, "%s", w->rc == 2 ? w->msg : "");
    writer_free(w);
    if (!rc) return 0;
    if (rc == 2) {
        if (msg[0]) snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (e) return z_fail(err, errlen, "%s: checkpoint write failed: %s", path, strerror(e));
    return z_fail(err, errlen, "%s: checkpoint write failed (HDF5 could not write it)", path);
}

int ckpt_write(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, CkptIo io,
               char *err, size_t errlen) {
    CkptWriter *w = ckpt_write_begin(path, t, n, meta, io, err, errlen);
    if (!w) return -1;
    ckpt_write_data(w);
    return ckpt_write_end(w, err, errlen);
}
