/*
 * comm.h — the collectives zeropt needs, over MPI_COMM_WORLD. Every call is
 * checked: a failed collective names itself, the step and the rank, and
 * takes the job down (err.h). Counts above INT_MAX are split.
 *
 * Only the main thread calls MPI (OpenMP workers, the checkpoint writer and
 * the pruner never do): comm_init asks for MPI_THREAD_FUNNELED and refuses
 * to run with less.
 */
#ifndef ZEROPT_COMM_H
#define ZEROPT_COMM_H

#include <stddef.h>
#include <stdint.h>

void comm_init(int *argc, char ***argv);
void comm_finalize(void);
int comm_rank(void);
int comm_size(void);

/* In-place sum over all ranks. `what` and `step` name the call in errors. */
void comm_allreduce_f32(float *buf, size_t n, const char *what, long step);
void comm_allreduce_f64(double *buf, size_t n, const char *what, long step);
void comm_allreduce_max_f64(double *buf, size_t n, const char *what);
void comm_bcast(void *buf, size_t bytes, int root, const char *what);
void comm_barrier(const char *what);

/* Agreement, for code whose every rank must take the same branch: 1 when
 * `failed` is non-zero on any rank (the same answer everywhere). */
int comm_any(int failed, const char *what);
/* The largest v over all ranks. */
int comm_max_int(int v, const char *what);
/* In-place reduction of count records of elem_bytes each with a
 * non-commutative operation, applied in rank order: join(lower, upper, n)
 * folds n records of a lower rank into the records of the next (which it
 * overwrites). Every rank receives the result. */
void comm_reduce_ordered(void *buf, int count, size_t elem_bytes,
                         void (*join)(const void *lower, void *upper, int count), const char *what);

/*
 * Tensor collectives for ZeRO, non-blocking. A call returns a handle;
 * comm_test progresses it (MPI moves data only inside MPI calls) and
 * comm_wait finishes it. per_rank is each rank's share in floats.
 *   all-reduce:      buf[n] summed in place
 *   reduce-scatter:  buf[N·per_rank] summed, in place: this rank's slice of
 *                    the sum lands at comm_rs_slice(buf, per_rank) (where
 *                    depends on the transport: the front of buf for MPI,
 *                    buf + rank·per_rank for NCCL)
 *   all-gather:      full[r·per_rank ..] = mine of rank r (mine == NULL: in place)
 * At most COMM_MAX_REQ are in flight at once; callers bound what they post
 * (mpi/zero.c keeps ZERO_MAX_INFLIGHT reductions and two gathers), a call
 * beyond the bound is a bug and dies naming it.
 */
/* Tensor collectives through another transport: NCCL on device buffers
 * (mpi/comm_nccl.c), installed with comm_use_tensor_ops after its
 * bootstrap. The calls below then hand their buffers to it and return
 * COMM_NONE (complete: wait() has made the results visible to the host);
 * counts and bytes are accounted as for MPI. NULL: MPI. */
typedef struct CommTensorOps {
    const char *name;
    void (*allreduce)(void *buf, size_t n, int bf16, const char *what, long step);
    void (*reduce_scatter)(void *buf, size_t per_rank, int bf16, const char *what, long step);
    void (*allgather)(const void *mine, void *full, size_t per_rank, int bf16, const char *what,
                      long step);
    void (*wait)(void);
} CommTensorOps;
void comm_use_tensor_ops(const CommTensorOps *ops);
/* MPI's collectives with NCCL's reduce-scatter placement ([train] device =
 * loopback: the device path's contract, checked without GPUs). */
const CommTensorOps *comm_loopback_ops(void);

typedef int CommReq;
#define COMM_NONE (-1)
#define COMM_MAX_REQ 64
CommReq comm_iallreduce_f32(float *buf, size_t n, const char *what, long step);
CommReq comm_ireduce_scatter_f32(float *buf, size_t per_rank, const char *what, long step);
float *comm_rs_slice(float *buf, size_t per_rank);
CommReq comm_iallgather_f32(const float *mine, float *full, size_t per_rank, const char *what,
                            long step);
/* The same for bf16 tensors (16-bit words): sums add in fp32 and round to
 * bf16 once per combination; counts are in elements. */
CommReq comm_iallreduce_bf16(uint16_t *buf, size_t n, const char *what, long step);
CommReq comm_ireduce_scatter_bf16(uint16_t *buf, size_t per_rank, const char *what, long step);
uint16_t *comm_rs_slice_bf16(uint16_t *buf, size_t per_rank);
CommReq comm_iallgather_bf16(const uint16_t *mine, uint16_t *full, size_t per_rank,
                             const char *what, long step);
int comm_test(CommReq r); /* 1 when complete (the handle is then free) */
void comm_wait(CommReq r);
int comm_in_flight(void); /* handles not yet completed */

/*
 * Accounting, per rank since the last reset, of what the calls handed to
 * MPI: the bytes of each call's send buffer (count × element size) — tensor
 * collectives apart from the small control ones (losses, norms, flags) —
 * the number of calls, and the seconds spent blocked in comm_wait
 * (communication not hidden behind compute).
 */
typedef struct {
    double tensor_bytes, control_bytes, wait_s;
    long calls;
} CommStats;
CommStats comm_stats(void);
void comm_reset_stats(void);

#endif
