/*
 * zero.h — the ZeRO partition (DESIGN.md "The ZeRO partition"): one
 * mechanism for stages 0–3 over a list of units, each a flat fp32 buffer
 * padded to a multiple of ranks × alignment; rank r owns the r-th contiguous
 * slice (shard) of every unit. This module owns every parameter and gradient
 * buffer and the collectives that move them; it knows units and ranks, not
 * layers. The optimizer state follows the same partition (the range
 * zero_lo..zero_hi each rank updates) but is laid out over tensors, so it
 * lives in src/optim.
 *
 *   stage 0  params, grads (and optimizer state) full on every rank; grads
 *            all-reduced
 *   stage 1  params, grads full; optimizer state only for the shard; grads
 *            reduce-scattered
 *            in place (the shard's sum lands inside the full buffer), the shard
 *            updated, params all-gathered
 *   stage 2  params full; a unit's grads reduce-scattered right after its
 *            backward (per micro-batch, accumulated into the shard); the full
 *            gradient lives only in two working buffers (sized for the largest
 *            unit but the tied one) and, for the tied unit, one of its own
 *   stage 3  params sharded too: a unit is all-gathered before its forward and
 *            again before its backward, the next unit prefetched while the
 *            current one computes, released after use. The gathered units live
 *            in one arena sized for the largest pair that is ever resident
 *            together — neighbours (u, u+1), and the tied unit with the last —
 *            one at its front, one at its back.
 *
 * The tied unit (tied_unit ≥ 0: a tied embedding) is one the last unit also
 * reads and writes: its gradient is written throughout the backward, and at
 * stage 3 it is gathered beside the last unit.
 *
 * The pass visits units in increasing order in forward and decreasing in
 * backward; that order drives prefetching. Reductions are non-blocking and
 * progressed from zero_progress (overlap = 1) or completed at once (0). At
 * most ZERO_MAX_INFLIGHT reductions are in flight: posting one more first
 * finishes the oldest, so a model of any number of units runs whether or not
 * MPI completes anything early.
 *
 * Mixed precision (mixed = 1, [train] precision = bf16): what the model
 * reads and the gradients are bf16 copies — the full unit at stages 0–2 (a
 * shard at 3), the gradient full at 0–1 (a shard at 2–3) — and the fp32
 * master of what this rank updates (stage 0: the unit; else its shard) lives
 * here too, counted as optimizer state: the ZeRO paper's 2 + 2 + K bytes.
 * The CPU kernels compute in fp32: a unit is converted into an fp32 view
 * when acquired (at every stage; slots as stage 3's arena), its gradient
 * accumulated in an fp32 working buffer and, when the unit's backward ends,
 * added into the bf16 gradient (sum in fp32, one rounding) or reduced.
 * Reductions move bf16 (reduce_bf16; each combination adds in fp32 and
 * rounds) or fp32 (then the earlier micro-batches' bf16 sum is added to the
 * working buffer first and the result rounded once); all-gathers move bf16.
 * After the update the master is rounded (nearest even) into the bf16 copy.
 *
 * Buffers come from the counting allocator (kernels/mem.h): params, grads
 * and ZeRO buffers, each in its category.
 */
#ifndef ZEROPT_ZERO_H
#define ZEROPT_ZERO_H

#include "comm.h"

#include <stddef.h>
#include <stdint.h>

#define ZERO_MAX_INFLIGHT 16
#define ZERO_POOL 2 /* gathered units (stage 3) and working gradient buffers (2–3) */

typedef struct Zero Zero;

Zero *zero_create(int stage, int overlap, int nunits, const size_t *numel, const size_t *padded,
                  int tied_unit, int mixed, int reduce_bf16);
void zero_free(Zero *z);
/* Mixed precision: unit u's elements [lo, lo + n) keep their bf16 copy as
 * the distance from `value` (LayerNorm gains from 1: bf16's step just below
 * 1 is 2⁻⁸, coarser than many of a gain's updates, which the model would
 * then see in jumps; as a distance from 1 the gain is seen to 2⁻⁸ of that
 * distance). The master, checkpoints and exports hold the values
 * themselves; the bytes are the same. */
