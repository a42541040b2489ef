/*
 * ckpt.c — collective HDF5 checkpoint files (see ckpt.h).
 *
 * How tensor bytes move. HDF5 (collectively, over MPI-IO) creates the file,
 * its datasets and attributes. A dataset created here is contiguous, float32
 * little-endian, allocated at creation (parallel HDF5 always allocates
 * early), so its elements lie in row-major order at a fixed byte address
 * (H5Dget_offset): the part [lo, hi) a rank owns is the byte range
 * addr + 4·[lo, hi). With CKPT_IO_DIRECT each rank moves its parts itself
 * (io/rawio.c: O_DIRECT for their aligned interiors, CRC computed on the
 * way) — one large contiguous transfer per part, no exchange between ranks;
 * rank 0 first reserves the file's blocks, so a full disk fails before any
 * data moves. CKPT_IO_HDF5 moves the same parts with collective
 * H5Dwrite/H5Dread (two-phase I/O through MPI-IO aggregators, the better
 * choice where many ranks contend for a parallel file system's locks). A
 * dataset that cannot be reached directly (h5repack'd to chunks or
 * compression, another float type) is read through HDF5 in either mode.
 */
#include "ckpt.h"

#include "../mpi/err.h"
#include "h5attr.h"
#include "rawio.h"

#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 0 when every rank succeeded; the same answer everywhere. */
static int agree(int rc) {
    int bad = rc != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any ? -1 : 0;
}

/* The errno of a failure on any rank (the largest), so that the line rank 0
 * prints names the cause wherever it happened. */
static int shared_errno(int e) {
    int any = e;
    MPI_Allreduce(&e, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
}

/* Bytes of this rank's part of a tensor. */
static size_t part_bytes(const CkptTensor *t) {
    return t->hi > t->lo ? (size_t)(t->hi - t->lo) * sizeof(float) : 0;
}

/* ------------------------------------------------------------------------- */
/* checksums: CRC-32 of each part, joined across ranks in one reduction       */

/* A rank's part of one tensor: byte range [lo, lo + len) and its CRC.
 * len = −1 marks parts that overlap or leave a gap. */
typedef struct {
    int64_t lo, len, crc;
} CrcPart;

/* inout = in ∘ inout, in from the lower ranks (MPI applies a non-commutative
 * operation in rank order): CRC(a ‖ b) = crc32_combine(CRC a, CRC b, |b|). */
static void crc_join(void *in, void *inout, int *count, MPI_Datatype *type) {
    (void)type;
    const CrcPart *a = in;
    CrcPart *b = inout;
    for (int i = 0; i < *count; i++) {
        if (a[i].len < 0 || b[i].len < 0)
            b[i].len = -1;
        else if (a[i].len == 0)
            continue;
        else if (b[i].len == 0)
            b[i] = a[i];
        else if (a[i].lo + a[i].len != b[i].lo)
            b[i].len = -1;
        else {
            b[i].crc = (int64_t)crc32_combine((uLong)a[i].crc, (uLong)b[i].crc, (z_off_t)b[i].len);
            b[i].lo = a[i].lo;
            b[i].len += a[i].len;
        }
    }
}

/* Whole-tensor CRCs from every rank's parts (ranks own ascending ranges):
 * crc[i] on every rank. −1 (and err) when the parts do not tile a tensor. */
static int joined_crcs(const char *path, const CkptTensor *t, int n, const uint32_t *part_crc,
                       uint32_t *crc, char *err, size_t errlen) {
    CrcPart *p = z_malloc((size_t)(n ? n : 1) * sizeof *p, "crc parts");
    for (int i = 0; i < n; i++) {
        int64_t len = t[i].hi > t[i].lo ? t[i].hi - t[i].lo : 0;
        p[i] = (CrcPart){len ? t[i].lo * 4 : 0, len * 4, part_crc[i]};
    }
    MPI_Datatype type;
    MPI_Op op;
    MPI_Type_contiguous(3, MPI_INT64_T, &type);
    MPI_Type_commit(&type);
    MPI_Op_create(crc_join, 0, &op);
    MPI_Allreduce(MPI_IN_PLACE, p, n, type, op, MPI_COMM_WORLD);
    MPI_Op_free(&op);
    MPI_Type_free(&type);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        int64_t bytes = t[i].dims[0] * (t[i].ndim == 2 ? t[i].dims[1] : 1) * 4;
        if (p[i].len != bytes || (bytes && p[i].lo != 0))
            rc = z_fail(err, errlen, "%s: /%s: the ranks' parts do not cover it exactly once", path,
                        t[i].name);
        crc[i] = (uint32_t)p[i].crc;
    }
    free(p);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* where the bytes go                                                         */

/* File selection of the flat range [lo, hi) of a row-major tensor: a partial
 * first row, whole middle rows, a partial last row. */
static hid_t select_range(hid_t ds, const CkptTensor *t) {
    hid_t fs = H5Dget_space(ds);
    if (t->hi <= t->lo) {
        H5Sselect_none(fs);
        return fs;
    }
    if (t->ndim == 1) {
        hsize_t s = (hsize_t)t->lo, c = (hsize_t)(t->hi - t->lo);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &s, NULL, &c, NULL);
        return fs;
    }
    int64_t C = t->dims[1], lo = t->lo, hi = t->hi;
    H5S_seloper_t op = H5S_SELECT_SET;
    while (lo < hi) {
        int64_t r = lo / C, c = lo % C, n;
        hsize_t s[2], cnt[2];
        if (c == 0 && hi - lo >= C) { /* whole rows */
            int64_t rows = (hi - lo) / C;
            s[0] = (hsize_t)r, s[1] = 0, cnt[0] = (hsize_t)rows, cnt[1] = (hsize_t)C;
            n = rows * C;
        } else { /* part of one row */
            n = (C - c < hi - lo) ? C - c : hi - lo;
            s[0] = (hsize_t)r, s[1] = (hsize_t)c, cnt[0] = 1, cnt[1] = (hsize_t)n;
        }
        H5Sselect_hyperslab(fs, op, s, NULL, cnt, NULL);
        op = H5S_SELECT_OR;
        lo += n;
    }
    return fs;
}

