/*
 * clock.h — the one wall clock of zeropt: monotonic seconds.
 */
#ifndef ZEROPT_KERNELS_CLOCK_H
#define ZEROPT_KERNELS_CLOCK_H

#include <time.h>

static inline double k_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
