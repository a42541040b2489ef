/*
 * comm.c — MPI implementation of comm.h.
 */
#include "comm.h"

#include "err.h"

#include <limits.h>
#include <mpi.h>
#include <string.h>
#include <time.h>

static CommStats stats;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double ring(size_t bytes, double passes) {
    int n = z_nranks();
    return passes * (double)bytes * (n - 1) / n;
}

void comm_init(int *argc, char ***argv) {
    int init = 0;
    MPI_Initialized(&init);
    if (!init) MPI_Init(argc, argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

void comm_finalize(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

int comm_rank(void) {
    return z_rank();
}
int comm_size(void) {
    return z_nranks();
}

static void check(int rc, const char *op, const char *what, long step) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    z_die("%s of %s failed at step %ld: %s", op, what, step, msg);
}

/* In-place all-reduce in chunks of at most INT_MAX/2 elements (MPI counts are int). */
static void allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op,
                      const char *what, long step) {
    char *p = buf;
    for (size_t o = 0; o < n; o += INT_MAX / 2) {
        size_t c = n - o < INT_MAX / 2 ? n - o : INT_MAX / 2;
        check(MPI_Allreduce(MPI_IN_PLACE, p + o * elem, (int)c, type, op, MPI_COMM_WORLD),
              "all-reduce", what, step);
    }
}

void comm_allreduce_f32(float *buf, size_t n, const char *what, long step) {
    stats.tensor_bytes += ring(n * sizeof(float), 2);
    allreduce(buf, n, sizeof(float), MPI_FLOAT, MPI_SUM, what, step);
}

void comm_allreduce_f64(double *buf, size_t n, const char *what, long step) {
    stats.control_bytes += ring(n * sizeof(double), 2);
    allreduce(buf, n, sizeof(double), MPI_DOUBLE, MPI_SUM, what, step);
}

void comm_allreduce_max_f64(double *buf, size_t n, const char *what) {
    stats.control_bytes += ring(n * sizeof(double), 2);
    allreduce(buf, n, sizeof(double), MPI_DOUBLE, MPI_MAX, what, -1);
}

void comm_bcast(void *buf, size_t bytes, int root, const char *what) {
    char *p = buf;
    for (size_t o = 0; o < bytes; o += INT_MAX / 2) {
        size_t c = bytes - o < INT_MAX / 2 ? bytes - o : INT_MAX / 2;
        check(MPI_Bcast(p + o, (int)c, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast", what, -1);
    }
}

void comm_barrier(const char *what) {
    check(MPI_Barrier(MPI_COMM_WORLD), "barrier", what, -1);
}

/* ------------------------------------------------------------------------- */
/* non-blocking tensor collectives                                            */

#define MAX_REQ 64
static MPI_Request reqs[MAX_REQ];
static const char *req_what[MAX_REQ];
static long req_step[MAX_REQ];
static int req_used[MAX_REQ];

static CommReq slot(const char *what, long step) {
    for (int i = 0; i < MAX_REQ; i++)
        if (!req_used[i]) {
            req_used[i] = 1;
            req_what[i] = what;
            req_step[i] = step;
            return i;
        }
    z_die("more than %d collectives in flight (%s at step %ld)", MAX_REQ, what, step);
}

static int count(size_t n, const char *what, long step) {
    if (n > INT_MAX) z_die("%s at step %ld: %zu floats exceed one MPI call", what, step, n);
    return (int)n;
}

CommReq comm_iallreduce_f32(float *buf, size_t n, const char *what, long step) {
    CommReq r = slot(what, step);
    stats.tensor_bytes += ring(n * sizeof(float), 2);
    stats.calls++;
    check(MPI_Iallreduce(MPI_IN_PLACE, buf, count(n, what, step), MPI_FLOAT, MPI_SUM,
                         MPI_COMM_WORLD, &reqs[r]),
          "all-reduce", what, step);
    return r;
}

CommReq comm_ireduce_scatter_f32(const float *send, float *recv, size_t per_rank, const char *what,
                                 long step) {
    CommReq r = slot(what, step);
    stats.tensor_bytes += ring(per_rank * z_nranks() * sizeof(float), 1);
    stats.calls++;
    check(MPI_Ireduce_scatter_block(send, recv, count(per_rank, what, step), MPI_FLOAT, MPI_SUM,
                                    MPI_COMM_WORLD, &reqs[r]),
          "reduce-scatter", what, step);
    return r;
}

CommReq comm_iallgather_f32(const float *mine, float *full, size_t per_rank, const char *what,
                            long step) {
    CommReq r = slot(what, step);
    int c = count(per_rank, what, step);
    stats.tensor_bytes += ring(per_rank * z_nranks() * sizeof(float), 1);
    stats.calls++;
    check(MPI_Iallgather(mine ? (const void *)mine : MPI_IN_PLACE, mine ? c : 0, MPI_FLOAT, full, c,
                         MPI_FLOAT, MPI_COMM_WORLD, &reqs[r]),
          "all-gather", what, step);
    return r;
}

int comm_test(CommReq r) {
    if (r == COMM_NONE) return 1;
    int done = 0;
    check(MPI_Test(&reqs[r], &done, MPI_STATUS_IGNORE), "test", req_what[r], req_step[r]);
    if (done) req_used[r] = 0;
    return done;
}

void comm_wait(CommReq r) {
    if (r == COMM_NONE) return;
    double t0 = now();
    check(MPI_Wait(&reqs[r], MPI_STATUS_IGNORE), "wait", req_what[r], req_step[r]);
    stats.wait_s += now() - t0;
    req_used[r] = 0;
}

CommStats comm_stats(void) {
    return stats;
}
void comm_reset_stats(void) {
    memset(&stats, 0, sizeof stats);
}