void zero_bf16_offset(Zero *z, int u, size_t lo, size_t n, float value);
/* Mixed precision: the model reads unit u's elements [lo, lo + n) only as
 * bf16 products' operands (a linear layer's weight). While those products
 * read the bf16 copy in place (k_bf16_mirror_add keeps the unit's mirror,
 * and k_bf16_gemm_on), acquiring the unit leaves that part of its fp32 view
 * unconverted. ZEROPT_POISON_LAZY=1 fills it with NaN instead, so a test
 * sees any other reader. */
void zero_bf16_lazy(Zero *z, int u, size_t lo, size_t n);
int zero_stage(const Zero *z);
int zero_mixed(const Zero *z);
/* The largest working gradient buffer (*n floats; NULL where there is none),
 * free between a backward and the next: the update may borrow it. */
float *zero_scratch(const Zero *z, size_t *n);

/* Where the model reads a unit's parameters now (NULL: not resident) and
 * accumulates its gradient (NULL outside the unit's backward at stages 2–3). */
float *zero_params(const Zero *z, int u);
float *zero_grads(const Zero *z, int u);

/* The range [lo, hi) of unit u this rank updates (stage 0: the whole unit;
 * otherwise its shard clipped to the real parameters), and the buffers for
 * it, both indexed from lo: parameters (mixed: the fp32 master) and reduced
 * gradient (mixed: NULL; zero_own_grads_bf16 gives the bf16 one, else NULL). */
size_t zero_lo(const Zero *z, int u);
size_t zero_hi(const Zero *z, int u);
size_t zero_shard(const Zero *z, int u); /* shard length (padded / ranks) */
float *zero_own_params(const Zero *z, int u);
float *zero_own_grads(const Zero *z, int u);
const uint16_t *zero_own_grads_bf16(const Zero *z, int u);

/* The r-th slice of unit u (padded / ranks floats from r·shard) of the
 * parameters (mixed: of the master), at any stage: what a checkpoint stores
 * from this rank. */
float *zero_slice_params(const Zero *z, int u);
/* After slices were loaded: rebuild what the stage keeps whole (stages 0–2:
 * the parameters; mixed: the bf16 copies from the master) with all-gathers. */
void zero_gather_resident(Zero *z);

/* Whole units outside a step (init, loading, saving), without a buffer of
 * their own at stage 3:
 *   zero_full_scratch  a buffer of padded[u] floats to fill (stages 0–2: the
 *                      resident parameters; 3: the gather arena; mixed: the
 *                      master at stage 0, else the view arena)
 *   zero_store_full    keep what this rank holds of it (stage 3: its shard;
 *                      mixed: the master's part and the bf16 copy)
 *   zero_full_params   the whole current parameters of u (stage 3, and mixed
 *                      at 1–3: gathered, collective; mixed: the fp32 master),
 *                      valid until the next call */
float *zero_full_scratch(Zero *z, int u);
void zero_store_full(Zero *z, int u, const float *full);
float *zero_full_params(Zero *z, int u);

/* Step protocol. */
void zero_begin_step(Zero *z, long step); /* clear gradients */
void zero_begin_micro(Zero *z, int last); /* last: reduce full grads (stages 0–1) */
void zero_acquire(Zero *z, int u);        /* stage 3: make u's parameters resident */
void zero_release(Zero *z, int u);        /* stage 3: give u's place in the arena back */
void zero_prefetch(Zero *z, int u);       /* stage 3: start gathering u if it fits now */
void zero_bwd_begin(Zero *z);             /* stages 2–3: clear the tied unit's gradient */
void zero_grad_begin(Zero *z, int u);     /* stages 2–3: hand out a working buffer */
void zero_grad_end(Zero *z, int u);       /* post u's gradient reduction */
void zero_progress(Zero *z);              /* test reductions in flight */
void zero_end_backward(Zero *z);          /* finish every reduction */
void zero_after_update(Zero *z);          /* stages 1–2: all-gather parameters */

#endif
