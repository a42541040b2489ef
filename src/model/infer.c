/*
 * infer.c — last hidden states, the key/value-cached decoder and the next-
 * token sampler (see infer.h).
 */
#include "infer.h"
#include "positions.h"

#include "kernels/kernels.h"
#include "kernels/rng.h"
#include "mpi/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define P(u, off) (m->unit[u].params + (off))

const float *model_last_hidden(const Model *m) {
    return m->hl.norm_w >= 0 ? m->lnf : m->blk[m->c.layers - 1].out;
}

void model_pooled(const Model *m, int B, int T, float *out) {
    int C = m->c.width, h = m->c.layers + 1;
    const float *hid = model_last_hidden(m);
    float *first = z_malloc((size_t)B * C * sizeof(float), "pooler");
    for (int b = 0; b < B; b++)
        memcpy(first + (size_t)b * C, hid + (size_t)b * T * C, C * sizeof(float));
    k_matmul_fwd(out, first, P(h, m->hl.pool_w), B, C, C);
    k_bias_fwd(out, P(h, m->hl.pool_b), B, C);
    for (size_t i = 0; i < (size_t)B * C; i++) out[i] = tanhf(out[i]);
    free(first);
}

int kv_init(KvCache *kv, Model *m, int cap, int rows, char *err, size_t errlen) {
    memset(kv, 0, sizeof *kv);
    if (m->c.arch != ARCH_DECODER)
        return z_fail(err, errlen, "generation needs a causal decoder; this model is an encoder");
    if (cap > m->c.max_positions) cap = m->c.max_positions;
    if (rows > cap) rows = cap;
    int L = m->c.layers, C = m->c.width, F = m->c.ffn, V = m->c.vocab_size;
    size_t R = (size_t)rows;
    kv->m = m, kv->cap = cap, kv->rows = rows;
    kv->k = z_malloc((size_t)L * cap * C * sizeof(float), "kv cache");
    kv->v = z_malloc((size_t)L * cap * C * sizeof(float), "kv cache");
    kv->x = z_malloc(R * C * sizeof(float), "kv");
    kv->a = z_malloc(R * C * sizeof(float), "kv");
    kv->qkv = z_malloc(R * 3 * C * sizeof(float), "kv");
    kv->y = z_malloc(R * C * sizeof(float), "kv");
    kv->p = z_malloc(R * C * sizeof(float), "kv");
    kv->f = z_malloc(R * F * sizeof(float), "kv");
    kv->g = z_malloc(R * F * sizeof(float), "kv");
    kv->mean = z_malloc(R * sizeof(float), "kv");
    kv->rstd = z_malloc(R * sizeof(float), "kv");
    kv->logits = z_malloc((size_t)V * sizeof(float), "kv");
    kv->scores = z_malloc((size_t)cap * sizeof(float), "kv");
    /* T5 and ALiBi: the score bias by distance, per block (its table) or shared */
    const ModelConfig *c = &m->c;
    if (c->positions == POS_T5 || c->positions == POS_ALIBI) {
        int per = c->positions == POS_T5 && !c->t5_shared, nb = per ? L : 1;
        size_t one = (size_t)c->heads * cap;
        kv->dbias = z_malloc(nb * one * sizeof(float), "kv");
        for (int l = 0; l < nb; l++)
            pos_dbias_fill(c, c->positions == POS_T5 ? P(1 + l, m->bl.rel_w) : NULL, cap,
                           kv->dbias + l * one);
    }
    return 0;
}

void kv_free(KvCache *kv) {
    float *b[] = {kv->k, kv->v, kv->x,    kv->a,    kv->qkv,    kv->y,      kv->p,
                  kv->f, kv->g, kv->mean, kv->rstd, kv->logits, kv->scores, kv->dbias};
    for (size_t i = 0; i < sizeof b / sizeof *b; i++) free(b[i]);
    memset(kv, 0, sizeof *kv);
}

