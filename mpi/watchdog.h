/*
 * watchdog.h — the collective watchdog: a rank blocked in one collective
 * longer than a limit says which collective, which step and which rank, and
 * exits non-zero, which takes the job down (mpirun and srun end the other
 * ranks; those blocked with it time out the same way). A hang becomes a
 * clean abort with a line that names its place.
 *
 * comm.c marks every blocking call (enter … leave, main thread only); a
 * thread of its own looks at the mark ten times a second. Collectives inside
 * HDF5 (the checkpoint's MPI-IO) are not marked: their time is the disk's.
 */
#ifndef ZEROPT_WATCHDOG_H
#define ZEROPT_WATCHDOG_H

/* Start watching with this limit in seconds (0 or less: off). Once. */
void watchdog_start(double seconds);
/* The main thread enters and leaves a blocking collective. */
void watchdog_enter(const char *op, const char *what, long step);
void watchdog_leave(void);

#endif