/* Collective H5Dwrite/H5Dread of this rank's part of a tensor. */
static int hdf5_part(hid_t ds, const CkptTensor *t, hid_t dxpl, int writing) {
    hid_t fs = select_range(ds, t);
    hsize_t cnt = (hsize_t)(t->hi > t->lo ? t->hi - t->lo : 0);
    hid_t ms = H5Screate_simple(1, &cnt, NULL);
    if (!cnt) H5Sselect_none(ms);
    herr_t e = writing ? H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, dxpl, t->data)
                       : H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, dxpl, t->data);
    H5Sclose(ms);
    H5Sclose(fs);
    return e < 0;
}

/* Byte address of a dataset's elements when they can be moved directly:
 * contiguous, no external storage, stored as float32 LE = native float.
 * −1 otherwise. The file decides, so every rank gets the same answer. */
static int64_t direct_addr(hid_t ds) {
    if (H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) <= 0) return -1;
    hid_t dcpl = H5Dget_create_plist(ds), type = H5Dget_type(ds);
    int ok = dcpl >= 0 && type >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
             H5Pget_external_count(dcpl) == 0 && H5Tequal(type, H5T_IEEE_F32LE) > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (type >= 0) H5Tclose(type);
    haddr_t a = ok ? H5Dget_offset(ds) : HADDR_UNDEF;
    return a == HADDR_UNDEF ? -1 : (int64_t)a;
}

/* Direct transfer of every part with addr[i] ≥ 0 (no communication); each
 * part's CRC into part_crc. −1 with errno on the first failure. */
