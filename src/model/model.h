/*
 * model.h — the transformer: configuration, parameter layout, activations,
 * forward and backward for a batch [B, T].
 *
 * Parameters live in units (DESIGN.md "The ZeRO partition"): unit 0 holds the
 * embeddings, units 1..L the blocks, unit L+1 the final norm and head. Each
 * unit is one flat fp32 buffer padded to a multiple of ranks × alignment;
 * every tensor is a named view (offset, shape) into its unit. Names are
 * stable strings because checkpoints use them.
 *
 * Two architectures:
 *   encoder (BERT)  token + position + segment embeddings → LayerNorm →
 *                   L blocks (post-LN like BERT, or pre-LN + final norm) →
 *                   MLM head: dense → GELU → LayerNorm → tied decoder + bias,
 *                   evaluated only at the labelled (masked) positions.
 *   decoder (GPT-2) token + position embeddings → L pre-LN causal blocks →
 *                   final LayerNorm → tied LM head at every position.
 */
#ifndef ZEROPT_MODEL_H
#define ZEROPT_MODEL_H

#include "src/config/config.h"

/* Unit buffers are padded to ranks × MODEL_ALIGN_FLOATS floats (64 bytes). */
#define MODEL_ALIGN_FLOATS 16

#include <stddef.h>
#include <stdint.h>

#define PARAM_NAME_MAX 64

typedef struct {
    char name[PARAM_NAME_MAX]; /* e.g. "blocks.03.attn.qkv.weight" */
    int unit;
    size_t offset; /* in floats, within the unit */
    int ndim;
    int shape[2];
    size_t numel;
    int decay; /* weight decay applies (matrices and embeddings, not norms or biases) */
} ParamView;

typedef struct {
    size_t numel;  /* real parameters in the unit */
    size_t padded; /* numel rounded up to ranks × align */
    int first_view, nviews;
    float *params; /* [padded], may be swapped for a gathered copy (ZeRO-3) */
    float *grads;  /* [padded] */
} Unit;

/* Offsets (floats) of each tensor inside its unit; -1 when absent. */
typedef struct {
    long tok, pos, seg, norm_w, norm_b;
} EmbedLayout;
typedef struct {
    long ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, fcp_w, fcp_b;
    long qn_w, qn_b, kn_w, kn_b; /* QK-LayerNorm, or −1 */
    long rel_w;                  /* T5 bias table; in block 0 only when shared (model_rel_table) */
} BlockLayout;
typedef struct {
    long norm_w, norm_b, tr_w, tr_b, trn_w, trn_b, bias, dec_w, pool_w, pool_b;
} HeadLayout;

/* One micro-batch. Labels < 0 mark positions that carry no loss. */
typedef struct {
    int B, T;
    const int32_t *tokens;     /* [B*T] */
    const int32_t *labels;     /* [B*T]; causal LM: the next token */
    const int32_t *segments;   /* [B*T] or NULL (all 0) */
    const uint8_t *attn_mask;  /* [B*T] 1 = real token; NULL = all */
    const int64_t *sample_ids; /* [B] global sample indices (dropout streams) or NULL */
    uint64_t seed;             /* dropout seed for this step */
    int train;                 /* dropout on */
} Batch;

/* Saved activations of one block, views into the arena. N = B·T rows.
 * Pre-LN:  ln1 = LN1(x), res1 = x + attproj, ln2 = LN2(res1), out = res1 + fcproj.
 * Post-LN: ln1 = LN1(res1) with res1 = x + attproj, res2 = ln1 + fcproj,
 *          ln2 = LN2(res2) = out. */
typedef struct {
    float *ln1;      /* (N, C) first LayerNorm's output */
    float *ln1_mean; /* (N) */
    float *ln1_rstd; /* (N) */
    float *qkv;      /* (N, 3C) query, key, value */
    float *qk_in;    /* (N, 2C) q and k before QK-LayerNorm (qk_norm) */
    float *qk_mean;  /* (2N) its statistics: q rows, then k rows */
    float *qk_rstd;  /* (2N) */
    float *att;      /* (B, NH, T, T) attention probabilities */
    float *atty;     /* (N, C) attention output, heads concatenated */
    float *attproj;  /* (N, C) its projection */
    float *res1;     /* (N, C) first residual sum */
    float *ln2;      /* (N, C) second LayerNorm's output */
    float *ln2_mean; /* (N) */
    float *ln2_rstd; /* (N) */
    float *fch;      /* (N, F) FFN pre-activation */
    float *fch_gelu; /* (N, F) GELU of it */
    float *fcproj;   /* (N, C) FFN output */
    float *res2;     /* (N, C) second residual sum (post-LN only) */
    float *out;      /* (N, C) the block's output (post-LN: ln2 itself) */
} BlockActs;

