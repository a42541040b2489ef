/*
 * comm.h — the collectives the trainer needs, over MPI_COMM_WORLD. Every call
 * is checked: a failed collective names itself, the step and the rank, and
 * takes the job down (err.h). Counts above INT_MAX are split.
 */
#ifndef ZEROPT_COMM_H
#define ZEROPT_COMM_H

#include <stddef.h>

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

/*
 * Tensor collectives for ZeRO, blocking and non-blocking. A non-blocking call
 * returns a handle; comm_test progresses it (MPI moves data only inside MPI
 * calls) and comm_wait finishes it. per_rank is each rank's share in floats.
 *   reduce-scatter: send[N·per_rank] summed, rank r receives slice r
 *   all-gather:     full[r·per_rank ..] = mine of rank r (mine == NULL: in place)
 */
typedef int CommReq;
#define COMM_NONE (-1)
CommReq comm_iallreduce_f32(float *buf, size_t n, const char *what, long step);
CommReq comm_ireduce_scatter_f32(const float *send, float *recv, size_t per_rank, const char *what,
                                 long step);
CommReq comm_iallgather_f32(const float *mine, float *full, size_t per_rank, const char *what,
                            long step);
int comm_test(CommReq r); /* 1 when complete (the handle is then free) */
void comm_wait(CommReq r);

/*
 * Accounting, per rank since the last reset: tensor bytes sent as the
 * bandwidth-optimal (ring) algorithms move them — (N−1)/N of the buffer for a
 * reduce-scatter or an all-gather, 2(N−1)/N for an all-reduce — and the same
 * for the small control collectives (losses, norms, flags); seconds spent
 * blocked in comm_wait (communication not hidden behind compute).
 */
typedef struct {
    double tensor_bytes, control_bytes, wait_s;
    long calls;
} CommStats;
CommStats comm_stats(void);
void comm_reset_stats(void);

#endif