/* x = LN(x) with the norm at offsets (w, b) of unit u */
static void norm(KvCache *kv, float *out, const float *in, int u, long w, long b, int n) {
    Model *m = kv->m;
    k_layernorm_fwd(out, kv->mean, kv->rstd, in, P(u, w), P(u, b), n, m->c.width, m->c.ln_eps);
}

/* the attention half: x → qkv → cache → y → p = y·Wprojᵀ + b */
static void attn(KvCache *kv, int l, const float *in, int n) {
    Model *m = kv->m;
    int u = 1 + l, C = m->c.width;
    k_matmul_fwd(kv->qkv, in, P(u, m->bl.qkv_w), n, C, 3 * C);
    k_bias_fwd(kv->qkv, P(u, m->bl.qkv_b), n, 3 * C);
    int NH = m->c.heads, hs = C / NH;
    if (m->c.qk_norm) { /* in place, row by row */
        k_layernorm_fwd_ld(kv->qkv, 3 * C, kv->mean, kv->rstd, kv->qkv, 3 * C, P(u, m->bl.qn_w),
                           P(u, m->bl.qn_b), n, C, m->c.ln_eps);
        k_layernorm_fwd_ld(kv->qkv + C, 3 * C, kv->mean, kv->rstd, kv->qkv + C, 3 * C,
                           P(u, m->bl.kn_w), P(u, m->bl.kn_b), n, C, m->c.ln_eps);
    }
    if (m->c.positions == POS_ROPE) k_rope_fwd(kv->qkv, 1, n, kv->len, C, NH, m->c.rope_base);
    /* the new keys and values into the cache, [NH][cap][hs] per block */
    float *K = kv->k + (size_t)l * kv->cap * C, *V = kv->v + (size_t)l * kv->cap * C;
    for (int i = 0; i < n; i++)
        for (int h = 0; h < NH; h++) {
            size_t at = ((size_t)h * kv->cap + kv->len + i) * hs;
            const float *row = kv->qkv + (size_t)i * 3 * C + h * hs;
            memcpy(K + at, row + C, hs * sizeof(float));
            memcpy(V + at, row + 2 * C, hs * sizeof(float));
        }
    const float *db = NULL;
    if (kv->dbias) db = kv->dbias + (m->c.t5_shared ? 0 : (size_t)l * NH * kv->cap);
    int win = model_layer_window(&m->c, l) ? m->c.window : 0;
    k_attention_cached(kv->y, kv->scores, kv->qkv, 3 * C, K, V, db, n, kv->len, C, NH, kv->cap, win,
                       m->c.global_tokens);
    k_matmul_fwd(kv->p, kv->y, P(u, m->bl.proj_w), n, C, C);
    k_bias_fwd(kv->p, P(u, m->bl.proj_b), n, C);
}

/* the FFN half: p = gelu(in·Wfcᵀ + b)·Wprojᵀ + b */
static void ffn(KvCache *kv, int l, const float *in, int n) {
    Model *m = kv->m;
    int u = 1 + l, C = m->c.width, F = m->c.ffn;
    k_matmul_fwd(kv->f, in, P(u, m->bl.fc_w), n, C, F);
    k_bias_fwd(kv->f, P(u, m->bl.fc_b), n, F);
    k_gelu_fwd(kv->g, kv->f, (size_t)n * F, m->c.gelu);
    k_matmul_fwd(kv->p, kv->g, P(u, m->bl.fcp_w), n, F, C);
    k_bias_fwd(kv->p, P(u, m->bl.fcp_b), n, C);
}

