/*
 * zero.h — the ZeRO partition (DESIGN.md "The ZeRO partition"): one
 * mechanism for stages 0–3 over a list of units, each a flat fp32 buffer
 * padded to a multiple of ranks × alignment; rank r owns the r-th contiguous
 * slice (shard) of every unit. This module owns every parameter, gradient and
 * optimizer-state buffer and the collectives that move them; it knows units
 * and ranks, not layers.
 *
 *   stage 0  params, grads, Adam m/v full on every rank; grads all-reduced
 *   stage 1  params, grads full; m/v only for the shard; grads reduce-scattered,
 *            the shard updated, params all-gathered
 *   stage 2  params full; a unit's grads reduce-scattered right after its
 *            backward (per micro-batch, accumulated into the shard); the full
 *            gradient lives only in a small pool of working buffers
 *   stage 3  params sharded too: a unit is all-gathered before its forward and
 *            again before its backward into one of two gather buffers, the next
 *            unit prefetched while the current one computes, released after use
 *
 * The pass visits units in increasing order in forward and decreasing in
 * backward; that order drives prefetching. Reductions are non-blocking and
 * progressed from zero_progress (overlap = 1) or completed at once (0).
 */
#ifndef ZEROPT_ZERO_H
#define ZEROPT_ZERO_H

#include "comm.h"

#include <stddef.h>

typedef struct {
    size_t params, grads, optim, buffers; /* bytes held by this rank */
} ZeroBytes;

typedef struct Zero Zero;

/* pinned_grad_unit: a unit whose gradient is written throughout the backward
 * (a tied embedding written by the head), −1 for none. */
/* What a rank holds at a stage, in bytes, without allocating: the same
 * arithmetic zero_bytes reports for a live partition. param_bytes and
 * grad_bytes are the element sizes of the model copy (4 for fp32, 2 for
 * bf16), state_bytes the optimizer bytes per parameter (8: fp32 Adam m and v;
 * 12: mixed precision adds an fp32 master copy). Buffers (working gradients,
 * gather buffers) are in the model-copy precision. */
ZeroBytes zero_plan_bytes(int stage, int nranks, int nunits, const size_t *padded, int pinned,
                          size_t param_bytes, size_t grad_bytes, size_t state_bytes);
/* Tensor bytes one rank sends per step with accumulation 1 (ring algorithms):
 * 2Ψ(N−1)/N elements at stages 0–2, 3Ψ(N−1)/N at stage 3, plus two more
 * gathers of `regather_unit` (the tied embedding the head reads), or −1. */
double zero_plan_comm_bytes(int stage, int nranks, int nunits, const size_t *padded,
                            int regather_unit, size_t elem_bytes);

Zero *zero_create(int stage, int overlap, int nunits, const size_t *numel, const size_t *padded,
                  int pinned_grad_unit);
void zero_free(Zero *z);
int zero_stage(const Zero *z);
ZeroBytes zero_bytes(const Zero *z);

/* Where the model reads a unit's parameters now (NULL: not resident) and
 * accumulates its gradient (NULL outside the unit's backward at stages 2–3). */
float *zero_params(const Zero *z, int u);
float *zero_grads(const Zero *z, int u);

/* The range [lo, hi) of unit u this rank updates (stage 0: the whole unit;
 * otherwise its shard clipped to the real parameters), and the buffers for
 * it, all indexed from lo: parameters, reduced gradient, Adam m and v. */
size_t zero_lo(const Zero *z, int u);
size_t zero_hi(const Zero *z, int u);
size_t zero_shard(const Zero *z, int u); /* shard length (padded / ranks) */
float *zero_own_params(const Zero *z, int u);
float *zero_own_grads(const Zero *z, int u);
float *zero_m(const Zero *z, int u);
float *zero_v(const Zero *z, int u);

/* The r-th slice of unit u (padded / ranks floats from r·shard) of the
 * parameters and of Adam m and v, at any stage: what a checkpoint stores from
 * this rank. */
float *zero_slice_params(const Zero *z, int u);
float *zero_slice_m(const Zero *z, int u);
float *zero_slice_v(const Zero *z, int u);
/* After slices were loaded: rebuild what the stage keeps whole (stage 0:
 * parameters, m and v; stages 1–2: parameters) with all-gathers. */
void zero_gather_resident(Zero *z);

/* Step protocol. */
void zero_begin_step(Zero *z, long step); /* clear gradients */
void zero_begin_micro(Zero *z, int last); /* last: reduce full grads (stages 0–1) */
void zero_acquire(Zero *z, int u);        /* stage 3: make u's parameters resident */
void zero_release(Zero *z, int u);        /* stage 3: give u's gather buffer back */
void zero_prefetch(Zero *z, int u);       /* stage 3: start gathering u if a buffer is free */
void zero_bwd_begin(Zero *z);             /* stages 2–3: clear the pinned gradient */
void zero_grad_begin(Zero *z, int u);     /* stages 2–3: hand out a working buffer */
void zero_grad_end(Zero *z, int u);       /* post u's gradient reduction */
void zero_progress(Zero *z);              /* test reductions in flight */
void zero_end_backward(Zero *z);          /* finish every reduction */
void zero_after_update(Zero *z);          /* stages 1–2: all-gather parameters */

/* Stage 3 only: gather unit u into `full` (padded floats) on every rank. */
void zero_gather_into(Zero *z, int u, float *full);
/* Largest number of units gathered at once so far (stage 3). */
int zero_peak_gathered(const Zero *z);

#endif
