/*
 * exchange.h — variable-sized collectives over MPI_COMM_WORLD for data
 * pipelines (prep): every rank sends records of one size to every other
 * (all-to-all) or to all (all-gather), the counts exchanged first. Checked:
 * a failed call names itself and takes the job down (err.h); a message over
 * 2^31 − 1 records is refused by name rather than truncated.
 */
#ifndef ZEROPT_EXCHANGE_H
#define ZEROPT_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

/* Records of rec bytes: send holds, rank by rank, counts[r] records for rank
 * r. Returns the records received, rank by rank (malloc'd; *nrecv of them). */
void *xch_alltoall(const void *send, const int64_t *counts, size_t rec, int64_t *nrecv,
                   const char *what);
/* Every rank's n records, rank by rank, to every rank (malloc'd; *nall). */
void *xch_allgather(const void *mine, int64_t n, size_t rec, int64_t *nall, const char *what);
/* bytes from rank 0 to every rank. */
void xch_bcast(void *buf, size_t bytes, const char *what);
/* In-place sums over all ranks. */
void xch_sum_i64(int64_t *buf, int n, const char *what);
void xch_max_i64(int64_t *buf, int n, const char *what);

#endif
