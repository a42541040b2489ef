/*
 * test_ckpt_io.c — io/ckpt_*.c, the checkpoint file, at whatever rank count
 * it runs (1 here, 2 and 3 in tests/mpi/test_units.sh): each rank writes its
 * contiguous part of every tensor (some ranks own nothing of a small one);
 * the header, attributes and training state read back serially; the parts
 * read back collectively, directly and through HDF5, from files written
 * either way; every tensor's stored CRC-32 is zlib's of the whole tensor;
 * a subset reads alone; a changed value, a missing tensor, a wrong shape,
 * parts that leave a gap, and a file without its complete flag are refused.
 */
#include "tests/lib/check.h"

#include "io/ckpt.h"
#include "io/rawio.h"
#include "mpi/comm.h"
#include "mpi/err.h"

#include <hdf5.h>
#include <string.h>
#include <unistd.h>

enum { NT = 4 };
static const char *const NAMES[NT] = {"model/a", "model/b", "optim/m/big", "state_like/c"};
static const int64_t DIMS[NT][2] = {{5, 7}, {3, 0}, {300000, 0}, {2, 2}};
static int rank, nranks;
static char err[Z_ERR_MAX];

static int64_t numel(int i) {
    return DIMS[i][0] * (DIMS[i][1] ? DIMS[i][1] : 1);
}

static float value(int i, int64_t k) {
    return (float)(i * 1000003 + k % 65521) * 0.25f;
}

/* This rank's part of every tensor, filled (fill) or zeroed for reading. */
static void parts(CkptTensor *t, float **buf, int fill) {
    for (int i = 0; i < NT; i++) {
        int64_t n = numel(i), lo = n * rank / nranks, hi = n * (rank + 1) / nranks;
        memset(&t[i], 0, sizeof t[i]);
        snprintf(t[i].name, sizeof t[i].name, "%s", NAMES[i]);
        t[i].ndim = DIMS[i][1] ? 2 : 1;
        t[i].dims[0] = DIMS[i][0], t[i].dims[1] = DIMS[i][1];
        t[i].lo = lo, t[i].hi = hi;
        if (!buf[i]) buf[i] = z_malloc((size_t)(hi - lo + 1) * sizeof(float), "part");
        for (int64_t k = lo; k < hi; k++) buf[i][k - lo] = fill ? value(i, k) : 0;
        t[i].data = buf[i];
    }
}

/* t[0, n) hold what was written (tensor numbers from first) */
static int holds_n(const CkptTensor *t, int first, int n) {
    int good = 1;
    for (int j = 0; j < n; j++) {
        int i = first + j;
        for (int64_t k = t[j].lo; k < t[j].hi; k++) good &= t[j].data[k - t[j].lo] == value(i, k);
    }
    return good;
}

static int holds(const CkptTensor *t) {
    int good = 1;
    for (int i = 0; i < NT; i++)
        for (int64_t k = t[i].lo; k < t[i].hi; k++) good &= t[i].data[k - t[i].lo] == value(i, k);
    return good;
}

static int all(int cond) {
    return !comm_any(!cond, "check");
}

