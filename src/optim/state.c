/*
 * state.c — the optimizer's state: its layout over this rank's part of
 * every tensor, its storage (counted as MEM_OPTIM), and the fp32 images a
 * checkpoint writes and reads (see optim.h).
 */
#include "internal.h"

#include "mpi/err.h"

#include <stdlib.h>
#include <string.h>

const char *optim_name(int name) {
    return name == OPT_LAMB ? "lamb" : name == OPT_ADAFACTOR ? "adafactor" : "adamw";
}

int optim_state_kind(const OptimConfig *oc) {
    if (oc->name != OPT_ADAFACTOR) return OSTATE_MV;
    return oc->af_beta1 > 0 ? OSTATE_FACTORED_M : OSTATE_FACTORED;
}

int optim_compatible(const OptimConfig *a, const OptimConfig *b) {
    return optim_state_kind(a) == optim_state_kind(b);
}

int optim_tensors(const Model *m, int kind, OptTensor *out) {
    int n = 0, adafactor = kind != OSTATE_MV;
    for (int k = 0; k < 2; k++) /* m of every tensor, then v (adafactor: row and column) */
        for (int i = 0; i < m->nviews; i++) {
            const ParamView *v = &m->view[i];
            int factored = adafactor && v->ndim == 2 && k == 1;
            if (kind == OSTATE_FACTORED && k == 0) continue; /* no m */
            for (int f = 0; f < (factored ? 2 : 1); f++, n++) {
                if (!out) continue;
                OptTensor *t = &out[n];
                t->view = i;
                if (factored) {
                    t->kind = f ? OT_COL : OT_ROW;
                    t->ndim = 1;
                    t->dims[0] = f ? v->shape[1] : v->shape[0], t->dims[1] = 1;
                } else {
                    t->kind = k ? OT_V : OT_M;
                    t->ndim = v->ndim;
                    t->dims[0] = v->shape[0], t->dims[1] = v->ndim == 2 ? v->shape[1] : 1;
                }
            }
        }
    return n;
}

/* 8bit: whether a tensor's states are quantized. */
static int quantized(const Optim *o, const ParamView *v) {
    int embed = v->ndim == 2 && !strncmp(v->name, "embed.", 6);
    return (long)v->numel >= o->oc.min_8bit && (!embed || o->oc.embed_8bit);
}

static void *obuf(size_t bytes, const char *what) {
    return bytes ? z_alloc(bytes, MEM_OPTIM, what) : NULL;
}

/* The segments: every view of every unit, cut to [lo, hi) and at slice
 * boundaries, in unit and element order. With out NULL, only counted. */
static int segments(const Model *m, const OptRange *r, int rank, Seg *out) {
    int n = 0;
    for (int u = 0; u < m->nunits; u++) {
        const Unit *U = &m->unit[u];
        size_t S = r[u].shard;
        for (int i = U->first_view; i < U->first_view + U->nviews; i++) {
            const ParamView *v = &m->view[i];
            size_t a = v->offset > r[u].lo ? v->offset : r[u].lo;
            size_t b = v->offset + v->numel < r[u].hi ? v->offset + v->numel : r[u].hi;
            while (a < b) {
                size_t k = a / S, e = (k + 1) * S < b ? (k + 1) * S : b;
                if (out) {
                    Seg *s = &out[n];
                    memset(s, 0, sizeof *s);
                    s->view = i, s->unit = u, s->mine = (int)k == rank;
                    s->start = a, s->n = e - a, s->first = a - v->offset;
                }
                n++;
                a = e;
            }
        }
    }
    return n;
}

