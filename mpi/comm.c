/*
 * comm.c — MPI implementation of comm.h.
 */
#include "comm.h"

#include "err.h"

#include <limits.h>
#include <mpi.h>

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

void comm_allreduce_f32(float *buf, size_t n, const char *what, long step) {
    for (size_t o = 0; o < n; o += INT_MAX / 2) {
        size_t c = n - o < INT_MAX / 2 ? n - o : INT_MAX / 2;
        check(MPI_Allreduce(MPI_IN_PLACE, buf + o, (int)c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
              "all-reduce", what, step);
    }
}

void comm_allreduce_f64(double *buf, size_t n, const char *what, long step) {
    for (size_t o = 0; o < n; o += INT_MAX / 2) {
        size_t c = n - o < INT_MAX / 2 ? n - o : INT_MAX / 2;
        check(MPI_Allreduce(MPI_IN_PLACE, buf + o, (int)c, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "all-reduce", what, step);
    }
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
