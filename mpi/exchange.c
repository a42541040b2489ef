/*
 * exchange.c — all-to-all and all-gather of records (see exchange.h).
 * Records travel as a contiguous MPI type of rec bytes, so counts are
 * records, not bytes.
 */
#include "exchange.h"

#include "err.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static void check(int rc, const char *op, const char *what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    z_die("%s (%s) failed: %s", op, what, msg);
}

static MPI_Datatype rec_type(size_t rec) {
    MPI_Datatype t;
    check(MPI_Type_contiguous((int)rec, MPI_BYTE, &t), "MPI_Type_contiguous", "record type");
    check(MPI_Type_commit(&t), "MPI_Type_commit", "record type");
    return t;
}

static int fits(int64_t n, const char *what) {
    if (n > INT_MAX) z_die("%s: %ld records in one message (at most %d)", what, (long)n, INT_MAX);
    return (int)n;
}

void *xch_alltoall(const void *send, const int64_t *counts, size_t rec, int64_t *nrecv,
                   const char *what) {
    int P = z_nranks();
    int *sc = z_calloc((size_t)P, sizeof *sc, "exchange counts"),
        *rc = z_calloc((size_t)P, sizeof *rc, "exchange counts"),
        *sd = z_calloc((size_t)P, sizeof *sd, "exchange displacements"),
        *rd = z_calloc((size_t)P, sizeof *rd, "exchange displacements");
    int64_t off = 0;
    for (int r = 0; r < P; r++)
        sc[r] = fits(counts[r], what), sd[r] = fits(off, what), off += counts[r];
    check(MPI_Alltoall(sc, 1, MPI_INT, rc, 1, MPI_INT, MPI_COMM_WORLD), "MPI_Alltoall", what);
    int64_t total = 0;
    for (int r = 0; r < P; r++) rd[r] = fits(total, what), total += rc[r];
    fits(total, what);
    void *recv = z_malloc((size_t)(total ? total : 1) * rec, "exchanged records");
    MPI_Datatype t = rec_type(rec);
    check(MPI_Alltoallv(send, sc, sd, t, recv, rc, rd, t, MPI_COMM_WORLD), "MPI_Alltoallv", what);
    MPI_Type_free(&t);
    free(sc), free(rc), free(sd), free(rd);
    *nrecv = total;
    return recv;
}

void *xch_allgather(const void *mine, int64_t n, size_t rec, int64_t *nall, const char *what) {
    int P = z_nranks(), me = fits(n, what);
    int *cnt = z_calloc((size_t)P, sizeof *cnt, "gather counts"),
        *dsp = z_calloc((size_t)P, sizeof *dsp, "gather displacements");
    check(MPI_Allgather(&me, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather", what);
    int64_t total = 0;
    for (int r = 0; r < P; r++) dsp[r] = fits(total, what), total += cnt[r];
    fits(total, what);
    void *all = z_malloc((size_t)(total ? total : 1) * rec, "gathered records");
    MPI_Datatype t = rec_type(rec);
    check(MPI_Allgatherv(mine, me, t, all, cnt, dsp, t, MPI_COMM_WORLD), "MPI_Allgatherv", what);
    MPI_Type_free(&t);
    free(cnt), free(dsp);
    *nall = total;
    return all;
}

void xch_sum_i64(int64_t *buf, int n, const char *what) {
    check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce", what);
}

void xch_max_i64(int64_t *buf, int n, const char *what) {
    check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD),
          "MPI_Allreduce", what);
}

void xch_bcast(void *buf, size_t bytes, const char *what) {
    for (size_t at = 0; at < bytes || at == 0; at += (size_t)INT_MAX) { /* in pieces below 2^31 */
        size_t n = bytes - at < (size_t)INT_MAX ? bytes - at : (size_t)INT_MAX;
        check(MPI_Bcast((char *)buf + at, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast", what);
        if (n == 0) break;
    }
}
