/*
 * infer.h — using a trained model: its last hidden states after a forward,
 * decoding token by token with a key/value cache, and choosing the next
 * token (greedy, temperature, top-k, top-p).
 *
 * The cache holds, per block, the keys and values of every position seen so
 * far ([cap, C] each), so appending n tokens costs the block products of n
 * rows plus attention of those rows over the cached positions: generating a
 * sequence is linear in its length, not quadratic (no recomputation of the
 * prefix). The arithmetic is the training forward's (same kernels, same
 * parameters, dropout off), for causal decoders of either norm placement.
 */
#ifndef ZEROPT_INFER_H
#define ZEROPT_INFER_H

#include "model.h"

/* The last hidden state [B·T, C] of the last model_forward: after the final
 * LayerNorm where the model has one (pre-LN; HF GPT-2's last_hidden_state),
 * the last block's output otherwise (post-LN BERT). */
const float *model_last_hidden(const Model *m);

/* BERT's pooler on the last forward: out[b] = tanh(W·h[b, 0] + bias) for
 * each of its B rows; the model must have one (c.pooler). */
void model_pooled(const Model *m, int B, int T, float *out);

typedef struct {
    Model *m;
    int cap, len; /* positions the cache holds / has filled */
    int rows;     /* rows the scratch buffers hold (tokens appended at once) */
    float *k, *v; /* [L][NH][cap][hs] */
    float *x, *a, *qkv, *y, *p, *f, *g, *mean, *rstd, *logits, *scores;
    float *dbias; /* T5, ALiBi: [blocks or 1][NH][cap] score bias by distance, or NULL */
} KvCache;

/* A cache for up to cap positions (≤ max_positions) and appends of up to
 * rows tokens at a time. 0 on success; err says why not (an encoder). */
int kv_init(KvCache *kv, Model *m, int cap, int rows, char *err, size_t errlen);
/* Append tokens [n] at positions len … len+n−1; returns the logits [V] of the
 * last one. The caller keeps len + n ≤ cap and n ≤ rows. */
const float *kv_append(KvCache *kv, const int32_t *tokens, int n);
void kv_free(KvCache *kv);

typedef struct {
    double temperature; /* 0: greedy (argmax) */
    int top_k;          /* keep the k most likely (0: all) */
    double top_p;       /* keep the smallest set with this much mass (1: all) */
    uint64_t seed;
} Sampler;

/* The next token from logits [V]; draw is the index of this draw (a pure
 * function of seed, draw and logits). order: scratch [V] ints. */
int sample_next(const Sampler *s, const float *logits, int V, uint64_t draw, int *order);

#endif
