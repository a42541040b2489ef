/*
 * model.c — forward and backward of the encoder and decoder, layer by layer,
 * each forward beside its backward. All activations are views into one arena
 * sized from (B, T, config); backward reuses one set of scratch buffers for
 * every block, with the residual-stream gradient carried in d_res.
 *
 * Shapes: N = B·T rows, C width, F ffn, V vocab, R labelled rows (MLM head).
 */
#include "model.h"
#include "positions.h"

#include "kernels/kernels.h"
#include "mpi/err.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* arena                                                                      */

/* One walk places every view in the arena (base != NULL) or only measures the
 * arena (base == NULL, pointers untouched). */
static size_t arena_walk(Model *m, const ModelConfig *c, int B, int T, int R, int sep,
                         float *base) {
    size_t off = 0;
    size_t N = (size_t)B * T, C = c->width, F = c->ffn, V = c->vocab_size;
    int enc = c->arch == ARCH_ENCODER, post = c->norm == NORM_POST;
    size_t rows = enc ? (size_t)R : N, hrows = enc ? rows : 0;
#define TAKE(ptr, n)                                                                               \
    do {                                                                                           \
        if (base) (ptr) = base + off;                                                              \
        off += ((size_t)(n) + 15) / 16 * 16; /* 64-byte aligned views */                           \
    } while (0)
    TAKE(m->emb, N * C);
    TAKE(m->emb_ln, enc ? N * C : 0);
    TAKE(m->emb_ln_mean, N);
    TAKE(m->emb_ln_rstd, N);
    TAKE(m->emb_drop, N * C);
    /* With recomputation every block shares one set of activations; only its
     * output (the next block's input) is kept per block. */
    int rc = m->recompute;
    size_t att_max = 0; /* recomputation: one probability buffer for the largest block */
    for (int l = 0; l < c->layers; l++) {
        size_t n = model_attn_probs(c, l, B, T);
        att_max = n > att_max ? n : att_max;
    }
    for (int l = 0; l < c->layers; l++) {
        BlockActs *a = &m->blk[l];
        if (l == 0 || !rc) {
            TAKE(a->ln1, N * C);
            TAKE(a->ln1_mean, N);
            TAKE(a->ln1_rstd, N);
            TAKE(a->qkv, 3 * N * C);
            TAKE(a->qk_in, c->qk_norm ? 2 * N * C : 0);
            TAKE(a->qk_mean, c->qk_norm ? 2 * N : 0);
            TAKE(a->qk_rstd, c->qk_norm ? 2 * N : 0);
            TAKE(a->att, rc ? att_max : model_attn_probs(c, l, B, T));
            TAKE(a->atty, N * C);
            TAKE(a->attproj, N * C);
            TAKE(a->res1, N * C);
            if (!(post && rc)) TAKE(a->ln2, N * C);
            TAKE(a->ln2_mean, N);
            TAKE(a->ln2_rstd, N);
            TAKE(a->fch, N * F);
            TAKE(a->fch_gelu, N * F);
            TAKE(a->fcproj, N * C);
            TAKE(a->res2, post ? N * C : 0);
        } else if (base) {
            *a = m->blk[0];
        }
        if (post && !rc)
            a->out = a->ln2; /* post-LN: the block's output is its second norm */
        else
            TAKE(a->out, N * C);
        if (post && rc) a->ln2 = a->out;
    }
    TAKE(m->lnf, N * C);
    TAKE(m->lnf_mean, N);
    TAKE(m->lnf_rstd, N);
    TAKE(m->head_in, hrows * C);
    TAKE(m->head_fc, hrows * C);
    TAKE(m->head_gelu, hrows * C);
    TAKE(m->head_ln, hrows * C);
    TAKE(m->head_ln_mean, hrows);
    TAKE(m->head_ln_rstd, hrows);
    TAKE(m->logits, rows * V);
    TAKE(m->probs, sep ? rows * V : 0);
    if (!sep) m->probs = m->logits; /* softmax in place */
    TAKE(m->losses, rows);
    TAKE(m->dres, N * C);
    TAKE(m->dres2, N * C);
    TAKE(m->dbranch, N * C);
    TAKE(m->dln, N * C);
    TAKE(m->dqkv, 3 * N * C);
    TAKE(m->dqk, c->qk_norm ? 2 * N * C : 0);
    TAKE(m->datty, N * C);
    TAKE(m->dfch_gelu, N * F);
    TAKE(m->dfch, N * F);
    TAKE(m->dhead, hrows * C);
    TAKE(m->dhead2, hrows * C);
    size_t sc = k_attention_scratch(T);
    if (c->attention == ATTN_WINDOW) { /* the larger of the two kernels' needs */
        size_t ws =
            k_attention_window_scratch(T, c->window, c->global_tokens, c->arch == ARCH_DECODER);
        sc = ws > sc ? ws : sc;
    }
    TAKE(m->att_scratch, sc);
    int rel = c->positions == POS_T5 || c->positions == POS_ALIBI;
    TAKE(m->relb, rel ? (size_t)c->heads * (2 * T - 1) : 0);
    TAKE(m->drelb, c->positions == POS_T5 ? (size_t)c->heads * (2 * T - 1) : 0);
#undef TAKE
    return off;
}

