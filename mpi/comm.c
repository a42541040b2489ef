/*
 * comm.c — MPI implementation of comm.h.
 */
#include "comm.h"

#include "err.h"
#include "fault.h"
#include "watchdog.h"

#include "kernels/clock.h"
#include "kernels/kernels.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static CommStats stats;

void comm_init(int *argc, char ***argv) {
    int init = 0, got = MPI_THREAD_SINGLE;
    MPI_Initialized(&init);
    /* Started without mpirun or srun (a singleton: `ckpt verify`, a 1-rank
     * run), Open MPI 4 forks a supporting daemon (orted) for the process,
     * only ever needed to spawn more: an extra process per command that can
     * outlive or hang its parent. An isolated singleton starts without it
     * (0.4 s instead of 0.55 here). A setting of the user's is kept; under a
     * launcher the parameter does nothing. */
    if (!init) setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
    if (!init)
        MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &got);
    else
        MPI_Query_thread(&got);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    /* the ranks on this node share its memory (z_alloc's limit) */
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    z_mem_limit_init(local);
    if (got < MPI_THREAD_FUNNELED)
        z_die("the MPI library provides thread level %d, zeropt needs MPI_THREAD_FUNNELED "
              "(only the main thread calls MPI, others exist)",
              got);
}

static MPI_Op bf16_sum = MPI_OP_NULL; /* the bf16 sum (created at first use) */

void comm_finalize(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin && bf16_sum != MPI_OP_NULL) MPI_Op_free(&bf16_sum);
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
    if (step >= 0) z_die("%s of %s failed at step %ld: %s", op, what, step, msg);
    z_die("%s of %s failed: %s", op, what, msg);
}

/* In-place all-reduce in chunks of at most INT_MAX/2 elements (MPI counts are int). */
static void allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op,
                      const char *what, long step) {
    char *p = buf;
    for (size_t o = 0; o < n; o += INT_MAX / 2) {
        size_t c = n - o < INT_MAX / 2 ? n - o : INT_MAX / 2;
        watchdog_enter("all-reduce", what, step);
        int rc = MPI_Allreduce(MPI_IN_PLACE, p + o * elem, (int)c, type, op, MPI_COMM_WORLD);
        watchdog_leave();
        check(rc, "all-reduce", what, step);
    }
}

void comm_allreduce_f32(float *buf, size_t n, const char *what, long step) {
    stats.tensor_bytes += (double)n * sizeof(float);
    stats.calls++;
    allreduce(buf, n, sizeof(float), MPI_FLOAT, MPI_SUM, what, step);
}

void comm_allreduce_f64(double *buf, size_t n, const char *what, long step) {
    stats.control_bytes += (double)n * sizeof(double);
    allreduce(buf, n, sizeof(double), MPI_DOUBLE, MPI_SUM, what, step);
}

void comm_allreduce_max_f64(double *buf, size_t n, const char *what) {
    stats.control_bytes += (double)n * sizeof(double);
    allreduce(buf, n, sizeof(double), MPI_DOUBLE, MPI_MAX, what, -1);
}

void comm_bcast(void *buf, size_t bytes, int root, const char *what) {
    char *p = buf;
    stats.control_bytes += (double)bytes;
    for (size_t o = 0; o < bytes; o += INT_MAX / 2) {
        size_t c = bytes - o < INT_MAX / 2 ? bytes - o : INT_MAX / 2;
        watchdog_enter("broadcast", what, -1);
        int rc = MPI_Bcast(p + o, (int)c, MPI_BYTE, root, MPI_COMM_WORLD);
        watchdog_leave();
        check(rc, "broadcast", what, -1);
    }
}

void comm_barrier(const char *what) {
    watchdog_enter("barrier", what, -1);
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    watchdog_leave();
    check(rc, "barrier", what, -1);
}

int comm_max_int(int v, const char *what) {
    int out = v;
    stats.control_bytes += sizeof(int);
    watchdog_enter("all-reduce (max)", what, -1);
    int rc = MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    watchdog_leave();
    check(rc, "all-reduce (max)", what, -1);
    return out;
}

int comm_any(int failed, const char *what) {
    return comm_max_int(failed != 0, what) != 0;
}

/* MPI calls a user operation with its own signature; the join of the
 * reduction in progress is kept here (one reduction at a time: main thread). */
static void (*cur_join)(const void *, void *, int);
static void join_op(void *in, void *inout, int *count, MPI_Datatype *type) {
    (void)type;
    cur_join(in, inout, *count);
}

void comm_reduce_ordered(void *buf, int count, size_t elem_bytes,
                         void (*join)(const void *lower, void *upper, int count),
                         const char *what) {
    MPI_Datatype type;
    MPI_Op op;
    check(MPI_Type_contiguous((int)elem_bytes, MPI_BYTE, &type), "type creation", what, -1);
    check(MPI_Type_commit(&type), "type commit", what, -1);
    check(MPI_Op_create(join_op, 0, &op), "operation creation", what, -1);
    cur_join = join;
    stats.control_bytes += (double)count * (double)elem_bytes;
    watchdog_enter("ordered all-reduce", what, -1);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, count, type, op, MPI_COMM_WORLD);
    watchdog_leave();
    cur_join = NULL;
    MPI_Op_free(&op);
    MPI_Type_free(&type);
    check(rc, "ordered all-reduce", what, -1);
}

