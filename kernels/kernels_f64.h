/*
 * kernels_f64.h — the same kernels instantiated in double (suffix _f64), used
 * by the finite-difference tests so that gradients are checked in double.
 */
#ifndef ZEROPT_KERNELS_F64_H
#define ZEROPT_KERNELS_F64_H

#define kreal double
#define KF(name) name##_f64
#include "kernels_api.h"
#undef kreal
#undef KF

#endif
