/*
 * kernels.h — the fp32 compute interface used by the model (see kernels_api.h
 * for the contract of every kernel). The CPU backend lives in kernels/cpu/.
 */
#ifndef ZEROPT_KERNELS_H
#define ZEROPT_KERNELS_H

#define kreal float
#define KF(name) name
#include "kernels_api.h"
#undef kreal
#undef KF

#include "rng.h"

/* Threads used by the CPU backend (OpenMP and BLAS); 0 leaves the defaults. */
void k_set_threads(int n);
int k_get_threads(void);

#endif