static int direct_parts(const char *path, const CkptTensor *t, const int64_t *addr, int n,
                        int writing, uint32_t *part_crc) {
    RawRange *r = z_malloc((size_t)(n ? n : 1) * sizeof *r, "ranges");
    int *which = z_malloc((size_t)(n ? n : 1) * sizeof *which, "ranges");
    int k = 0;
    for (int i = 0; i < n; i++)
        if (addr[i] >= 0 && t[i].hi > t[i].lo) {
            r[k] = (RawRange){t[i].data, addr[i] + t[i].lo * (int64_t)sizeof(float),
                              part_bytes(&t[i]), 0};
            which[k++] = i;
        }
    int rc = k ? raw_move(path, r, k, writing) : 0;
    for (int j = 0; j < k && !rc; j++) part_crc[which[j]] = r[j].crc;
    int saved = errno;
    free(r), free(which);
    errno = saved;
    return rc;
}

static hid_t mpio_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    return fapl;
}

static int put_attr_u32(hid_t obj, const char *key, uint32_t v) {
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, key, H5T_STD_U32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT32, &v) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* collective write and read                                                  */

/* Rank 0 reserves [0, bytes) of path (agreed). ZEROPT_FAIL_CKPT=reserve
 * makes it fail as if the disk had just filled (tests). */
static int reserve(const char *path, double bytes, char *err, size_t errlen) {
    const char *inject = getenv("ZEROPT_FAIL_CKPT");
    int e = 0;
    if (z_rank() == 0 && inject && !strcmp(inject, "reserve"))
        e = ENOSPC;
    else if (z_rank() == 0 && raw_reserve(path, (int64_t)bytes))
        e = errno ? errno : ENOSPC;
    e = shared_errno(e);
    if (!e) return 0;
    return z_fail(err, errlen, "%s: checkpoint write failed: reserving %.1f MB: %s", path,
                  bytes / 1e6, strerror(e));
}