/* ------------------------------------------------------------------------- */
/* non-blocking tensor collectives                                            */

static const CommTensorOps *tops; /* NULL: MPI moves the tensors */

void comm_use_tensor_ops(const CommTensorOps *ops) {
    tops = ops;
}

/* The other transport's call, counted; the result is complete on return. */
#define VIA_TOPS(call, bytes)                                                                      \
    do {                                                                                           \
        if (tops) {                                                                                \
            stats.tensor_bytes += (double)(bytes);                                                 \
            stats.calls++;                                                                         \
            tops->call;                                                                            \
            tops->wait();                                                                          \
            return COMM_NONE;                                                                      \
        }                                                                                          \
    } while (0)

static MPI_Request reqs[COMM_MAX_REQ];
static const char *req_what[COMM_MAX_REQ];
static long req_step[COMM_MAX_REQ];
static int req_used[COMM_MAX_REQ], nused;

static CommReq slot(const char *what, long step) {
    for (int i = 0; i < COMM_MAX_REQ; i++)
        if (!req_used[i]) {
            req_used[i] = 1;
            req_what[i] = what;
            req_step[i] = step;
            nused++;
            return i;
        }
    z_die("more than %d collectives in flight (%s at step %ld): a caller exceeded its bound",
          COMM_MAX_REQ, what, step);
}

static void release(CommReq r) {
    req_used[r] = 0;
    nused--;
}

static int count(size_t n, const char *what, long step) {
    if (n > INT_MAX) z_die("%s at step %ld: %zu floats exceed one MPI call", what, step, n);
    return (int)n;
}

CommReq comm_iallreduce_f32(float *buf, size_t n, const char *what, long step) {
    VIA_TOPS(allreduce(buf, n, 0, what, step), n * sizeof(float));
    int c = count(n, what, step);
    CommReq r = slot(what, step);
    stats.tensor_bytes += (double)n * sizeof(float);
    stats.calls++;
    check(MPI_Iallreduce(MPI_IN_PLACE, buf, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &reqs[r]),
          "all-reduce", what, step);
    return r;
}

/* In place, MPI's way: the input is all of buf, the result the front of it. */
CommReq comm_ireduce_scatter_f32(float *buf, size_t per_rank, const char *what, long step) {
    VIA_TOPS(reduce_scatter(buf, per_rank, 0, what, step), per_rank * z_nranks() * sizeof(float));
    int c = count(per_rank, what, step);
    CommReq r = slot(what, step);
    stats.tensor_bytes += (double)per_rank * z_nranks() * sizeof(float);
    stats.calls++;
    check(MPI_Ireduce_scatter_block(MPI_IN_PLACE, buf, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                                    &reqs[r]),
          "reduce-scatter", what, step);
    return r;
}

float *comm_rs_slice(float *buf, size_t per_rank) {
    return tops ? buf + (size_t)z_rank() * per_rank : buf; /* NCCL's in-place slice */
}

CommReq comm_iallgather_f32(const float *mine, float *full, size_t per_rank, const char *what,
                            long step) {
    VIA_TOPS(allgather(mine, full, per_rank, 0, what, step), per_rank * sizeof(float));
    int c = count(per_rank, what, step);
    CommReq r = slot(what, step);
    stats.tensor_bytes += (double)per_rank * sizeof(float);
    stats.calls++;
    check(MPI_Iallgather(mine ? (const void *)mine : MPI_IN_PLACE, mine ? c : 0, MPI_FLOAT, full, c,
                         MPI_FLOAT, MPI_COMM_WORLD, &reqs[r]),
          "all-gather", what, step);
    return r;
}

/* bf16 tensors travel as 16-bit words; the sum of two adds in fp32 and
 * rounds once (k_bf16_add_bf16), so a ring's partial sums are rounded once
 * per hop. */
static void bf16_sum_fn(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    k_bf16_add_bf16(inout, in, (size_t)*len);
}
static MPI_Op bf16_op(void) {
    if (bf16_sum == MPI_OP_NULL)
        check(MPI_Op_create(bf16_sum_fn, 1, &bf16_sum), "op create", "bf16 sum", -1);
    return bf16_sum;
}

CommReq comm_iallreduce_bf16(uint16_t *buf, size_t n, const char *what, long step) {
    VIA_TOPS(allreduce(buf, n, 1, what, step), n * 2);
    int c = count(n, what, step);
    MPI_Op op = bf16_op();
    CommReq r = slot(what, step);
    stats.tensor_bytes += (double)n * 2;
    stats.calls++;
    check(MPI_Iallreduce(MPI_IN_PLACE, buf, c, MPI_UINT16_T, op, MPI_COMM_WORLD, &reqs[r]),
          "all-reduce", what, step);
    return r;
}