/* Events reported to Model.hook as the passes cross unit boundaries, so the
 * owner of the buffers can gather parameters (ZeRO-3), hand out gradient
 * buffers and post reductions (ZeRO-2/3), and progress communication. */
enum {
    HOOK_BEFORE_FWD, /* unit's parameters are about to be read */
    HOOK_AFTER_FWD,  /* unit's forward is done */
    HOOK_BWD_BEGIN,  /* backward starts (unit −1) */
    HOOK_BEFORE_BWD, /* unit's parameters and gradient buffer are about to be used */
    HOOK_AFTER_BWD,  /* unit's gradient is complete for this micro-batch */
    HOOK_PROGRESS    /* inside a unit's backward: a moment to progress communication */
};
/* The head reads and writes the token embedding of unit 0 when embeddings
 * are tied: hooks for the head unit imply unit 0 too (see model_head_uses). */

typedef struct Model {
    ModelConfig c;
    int nunits;
    Unit *unit;
    int nviews;
    ParamView *view;
    size_t nparams; /* real parameters */
    EmbedLayout el;
    BlockLayout bl;
    HeadLayout hl;

    /* activation arena, sized for B×T and head_rows labelled rows */
    int B, T, head_rows, separate_probs;
    float *arena;
    size_t arena_floats;
    /* embeddings; N = B·T rows, R labelled rows (MLM head), V vocabulary */
    float *emb;         /* (N, C) token + position (+ segment) embeddings */
    float *emb_ln;      /* (N, C) their LayerNorm (encoder) */
    float *emb_ln_mean; /* (N) */
    float *emb_ln_rstd; /* (N) */
    float *emb_drop;    /* (N, C) after dropout: the first block's input */
    BlockActs *blk;     /* [L] */
    float *lnf;         /* (N, C) final LayerNorm (pre-LN models) */
    float *lnf_mean;    /* (N) */
    float *lnf_rstd;    /* (N) */
    /* MLM head, at the labelled rows only */
    float *head_in;      /* (R, C) the labelled rows of the last hidden state */
    float *head_fc;      /* (R, C) transform dense */
    float *head_gelu;    /* (R, C) */
    float *head_ln;      /* (R, C) transform LayerNorm */
    float *head_ln_mean; /* (R) */
    float *head_ln_rstd; /* (R) */
    float *logits;       /* (R, V) encoder, (N, V) decoder */
    float *probs;        /* softmax of the logits (aliases them unless separate_probs) */
    float *losses;       /* (R) or (N) */
    /* backward scratch, reused by every block */
    float *dres;        /* (N, C) gradient of the residual stream */
    float *dres2;       /* (N, C) its second buffer (post-LN swaps the two) */
    float *dbranch;     /* (N, C) gradient entering a dropped branch */
    float *dln;         /* (N, C) gradient at a LayerNorm's output */
    float *dqkv;        /* (N, 3C) */
    float *dqk;         /* (N, 2C) QK-LayerNorm's input gradient (qk_norm) */
    float *datty;       /* (N, C) */
    float *dfch_gelu;   /* (N, F) */
    float *dfch;        /* (N, F) */
    float *dhead;       /* (R, C) */
    float *dhead2;      /* (R, C) */
    float *att_scratch; /* k_attention_scratch(T) */
    float *relb;        /* (NH, 2T−1) score bias by offset (T5, ALiBi) or NULL */
    float *drelb;       /* (NH, 2T−1) its gradient (T5) or NULL */
    int32_t *pos_ids, *rows, *row_labels;
    uint64_t *seeds;
    int recompute; /* keep only block inputs; recompute each block in backward */
    /* Encoders: run the last block's row-wise part (attention's projection,
     * the norms, the FFN) on the head's labelled rows alone, where nothing
     * else reads the last hidden state (no pooled embeddings: model_seq_embed
     * and model_backward_pooled's demb refuse such a forward). Hidden
     * dropout draws those rows' masks from their sequences' streams
     * (k_dropout_rows_*), so the masks are the whole model's.
     * sub_rows says whether the last forward did. The trainer sets
     * rows_only; 0 (everything) by default. */
    int rows_only, sub_rows;
    void (*hook)(void *ctx, int event, int unit);
    void *hook_ctx;
    int n_rows;    /* labelled rows in the last forward (encoder) */
    long n_labels; /* labelled positions in the last forward */
} Model;

