/*
 * ckpt_parts.c — where the bytes of a rank's part of a tensor go (see
 * ckpt_parts.h). A dataset created by ckpt_write is contiguous, float32
 * little-endian, allocated at creation (parallel HDF5 always allocates
 * early), so its elements lie in row-major order at a fixed byte address
 * (H5Dget_offset): the part [lo, hi) a rank owns is the byte range
 * addr + 4·[lo, hi). Direct transfers move that range themselves
 * (io/rawio.c); anything else goes through HDF5's collective I/O.
 */
#include "ckpt_parts.h"

#include "rawio.h"

#include "mpi/err.h"

#include <errno.h>
#include <mpi.h>
#include <stdlib.h>

size_t ckpt_part_bytes(const CkptTensor *t) {
    return t->hi > t->lo ? (size_t)(t->hi - t->lo) * sizeof(float) : 0;
}

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

int ckpt_hdf5_part(hid_t ds, const CkptTensor *t, hid_t dxpl, int writing) {
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

int64_t ckpt_direct_addr(hid_t ds) {
    if (H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) <= 0) return -1;
    hid_t dcpl = H5Dget_create_plist(ds), type = H5Dget_type(ds);
    int ok = dcpl >= 0 && type >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
             H5Pget_external_count(dcpl) == 0 && H5Tequal(type, H5T_IEEE_F32LE) > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (type >= 0) H5Tclose(type);
    haddr_t a = ok ? H5Dget_offset(ds) : HADDR_UNDEF;
    return a == HADDR_UNDEF ? -1 : (int64_t)a;
}

int ckpt_direct_parts(const char *path, const CkptTensor *t, const int64_t *addr, int n,
                      int writing, uint32_t *part_crc) {
    RawRange *r = z_malloc((size_t)(n ? n : 1) * sizeof *r, "ranges");
    int *which = z_malloc((size_t)(n ? n : 1) * sizeof *which, "ranges");
    int k = 0;
    for (int i = 0; i < n; i++)
        if (addr[i] >= 0 && t[i].hi > t[i].lo) {
            r[k] = (RawRange){t[i].data, addr[i] + t[i].lo * (int64_t)sizeof(float),
                              ckpt_part_bytes(&t[i]), 0};
            which[k++] = i;
        }
    int rc = k ? raw_move(path, r, k, writing) : 0;
    for (int j = 0; j < k && !rc; j++) part_crc[which[j]] = r[j].crc;
    int saved = errno;
    free(r), free(which);
    errno = saved;
    return rc;
}

hid_t ckpt_mpio_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    return fapl;
}
