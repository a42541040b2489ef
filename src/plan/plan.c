/*
 * plan.c — the arithmetic of plan.h.
 */
#include "plan.h"

#include <math.h>

/* every activation view starts 64-byte aligned: rounded up to 16 floats */
static double al(double n) {
    return ceil(n / 16) * 16;
}

/* The windowed kernel's geometry (kernels/cpu/attention_window.c): query
 * blocks of bq = min(T, 64) rows over key spans W ≤ bq + lo + hi wide, k
 * global keys and rows. Its probabilities per (sample, head) and scratch. */
static void window_sizes(const ModelConfig *c, double T, double *probs, double *scratch) {
    int causal = c->arch == ARCH_DECODER;
    double k = c->global_tokens < T ? c->global_tokens : T;
    double lo = causal ? c->window - 1 : c->window / 2, hi = causal ? 0 : c->window / 2;
    lo = lo < T - 1 ? lo : T - 1, hi = hi < T - 1 ? hi : T - 1;
    double bq = T < 64 ? T : 64, nblk = ceil(T / bq), W = bq + lo + hi < T ? bq + lo + hi : T;
    *probs = nblk * bq * (W + k) + k * T;
    *scratch = 2 * (bq * (W + k) + k * T);
}

/* Elements of block l's saved attention probabilities */
static double attn_probs(const ModelConfig *c, int l, double B, double T) {
    int win = c->attention == ATTN_WINDOW && !(c->full_every > 0 && l % c->full_every == 0);
    double p = T * T, scr;
    if (win) window_sizes(c, T, &p, &scr);
    return B * c->heads * p;
}

/* The arena of src/model/model.c, view by view: N = B·T rows, R labelled
 * rows at the MLM head (encoder), V vocabulary, NH heads. */
double plan_activation_elems(const PlanModel *g) {
    if (!g->has_shape) return 0;
    const ModelConfig *c = &g->model;
    double B = g->micro, T = g->seq, N = B * T, C = c->width, F = c->ffn, V = c->vocab_size;
    int enc = c->arch == ARCH_ENCODER, post = c->norm == NORM_POST, rc = g->recompute;
    double R = enc ? g->head_rows : 0, rows = enc ? R : N;
    /* embeddings: sum, its LayerNorm (encoder) with mean and rstd, dropout output */
    double e = al(N * C) + (enc ? al(N * C) : 0) + 2 * al(N) + al(N * C);
    /* one block's saved activations; post-LN with recomputation keeps no ln2 */
    double qk = c->qk_norm ? al(2 * N * C) + 2 * al(2 * N) : 0; /* QK-LayerNorm's inputs, stats */
    double blk = al(N * C) + 2 * al(N) + al(3 * N * C) + qk + 3 * al(N * C) +
                 (post && rc ? 0 : al(N * C)) + 2 * al(N) + 2 * al(N * F) + al(N * C) +
                 (post ? al(N * C) : 0);
    /* and its attention probabilities (recomputation: one buffer, the largest) */
    double att = 0, att_max = 0;
    for (int l = 0; l < c->layers; l++) {
        double a = al(attn_probs(c, l, B, T));
        att += a, att_max = a > att_max ? a : att_max;
    }
    /* each block's output: post-LN without recomputation reuses ln2 */
    double outs = post && !rc ? 0 : c->layers * al(N * C);
    double blocks = (rc ? 1 : c->layers) * blk + (rc ? att_max : att) + outs;
    /* final norm, MLM head rows, logits (softmax in place), losses */
    double head = al(N * C) + 2 * al(N) + 4 * al(R * C) + 2 * al(R) + al(rows * V) + al(rows);
    /* backward scratch: 4 (N, C), dqkv, datty, 2 (N, F), 2 (R, C), attention */
    double scr = 2 * T * T, wp, ws; /* attention scratch: the larger kernel's */
    if (c->attention == ATTN_WINDOW) {
        window_sizes(c, T, &wp, &ws);
        scr = ws > scr ? ws : scr;
    }
    double bwd = 4 * al(N * C) + al(3 * N * C) + al(N * C) + 2 * al(N * F) + 2 * al(R * C) +
                 al(scr) + (c->qk_norm ? al(2 * N * C) : 0); /* QK-LayerNorm's dq, dk */
    /* the relative score bias by offset and its gradient (T5; ALiBi: the bias) */
    double rel = c->heads * (2 * T - 1);
    if (c->positions == POS_T5 || c->positions == POS_ALIBI) bwd += al(rel);
    if (c->positions == POS_T5) bwd += al(rel);
    return e + blocks + head + bwd;
}

double plan_index_bytes(const PlanModel *g) {
    if (!g->has_shape) return 0;
    double N = (double)g->micro * g->seq;
    return 4 * (2 * N) + 4 * N + 4 * N + 8.0 * g->micro; /* positions, rows, labels, seeds */
}

/* 8-bit state bytes of one tensor part: q8 (2 bytes and two absmax floats
 * per block of 2048) or fp32 m, v for small tensors. */
static double q8_part(const PlanModel *g, const PlanTensor *t, double n) {
    if ((long)t->numel < g->min_8bit || (t->embedding && !g->embed_8bit)) return 8 * n;
    return 2 * n + 8 * ceil(n / 2048);
}