void model_alloc_acts(Model *m, int B, int T, int head_rows, int separate_probs, int recompute) {
    const ModelConfig *c = &m->c;
    size_t N = (size_t)B * T;
    if (T > c->max_positions)
        z_die("sequence length %d exceeds [model] max_positions = %d", T, c->max_positions);
    if (head_rows <= 0 || head_rows > (int)N) head_rows = (int)N;
    model_free_acts(m);
    m->B = B, m->T = T, m->head_rows = head_rows, m->separate_probs = separate_probs;
    m->recompute = recompute;
    m->blk = z_calloc(c->layers, sizeof(BlockActs), "block activations");
    m->arena_floats = arena_walk(m, c, B, T, head_rows, separate_probs, NULL);
    m->arena = z_alloc(m->arena_floats * sizeof(float), MEM_ACTS, "activations");
    arena_walk(m, c, B, T, head_rows, separate_probs, m->arena);
    if (c->positions != POS_T5 && c->positions != POS_ALIBI) m->relb = NULL;
    if (c->positions != POS_T5) m->drelb = NULL;
    m->pos_ids = z_alloc(2 * N * sizeof(int32_t), MEM_ACTS, "position ids");
    m->rows = z_alloc(N * sizeof(int32_t), MEM_ACTS, "row index");
    m->row_labels = z_alloc(N * sizeof(int32_t), MEM_ACTS, "row labels");
    m->seeds = z_alloc(B * sizeof(uint64_t), MEM_ACTS, "dropout seeds");
}

void model_free_acts(Model *m) {
    k_free(m->arena), k_free(m->pos_ids), k_free(m->rows), k_free(m->row_labels);
    k_free(m->seeds);
    free(m->blk);
    m->arena = NULL, m->blk = NULL, m->pos_ids = m->rows = m->row_labels = NULL, m->seeds = NULL;
}

/* ------------------------------------------------------------------------- */
/* helpers                                                                    */

#define PU(u, off) (m->unit[u].params + (off))
#define GU(u, off) (m->unit[u].grads + (off))

/* Tell the owner of the parameters (ZeRO) where the pass is. */
static void hook(Model *m, int event, int unit) {
    if (m->hook) m->hook(m->hook_ctx, event, unit);
}

/* Dropout streams: one per (step seed, global sample, site); never per rank. */
static uint64_t site_seed(const Batch *b, int i, uint64_t site) {
    uint64_t sample = b->sample_ids ? (uint64_t)b->sample_ids[i] : (uint64_t)i;
    return k_rng_child(k_rng_child(b->seed, sample), site);
}
enum { SITE_EMBED = 1, SITE_ATTN_OUT = 2, SITE_FFN_OUT = 3, SITE_ATTN_PROBS = 4 };
static uint64_t site_tag(int layer, int site) {
    return ((uint64_t)(layer + 1) << 8) | site;
}

static int dropping(const Model *m, const Batch *b) {
    return b->train && m->c.dropout > 0;
}

/* DeepNorm's residual weight α = (2L)^¼ (post-LN blocks), else 1 */
static double res_alpha(const Model *m) {
    return m->c.init == INIT_DEEPNORM ? model_res_alpha(&m->c) : 1.0;
}

/* every sample's stream at one site, into m->seeds */
static const uint64_t *site_seeds(Model *m, const Batch *b, uint64_t tag) {
    for (int i = 0; i < b->B; i++) m->seeds[i] = site_seed(b, i, tag);
    return m->seeds;
}

/* y = α·x + dropout(branch), per-sample masks; sub: over the head's rows
 * alone (m->rows, compacted), their masks those of the whole sequences */
static void resid_fwd(Model *m, const Batch *b, float *y, const float *x, const float *branch,
                      uint64_t tag, double alpha, int sub) {
    int C = m->c.width;
    size_t per = (size_t)b->T * C, N = sub ? (size_t)m->n_rows * C : per * b->B;
    if (!dropping(m, b) && alpha == 1) {
        k_add_fwd(y, x, branch, N);
        return;
    }
    if (dropping(m, b) && sub)
        k_dropout_rows_fwd(y, branch, m->rows, m->n_rows, b->T, C, m->c.dropout,
                           site_seeds(m, b, tag));
    else if (dropping(m, b))
        for (int i = 0; i < b->B; i++)
            k_dropout_fwd(y + i * per, branch + i * per, per, m->c.dropout, site_seed(b, i, tag));
    else
        k_copy(y, branch, N);
    k_axpy(y, alpha, x, N);
}

/* Gradient reaching the dropped branch of a residual: dy itself, or dy masked
 * into scratch (sub: the head's rows, as resid_fwd). */
static const float *resid_branch_bwd(Model *m, const Batch *b, float *scratch, const float *dy,
                                     uint64_t tag, int sub) {
    if (!dropping(m, b)) return dy;
    int C = m->c.width;
    size_t per = (size_t)b->T * C;
    if (sub) {
        k_zero(scratch, (size_t)m->n_rows * C);
        k_dropout_rows_bwd(scratch, dy, m->rows, m->n_rows, b->T, C, m->c.dropout,
                           site_seeds(m, b, tag));
        return scratch;
    }
    k_zero(scratch, per * b->B);
    for (int i = 0; i < b->B; i++)
        k_dropout_bwd(scratch + i * per, dy + i * per, per, m->c.dropout, site_seed(b, i, tag));
    return scratch;
}

/* d(α·x + branch): the residual path takes α·dr (in place), the branch dr
 * itself, which dp holds or aliases (then copied out first) */