CommReq comm_ireduce_scatter_bf16(uint16_t *buf, size_t per_rank, const char *what, long step) {
    VIA_TOPS(reduce_scatter(buf, per_rank, 1, what, step), per_rank * z_nranks() * 2);
    int c = count(per_rank, what, step);
    MPI_Op op = bf16_op();
    CommReq r = slot(what, step);
    stats.tensor_bytes += (double)per_rank * z_nranks() * 2;
    stats.calls++;
    check(
        MPI_Ireduce_scatter_block(MPI_IN_PLACE, buf, c, MPI_UINT16_T, op, MPI_COMM_WORLD, &reqs[r]),
        "reduce-scatter", what, step);
    return r;
}

uint16_t *comm_rs_slice_bf16(uint16_t *buf, size_t per_rank) {
    return tops ? buf + (size_t)z_rank() * per_rank : buf;
}

CommReq comm_iallgather_bf16(const uint16_t *mine, uint16_t *full, size_t per_rank,
                             const char *what, long step) {
    VIA_TOPS(allgather(mine, full, per_rank, 1, what, step), per_rank * 2);
    int c = count(per_rank, what, step);
    CommReq r = slot(what, step);
    stats.tensor_bytes += (double)per_rank * 2;
    stats.calls++;
    check(MPI_Iallgather(mine ? (const void *)mine : MPI_IN_PLACE, mine ? c : 0, MPI_UINT16_T, full,
                         c, MPI_UINT16_T, MPI_COMM_WORLD, &reqs[r]),
          "all-gather", what, step);
    return r;
}

int comm_test(CommReq r) {
    if (r == COMM_NONE) return 1;
    if (z_fault("comm-slow")) return 0; /* "not yet": MPI allows it at every test */
    int done = 0;
    check(MPI_Test(&reqs[r], &done, MPI_STATUS_IGNORE), "test", req_what[r], req_step[r]);
    if (done) release(r);
    return done;
}

void comm_wait(CommReq r) {
    if (r == COMM_NONE) return;
    double t0 = k_now();
    watchdog_enter("wait", req_what[r], req_step[r]);
    int rc = MPI_Wait(&reqs[r], MPI_STATUS_IGNORE);
    watchdog_leave();
    check(rc, "wait", req_what[r], req_step[r]);
    stats.wait_s += k_now() - t0;
    release(r);
}

int comm_in_flight(void) {
    return nused;
}

CommStats comm_stats(void) {
    return stats;
}
void comm_reset_stats(void) {
    memset(&stats, 0, sizeof stats);
}

/* ------------------------------------------------------------------------- */
/* the loopback tensor transport: NCCL's placement, MPI's arithmetic          */

/* Each call runs the MPI collective with the transport uninstalled, then
 * moves the reduce-scatter result to where NCCL puts it (buf + rank·per),
 * so that a device = loopback run exercises the placement the trainer must
 * honour under NCCL (comm_rs_slice) on machines without GPUs. */
#define MPI_ONLY(call)                                                                             \
    do {                                                                                           \
        const CommTensorOps *saved_ = tops;                                                        \
        CommStats counted_ = stats; /* VIA_TOPS counted the call already */                        \
        tops = NULL;                                                                               \
        comm_wait(call);                                                                           \
        tops = saved_;                                                                             \
        stats.tensor_bytes = counted_.tensor_bytes, stats.calls = counted_.calls;                  \
    } while (0)

static void lb_allreduce(void *buf, size_t n, int bf16, const char *what, long step) {
    if (bf16)
        MPI_ONLY(comm_iallreduce_bf16(buf, n, what, step));
    else
        MPI_ONLY(comm_iallreduce_f32(buf, n, what, step));
}

static void lb_reduce_scatter(void *buf, size_t per, int bf16, const char *what, long step) {
    size_t elem = bf16 ? 2 : 4;
    if (bf16)
        MPI_ONLY(comm_ireduce_scatter_bf16(buf, per, what, step));
    else
        MPI_ONLY(comm_ireduce_scatter_f32(buf, per, what, step));
    if (z_rank()) memmove((char *)buf + (size_t)z_rank() * per * elem, buf, per * elem);
}

static void lb_allgather(const void *mine, void *full, size_t per, int bf16, const char *what,
                         long step) {
    if (bf16)
        MPI_ONLY(comm_iallgather_bf16(mine, full, per, what, step));
    else
        MPI_ONLY(comm_iallgather_f32(mine, full, per, what, step));
}

static void lb_wait(void) {}

const CommTensorOps *comm_loopback_ops(void) {
    static const CommTensorOps ops = {"loopback (MPI with NCCL's placement)", lb_allreduce,
                                      lb_reduce_scatter, lb_allgather, lb_wait};
    return &ops;
}
