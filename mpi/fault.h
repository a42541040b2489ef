/*
 * fault.h — fault injection for the tests, in one place. ZEROPT_FAULT is a
 * comma-separated list of points; a layer asks z_fault("point") where the
 * fault would strike. Points:
 *   ckpt-write    a checkpoint write fails as a whole (io/ckpt_write.c)
 *   ckpt-reserve  the disk fills between the space check and the
 *                 reservation (io/ckpt_write.c)
 *   ckpt-slow     an asynchronous save's writer thread waits 2 s before
 *                 writing (src/train/ckpt.c): training goes on meanwhile
 *   comm-slow     MPI_Test never reports completion — allowed by MPI — so
 *                 every non-blocking collective completes only when waited
 *                 for (mpi/comm.c): the worst case for bounded requests
 *   nan-grad      at step 3 rank 0's gradient of the first element it
 *                 updates in the last unit turns NaN before the norm
 *                 (src/train/hooks.c)
 *   loss-spike    step 20's update runs at 300 × the learning rate, once:
 *                 the loss spikes from step 21 (src/train/step.c)
 *   stall         rank 1 stops computing at step 3 and never reaches the
 *                 step's collectives (src/train/loop.c): the watchdog's test
 *   leak          before the first step, blocks that nothing frees: 1000 +
 *                 rank bytes from the main thread, 2000 + rank from an
 *                 OpenMP thread (src/train/loop.c): the sanitizer build
 *                 must report them (tests/mpi/test_leaks.sh)
 * Unknown point names in ZEROPT_FAULT are refused at the first query.
 */
#ifndef ZEROPT_FAULT_H
#define ZEROPT_FAULT_H

/* 1 when ZEROPT_FAULT names `point`. */
int z_fault(const char *point);

#endif