static const float *resid_scale_bwd(Model *m, const float *dp, float *dr, size_t n, double alpha) {
    if (alpha == 1) return dp;
    if (dp == dr) {
        k_copy(m->dbranch, dr, n);
        dp = m->dbranch;
    }
    k_axpy(dr, alpha - 1, dr, n);
    return dp;
}

static const uint64_t *attn_seeds(Model *m, const Batch *b, int l) {
    return site_seeds(m, b, site_tag(l, SITE_ATTN_PROBS));
}

static double attn_p(const Model *m, const Batch *b) {
    return b->train ? m->c.attn_dropout : 0;
}

static void zero(float *p, size_t n) {
    k_zero(p, n);
}

/* ------------------------------------------------------------------------- */
/* embeddings: e = tok[x] + pos[t] (+ seg[s]);  encoder: h0 = dropout(LN(e)),  */
/* decoder: h0 = dropout(e)                                                   */

static const float *embed_forward(Model *m, const Batch *b) {
    const ModelConfig *c = &m->c;
    int N = b->B * b->T, C = c->width;
    int32_t *pos = m->pos_ids, *seg0 = m->pos_ids + (size_t)m->B * m->T;
    for (int n = 0; n < N; n++) pos[n] = n % b->T, seg0[n] = 0;
    int pp = c->position_pad_id;
    if (c->positions == POS_ROBERTA) /* pads at row pp, the others from pp + 1 counting non-pads */
        for (int i = 0, k = 0; i < N; i++) {
            if (i % b->T == 0) k = 0;
            pos[i] = b->tokens[i] == pp ? pp : pp + 1 + k++;
        }
    k_embedding_fwd(m->emb, b->tokens, PU(0, m->el.tok), N, C, 0);
    if (m->el.pos >= 0) k_embedding_fwd(m->emb, pos, PU(0, m->el.pos), N, C, 1);
    if (m->el.seg >= 0)
        k_embedding_fwd(m->emb, b->segments ? b->segments : seg0, PU(0, m->el.seg), N, C, 1);
    const float *h = m->emb;
    if (m->el.norm_w >= 0) {
        k_layernorm_fwd(m->emb_ln, m->emb_ln_mean, m->emb_ln_rstd, m->emb, PU(0, m->el.norm_w),
                        PU(0, m->el.norm_b), N, C, c->ln_eps);
        h = m->emb_ln;
    }
    if (dropping(m, b)) {
        size_t per = (size_t)b->T * C;
        for (int i = 0; i < b->B; i++)
            k_dropout_fwd(m->emb_drop + i * per, h + i * per, per, c->dropout,
                          site_seed(b, i, site_tag(-1, SITE_EMBED)));
        h = m->emb_drop;
    }
    return h;
}

static void embed_backward(Model *m, const Batch *b, const float *dh) {
    const ModelConfig *c = &m->c;
    int N = b->B * b->T, C = c->width;
    const float *d = resid_branch_bwd(m, b, m->dbranch, dh, site_tag(-1, SITE_EMBED), 0);
    if (m->el.norm_w >= 0) {
        zero(m->dln, (size_t)N * C);
        k_layernorm_bwd(m->dln, GU(0, m->el.norm_w), GU(0, m->el.norm_b), d, m->emb,
                        PU(0, m->el.norm_w), m->emb_ln_mean, m->emb_ln_rstd, N, C);
        d = m->dln;
    }
    k_embedding_bwd(GU(0, m->el.tok), d, b->tokens, N, C);
    if (m->el.pos >= 0) k_embedding_bwd(GU(0, m->el.pos), d, m->pos_ids, N, C);
    if (m->el.seg >= 0)
        k_embedding_bwd(GU(0, m->el.seg), d,
                        b->segments ? b->segments : m->pos_ids + (size_t)m->B * m->T, N, C);
}

/* ------------------------------------------------------------------------- */
/* attention half of a block, shared by both norm placements:                 */
/*   qkv = a·Wqkvᵀ + b ;  (rope: q, k rotated) ;                              */
/*   y = attention(qkv) (+ relative bias) ;  p = y·Wprojᵀ + b                 */

/* the block whose T5 table block l reads: its own, or block 0's when shared */
static int rel_owner(const Model *m, int l) {
    return m->c.t5_shared ? 0 : l;
}

/* sub: the last block on the head's rows only (model_forward): attention
 * still reads every row's q, k, v, but only the head's rows of its output go
 * on — gathered, compacted, into a->atty — and the projection runs on those */
