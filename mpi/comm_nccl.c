/*
 * comm_nccl.c — NCCL implementation of comm_nccl.h: owns the NCCL
 * communicator (its bootstrap over MPI, the refusal of a GPU shared by two
 * ranks, its teardown) and the tensor collectives on device buffers.
 * Streams come from the CUDA backend as opaque pointers; no CUDA runtime
 * call is made here (DESIGN.md: CUDA only in kernels/).
 */
#include "comm_nccl.h"

#include "comm.h"
#include "err.h"
#include "watchdog.h"

#include "kernels/cuda/kcuda.h"

#include <mpi.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ncclComm_t nccl;
static int active;
static CommStats stats;

/* One line for a failed NCCL call: NCCL's name for the result, and its
 * last error message when it left one. */
static void nccl_ok(ncclResult_t rc, const char *op, const char *what, long step) {
    if (rc == ncclSuccess) return;
    const char *last = ncclGetLastError(nccl);
    const char *sep = last && *last ? "; " : "";
    if (step >= 0)
        z_die("NCCL %s of %s failed at step %ld: %s%s%s", op, what, step, ncclGetErrorString(rc),
              sep, *sep ? last : "");
    z_die("NCCL %s of %s failed: %s%s%s", op, what, ncclGetErrorString(rc), sep, *sep ? last : "");
}

/* ---- bootstrap ------------------------------------------------------------ */

typedef struct {
    char host[MPI_MAX_PROCESSOR_NAME];
    int device;
} Peer;

/* Every rank's (host, device), the same table on every rank. */
static Peer *gather_peers(void) {
    Peer me, *all = z_calloc((size_t)z_nranks(), sizeof(Peer), "NCCL peer table");
    int len = 0;
    memset(&me, 0, sizeof me);
    int rc = MPI_Get_processor_name(me.host, &len);
    if (rc != MPI_SUCCESS) z_die("MPI_Get_processor_name failed (NCCL bootstrap): error %d", rc);
    me.device = kc_device();
    watchdog_enter("all-gather", "NCCL peer table", -1);
    rc = MPI_Allgather(&me, sizeof me, MPI_BYTE, all, sizeof me, MPI_BYTE, MPI_COMM_WORLD);
    watchdog_leave();
    if (rc != MPI_SUCCESS) z_die("all-gather of NCCL peer table failed: MPI error %d", rc);
    return all;
}

/* The first ranks a < b on one host with one device index: 1, else 0. */
static int shared_gpu(const Peer *t, int n, int *a, int *b) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (t[i].device == t[j].device && strcmp(t[i].host, t[j].host) == 0) {
                *a = i, *b = j;
                return 1;
            }
    return 0;
}

/* Rank 0's unique id goes out with its result, so that a failure there
 * stops every rank before ncclCommInitRank (which would wait for rank 0);
 * a failure of ncclCommInitRank itself is agreed before NCCL is used. */
static int init_comm(char *err, size_t n) {
    int rank = z_rank();
    struct {
        ncclResult_t rc;
        ncclUniqueId id;
    } boot;
    memset(&boot, 0, sizeof boot);
    if (rank == 0) boot.rc = ncclGetUniqueId(&boot.id);
    comm_bcast(&boot, sizeof boot, 0, "NCCL unique id");
    if (boot.rc != ncclSuccess)
        return z_fail(err, n, "comm_nccl_open: ncclGetUniqueId on rank 0 failed: %s",
                      ncclGetErrorString(boot.rc));
    watchdog_enter("ncclCommInitRank", "NCCL communicator", -1);
    ncclResult_t rc = ncclCommInitRank(&nccl, z_nranks(), boot.id, rank);
    watchdog_leave();
    int failed = rc != ncclSuccess;
    if (!comm_any(failed, "NCCL communicator init")) {
        active = 1;
        return 0;
    }
    if (!failed) ncclCommAbort(nccl); /* a peer failed: ours is unusable */
    nccl = NULL;
    if (failed)
        return z_fail(err, n, "comm_nccl_open: ncclCommInitRank on rank %d failed: %s", rank,
                      ncclGetErrorString(rc));
    return z_fail(err, n, "comm_nccl_open: ncclCommInitRank failed on another rank");
}