const float *kv_append(KvCache *kv, const int32_t *tokens, int n) {
    Model *m = kv->m;
    int L = m->c.layers, C = m->c.width, V = m->c.vocab_size, h = L + 1;
    size_t nC = (size_t)n * C;
    int32_t pos[n];
    for (int i = 0; i < n; i++) pos[i] = kv->len + i;
    /* x = tok[x] + pos[t] (+ LN for models that normalise embeddings) */
    k_embedding_fwd(kv->x, tokens, P(0, m->el.tok), n, C, 0);
    if (m->el.pos >= 0) k_embedding_fwd(kv->x, pos, P(0, m->el.pos), n, C, 1);
    if (m->el.norm_w >= 0) {
        norm(kv, kv->a, kv->x, 0, m->el.norm_w, m->el.norm_b, n);
        memcpy(kv->x, kv->a, nC * sizeof(float));
    }
    for (int l = 0; l < L; l++) {
        int u = 1 + l;
        if (m->c.norm == NORM_PRE) { /* x += Attn(LN1 x) ; x += FFN(LN2 x) */
            norm(kv, kv->a, kv->x, u, m->bl.ln1_w, m->bl.ln1_b, n);
            attn(kv, l, kv->a, n);
            k_accum(kv->x, kv->p, nC);
            norm(kv, kv->a, kv->x, u, m->bl.ln2_w, m->bl.ln2_b, n);
            ffn(kv, l, kv->a, n);
            k_accum(kv->x, kv->p, nC);
        } else { /* x = LN1(α·x + Attn x) ; x = LN2(α·x + FFN x) */
            double al = m->c.init == INIT_DEEPNORM ? model_res_alpha(&m->c) : 1;
            attn(kv, l, kv->x, n);
            k_axpy(kv->p, al, kv->x, nC);
            norm(kv, kv->x, kv->p, u, m->bl.ln1_w, m->bl.ln1_b, n);
            ffn(kv, l, kv->x, n);
            k_axpy(kv->p, al, kv->x, nC);
            norm(kv, kv->x, kv->p, u, m->bl.ln2_w, m->bl.ln2_b, n);
        }
    }
    kv->len += n;
    /* logits of the last row only: LNf(x) · Wdecᵀ */
    const float *last = kv->x + (size_t)(n - 1) * C;
    if (m->hl.norm_w >= 0) {
        norm(kv, kv->a, last, h, m->hl.norm_w, m->hl.norm_b, 1);
        last = kv->a;
    }
    const float *W = m->c.tied ? P(0, m->el.tok) : P(h, m->hl.dec_w);
    k_matmul_fwd(kv->logits, last, W, 1, C, V);
    return kv->logits;
}

/* ---- choosing the next token --------------------------------------------- */

static const float *sort_key;
static int by_logit_desc(const void *a, const void *b) {
    float x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
    if (x != y) return x < y ? 1 : -1;
    return *(const int *)a - *(const int *)b; /* ties: the lower id first */
}

int sample_next(const Sampler *s, const float *logits, int V, uint64_t draw, int *order) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i; /* argmax, the first of equals */
    if (s->temperature <= 0) return best;
    /* candidates by decreasing logit; keep the top k, then the smallest
     * prefix whose probability reaches top_p; draw from the renormalised rest */
    for (int i = 0; i < V; i++) order[i] = i;
    sort_key = logits;
    qsort(order, (size_t)V, sizeof *order, by_logit_desc);
    int keep = s->top_k > 0 && s->top_k < V ? s->top_k : V;
    double mx = logits[order[0]], z = 0;
    for (int r = 0; r < keep; r++) z += exp((logits[order[r]] - mx) / s->temperature);
    if (s->top_p > 0 && s->top_p < 1) {
        double cum = 0;
        for (int r = 0; r < keep; r++) {
            cum += exp((logits[order[r]] - mx) / s->temperature) / z;
            if (cum >= s->top_p) {
                keep = r + 1;
                break;
            }
        }
        z = 0;
        for (int r = 0; r < keep; r++) z += exp((logits[order[r]] - mx) / s->temperature);
    }
    double u = k_rng_uniform(k_rng_child(s->seed, 0x6E78u), draw) * z, acc = 0;
    for (int r = 0; r < keep; r++) {
        acc += exp((logits[order[r]] - mx) / s->temperature);
        if (u < acc) return order[r];
    }
    return order[keep - 1];
}