static void attn_forward(Model *m, const Batch *b, int l, const float *a_in, int sub) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, N = b->B * b->T, C = c->width, n = sub ? m->n_rows : N;
    float *y = sub ? m->dbranch : a->atty; /* backward scratch, free in a forward */
    k_matmul_fwd(a->qkv, a_in, PU(u, m->bl.qkv_w), N, C, 3 * C);
    k_bias_fwd(a->qkv, PU(u, m->bl.qkv_b), N, 3 * C);
    if (c->qk_norm) { /* q = LNq(q), k = LNk(k) over C, their inputs kept */
        for (int n = 0; n < N; n++)
            memcpy(a->qk_in + (size_t)n * 2 * C, a->qkv + (size_t)n * 3 * C, 2 * C * sizeof(float));
        k_layernorm_fwd_ld(a->qkv, 3 * C, a->qk_mean, a->qk_rstd, a->qk_in, 2 * C,
                           PU(u, m->bl.qn_w), PU(u, m->bl.qn_b), N, C, c->ln_eps);
        k_layernorm_fwd_ld(a->qkv + C, 3 * C, a->qk_mean + N, a->qk_rstd + N, a->qk_in + C, 2 * C,
                           PU(u, m->bl.kn_w), PU(u, m->bl.kn_b), N, C, c->ln_eps);
    }
    if (c->positions == POS_ROPE) k_rope_fwd(a->qkv, b->B, b->T, 0, C, c->heads, c->rope_base);
    /* the score bias from this block's table (T5) or from nothing (ALiBi);
     * blocks that share block 0's table read what block 0 wrote */
    if (m->relb && (c->positions == POS_ALIBI ? l == 0 : rel_owner(m, l) == l))
        pos_relb_fill(c, c->positions == POS_T5 ? PU(u, m->bl.rel_w) : NULL, b->T, m->relb);
    int causal = c->arch == ARCH_DECODER;
    if (model_layer_window(c, l))
        k_attention_window_fwd(y, a->att, m->att_scratch, a->qkv, b->attn_mask, m->relb, b->B, b->T,
                               C, c->heads, causal, c->window, c->global_tokens, attn_p(m, b),
                               attn_seeds(m, b, l));
    else
        k_attention_fwd(y, a->att, m->att_scratch, a->qkv, b->attn_mask, m->relb, b->B, b->T, C,
                        c->heads, causal, attn_p(m, b), attn_seeds(m, b, l));
    if (sub) k_gather_rows(a->atty, y, m->rows, n, C);
    k_matmul_fwd(a->attproj, a->atty, PU(u, m->bl.proj_w), n, C, C);
    k_bias_fwd(a->attproj, PU(u, m->bl.proj_b), n, C);
}

/* dp → d(a_in) accumulated into da_in. sub (the last block on the head's
 * rows): dp holds those rows, compacted; their d(atty) is formed in scratch
 * (R×C, not dp) and scattered to its rows, the others' being 0 */
static void attn_backward(Model *m, const Batch *b, int l, const float *a_in, const float *dp,
                          float *da_in, int sub, float *scratch) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, N = b->B * b->T, C = c->width, n = sub ? m->n_rows : N;
    float *dy = sub ? scratch : m->datty;
    zero(dy, (size_t)n * C);
    k_matmul_bwd(dy, GU(u, m->bl.proj_w), dp, a->atty, PU(u, m->bl.proj_w), n, C, C);
    k_bias_bwd(GU(u, m->bl.proj_b), dp, n, C);
    if (sub) {
        zero(m->datty, (size_t)N * C);
        k_scatter_rows_bwd(m->datty, dy, m->rows, n, C);
    }
    zero(m->dqkv, (size_t)N * 3 * C);
    /* T5: the bias gradient of every block sharing a table gathers in drelb
     * (zeroed by its owner's last user, the first block backward meets) */
    size_t nrel = (size_t)c->heads * (2 * b->T - 1);
    if (m->drelb && (!c->t5_shared || l == c->layers - 1)) zero(m->drelb, nrel);
    if (model_layer_window(c, l))
        k_attention_window_bwd(m->dqkv, m->drelb, m->att_scratch, m->datty, a->qkv, a->att, b->B,
                               b->T, C, c->heads, c->arch == ARCH_DECODER, c->window,
                               c->global_tokens, attn_p(m, b), attn_seeds(m, b, l));
    else
        k_attention_bwd(m->dqkv, m->drelb, m->att_scratch, m->datty, a->qkv, a->att, b->B, b->T, C,
                        c->heads, c->arch == ARCH_DECODER, attn_p(m, b), attn_seeds(m, b, l));
    if (m->drelb && rel_owner(m, l) == l) pos_relb_fold(c, m->drelb, b->T, GU(u, m->bl.rel_w));
    if (c->positions == POS_ROPE) k_rope_bwd(m->dqkv, b->B, b->T, 0, C, c->heads, c->rope_base);
    if (c->qk_norm) { /* through LNq and LNk: dqkv's q and k become their inputs' gradients */
        zero(m->dqk, (size_t)N * 2 * C);
        k_layernorm_bwd_ld(m->dqk, 2 * C, GU(u, m->bl.qn_w), GU(u, m->bl.qn_b), m->dqkv, 3 * C,
                           a->qk_in, 2 * C, PU(u, m->bl.qn_w), a->qk_mean, a->qk_rstd, N, C);
        k_layernorm_bwd_ld(m->dqk + C, 2 * C, GU(u, m->bl.kn_w), GU(u, m->bl.kn_b), m->dqkv + C,
                           3 * C, a->qk_in + C, 2 * C, PU(u, m->bl.kn_w), a->qk_mean + N,
                           a->qk_rstd + N, N, C);
        for (int n = 0; n < N; n++)
            memcpy(m->dqkv + (size_t)n * 3 * C, m->dqk + (size_t)n * 2 * C, 2 * C * sizeof(float));
    }
    k_matmul_bwd(da_in, GU(u, m->bl.qkv_w), m->dqkv, a_in, PU(u, m->bl.qkv_w), N, C, 3 * C);
    k_bias_bwd(GU(u, m->bl.qkv_b), m->dqkv, N, 3 * C);
}

