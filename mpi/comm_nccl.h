/*
 * comm_nccl.h — the NCCL transport for tensor collectives on device buffers
 * (CUDA builds only: `make CUDA=1`). MPI stays the transport for control
 * (losses, norms, flags: comm.h) and bootstraps NCCL here.
 *
 * The collectives are enqueued on the CUDA backend's communication stream
 * (kernels/cuda/kcuda.h) after it waits for the compute stream, so they see
 * what the compute stream produced; none blocks the host. comm_nccl_wait
 * makes the compute stream wait for them. Every NCCL call is checked: a
 * failure names the call, the tensor, the step and the rank (err.h's z_die).
 *
 * Callers (the trainer) need no NCCL header: this one declares no NCCL type.
 */
#ifndef ZEROPT_COMM_NCCL_H
#define ZEROPT_COMM_NCCL_H

#include "comm.h"

#include <stddef.h>

/* Collective over MPI_COMM_WORLD, after kc_open succeeded on every rank.
 *  0: NCCL is on for tensor collectives;
 *  1: two ranks on one host share a GPU (NCCL refuses that): NCCL stays
 *     off, tensors go through MPI (rank 0 says so once on stderr);
 * -1: failed, one line in err (NCCL off). Every rank returns the same. */
int comm_nccl_open(char *err, size_t n);
int comm_nccl_active(void); /* 1 after comm_nccl_open returned 0 */
void comm_nccl_close(void);

/* In place, on device buffers; bf16: 16-bit words (elements), else fp32.
 *   all-reduce:      buf[n] summed
 *   reduce-scatter:  buf[N·per_rank] summed; this rank's slice lands at
 *                    buf + rank·per_rank (comm_rs_slice's NCCL placement)
 *   all-gather:      full[r·per_rank ..] = mine of rank r (mine == NULL:
 *                    in place, mine = full + rank·per_rank)
 * bf16 sums add in fp32 and round to bf16 once per reduction step (NCCL's
 * bf16 sum), like comm.h's MPI bf16 operation. */
void comm_nccl_allreduce(void *buf, size_t n, int bf16, const char *what, long step);
void comm_nccl_reduce_scatter(void *buf, size_t per_rank, int bf16, const char *what, long step);
void comm_nccl_allgather(const void *mine, void *full, size_t per_rank, int bf16, const char *what,
                         long step);
/* The compute stream waits for the collectives enqueued so far (no host
 * synchronisation); an asynchronous NCCL error found now takes the job down. */
void comm_nccl_wait(void);

/* The transport as comm.h's tensor operations (each call's results made
 * visible to the host before it returns), for comm_use_tensor_ops. */
const CommTensorOps *comm_nccl_ops(void);

/* Bytes handed to NCCL (tensor_bytes, counted as comm.c counts them) and
 * calls since the last reset; control_bytes and wait_s stay 0 here. */
CommStats comm_nccl_stats(void);
void comm_nccl_reset_stats(void);

#endif