Optim *optim_create(const Model *m, const Config *cfg, const OptRange *r, int rank) {
    Optim *o = z_calloc(1, sizeof *o, "optimizer");
    o->m = m, o->oc = cfg->optim, o->tc = cfg->train, o->rank = rank, o->nunits = m->nunits;
    o->nviews = m->nviews;
    o->name = cfg->optim.name, o->states = cfg->optim.states;
    o->gbf16 = cfg->train.precision == DT_BF16;
    o->r = z_malloc(m->nunits * sizeof *r, "optimizer");
    memcpy(o->r, r, m->nunits * sizeof *r);
    o->nseg = segments(m, r, rank, NULL);
    o->seg = z_calloc(o->nseg ? o->nseg : 1, sizeof(Seg), "optimizer segments");
    segments(m, r, rank, o->seg);
    for (int k = 0; k < 2; k++) {
        o->arr[k] = z_calloc(m->nunits, sizeof(void *), "optimizer");
        o->pack[k] = z_calloc(m->nunits, sizeof(void *), "optimizer");
        o->small[k] = z_calloc(m->nunits, sizeof(float *), "optimizer");
        o->amax[k] = z_calloc(m->nunits, sizeof(float *), "optimizer");
        o->img[k] = z_calloc(m->nunits, sizeof(float *), "optimizer");
    }
    o->row = z_calloc(m->nviews, sizeof(float *), "optimizer");
    o->col = z_calloc(m->nviews, sizeof(float *), "optimizer");
    o->rc_off = z_calloc(m->nviews, sizeof(size_t), "optimizer");
    o->rdiv = z_calloc(m->nviews, sizeof(float), "optimizer");
    o->wsq = z_calloc(m->nviews, sizeof(double), "optimizer");
    const char *what[2] = {"optimizer m", "optimizer v"};
    int adam = o->name != OPT_ADAFACTOR;
    /* which states exist and how each is encoded: adamw and lamb keep m and
     * v in [optim] states; adafactor keeps its momentum (when beta1 > 0) in
     * [optim] states and a vector's v in fp32 (a matrix's v is factored) */
    int has[2] = {adam || o->oc.af_beta1 > 0, adam};
    int enc[2] = {o->states, adam ? o->states : STATES_FP32};
    /* per unit: how much packed storage its segments need */
    for (int u = 0; u < m->nunits; u++) {
        size_t q = 0, f = 0, nb = 0, vv = 0;
        for (int i = 0; i < o->nseg; i++) {
            const Seg *s = &o->seg[i];
            if (s->unit != u) continue;
            const ParamView *v = &m->view[s->view];
            if (o->states == STATES_8BIT && quantized(o, v))
                q += s->n, nb += k_q8_blocks(s->n);
            else if (o->states == STATES_8BIT)
                f += s->n;
            if (!adam && v->ndim != 2) vv += s->n; /* adafactor vectors: fp32 v, packed */
        }
        for (int k = 0; k < 2; k++) {
            if (has[k] && enc[k] != STATES_8BIT)
                o->arr[k][u] = obuf(r[u].len * (enc[k] == STATES_BF16 ? 2 : 4), what[k]);
            if (has[k] && enc[k] == STATES_8BIT) {
                o->pack[k][u] = obuf(q, what[k]);
                o->small[k][u] = obuf(f * 4, what[k]);
                o->amax[k][u] = obuf(nb * 4, "optimizer absmax");
            }
        }
        if (!adam) o->pack[1][u] = obuf(vv * 4, what[1]);
    }
    /* the segments' views of that storage */
    size_t *qo = z_calloc(m->nunits, sizeof(size_t), "optimizer"),
           *fo = z_calloc(m->nunits, sizeof(size_t), "optimizer"),
           *bo = z_calloc(m->nunits, sizeof(size_t), "optimizer"),
           *vo = z_calloc(m->nunits, sizeof(size_t), "optimizer");
    for (int i = 0; i < o->nseg; i++) {
        Seg *s = &o->seg[i];
        int u = s->unit;
        const ParamView *v = &m->view[s->view];
        size_t at = s->start - r[u].base;
        for (int k = 0; k < 2; k++) {
            KState *st = &s->s[k];
            if (!has[k]) {
                if (k == 1 && v->ndim != 2) /* adafactor: a vector's own v */
                    *st = (KState){KST_F32, (float *)o->pack[1][u] + vo[u], NULL, NULL, 0, 0};
            } else if (enc[k] == STATES_FP32) {
                *st = (KState){KST_F32, (float *)o->arr[k][u] + at, NULL, NULL, 0, 0};
            } else if (enc[k] == STATES_BF16) {
                *st = (KState){KST_BF16, (uint16_t *)o->arr[k][u] + at, NULL, NULL, 0, s->start};
            } else if (quantized(o, v)) {
                *st = (KState){KST_Q8,
                               (uint8_t *)o->pack[k][u] + qo[u],
                               o->amax[k][u] + bo[u],
                               k_q8_code(k == 0),
                               0,
                               0};
            } else {
                *st = (KState){KST_F32, o->small[k][u] + fo[u], NULL, NULL, 0, 0};
            }
        }
        if (o->states == STATES_8BIT && quantized(o, v))
            qo[u] += s->n, bo[u] += k_q8_blocks(s->n);
        else if (o->states == STATES_8BIT)
            fo[u] += s->n;
        if (!adam && v->ndim != 2) vo[u] += s->n;
    }
    free(qo), free(fo), free(bo), free(vo);
    /* sums: Σw² per tensor (lamb, adafactor); adafactor's row and column sums */
    size_t nv = (size_t)m->nviews;
    if (o->name != OPT_ADAMW) o->nsum[0] = o->nsum[1] = nv;
    if (o->name == OPT_ADAFACTOR)
        for (int i = 0; i < m->nviews; i++) {
            const ParamView *v = &m->view[i];
            if (v->ndim != 2) continue;
            o->rc_off[i] = o->nsum[0];
            o->nsum[0] += (size_t)v->shape[0] + (size_t)v->shape[1];
            o->row[i] = obuf((size_t)v->shape[0] * 4, "adafactor row factor");
            o->col[i] = obuf((size_t)v->shape[1] * 4, "adafactor column factor");
        }
    return o;
}

