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

#include <stddef.h>
#include <stdint.h>

enum { ARCH_ENCODER = 0, ARCH_DECODER = 1 };
enum { NORM_POST = 0, NORM_PRE = 1 };

typedef struct {
    int arch;            /* ARCH_ENCODER / ARCH_DECODER */
    int vocab_size;      /* V */
    int max_positions;   /* learned position table rows */
    int type_vocab_size; /* segment table rows (encoder; 0 = none) */
    int layers;          /* L */
    int width;           /* C */
    int heads;           /* NH, divides C */
    int ffn;             /* F */
    int norm;            /* NORM_POST / NORM_PRE */
    int tied;            /* head decoder shares the token embedding */
    int gelu;            /* K_GELU_TANH / K_GELU_ERF */
    double dropout;      /* hidden dropout (embeddings, attention out, FFN out) */
    double attn_dropout; /* dropout on attention probabilities */
    double ln_eps;
    double init_std; /* std of weight init */
    int init_scaled; /* output projections std/√(2L) (GPT-2, Megatron) */
} ModelConfig;

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
} BlockLayout;
typedef struct {
    long norm_w, norm_b, tr_w, tr_b, trn_w, trn_b, bias, dec_w;
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

/* Saved activations of one block (views into the arena). */
typedef struct {
    float *ln1, *m1, *s1, *qkv, *probs, *atty, *attp, *r1, *ln2, *m2, *s2, *fch, *fcg, *fcp, *r2,
        *out;
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
    float *e_sum, *e_ln, *e_m, *e_s, *x0;         /* embeddings */
    BlockActs *ba;                                /* [L] */
    float *hf, *hf_m, *hf_s;                      /* final norm (pre-LN / decoder) */
    float *hsel, *ht, *htg, *htn, *htn_m, *htn_s; /* MLM head rows */
    float *logits, *probs, *losses;
    /* backward scratch, reused by every block */
    float *d_res, *d_res2, *d_a, *d_b, *d_qkv, *d_atty, *d_f1, *d_f2, *d_head, *d_head2;
    float *att_scratch;
    int32_t *pos_ids, *rows, *row_labels;
    uint64_t *seeds;
    int recompute; /* keep only block inputs; recompute each block in backward */
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
 * for the MLM head (ignored for decoders, which use B×T). */
size_t model_arena_floats(const ModelConfig *c, int B, int T, int head_rows, int separate_probs,
                          int recompute);
void model_alloc_acts(Model *m, int B, int T, int head_rows, int separate_probs, int recompute);
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

const ParamView *model_find(const Model *m, const char *name);
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

/* Rows the MLM head's arena is sized for, out of N = B·T positions when a
 * fraction `rate` is masked: 8 σ above the binomial mean, plus 64, capped at
 * N. Shared by the trainer and `zeropt plan`. */
int model_mlm_head_rows(int N, double rate);

#endif
