/*
 * hd.h — KM_HD marks a formula both backends compile: empty for the C
 * compiler, __host__ __device__ for nvcc. The headers that use it (rng.h,
 * optim_math.h, kmath.h) hold the element-wise and per-row math once, so
 * the CPU tests check the formulas the GPU runs (DESIGN.md, kernels/).
 */
#ifndef ZEROPT_HD_H
#define ZEROPT_HD_H

#ifdef __CUDACC__
#define KM_HD __host__ __device__
#else
#define KM_HD
#endif

#endif