/* rank 0 alters the closed file with serial HDF5 (tests' damage) */
static void alter(const char *path, const char *what) {
    if (rank == 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        if (!strcmp(what, "value")) {
            hid_t d = H5Dopen2(f, "optim/m/big", H5P_DEFAULT), s = H5Dget_space(d);
            hsize_t at = 123456, one = 1;
            float v = -1;
            hid_t m = H5Screate_simple(1, &one, NULL);
            H5Sselect_hyperslab(s, H5S_SELECT_SET, &at, NULL, &one, NULL);
            H5Dwrite(d, H5T_NATIVE_FLOAT, m, s, H5P_DEFAULT, &v);
            H5Sclose(m), H5Sclose(s), H5Dclose(d);
        } else {
            H5Adelete(f, "complete");
        }
        H5Fclose(f);
    }
    comm_barrier("alter");
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    rank = comm_rank(), nranks = comm_size();
    check_quiet = rank != 0;
    check_plan(10);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char dir[] = "/tmp/zeropt_test_ckpt_XXXXXX", a[600], h[600];
    if (rank == 0 && !mkdtemp(dir)) z_die("mkdtemp");
    comm_bcast(dir, sizeof dir, 0, "dir");
    snprintf(a, sizeof a, "%s/direct.h5", dir);
    snprintf(h, sizeof h, "%s/hdf5.h5", dir);
    CkptTensor t[NT], r[NT];
    float *wb[NT] = {0}, *rb[NT] = {0};
    parts(t, wb, 1);
    CkptMeta meta = {0};
    meta.nint = 1, meta.int_key[0] = "step", meta.int_val[0] = 42;
    meta.nstr = 1, meta.str_key[0] = "config", meta.str_val[0] = "[model]\nlayers = 2\n";
    meta.nstate = 2, meta.state_key[0] = "cursor", meta.state_val[0] = 1234;
    meta.state_key[1] = "seed", meta.state_val[1] = -7;
    int w1 = ckpt_write(a, t, NT, &meta, CKPT_IO_DIRECT, err, sizeof err);
    int w2 = ckpt_write(h, t, NT, &meta, CKPT_IO_HDF5, err, sizeof err);
    check(all(!w1 && !w2), "written collectively, directly and through HDF5", "%d ranks; %s",
          nranks, w1 || w2 ? err : "");

    /* serial: header, attributes, state, the tensor list, CRCs */
    int head = 1, crcs = 1, listed = 0;
    if (rank == 0) {
        CkptInfo *c = ckpt_open(a, err, sizeof err);
        int64_t step = 0, cursor = 0, seed = 0, version = 0;
        char *cfg = c ? ckpt_attr_str(c, "config") : NULL;
        head = c && !ckpt_attr_int(c, "step", &step) && step == 42 && cfg &&
               !strcmp(cfg, "[model]\nlayers = 2\n") && !ckpt_state(c, "cursor", &cursor) &&
               cursor == 1234 && !ckpt_state(c, "seed", &seed) && seed == -7 &&
               !ckpt_attr_int(c, "version", &version) && version == CKPT_VERSION &&
               ckpt_state(c, "absent", &seed) != 0;
        free(cfg);
        hid_t raw = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT);
        for (int i = 0; c && i < NT; i++) {
            int nd;
            int64_t d[2];
            float *v = ckpt_tensor(c, NAMES[i], &nd, d, err, sizeof err);
            hid_t ds = H5Dopen2(raw, NAMES[i], H5P_DEFAULT);
            uint32_t stored = 0;
            hid_t at = H5Aopen(ds, "crc32", H5P_DEFAULT);
            H5Aread(at, H5T_NATIVE_UINT32, &stored);
            H5Aclose(at);
            H5Oclose(ds);
            crcs &= v && stored == raw_crc(v, (size_t)numel(i) * 4);
            listed++;
            free(v);
        }
        H5Fclose(raw);
        ckpt_close(c);
    }
    check(all(head), "header, attributes and training state read back", NULL);
    check(all(crcs && (rank || listed == NT)), "every tensor's crc32 is zlib's of the whole tensor",
          NULL);

    /* collective reads: both files, both ways */
    int reads = 1;
    const char *files[2] = {a, h};
    for (int f = 0; f < 2; f++)
        for (int io = 0; io < 2; io++) {
            parts(r, rb, 0);
            reads &=
                !ckpt_read(files[f], r, NT, io ? CKPT_IO_HDF5 : CKPT_IO_DIRECT, err, sizeof err) &&
                holds(r);
        }
    check(all(reads), "parts read back from either file, directly and through HDF5", "%s",
          reads ? "" : err);
    parts(r, rb, 0);
    check(all(!ckpt_read(a, r + 1, 1, CKPT_IO_DIRECT, err, sizeof err) && holds_n(r + 1, 1, 1) &&
              (r[0].hi == r[0].lo || r[0].data[0] == 0)),
          "one tensor reads alone", NULL);

    /* refusals, the same on every rank */
    parts(r, rb, 0);
    snprintf(r[1].name, sizeof r[1].name, "model/absent");
    int miss = ckpt_read(a, r, NT, CKPT_IO_DIRECT, err, sizeof err) != 0 &&
               strstr(err, "missing tensor /model/absent");
    check(all(miss), "a missing tensor is refused", "%s", err);
    parts(r, rb, 0);
    r[0].dims[1] = 8, r[0].hi = r[0].lo; /* the model wants [5, 8] */
    int shape = ckpt_read(a, r, NT, CKPT_IO_DIRECT, err, sizeof err) != 0 &&
                strstr(err, "has shape [5, 7], the model needs [5, 8]");
    check(all(shape), "a wrong shape is refused", "%s", err);
    parts(r, rb, 0);
    if (rank == 0) r[2].lo = 1; /* nobody reads element 0 */
    int gap = ckpt_read(a, r, NT, CKPT_IO_DIRECT, err, sizeof err) != 0 &&
              strstr(err, "do not cover it exactly once");
    check(all(gap), "parts that leave a gap are refused", "%s", err);
    alter(a, "value");
    parts(r, rb, 0);

    int sum = ckpt_read(a, r, NT, CKPT_IO_DIRECT, err, sizeof err) != 0 &&
              strstr(err, "checksum mismatch in /optim/m/big");
    check(all(sum), "a changed value fails its checksum", "%s", err);
    alter(h, "complete");
    CkptInfo *c = ckpt_open(h, err, sizeof err);
    check(all(!c && strstr(err, "incomplete checkpoint")),
          "a file without its complete flag is refused", "%s", err);
    ckpt_close(c);
    comm_barrier("done");
    if (rank == 0) remove(a), remove(h), rmdir(dir);
    for (int i = 0; i < NT; i++) free(wb[i]), free(rb[i]);
    int rc = check_exit();
    comm_finalize();
    return rc;
}