/* FFN half: h = a·Wfcᵀ + b ; g = gelu(h) ; p = g·Wprojᵀ + b */
static void ffn_forward(Model *m, int l, const float *a_in, int N) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, C = c->width, F = c->ffn;
    k_matmul_fwd(a->fch, a_in, PU(u, m->bl.fc_w), N, C, F);
    k_bias_fwd(a->fch, PU(u, m->bl.fc_b), N, F);
    k_gelu_fwd(a->fch_gelu, a->fch, (size_t)N * F, c->gelu);
    k_matmul_fwd(a->fcproj, a->fch_gelu, PU(u, m->bl.fcp_w), N, F, C);
    k_bias_fwd(a->fcproj, PU(u, m->bl.fcp_b), N, C);
}

static void ffn_backward(Model *m, int l, const float *a_in, const float *dp, float *da_in, int N) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, C = c->width, F = c->ffn;
    zero(m->dfch_gelu, (size_t)N * F);
    k_matmul_bwd(m->dfch_gelu, GU(u, m->bl.fcp_w), dp, a->fch_gelu, PU(u, m->bl.fcp_w), N, F, C);
    k_bias_bwd(GU(u, m->bl.fcp_b), dp, N, C);
    k_gelu_bwd(m->dfch, m->dfch_gelu, a->fch, (size_t)N * F, c->gelu);
    k_matmul_bwd(da_in, GU(u, m->bl.fc_w), m->dfch, a_in, PU(u, m->bl.fc_w), N, C, F);
    k_bias_bwd(GU(u, m->bl.fc_b), m->dfch, N, F);
}

/* The last block of an encoder whose head reads only the labelled rows
 * (m->sub_rows): after attention every operation is row-wise (both norm
 * placements), so it runs on those R rows alone, compacted (rows[]
 * ascending), and its output holds them in order — the head's rows. ~5/6 of
 * a block's products and all its element-wise work at 15 % masking; the
 * same sums, in another order. */
static int sub_block(const Model *m, int l) {
    return m->sub_rows && l == m->c.layers - 1;
}

/* ------------------------------------------------------------------------- */
/* pre-LN block:  r1 = x + drop(Attn(LN1(x))) ;  out = r1 + drop(FFN(LN2(r1)))  */

static void block_pre_forward(Model *m, const Batch *b, int l, const float *x) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, sub = sub_block(m, l), N = b->B * b->T, n = sub ? m->n_rows : N, C = c->width;
    k_layernorm_fwd(a->ln1, a->ln1_mean, a->ln1_rstd, x, PU(u, m->bl.ln1_w), PU(u, m->bl.ln1_b), N,
                    C, c->ln_eps);
    attn_forward(m, b, l, a->ln1, sub);
    if (sub) { /* the residual's rows too (scratch free again: attn_forward has gathered) */
        k_gather_rows(m->dbranch, x, m->rows, n, C);
        x = m->dbranch;
    }
    resid_fwd(m, b, a->res1, x, a->attproj, site_tag(l, SITE_ATTN_OUT), 1, sub);
    k_layernorm_fwd(a->ln2, a->ln2_mean, a->ln2_rstd, a->res1, PU(u, m->bl.ln2_w),
                    PU(u, m->bl.ln2_b), n, C, c->ln_eps);
    ffn_forward(m, l, a->ln2, n);
    resid_fwd(m, b, a->out, a->res1, a->fcproj, site_tag(l, SITE_FFN_OUT), 1, sub);
}

/* dr holds d(out) on entry and d(x) on return (the residual stream's gradient
 * accumulates in place). sub: d(out) holds the head's rows, compacted; after
 * attention's path (which may read them through dp) they are spread to their
 * rows through the spare buffer (dres2, which pre-LN blocks do not use). */
static void block_pre_backward(Model *m, const Batch *b, int l, const float *x, float *dr) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, sub = sub_block(m, l), N = b->B * b->T, n = sub ? m->n_rows : N, C = c->width;
    size_t NC = (size_t)N * C, nC = (size_t)n * C;
    const float *dp = resid_branch_bwd(m, b, m->dbranch, dr, site_tag(l, SITE_FFN_OUT), sub);
    zero(m->dln, nC);
    ffn_backward(m, l, a->ln2, dp, m->dln, n);
    k_layernorm_bwd(dr, GU(u, m->bl.ln2_w), GU(u, m->bl.ln2_b), m->dln, a->res1, PU(u, m->bl.ln2_w),
                    a->ln2_mean, a->ln2_rstd, n, C); /* dr = d r1 */
    hook(m, HOOK_PROGRESS, u);
    dp = resid_branch_bwd(m, b, m->dbranch, dr, site_tag(l, SITE_ATTN_OUT), sub);
    zero(m->dln, NC);
    attn_backward(m, b, l, a->ln1, dp, m->dln, sub, m->dfch);
    if (sub) {
        zero(m->dres2, NC);
        k_scatter_rows_bwd(m->dres2, dr, m->rows, n, C);
        k_copy(dr, m->dres2, NC);
    }
    k_layernorm_bwd(dr, GU(u, m->bl.ln1_w), GU(u, m->bl.ln1_b), m->dln, x, PU(u, m->bl.ln1_w),
                    a->ln1_mean, a->ln1_rstd, N, C); /* dr = d x */
}

/* ------------------------------------------------------------------------- */
/* post-LN block (BERT):  ln1 = LN1(α·x + drop(Attn(x))) ;                    */
/*                        out = LN2(α·ln1 + drop(FFN(ln1)))                   */
/* α = 1, or DeepNorm's (2L)^¼                                                */

