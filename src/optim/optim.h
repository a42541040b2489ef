/*
 * optim.h — AdamW on ranges of flat unit buffers, and learning-rate
 * schedules. The element-wise arithmetic runs in kernels/ (k_adamw); this
 * room decides the per-tensor constants.
 *
 * The update works on [lo, hi) of a unit so that ZeRO can run it on the
 * slice a rank owns; m and v are indexed from lo. Weight decay follows each
 * tensor's `decay` flag (none on norms and biases).
 */
#ifndef ZEROPT_OPTIM_H
#define ZEROPT_OPTIM_H

#include "src/config/config.h"
#include "src/model/model.h"

#include <stddef.h>

/* Learning rate at step s (0-based): linear warm-up (s+1)/warmup·lr, then the
 * schedule from lr down to min_lr at the last step. */
double lr_at(const TrainConfig *t, long s);

/* AdamW (PyTorch semantics) on [lo, hi) of unit u, step t ≥ 1:
 *   p ← p·(1 − lr·wd)                 (decoupled decay, tensors with decay)
 *   m ← β1 m + (1−β1) g ;  v ← β2 v + (1−β2) g²       with g = gscale·grad
 *   p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
 * p, grad, m and v are indexed from lo (they hold hi − lo floats); the views
 * of unit u tell which elements decay. */
void adamw_update(const Model *m, int u, size_t lo, size_t hi, float *p, const float *grad,
                  float *mbuf, float *vbuf, double lr, long t, double gscale,
                  const TrainConfig *tc);

#endif
