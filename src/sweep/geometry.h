/*
 * geometry.h — a configured model as the planning library sees it
 * (src/plan/plan.h's PlanModel): its padded units, tensors, activation
 * shape and FLOPs per token at a batch and rank count, built from the
 * model's layout (src/model) without allocating it; and the element sizes
 * of a precision. Used by `zeropt plan` and by the campaign planner.
 */
#ifndef ZEROPT_SWEEP_GEOMETRY_H
#define ZEROPT_SWEEP_GEOMETRY_H

#include "src/config/config.h"
#include "src/plan/plan.h"

/* fp32; bf16 ([train] precision = bf16 as the code allocates it: bf16
 * copies, fp32 master, fp32 activations); mixed (the same with the
 * activation arena estimated at 2 bytes, as a bf16 GPU path keeps it) */
enum { PREC_FP32 = 0, PREC_MIXED = 1, PREC_BF16 = 2 };

/* A model with its unit sizes kept alive (plan_geo_free). */
typedef struct {
    PlanModel pm;
    size_t *padded;
    PlanTensor *tensors;
    int mlm;
} PlanGeo;

/* c finished (config_finish); micro sequences of seq tokens per forward,
 * accum micro-batches per step, on ranks ranks. */
void plan_geo_model(PlanGeo *g, const Config *c, int ranks, int micro, int seq, int accum,
                    int recompute, double mask_rate);
/* P parameters as one unit, no activations, no tied embedding. */
void plan_geo_bare(PlanGeo *g, double P, const Config *c, int ranks, int micro, int seq);
void plan_geo_free(PlanGeo *g);
/* floats over all units, padding included */
size_t plan_geo_padded(const PlanGeo *g);

/* The element sizes of a precision (PREC_*) under c's [zero] reduce_dtype
 * and [optim] states. */
PlanBytes plan_geo_bytes(int precision, const Config *c);

#endif