int ckpt_write(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, CkptIo io,
               char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
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
    if (agree(room >= 0 && room < need))
        return z_fail(err, errlen,
                      "%s: checkpoint write failed: not enough disk space (%.1f MB needed, %.1f MB "
                      "free)",
                      path, need / 1e6, room / 1e6);
    hid_t fapl = mpio_fapl();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (agree(f < 0)) /* left open where it succeeded: closing is collective */
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
    rc = agree(rc) ? 1 : 0;      /* the loops below must start (or not) on every rank */
    while (made < n && !rc) {
        hsize_t dims[2] = {(hsize_t)t[made].dims[0], (hsize_t)t[made].dims[1]};
        hid_t sp = H5Screate_simple(t[made].ndim, dims, NULL);
        hid_t d = H5Dcreate2(f, t[made].name, H5T_IEEE_F32LE, sp, lcpl, dcpl, H5P_DEFAULT);
        H5Sclose(sp);
        if (agree(d < 0)) { /* every rank stops here together, none enters a write */
            if (d >= 0) H5Dclose(d);
            rc = 1;
            break;
        }
        addr[made] = io == CKPT_IO_DIRECT ? direct_addr(d) : -1;
        ds[made++] = d;
    }
    for (int i = 0; i < meta->nstate && !rc; i++) { /* small scalars: rank 0 writes the value */
        char name[128];
        snprintf(name, sizeof name, "state/%s", meta->state_key[i]);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t d = H5Dcreate2(f, name, H5T_STD_I64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(sp);
        if (agree(d < 0)) {
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
        rc = agree(rc) ? 1 : 0;
    }
    haddr_t eoa = 0; /* the estimate fell short: reserve the rest (err set: rc 2) */
    if (!rc && H5Fget_eoa(f, &eoa) >= 0 && (double)eoa + (64 << 10) > need)
        rc = reserve(path, (double)eoa + (64 << 10), err, errlen) ? 2 : 0;
    for (int i = 0; i < made && !rc; i++) { /* through HDF5, collectively, in the same order */
        if (addr[i] >= 0) continue;
        int bad = hdf5_part(ds[i], &t[i], dxpl, 1);
        part_crc[i] = raw_crc(t[i].data, part_bytes(&t[i]));
        rc = agree(bad) ? 1 : 0;
    }
    if (!rc && direct_parts(path, t, addr, made, 1, part_crc)) sys_errno = errno, rc = 1;
    rc = agree(rc) ? 1 : 0;
    if (!rc && joined_crcs(path, t, n, part_crc, crc, err, errlen)) rc = 2;
    if (!rc) {
        for (int i = 0; i < made; i++) rc |= put_attr_u32(ds[i], "crc32", crc[i]);
        rc = agree(rc) ? 1 : 0;
    }
    if (!rc) rc = agree(h5_put_attr_i64(f, "complete", 1)) ? 1 : 0; /* the last thing written */
    H5Pclose(lcpl);
    H5Pclose(dxpl);
    H5Pclose(dcpl);
    if (!rc) {
        for (int i = 0; i < made; i++) H5Dclose(ds[i]);
        rc = agree(H5Fclose(f) < 0) ? 1 : 0;
    } /* else left open: see the top */
    free(ds), free(addr), free(part_crc), free(crc);
    int e = shared_errno(sys_errno);
    if (!rc) return 0;
    if (rc == 2) return -1;
    if (e) return z_fail(err, errlen, "%s: checkpoint write failed: %s", path, strerror(e));
    return z_fail(err, errlen, "%s: checkpoint write failed (HDF5 could not write it)", path);
}

int ckpt_read(const char *path, CkptTensor *t, int n, CkptIo io, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = mpio_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (agree(f < 0)) /* left open where it succeeded: closing is collective */
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
        addr[i] = io == CKPT_IO_DIRECT ? direct_addr(ds) : -1;
        if (addr[i] < 0) { /* collective: same datasets, same order, every rank */
            bad |= hdf5_part(ds, &t[i], dxpl, 0);
            part_crc[i] = raw_crc(t[i].data, part_bytes(&t[i]));
        }
        H5Dclose(ds);
        if (agree(bad))
            rc = z_fail(err, errlen, "%s: cannot read /%s (or its crc32)", path, t[i].name);
    }
    H5Pclose(dxpl);
    H5Fclose(f);
    if (!rc) {
        int bad = direct_parts(path, t, addr, n, 0, part_crc);
        int e = shared_errno(bad ? errno : 0);
        if (agree(bad))
            rc =
                z_fail(err, errlen, "%s: cannot read tensor data: %s", path, strerror(e ? e : EIO));
    }
    if (!rc) rc = joined_crcs(path, t, n, part_crc, got, err, errlen);
    for (int i = 0; i < n && !rc; i++)
        if (got[i] != want[i])
            rc = z_fail(err, errlen, "%s: checksum mismatch in /%s (crc32 %08x, stored %08x)", path,
                        t[i].name, got[i], want[i]);
    free(addr), free(want), free(part_crc), free(got);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* serial access                                                              */

struct CkptInfo {
    hid_t f;
    char path[1024];
};

CkptInfo *ckpt_open(const char *path, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        z_fail(err, errlen, "%s: cannot open checkpoint", path);
        return NULL;
    }
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        z_fail(err, errlen, "%s: not an HDF5 file (truncated?)", path);
        return NULL;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        z_fail(err, errlen, "%s: cannot open checkpoint (truncated?)", path);
        return NULL;
    }
    CkptInfo *c = z_calloc(1, sizeof *c, "checkpoint");
    c->f = f;
    snprintf(c->path, sizeof c->path, "%s", path);
    char *fmt = ckpt_attr_str(c, "format");
    int64_t complete = 0;
    if (!fmt || strcmp(fmt, CKPT_FORMAT)) {
        z_fail(err, errlen, "%s: not a zeropt checkpoint (format attribute %s)", path,
               fmt ? fmt : "missing");
        free(fmt);
        ckpt_close(c);
        return NULL;
    }
    free(fmt);
    if (ckpt_attr_int(c, "complete", &complete) || complete != 1) {
        z_fail(err, errlen, "%s: incomplete checkpoint (no complete flag): refused", path);
        ckpt_close(c);
        return NULL;
    }
    return c;
}

void ckpt_close(CkptInfo *c) {
    if (!c) return;
    H5Fclose(c->f);
    free(c);
}

int ckpt_attr_int(CkptInfo *c, const char *key, int64_t *v) {
    return h5_attr_i64(c->f, key, v);
}

