/*
 * internal.h — the optimizer's state layout, shared by state.c (layout,
 * storage, checkpoint images) and step.c (the update passes).
 */
#ifndef ZEROPT_OPTIM_INTERNAL_H
#define ZEROPT_OPTIM_INTERNAL_H

#include "optim.h"

/* A tensor's part in one shard slice of its unit, within what this rank
 * updates: the unit of iteration of every pass. */
typedef struct {
    int view, unit;
    int mine;        /* it lies in slice r: its sums are this rank's to add */
    size_t start, n; /* unit elements [start, start + n) */
    size_t first;    /* index in the tensor of its first element */
    KState s[2];     /* m, v (adafactor: v of a vector, in s[1]) */
} Seg;

struct Optim {
    const Model *m;
    int name, states, rank, nunits, nviews, nseg;
    OptimConfig oc;
    TrainConfig tc;
    OptRange *r;
    Seg *seg;
    void **arr[2];      /* per unit, fp32/bf16 m and v in the unit layout */
    void **pack[2];     /* per unit, 8bit: bytes; adafactor: vectors' v (fp32) */
    float **small[2];   /* per unit, 8bit: fp32 states of small tensors */
    float **amax[2];    /* per unit, 8bit: absmax per block */
    float **row, **col; /* per view, adafactor matrices (NULL for vectors) */
    size_t *rc_off;     /* per view, adafactor: its row sums in sums0, then its column sums */
    float *rdiv;        /* per view, adafactor: max(mean(row), eps1) this step */
    double *wsq;        /* per view: Σw² of the whole tensor (from sums0) */
    size_t nsum[2];
    float **img[2]; /* per unit: checkpoint staging copies (or NULL) */
    int gbf16;      /* gradients arrive as bf16 */
    float *scratch; /* their fp32 conversion, one segment at a time */
    size_t nscratch;
};

#endif
