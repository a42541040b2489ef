/*
 * plan.h — what a run needs per rank, as arithmetic: memory by category,
 * bytes communicated per step, and an alpha-beta step-time model. A library
 * for `zeropt plan`, the tests that hold live runs to it, and the sweeps.
 *
 * The figures are closed forms written from the design (DESIGN.md, "The
 * ZeRO partition"; mpi/zero.h for the buffers; src/model/model.h for the
 * activation layout), not calls into the code that allocates: the tests
 * compare them with the bytes runs count (kernels/mem.h) and the bytes
 * their collectives hand to MPI, so a change to either side that the other
 * does not follow fails.
 */
#ifndef ZEROPT_PLAN_H
#define ZEROPT_PLAN_H

#include "src/config/config.h"

#include <stddef.h>

/* A tensor as the plan sees it: where it lies in its unit and its shape
 * (rows 0: a vector). The optimizer's state is laid out over tensors. */
typedef struct {
    int unit;
    size_t offset, numel;
    int rows, cols;
    int embedding; /* an embedding table (8bit: fp32 states unless embeddings_8bit) */
} PlanTensor;

/* A model as the plan sees it. */
typedef struct {
    int nunits;
    const size_t *padded; /* [nunits] floats per unit, padded to ranks × alignment */
    size_t nparams;
    int tied; /* the unit the last one also reads (tied embedding), −1: none */
    /* for activations (has_shape 0: a bare parameter count, none) */
    int has_shape;
    ModelConfig model;
    int micro, seq, accum; /* sequences per forward, tokens each, micro-batches per step */
    int head_rows;         /* labelled rows the MLM head is sized for (B·T for decoders) */
    int recompute;
    double flops_per_token;
    /* the optimizer ([optim] name, states, min_8bit_size) and the tensors */
    int optim, states, embed_8bit;
    int af_momentum; /* adafactor keeps m (in `states`: fp32, bf16 or 8bit) */
    long min_8bit;
    const PlanTensor *tensors;
    int ntensors;
} PlanModel;

/* Element sizes: the model copy (params, grads), optimizer state per
 * parameter in the unit layout (m and v: fp32 8, bf16 4; 0 where the state is
 * laid out over tensors: 8bit, adafactor), activations, what all-gathers
 * move (comm) and what gradient reductions move (reduce), the fp32 master
 * copy (mixed precision: 4; 0 in fp32). Mixed precision (master > 0) also
 * has the buffers of mpi/zero.h: fp32 views of the resident units and fp32
 * working gradients at every stage, a bf16 gather arena at stage 3. */
typedef struct {
    size_t param, grad, state, act, comm, master, reduce;
} PlanBytes;

typedef struct {
    double params, grads, optim, buffers, activations, data; /* bytes per category */
    double total;
    double mpi_bytes;  /* bytes handed to the step's collectives (send buffers) */
    double wire_bytes; /* bytes a rank sends per step with ring algorithms */
    int collectives;   /* tensor collectives per step */
    double latency_steps;
} PlanMem;

/* Rank 0's optimizer bytes at a stage: the states of src/optim/optim.h for
 * the elements it updates, the fp32 master, and the sums its step adds over
 * ranks (lamb, adafactor). */
double plan_optim_bytes(const PlanModel *g, int stage, int ranks, const PlanBytes *b);

/* Memory and communication of one rank (rank 0) at a stage. */
PlanMem plan_memory(const PlanModel *g, int stage, int ranks, const PlanBytes *b);

/* The activation arena in elements and the bytes of its index buffers, for
 * the model's layout (src/model/model.c); 0 without a shape. */
double plan_activation_elems(const PlanModel *g);
double plan_index_bytes(const PlanModel *g);

/* Step time from a per-rank peak (FLOP/s), link bandwidth (bytes/s) and
 * per-hop latency (s): compute, communication, and the step with perfect
 * overlap and serialised. */
typedef struct {
    double flops, compute_s, comm_s, comm_bw_s, comm_lat_s, step_overlap, step_serial;
} PlanTime;
PlanTime plan_time(const PlanModel *g, const PlanMem *m, double peak, double bw, double latency);

#endif
