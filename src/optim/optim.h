/*
 * optim.h — the optimizers (AdamW, LAMB, Adafactor), their state in this
 * rank's part of the partition, and learning-rate schedules. The element-wise
 * arithmetic runs in kernels/ (cpu/optim.c); this room owns the state's
 * layout over tensors, the per-tensor constants and the order of the passes.
 * It calls no collective: a step is three calls around two sums the caller
 * adds over ranks.
 *
 * State. A rank keeps state for the elements it updates: the whole unit at
 * ZeRO stage 0, its shard otherwise ([optim] states, DESIGN.md "Optimizer
 * state"):
 *   adamw, lamb   m and v per element: fp32 (8 bytes), bf16 (4), or 8bit (2,
 *                 plus one fp32 absmax per block of 2048 for each; blocks
 *                 start at each tensor's part in a shard, and tensors of fewer
 *                 than min_8bit_size elements keep fp32 states)
 *   adafactor     m only with adafactor_beta1 > 0, per element in [optim]
 *                 states' encoding (fp32 4, bf16 2, 8bit 1 + the absmax, as
 *                 adamw's m); a vector's v per element (fp32); a matrix's v
 *                 factored into row and column means, [R] + [C] fp32, the same
 *                 on every rank (every rank adds its part of the row and
 *                 column sums, and the caller sums them over ranks)
 * The state arrays of fp32 and bf16 m, v follow the unit layout (stage 0: the
 * padded unit; else the shard); the others are packed.
 *
 * A step (t = step + 1, coef the clipping factor of the gradients):
 *   optim_sums0   partial sums over this rank's slice of each unit (the r-th
 *                 shard, at stage 0 too): Σw² per tensor (lamb, adafactor),
 *                 the row and column sums of g² (adafactor)
 *   optim_sums1   after sums0 are added over ranks: moments updated (lamb,
 *                 adafactor), then Σu² per tensor of the update u
 *   optim_apply   after sums1 are added: the parameters updated
 * AdamW needs neither sum (optim_nsums gives 0 for both).
 */
#ifndef ZEROPT_OPTIM_H
#define ZEROPT_OPTIM_H

#include "src/config/config.h"
#include "src/model/model.h"

#include "kernels/kernels.h"

#include <stddef.h>
#include <stdint.h>

/* Learning rate at step s (0-based): linear warm-up (s+1)/warmup·lr, then the
 * schedule from lr down to min_lr at the last step. */
double lr_at(const TrainConfig *t, long s);
/* The same at a fractional step (the schedule read in tokens: sequence-length
 * warm-up's steps are shorter than full ones). */
double lr_at_frac(const TrainConfig *t, double s);

/* A rank's place in the partition, per unit. */
typedef struct {
    size_t lo, hi; /* the elements it updates: [lo, hi) of the unit */
    size_t base;   /* element of the unit at index 0 of its parameter, gradient and state views */
    size_t len;    /* elements of a state array in the unit layout (padded or shard) */
    size_t shard;  /* S: slice r is [r·S, (r+1)·S) */
} OptRange;

typedef struct Optim Optim;

/* State zeroed, allocated as MEM_OPTIM. r[u] for every unit of m. */
Optim *optim_create(const Model *m, const Config *cfg, const OptRange *r, int rank);
void optim_free(Optim *o);

/* Doubles of the two sums (0: skip the reduction). */
size_t optim_nsums(const Optim *o, int phase);
/* p[u], g[u]: unit u's parameters (fp32: the master in mixed precision)
 * and reduced gradients, indexed from r[u].base. The gradients are fp32, or
 * bf16 when [train] precision = bf16: then each segment's is converted into
 * the scratch buffer before its pass. */
void optim_sums0(Optim *o, float *const *p, const void *const *g, double *out);
void optim_sums1(Optim *o, float *const *p, const void *const *g, long t, double coef,
                 const double *sum0, double *out);
void optim_apply(Optim *o, float *const *p, const void *const *g, double lr, long t, double coef,
                 const double *sum0, const double *sum1);
/* bf16 gradients: a buffer of n floats free during the step's update (the
 * trainer lends a ZeRO working buffer); n must hold the largest segment. */
void optim_set_scratch(Optim *o, float *buf, size_t n);
size_t optim_scratch_need(const Optim *o);

/* ---- checkpoints --------------------------------------------------------- */

/* The state tensors a checkpoint holds for optimizer `name` over a model's
 * tensors: per-element ones (optim/m/<name>, optim/v/<name>, shaped as the
 * tensor) and replicated ones (optim/row/<name> [R], optim/col/<name> [C]). */
enum { OT_M, OT_V, OT_ROW, OT_COL };
typedef struct {
    int kind; /* OT_* */
    int view; /* the model tensor */
    int ndim;
    int64_t dims[2];
} OptTensor;
/* What a checkpoint of an optimizer config holds: OSTATE_MV (adamw, lamb: m
 * and v), OSTATE_FACTORED (adafactor: v factored), OSTATE_FACTORED_M
 * (adafactor with momentum: m too). */
enum { OSTATE_MV, OSTATE_FACTORED, OSTATE_FACTORED_M };
int optim_state_kind(const OptimConfig *oc);
/* The tensors of a checkpoint of state kind `kind`: fills out (when not
 * NULL) and returns the count. */
int optim_tensors(const Model *m, int kind, OptTensor *out);
/* 1 when a checkpoint of optimizer a holds what optimizer b needs. */
int optim_compatible(const OptimConfig *a, const OptimConfig *b);
const char *optim_name(int name);

/* Per-element state of unit u as an fp32 array in the unit layout (r.len
 * elements from r.base): the state itself where it is stored so, else a
 * staging copy — decoded from the state when `fill`. optim_commit encodes the
 * copies back (after a load) and frees them; optim_release frees them. */
float *optim_image(Optim *o, int kind, int u, int fill);
void optim_commit(Optim *o);
void optim_release(Optim *o);
/* The replicated factor of a matrix (OT_ROW, OT_COL), NULL otherwise. */
float *optim_factor(Optim *o, int kind, int view);

#endif