int comm_nccl_open(char *err, size_t n) {
    if (active) return 0;
    int closed = !kc_is_open();
    if (comm_any(closed, "NCCL bootstrap: device check")) {
        if (closed)
            return z_fail(err, n,
                          "comm_nccl_open: no CUDA device is open on rank %d (device = cuda "
                          "needs kc_open first)",
                          z_rank());
        return z_fail(err, n, "comm_nccl_open: another rank has no CUDA device open");
    }
    Peer *t = gather_peers();
    int a = 0, b = 0, shared = shared_gpu(t, z_nranks(), &a, &b);
    if (shared && z_rank() == 0)
        fprintf(stderr,
                "comm: ranks %d and %d share GPU %d on host %s: tensor collectives go through "
                "MPI via pinned host buffers\n",
                a, b, t[a].device, t[a].host);
    free(t);
    return shared ? 1 : init_comm(err, n);
}

int comm_nccl_active(void) {
    return active;
}

void comm_nccl_close(void) {
    if (!active) return;
    kc_comm_sync(); /* let enqueued collectives finish before the teardown */
    nccl_ok(ncclCommDestroy(nccl), "communicator destroy", "tensor collectives", -1);
    nccl = NULL;
    active = 0;
}

/* ---- tensor collectives --------------------------------------------------- */

/* bf16: NCCL's sum converts each pair to fp32, adds, and rounds to bf16 once
 * per reduction step (a ring rounds once per hop), as comm.c's bf16 op does. */
static ncclDataType_t type_of(int bf16) {
    return bf16 ? ncclBfloat16 : ncclFloat;
}
static size_t elem_of(int bf16) {
    return bf16 ? 2 : sizeof(float);
}

/* The communication stream, after it waits for the compute stream. */
static cudaStream_t comm_stream(const char *op, const char *what, long step) {
    if (!active) z_die("NCCL %s of %s at step %ld: NCCL is not open", op, what, step);
    kc_comm_after_compute();
    return (cudaStream_t)kc_comm_stream();
}

void comm_nccl_allreduce(void *buf, size_t n, int bf16, const char *what, long step) {
    cudaStream_t s = comm_stream("all-reduce", what, step);
    stats.tensor_bytes += (double)n * elem_of(bf16);
    stats.calls++;
    nccl_ok(ncclAllReduce(buf, buf, n, type_of(bf16), ncclSum, nccl, s), "all-reduce", what, step);
}

/* NCCL's in-place form: recvbuff = sendbuff + rank·per_rank. */
void comm_nccl_reduce_scatter(void *buf, size_t per_rank, int bf16, const char *what, long step) {
    cudaStream_t s = comm_stream("reduce-scatter", what, step);
    size_t e = elem_of(bf16);
    char *mine = (char *)buf + (size_t)z_rank() * per_rank * e;
    stats.tensor_bytes += (double)per_rank * z_nranks() * e;
    stats.calls++;
    nccl_ok(ncclReduceScatter(buf, mine, per_rank, type_of(bf16), ncclSum, nccl, s),
            "reduce-scatter", what, step);
}

/* mine == NULL: NCCL's in-place form, sendbuff = recvbuff + rank·per_rank. */
void comm_nccl_allgather(const void *mine, void *full, size_t per_rank, int bf16, const char *what,
                         long step) {
    cudaStream_t s = comm_stream("all-gather", what, step);
    size_t e = elem_of(bf16);
    if (!mine) mine = (const char *)full + (size_t)z_rank() * per_rank * e;
    stats.tensor_bytes += (double)per_rank * e;
    stats.calls++;
    nccl_ok(ncclAllGather(mine, full, per_rank, type_of(bf16), nccl, s), "all-gather", what, step);
}

void comm_nccl_wait(void) {
    if (!active) return;
    ncclResult_t async = ncclSuccess;
    nccl_ok(ncclCommGetAsyncError(nccl, &async), "error query", "tensor collectives", -1);
    if (async != ncclInProgress) nccl_ok(async, "collective", "tensor collectives", -1);
    kc_compute_after_comm();
}

CommStats comm_nccl_stats(void) {
    return stats;
}
void comm_nccl_reset_stats(void) {
    memset(&stats, 0, sizeof stats);
}

static void wait_host(void) {
    comm_nccl_wait();
    kc_comm_sync();
}

const CommTensorOps *comm_nccl_ops(void) {
    static const CommTensorOps ops = {"NCCL", comm_nccl_allreduce, comm_nccl_reduce_scatter,
                                      comm_nccl_allgather, wait_host};
    return comm_nccl_active() ? &ops : NULL;
}
