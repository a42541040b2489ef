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
void comm_bcast(void *buf, size_t bytes, int root, const char *what);
void comm_barrier(const char *what);

#endif