char *ckpt_attr_str(CkptInfo *c, const char *key) {
    return h5_attr_str(c->f, key);
}

int ckpt_state(CkptInfo *c, const char *key, int64_t *v) {
    char name[128];
    snprintf(name, sizeof name, "state/%s", key);
    if (H5Lexists(c->f, "state", H5P_DEFAULT) <= 0 || H5Lexists(c->f, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(c->f, name, H5P_DEFAULT);
    int rc = H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0 ? -1 : 0;
    H5Dclose(ds);
    return rc;
}

typedef struct {
    void (*fn)(void *, const char *, int, const int64_t *);
    void *ctx;
} ListCtx;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    ListCtx *l = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
    if (H5Aexists(ds, "crc32") > 0) {
        hid_t sp = H5Dget_space(ds);
        hsize_t d[2] = {0, 0};
        int nd = H5Sget_simple_extent_ndims(sp);
        if (nd >= 1 && nd <= 2) {
            H5Sget_simple_extent_dims(sp, d, NULL);
            int64_t dims[2] = {(int64_t)d[0], (int64_t)d[1]};
            l->fn(l->ctx, name, nd, dims);
        }
        H5Sclose(sp);
    }
    H5Dclose(ds);
    return 0;
}

void ckpt_list(CkptInfo *c, void (*fn)(void *ctx, const char *name, int ndim, const int64_t *dims),
               void *ctx) {
    ListCtx l = {fn, ctx};
    H5Ovisit(c->f, H5_INDEX_NAME, H5_ITER_INC, visit, &l);
}

float *ckpt_tensor(CkptInfo *c, const char *name, int *ndim, int64_t dims[2], char *err,
                   size_t errlen) {
    if (H5Lexists(c->f, name, H5P_DEFAULT) <= 0) {
        z_fail(err, errlen, "%s: missing tensor /%s", c->path, name);
        return NULL;
    }
    hid_t ds = H5Dopen2(c->f, name, H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t d[2] = {0, 1};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, d, NULL);
    H5Sclose(sp);
    if (nd < 1 || nd > 2) {
        H5Dclose(ds);
        z_fail(err, errlen, "%s: /%s is not a 1-D or 2-D tensor", c->path, name);
        return NULL;
    }
    size_t n = (size_t)d[0] * (nd == 2 ? (size_t)d[1] : 1);
    float *buf = z_malloc(n * sizeof(float), "tensor");
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        H5Dclose(ds);
        z_fail(err, errlen, "%s: cannot read /%s", c->path, name);
        return NULL;
    }
    H5Dclose(ds);
    *ndim = nd;
    dims[0] = (int64_t)d[0];
    dims[1] = nd == 2 ? (int64_t)d[1] : 0;
    return buf;
}

typedef struct {
    CkptInfo *c;
    char *err;
    size_t errlen;
    int bad;
} VerifyCtx;

static void verify_one(void *ctx, const char *name, int ndim, const int64_t *dims) {
    VerifyCtx *v = ctx;
    (void)ndim, (void)dims;
    if (v->bad) return;
    int nd;
    int64_t d[2];
    float *buf = ckpt_tensor(v->c, name, &nd, d, v->err, v->errlen);
    if (!buf) {
        v->bad = 1;
        return;
    }
    uint32_t crc = raw_crc(buf, (size_t)d[0] * (nd == 2 ? (size_t)d[1] : 1) * sizeof(float));
    free(buf);
    uint32_t want = 0;
    hid_t ds = H5Dopen2(v->c->f, name, H5P_DEFAULT);
    hid_t a = H5Aopen(ds, "crc32", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT32, &want);
    H5Aclose(a);
    H5Dclose(ds);
    if (crc != want) {
        z_fail(v->err, v->errlen, "%s: checksum mismatch in /%s (crc32 %08x, stored %08x)",
               v->c->path, name, crc, want);
        v->bad = 1;
    }
}

int ckpt_verify(CkptInfo *c, char *err, size_t errlen) {
    VerifyCtx v = {c, err, errlen, 0};
    ckpt_list(c, verify_one, &v);
    return v.bad ? -1 : 0;
}