/* Parameter layout only (no activations): counts, names, unit sizes. */
void model_layout(Model *m, const ModelConfig *c, int ranks, int align);
/* Allocate parameter and gradient buffers for every unit (zeroed). */
void model_alloc_params(Model *m);
/* Deterministic init from a seed: each tensor's values depend only on
 * (seed, tensor name, element index), never on layout or rank count. */
void model_init_params(Model *m, uint64_t seed);
/* Activation arena for batches up to B×T with up to head_rows labelled rows
 * for the MLM head (ignored for decoders, which use B×T); with its index
 * buffers, from the counting allocator (MEM_ACTS). */
void model_alloc_acts(Model *m, int B, int T, int head_rows, int separate_probs, int recompute);
void model_free_acts(Model *m);
/* Parameters of one unit only (ZeRO-3 initialises unit by unit). */
void model_init_unit(Model *m, uint64_t seed, int unit);
void model_free(Model *m);

/* Forward; returns Σ of the per-position losses over labelled positions and
 * sets m->n_labels. Logits of the labelled rows (encoder) or all rows
 * (decoder) are in m->logits ([rows, V]; probabilities unless separate_probs). */
double model_forward(Model *m, const Batch *b);
/* Backward of scale · Σ loss: parameter gradients are ACCUMULATED into the
 * units' grads (zero them yourself between steps). */
void model_backward(Model *m, const Batch *b, double scale);
void model_zero_grads(Model *m);
/* Sequence embeddings of the last forward, out[B, C]: the last hidden state
 * (after the final norm of pre-LN models) at [CLS]'s row, or its mean over
 * each sequence's real rows (attention mask). */
enum { MODEL_POOL_CLS = 0, MODEL_POOL_MEAN = 1 };
void model_seq_embed(const Model *m, const Batch *b, int pool, float *out);
/* Backward of scale · Σ loss + Σ demb · embeddings (model_seq_embed's, at the
 * same pooling): the gradient of a loss on the sequence embeddings joins the
 * MLM head's at the last hidden state. demb NULL: model_backward. */
void model_backward_pooled(Model *m, const Batch *b, double scale, int pool, const float *demb);

const ParamView *model_find(const Model *m, const char *name);
/* A LayerNorm (or QK-norm) gain: initialised to 1, no weight decay. */
int model_norm_gain(const ParamView *v);
/* A weight that the training step reads only as a matrix product's operand
 * (k_matmul_fwd/bwd: QKV, the attention and FFN products, the head's
 * transform and untied decoder) or through k_embedding_fwd (the token
 * embedding, also the tied decoder), which both honour bf16 mirrors — not
 * the other embedding tables, nor the pooler, which embeddings read. */
int model_product_weight(const ParamView *v);
static inline float *model_param(const Model *m, const ParamView *v) {
    return m->unit[v->unit].params + v->offset;
}
static inline float *model_grad(const Model *m, const ParamView *v) {
    return m->unit[v->unit].grads + v->offset;
}

/* Training FLOPs per token: 6·N + 12·L·C·T (PaLM's count, full attention),
 * with the output head (and the MLM transform) counted at the fraction of
 * positions that evaluate it: 1 for causal LM, the mask rate for MLM. */
double model_flops_per_token(const Model *m, int T, double head_frac);

/* The longest sequence the position table holds (RoBERTa's positions start
 * at row position_pad_id + 1). */
static inline int model_max_len(const ModelConfig *c) {
    return c->max_positions - (c->positions == POS_ROBERTA ? c->position_pad_id + 1 : 0);
}

/* Rows the MLM head's arena is sized for, out of N = B·T positions when a
 * fraction `rate` is masked: 8 σ above the binomial mean plus 64 (token
 * masking), at least ⌈rate·N⌉ + B (the budgets of word, span and salient
 * masking), capped at N. Shared by the trainer and `zeropt plan`. */
int model_mlm_head_rows(int B, int T, double rate);
/* 1 when block l attends through sliding windows ([model] attention = window,
 * except every full_every-th layer) */
int model_layer_window(const ModelConfig *c, int l);
/* Elements of block l's saved attention probabilities for B×T */
size_t model_attn_probs(const ModelConfig *c, int l, int B, int T);
/* DeepNorm's residual weight (2L)^¼ (init = deepnorm; post-LN x·α + f(x)) */
double model_res_alpha(const ModelConfig *c);

#endif