static void block_post_forward(Model *m, const Batch *b, int l, const float *x) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, sub = sub_block(m, l), N = sub ? m->n_rows : b->B * b->T, C = c->width;
    double al = res_alpha(m);
    attn_forward(m, b, l, x, sub);
    if (sub) { /* the residual's rows too (scratch free again: attn_forward has gathered) */
        k_gather_rows(m->dbranch, x, m->rows, N, C);
        x = m->dbranch;
    }
    resid_fwd(m, b, a->res1, x, a->attproj, site_tag(l, SITE_ATTN_OUT), al, sub);
    k_layernorm_fwd(a->ln1, a->ln1_mean, a->ln1_rstd, a->res1, PU(u, m->bl.ln1_w),
                    PU(u, m->bl.ln1_b), N, C, c->ln_eps);
    ffn_forward(m, l, a->ln1, N);
    resid_fwd(m, b, a->res2, a->ln1, a->fcproj, site_tag(l, SITE_FFN_OUT), al, sub);
    k_layernorm_fwd(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, PU(u, m->bl.ln2_w),
                    PU(u, m->bl.ln2_b), N, C, c->ln_eps); /* a->out == a->ln2 */
}

/* d(out) in dout; d(x) written (not accumulated) into dx. The last block on
 * the head's rows (sub): dout holds those rows; d r1 is formed compacted in
 * dfch's space (free once the FFN's backward is done) and scattered into dx
 * before attention's path adds to it. */
static void block_post_backward(Model *m, const Batch *b, int l, const float *x, const float *dout,
                                float *dx) {
    const ModelConfig *c = &m->c;
    BlockActs *a = &m->blk[l];
    int u = 1 + l, sub = sub_block(m, l), N = sub ? m->n_rows : b->B * b->T, C = c->width;
    size_t NC = (size_t)N * C;
    zero(m->dln, NC);
    k_layernorm_bwd(m->dln, GU(u, m->bl.ln2_w), GU(u, m->bl.ln2_b), dout, a->res2,
                    PU(u, m->bl.ln2_w), a->ln2_mean, a->ln2_rstd, N, C); /* d_b = d r2 */
    double al = res_alpha(m);
    const float *dp = resid_branch_bwd(m, b, m->dbranch, m->dln, site_tag(l, SITE_FFN_OUT), sub);
    dp = resid_scale_bwd(m, dp, m->dln, NC, al);
    ffn_backward(m, l, a->ln1, dp, m->dln, N); /* d_b = d ln1 (α·d r2 + FFN path) */
    float *dr1 = sub ? m->dfch : dx;
    zero(dr1, NC);
    k_layernorm_bwd(dr1, GU(u, m->bl.ln1_w), GU(u, m->bl.ln1_b), m->dln, a->res1,
                    PU(u, m->bl.ln1_w), a->ln1_mean, a->ln1_rstd, N, C); /* dr1 = d r1 */
    hook(m, HOOK_PROGRESS, u);
    dp = resid_branch_bwd(m, b, m->dbranch, dr1, site_tag(l, SITE_ATTN_OUT), sub);
    dp = resid_scale_bwd(m, dp, dr1, NC, al);
    if (sub) {
        zero(dx, (size_t)b->B * b->T * C);
        k_scatter_rows_bwd(dx, dr1, m->rows, N, C);
    }
    attn_backward(m, b, l, x, dp, dx, sub, m->dln); /* dx = α·d r1 + attention path */
}

/* ------------------------------------------------------------------------- */
/* head                                                                       */
/* decoder:  z = LNf(h)·Wtokᵀ at every row                                    */
/* encoder:  rows with a label:  t = gelu(h·Wtrᵀ + b) ; z = LN(t)·Wtokᵀ + bias */
/*           (pre-LN encoders apply the final norm LNf to h first)            */
/* loss = Σ_rows -log softmax(z)[label]                                       */

static const float *dec_weight(const Model *m, float **grad) {
    int h = m->c.layers + 1;
    if (m->c.tied) {
        *grad = GU(0, m->el.tok);
        return PU(0, m->el.tok);
    }
    *grad = GU(h, m->hl.dec_w);
    return PU(h, m->hl.dec_w);
}

