/*
 * err.h — how zeropt fails: one line on stderr naming the rank and the
 * problem, then every rank goes down (MPI_Abort when several ranks run), so
 * no peer is left waiting in a collective. Also checked allocation.
 */
#ifndef ZEROPT_ERR_H
#define ZEROPT_ERR_H

#include "kernels/mem.h"

#include <stddef.h>

/* Size of every error-message buffer (char err[Z_ERR_MAX]). */
#define Z_ERR_MAX 1536

/* Print "zeropt: rank R: <message>" and take the whole job down. */
void z_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Same line, but only rank 0 prints: for errors every rank detects alike
 * (a bad config), so the user sees the line once. Under several ranks the
 * job still ends through MPI_Abort (rank 0's, after its line is out; a rank
 * that waited two seconds without being ended aborts too), so a rank that
 * did not detect the error is never left waiting. */
void z_die_all(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A failure that every rank has just agreed on (a collective carried a flag):
 * the ranks that saw it print their line (if any), all exit without an abort. */
void z_exit_agreed(const char *my_error) __attribute__((noreturn));
/* What z_exit_agreed runs on every rank before exiting (after the lines):
 * collective work that is still valid, such as committing a checkpoint
 * whose parts are being written. One hook; NULL clears it. */
void z_at_agreed_exit(void (*fn)(void));
/* Informational line from rank 0 only. */
void z_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format a message into err (errlen bytes) and return −1: the error style of
 * the library calls that report to their caller instead of exiting. */
int z_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void *z_malloc(size_t bytes, const char *what);
/* A long-lived buffer from the counting allocator (kernels/mem.h), zeroed;
 * release it with k_free. Past this rank's share of the node's memory
 * (z_mem_limit) it stops the job with a line naming what asked, what the
 * rank holds and what the node has: the blocks are zeroed at once, so
 * without it an oversized model ends in the kernel's OOM killer instead. */
void *z_alloc(size_t bytes, MemCat cat, const char *what);
/* The share of the node's memory each rank may hold: what was available when
 * the process started, the tighter of /proc/meminfo's MemAvailable and the
 * cgroup's limit (Slurm's --mem: memory.max less memory.current, or v1's
 * limit less usage), divided among the node's `local_ranks` ranks.
 * ZEROPT_MEM_AVAILABLE_MB, when set, stands for the node's available memory
 * (tests; a user who knows better). comm_init calls it. */
void z_mem_limit_init(int local_ranks);
/* bytes per rank (0: unknown, nothing checked); *src: where it came from */
double z_mem_limit(const char **src, int *local_ranks);
void *z_calloc(size_t n, size_t size, const char *what);
char *z_strdup(const char *s);

/* This process's rank in MPI_COMM_WORLD, or 0 before MPI_Init / without MPI. */
int z_rank(void);
int z_nranks(void);

#endif