double plan_optim_bytes(const PlanModel *g, int stage, int ranks, const PlanBytes *b) {
    double full = 0, shard = 0, bytes = 0;
    for (int u = 0; u < g->nunits; u++) full += (double)g->padded[u];
    shard = full / ranks;
    double own = stage == 0 ? full : shard;
    bytes += own * (double)(b->state + b->master);
    int adafactor = g->optim == OPT_ADAFACTOR;
    if (adafactor && g->af_momentum && g->states != STATES_8BIT) /* m, fp32 or bf16 */
        bytes += own * (g->states == STATES_BF16 ? 2 : 4);
    if (adafactor || g->states == STATES_8BIT) {
        /* rank 0's part of each tensor, cut at the slice boundaries k·S */
        for (int i = 0; i < g->ntensors; i++) {
            const PlanTensor *t = &g->tensors[i];
            size_t S = g->padded[t->unit] / (size_t)ranks;
            size_t a = t->offset, e = t->offset + t->numel;
            if (stage > 0 && e > S) e = S;
            while (a < e) {
                size_t k = a / S, end = (k + 1) * S < e ? (k + 1) * S : e;
                double n = (double)(end - a);
                if (!adafactor) bytes += q8_part(g, t, n);
                if (adafactor && t->rows == 0) bytes += 4 * n; /* a vector's v */
                if (adafactor && g->af_momentum && g->states == STATES_8BIT)
                    bytes += q8_part(g, t, n) / 2; /* m alone: half of m and v */
                a = end;
            }
            if (adafactor && t->rows > 0) bytes += 4.0 * (t->rows + t->cols); /* row, column */
        }
    }
    if (g->optim != OPT_ADAMW) { /* the loss, norm and flag, Σw² and Σu² per tensor */
        double n = 3 + 2.0 * g->ntensors;
        for (int i = 0; adafactor && i < g->ntensors; i++)
            if (g->tensors[i].rows > 0) n += g->tensors[i].rows + g->tensors[i].cols;
        bytes += 8 * n;
    }
    return bytes;
}

PlanMem plan_memory(const PlanModel *g, int stage, int ranks, const PlanBytes *b) {
    PlanMem m = {0};
    double full = 0, maxwork = 0, arena = 0;
    for (int u = 0; u < g->nunits; u++) {
        double p = (double)g->padded[u];
        full += p;
        if (u != g->tied && p > maxwork) maxwork = p;
        double pair = p + (u + 1 < g->nunits ? (double)g->padded[u + 1] : 0);
        if (pair > arena) arena = pair;
    }
    double tied = g->tied >= 0 ? (double)g->padded[g->tied] : 0, shard = full / ranks;
    if (g->tied >= 0 && tied + g->padded[g->nunits - 1] > arena)
        arena = tied + (double)g->padded[g->nunits - 1];
    m.params = (stage <= 2 ? full : shard) * b->param;
    m.grads = (stage <= 1 ? full : shard) * b->grad;
    m.optim = plan_optim_bytes(g, stage, ranks, b);
    if (b->master) { /* fp32 working gradients and views at every stage */
        m.buffers = (2 * maxwork + tied) * 4 + arena * 4;
        if (stage == 3) m.buffers += arena * b->param; /* the bf16 gather arena */
    } else {
        if (stage >= 2) m.buffers = (2 * maxwork + tied) * b->grad; /* working + tied gradients */
        if (stage == 3) m.buffers += arena * b->param;              /* the gather arena */
    }
    m.activations = plan_activation_elems(g) * b->act + plan_index_bytes(g);
    if (g->has_shape) /* the step's tokens, labels and positions */
        m.data = (double)g->accum * g->micro * (8.0 * g->seq + 8);
    m.total = m.params + m.grads + m.optim + m.buffers + m.activations + m.data;
    /* communication: what the collectives are handed per step (a
     * micro-batches), and what a ring sends, accumulation 1 */
    double a = g->has_shape ? g->accum : 1, e = b->comm, r = b->reduce,
           f = (double)(ranks - 1) / ranks;
    if (stage == 0)
        m.mpi_bytes = full * r;
    else if (stage <= 2)
        m.mpi_bytes = (stage == 1 ? 1 : a) * full * r + shard * e;
    else
        m.mpi_bytes = a * (full * r + (2 * shard + (g->tied >= 0 ? 2 * tied / ranks : 0)) * e);
    /* a ring all-reduce is a reduce-scatter and an all-gather, both of the
     * reduced type */
    if (stage == 0)
        m.wire_bytes = 2 * full * f * r;
    else
        m.wire_bytes =
            full * f * r + ((stage < 3 ? 1 : 2) * full * f + (stage == 3 ? 2 * tied * f : 0)) * e;
    /* ring collectives, each N−1 latency steps: stage 0 one all-reduce per
     * unit (2(N−1) steps), stages 1–2 a reduce-scatter and an all-gather per
     * unit, stage 3 two all-gathers and a reduce-scatter per unit plus the
     * two re-gathers of a tied unit for the last */
    int U = g->nunits;
    if (stage == 0)
        m.collectives = U, m.latency_steps = 2.0 * (ranks - 1) * U;
    else if (stage <= 2)
        m.collectives = 2 * U, m.latency_steps = (double)(ranks - 1) * m.collectives;
    else
        m.collectives = 3 * U + (g->tied >= 0 ? 2 : 0),
        m.latency_steps = (double)(ranks - 1) * m.collectives;
    if (ranks == 1) m.collectives = 0, m.latency_steps = 0;
    return m;
}

PlanTime plan_time(const PlanModel *g, const PlanMem *m, double peak, double bw, double latency) {
    PlanTime t = {0};
    t.flops = (double)g->micro * g->seq * g->flops_per_token; /* accumulation 1 */
    t.compute_s = t.flops / peak;
    t.comm_lat_s = m->latency_steps * latency;
    t.comm_bw_s = m->wire_bytes > 0 ? m->wire_bytes / bw : 0;
    t.comm_s = t.comm_lat_s + t.comm_bw_s;
    t.step_serial = t.compute_s + t.comm_s;
    t.step_overlap = t.compute_s > t.comm_s ? t.compute_s : t.comm_s;
    return t;
}