static double head_forward(Model *m, const Batch *b, const float *hid) {
    const ModelConfig *c = &m->c;
    int h = c->layers + 1, N = b->B * b->T, C = c->width, V = c->vocab_size;
    float *dgrad;
    const float *W = dec_weight(m, &dgrad);
    int nh = m->sub_rows ? m->n_rows : N; /* the rows hid holds */
    if (m->hl.norm_w >= 0) {
        k_layernorm_fwd(m->lnf, m->lnf_mean, m->lnf_rstd, hid, PU(h, m->hl.norm_w),
                        PU(h, m->hl.norm_b), nh, C, c->ln_eps);
        hid = m->lnf;
    }
    const int32_t *labels = b->labels;
    int R = N;
    if (c->arch == ARCH_ENCODER) {
        R = m->n_rows; /* head_rows_of, at the forward's start */
        if (R == 0) {  /* nothing to predict (contrastive learning alone) */
            m->n_labels = 0;
            return 0;
        }
        if (m->sub_rows) /* the last block ran on these rows alone: hid holds them */
            k_copy(m->head_in, hid, (size_t)R * C);
        else
            k_gather_rows(m->head_in, hid, m->rows, R, C);
        k_matmul_fwd(m->head_fc, m->head_in, PU(h, m->hl.tr_w), R, C, C);
        k_bias_fwd(m->head_fc, PU(h, m->hl.tr_b), R, C);
        k_gelu_fwd(m->head_gelu, m->head_fc, (size_t)R * C, c->gelu);
        k_layernorm_fwd(m->head_ln, m->head_ln_mean, m->head_ln_rstd, m->head_gelu,
                        PU(h, m->hl.trn_w), PU(h, m->hl.trn_b), R, C, c->ln_eps);
        k_matmul_fwd(m->logits, m->head_ln, W, R, C, V);
        k_bias_fwd(m->logits, PU(h, m->hl.bias), R, V);
        labels = m->row_labels;
    } else {
        k_matmul_fwd(m->logits, hid, W, N, C, V);
    }
    m->n_rows = R;
    long cnt = 0;
    for (int r = 0; r < R; r++) cnt += labels[r] >= 0;
    m->n_labels = cnt;
    for (int r = 0; r < R; r++)
        if (labels[r] >= V)
            z_die("label %d at row %d is outside the vocabulary (%d)", labels[r], r, V);
    return k_xent_fwd(m->losses, m->probs, m->logits, labels, R, V);
}

/* d(sequence embeddings) demb[B, C] (may be NULL) into the gradient at the
 * last hidden state dhn[N, C]: [CLS]'s row, or every real row's 1/count. */
static void pool_backward(const Model *m, const Batch *b, int pool, const float *demb, float *dhn) {
    int T = b->T, C = m->c.width;
    for (int s = 0; s < b->B; s++) {
        const float *g = demb + (size_t)s * C;
        int n = T;
        if (pool == MODEL_POOL_MEAN && b->attn_mask) {
            n = 0;
            for (int t = 0; t < T; t++) n += b->attn_mask[(size_t)s * T + t] != 0;
        }
        for (int t = 0; t < (pool == MODEL_POOL_CLS ? 1 : T); t++) {
            if (pool == MODEL_POOL_MEAN && b->attn_mask && !b->attn_mask[(size_t)s * T + t])
                continue;
            float w = pool == MODEL_POOL_CLS ? 1.0f : 1.0f / (float)(n ? n : 1);
            float *d = dhn + ((size_t)s * T + t) * C;
            for (int c = 0; c < C; c++) d[c] += w * g[c];
        }
    }
}

void model_seq_embed(const Model *m, const Batch *b, int pool, float *out) {
    int T = b->T, C = m->c.width;
    if (m->sub_rows)
        z_die("model_seq_embed: the forward ran the last block on the head's rows only "
              "(rows_only): clear it where embeddings are read");
    const float *h = m->hl.norm_w >= 0 ? m->lnf : m->blk[m->c.layers - 1].out;
    for (int s = 0; s < b->B; s++) {
        float *e = out + (size_t)s * C;
        if (pool == MODEL_POOL_CLS) {
            memcpy(e, h + (size_t)s * T * C, (size_t)C * sizeof *e);
            continue;
        }
        int n = 0;
        for (int c = 0; c < C; c++) e[c] = 0;
        for (int t = 0; t < T; t++) {
            if (b->attn_mask && !b->attn_mask[(size_t)s * T + t]) continue;
            const float *r = h + ((size_t)s * T + t) * C;
            for (int c = 0; c < C; c++) e[c] += r[c];
            n++;
        }
        for (int c = 0; c < C; c++) e[c] /= (float)(n ? n : 1);
    }
}

/* Writes d(hidden before the final norm) into dh (overwrites); demb: the
 * gradient of pooled sequence embeddings too (or NULL). */
static void head_backward(Model *m, const Batch *b, const float *hid, double scale, float *dh,
                          int pool, const float *demb) {
    const ModelConfig *c = &m->c;
    int h = c->layers + 1, N = b->B * b->T, C = c->width, V = c->vocab_size, R = m->n_rows;
    size_t NC = (size_t)N * C;
    float *dW;
    const float *W = dec_weight(m, &dW);
    float *dz = m->probs; /* dlogits overwrite the probabilities in place */
    const float *hn = m->hl.norm_w >= 0 ? m->lnf : hid;
    float *dhn = m->hl.norm_w >= 0 ? m->dbranch : dh;
    if (!m->sub_rows) zero(dhn, NC); /* (sub: the head's rows are copied in whole) */
    if (c->arch == ARCH_ENCODER && R > 0) {
        size_t RC = (size_t)R * C;
        k_xent_bwd(dz, m->probs, m->row_labels, R, V, scale);
        zero(m->dhead, RC);
        k_matmul_bwd(m->dhead, dW, dz, m->head_ln, W, R, C, V);
        k_bias_bwd(GU(h, m->hl.bias), dz, R, V);
        zero(m->dhead2, RC);
        k_layernorm_bwd(m->dhead2, GU(h, m->hl.trn_w), GU(h, m->hl.trn_b), m->dhead, m->head_gelu,
                        PU(h, m->hl.trn_w), m->head_ln_mean, m->head_ln_rstd, R, C);
        k_gelu_bwd(m->dhead, m->dhead2, m->head_fc, RC, c->gelu);
        zero(m->dhead2, RC);
        k_matmul_bwd(m->dhead2, GU(h, m->hl.tr_w), m->dhead, m->head_in, PU(h, m->hl.tr_w), R, C,
                     C);
        k_bias_bwd(GU(h, m->hl.tr_b), m->dhead, R, C);
        if (m->sub_rows) /* the last block takes its rows' gradient compacted */
            k_copy(dhn, m->dhead2, RC);
        else
            k_scatter_rows_bwd(dhn, m->dhead2, m->rows, R, C);
    } else if (c->arch == ARCH_DECODER) {
        k_xent_bwd(dz, m->probs, b->labels, N, V, scale);
        k_matmul_bwd(dhn, dW, dz, hn, W, N, C, V);
    }
    if (demb) pool_backward(m, b, pool, demb, dhn);
    if (m->hl.norm_w >= 0) {
        int nh = m->sub_rows ? R : N; /* the rows hid holds */
        zero(dh, (size_t)nh * C);
        k_layernorm_bwd(dh, GU(h, m->hl.norm_w), GU(h, m->hl.norm_b), dhn, hid, PU(h, m->hl.norm_w),
                        m->lnf_mean, m->lnf_rstd, nh, C);
    }
}

