/*
 * geometry.c — PlanModel from a model's layout (geometry.h): the trainer's
 * unit padding and tied embedding, the MLM head's rows, the tensors the
 * optimizer's state is laid out over.
 */
#include "geometry.h"

#include "src/model/model.h"

#include "mpi/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void plan_geo_model(PlanGeo *g, const Config *c, int ranks, int micro, int seq, int accum,
                    int recompute, double mask_rate) {
    Model m;
    model_layout(&m, &c->model, ranks, MODEL_ALIGN_FLOATS);
    memset(g, 0, sizeof *g);
    g->padded = z_malloc(m.nunits * sizeof(size_t), "units");
    for (int u = 0; u < m.nunits; u++) g->padded[u] = m.unit[u].padded;
    PlanModel *p = &g->pm;
    p->nunits = m.nunits, p->padded = g->padded, p->nparams = m.nparams;
    /* the trainer's choice (trainer_build): a tied embedding is unit 0 */
    p->tied = c->model.tied ? 0 : -1;
    p->has_shape = 1, p->model = c->model;
    p->micro = micro, p->seq = seq, p->accum = accum, p->recompute = recompute;
    int N = micro * seq;
    g->mlm = c->data.objective == OBJ_MLM;
    p->head_rows = g->mlm ? model_mlm_head_rows(micro, seq, config_mask_rate_max(c, mask_rate)) : N;
    p->flops_per_token = model_flops_per_token(&m, seq, g->mlm ? mask_rate : 1.0);
    g->tensors = z_calloc((size_t)m.nviews, sizeof(PlanTensor), "tensors");
    for (int i = 0; i < m.nviews; i++) {
        const ParamView *v = &m.view[i];
        g->tensors[i] = (PlanTensor){v->unit,
                                     v->offset,
                                     v->numel,
                                     v->ndim == 2 ? v->shape[0] : 0,
                                     v->ndim == 2 ? v->shape[1] : 0,
                                     v->ndim == 2 && !strncmp(v->name, "embed.", 6)};
    }
    p->tensors = g->tensors, p->ntensors = m.nviews;
    p->optim = c->optim.name, p->states = c->optim.states, p->min_8bit = c->optim.min_8bit;
    p->embed_8bit = c->optim.embed_8bit, p->af_momentum = c->optim.af_beta1 > 0;
    model_free(&m);
}

void plan_geo_bare(PlanGeo *g, double P, const Config *c, int ranks, int micro, int seq) {
    memset(g, 0, sizeof *g);
    size_t q = (size_t)ranks * MODEL_ALIGN_FLOATS, n = (size_t)llround(P);
    g->padded = z_malloc(sizeof(size_t), "units");
    g->padded[0] = (n + q - 1) / q * q;
    PlanModel *p = &g->pm;
    p->nunits = 1, p->padded = g->padded, p->nparams = n, p->tied = -1;
    p->micro = micro, p->seq = seq, p->accum = 1;
    p->flops_per_token = 6.0 * (double)n; /* no attention term: the model has no shape */
    /* one tensor, a vector: a bare count has no shapes to factor */
    g->tensors = z_calloc(1, sizeof(PlanTensor), "tensors");
    g->tensors[0] = (PlanTensor){0, 0, n, 0, 0, 0};
    p->tensors = g->tensors, p->ntensors = 1;
    p->optim = c->optim.name, p->states = c->optim.states, p->min_8bit = c->optim.min_8bit;
    p->embed_8bit = c->optim.embed_8bit, p->af_momentum = c->optim.af_beta1 > 0;
}

size_t plan_geo_padded(const PlanGeo *g) {
    size_t s = 0;
    for (int u = 0; u < g->pm.nunits; u++) s += g->padded[u];
    return s;
}

void plan_geo_free(PlanGeo *g) {
    free(g->padded), free(g->tensors);
    g->padded = NULL, g->tensors = NULL;
}

PlanBytes plan_geo_bytes(int precision, const Config *c) {
    size_t copy = precision ? 2 : 4;
    size_t act = precision == PREC_MIXED ? 2 : 4;
    size_t reduce = precision && c->zero.reduce_dtype == DT_BF16 ? 2 : 4;
    /* m and v in the unit layout (fp32, bf16 states of adamw and lamb); the
     * others are laid out over tensors (src/plan: plan_optim_bytes) */
    size_t states = c->optim.name == OPT_ADAFACTOR   ? 0
                    : c->optim.states == STATES_FP32 ? 8
                    : c->optim.states == STATES_BF16 ? 4
                                                     : 0;
    return (PlanBytes){copy, copy, states, act, copy, precision ? 4 : 0, reduce};
}