void optim_free(Optim *o) {
    if (!o) return;
    optim_release(o);
    for (int k = 0; k < 2; k++) {
        for (int u = 0; u < o->nunits; u++) {
            k_free(o->arr[k][u]), k_free(o->pack[k][u]), k_free(o->small[k][u]);
            k_free(o->amax[k][u]);
        }
        free(o->arr[k]), free(o->pack[k]), free(o->small[k]), free(o->amax[k]), free(o->img[k]);
    }
    /* the model may be gone by now: the counts are the optimizer's own */
    for (int i = 0; i < o->nviews; i++) k_free(o->row[i]), k_free(o->col[i]);
    free(o->row), free(o->col), free(o->rc_off), free(o->rdiv), free(o->wsq);
    free(o->seg), free(o->r), free(o);
}

size_t optim_nsums(const Optim *o, int phase) {
    return o->nsum[phase ? 1 : 0];
}

/* ------------------------------------------------------------------------- */
/* checkpoint images                                                          */

float *optim_image(Optim *o, int kind, int u, int fill) {
    int k = kind == OT_M ? 0 : 1;
    int fp32 = o->states == STATES_FP32;
    if (o->name == OPT_ADAFACTOR && k == 0 && (fp32 || o->oc.af_beta1 <= 0))
        return o->arr[0][u]; /* momentum in fp32, or none (NULL) */
    if (o->name != OPT_ADAFACTOR && fp32) return o->arr[k][u];
    if (!o->img[k][u])
        o->img[k][u] = z_calloc(o->r[u].len ? o->r[u].len : 1, sizeof(float), "state staging");
    float *img = o->img[k][u];
    if (fill)
        for (int i = 0; i < o->nseg; i++) {
            const Seg *s = &o->seg[i];
            if (s->unit == u && s->s[k].data)
                k_state_get(&s->s[k], s->n, 0, s->n, img + (s->start - o->r[u].base));
        }
    return img;
}

void optim_commit(Optim *o) {
    for (int i = 0; i < o->nseg; i++) {
        const Seg *s = &o->seg[i];
        for (int k = 0; k < 2; k++) {
            const float *img = o->img[k][s->unit];
            if (img && s->s[k].data)
                k_state_set(&s->s[k], s->n, img + (s->start - o->r[s->unit].base));
        }
    }
    optim_release(o);
}

void optim_release(Optim *o) {
    for (int k = 0; k < 2; k++)
        for (int u = 0; u < o->nunits; u++) free(o->img[k][u]), o->img[k][u] = NULL;
}

float *optim_factor(Optim *o, int kind, int view) {
    return kind == OT_ROW ? o->row[view] : kind == OT_COL ? o->col[view] : NULL;
}