/* ------------------------------------------------------------------------- */
/* whole model                                                                */

static const float *block_input(const Model *m, int l, const float *h0) {
    return l == 0 ? h0 : m->blk[l - 1].out;
}

static const float *h0_of(const Model *m, const Batch *b) {
    if (dropping(m, b)) return m->emb_drop;
    return m->el.norm_w >= 0 ? m->emb_ln : m->emb;
}

static void check_batch(const Model *m, const Batch *b) {
    if (b->B > m->B || b->T > m->T || b->B * b->T > m->B * m->T)
        z_die("batch %dx%d exceeds the activation arena %dx%d", b->B, b->T, m->B, m->T);
}

static void block_forward(Model *m, const Batch *b, int l, const float *x) {
    if (m->c.norm == NORM_PRE)
        block_pre_forward(m, b, l, x);
    else
        block_post_forward(m, b, l, x);
}

/* The encoder head's rows: the labelled positions, ascending, into m->rows
 * and m->row_labels; m->n_rows of them. */
static void head_rows_of(Model *m, const Batch *b) {
    int N = b->B * b->T, R = 0;
    for (int n = 0; n < N; n++)
        if (b->labels[n] >= 0) {
            if (R == m->head_rows)
                z_die("batch has more than %d labelled positions (head rows of the "
                      "activation arena)",
                      m->head_rows);
            m->rows[R] = n, m->row_labels[R] = b->labels[n], R++;
        }
    m->n_rows = R;
}

double model_forward(Model *m, const Batch *b) {
    check_batch(m, b);
    int L = m->c.layers;
    const ModelConfig *c = &m->c;
    m->sub_rows = 0;
    if (c->arch == ARCH_ENCODER) {
        head_rows_of(m, b);
        /* the last block on the head's rows alone (sub_block): asked for,
         * and rows to leave out */
        m->sub_rows = m->rows_only && m->n_rows > 0 && m->n_rows < b->B * b->T;
    }
    hook(m, HOOK_BEFORE_FWD, 0);
    const float *h0 = embed_forward(m, b);
    hook(m, HOOK_AFTER_FWD, 0);
    for (int l = 0; l < L; l++) {
        hook(m, HOOK_BEFORE_FWD, 1 + l);
        block_forward(m, b, l, block_input(m, l, h0));
        hook(m, HOOK_AFTER_FWD, 1 + l);
    }
    hook(m, HOOK_BEFORE_FWD, L + 1);
    double loss = head_forward(m, b, m->blk[L - 1].out);
    hook(m, HOOK_AFTER_FWD, L + 1);
    return loss;
}

void model_backward(Model *m, const Batch *b, double scale) {
    model_backward_pooled(m, b, scale, MODEL_POOL_CLS, NULL);
}

void model_backward_pooled(Model *m, const Batch *b, double scale, int pool, const float *demb) {
    check_batch(m, b);
    if (demb && m->sub_rows)
        z_die("model_backward_pooled: the forward ran the last block on the head's rows only "
              "(rows_only), so there are no pooled embeddings to differentiate");
    int L = m->c.layers;
    const float *h0 = h0_of(m, b);
    float *dr = m->dres, *spare = m->dres2;
    hook(m, HOOK_BWD_BEGIN, -1);
    hook(m, HOOK_BEFORE_BWD, L + 1);
    head_backward(m, b, m->blk[L - 1].out, scale, dr, pool, demb);
    hook(m, HOOK_AFTER_BWD, L + 1);
    for (int l = L - 1; l >= 0; l--) {
        const float *x = block_input(m, l, h0);
        hook(m, HOOK_BEFORE_BWD, 1 + l);
        /* recomputation: rebuild this block's activations from its saved input
         * with the same code, parameters and dropout streams (bit-identical) */
        if (m->recompute) block_forward(m, b, l, x);
        if (m->c.norm == NORM_PRE) {
            block_pre_backward(m, b, l, x, dr);
        } else {
            block_post_backward(m, b, l, x, dr, spare);
            float *t = dr;
            dr = spare, spare = t;
        }
        hook(m, HOOK_AFTER_BWD, 1 + l);
    }
    hook(m, HOOK_BEFORE_BWD, 0);
    embed_backward(m, b, dr);
    hook(m, HOOK_AFTER_BWD, 0);
}
