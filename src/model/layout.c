/*
 * model_layout.c — the parameter layout: which tensors exist, their names and
 * shapes, how they pack into units, how they are initialised. No math here.
 */
#include "model.h"

#include "kernels/kernels.h"
#include "mpi/err.h"
#include "kernels/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append a view to the unit being built; returns its offset in floats. */
static long add_view(Model *m, int unit, const char *name, int d0, int d1, int decay) {
    ParamView *v = &m->view[m->nviews++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->unit = unit;
    v->offset = m->unit[unit].numel;
    v->ndim = d1 > 0 ? 2 : 1;
    v->shape[0] = d0;
    v->shape[1] = d1 > 0 ? d1 : 0;
    v->numel = (size_t)d0 * (d1 > 0 ? d1 : 1);
    v->decay = decay;
    m->unit[unit].numel += v->numel;
    m->unit[unit].nviews++;
    return (long)v->offset;
}

static void begin_unit(Model *m, int u) {
    m->unit[u].first_view = m->nviews;
}

void model_layout(Model *m, const ModelConfig *c, int ranks, int align) {
    memset(m, 0, sizeof *m);
    m->c = *c;
    int L = c->layers, C = c->width, F = c->ffn, V = c->vocab_size;
    int enc = c->arch == ARCH_ENCODER;
    m->nunits = L + 2;
    m->unit = z_calloc(m->nunits, sizeof(Unit), "units");
    m->view = z_calloc(16 * (size_t)(L + 2), sizeof(ParamView), "views");
    char nm[PARAM_NAME_MAX];

    /* unit 0: embeddings */
    begin_unit(m, 0);
    m->el.tok = add_view(m, 0, "embed.tok.weight", V, C, 1);
    m->el.pos = -1;
    if (c->positions == POS_ABSOLUTE || c->positions == POS_ROBERTA)
        m->el.pos = add_view(m, 0, "embed.pos.weight", c->max_positions, C, 1);
    m->el.seg = m->el.norm_w = m->el.norm_b = -1;
    if (enc && c->type_vocab_size > 0)
        m->el.seg = add_view(m, 0, "embed.seg.weight", c->type_vocab_size, C, 1);
    if (enc) {
        m->el.norm_w = add_view(m, 0, "embed.norm.weight", C, 0, 0);
        m->el.norm_b = add_view(m, 0, "embed.norm.bias", C, 0, 0);
    }

    /* units 1..L: blocks, identical layouts */
    for (int l = 0; l < L; l++) {
        int u = 1 + l;
        begin_unit(m, u);
        BlockLayout bl;
#define V1(field, suffix, n)                                                                       \
    snprintf(nm, sizeof nm, "blocks.%02d.%s", l, suffix);                                          \
    bl.field = add_view(m, u, nm, n, 0, 0)
#define V2(field, suffix, r, cc)                                                                   \
    snprintf(nm, sizeof nm, "blocks.%02d.%s", l, suffix);                                          \
    bl.field = add_view(m, u, nm, r, cc, 1)
        V1(ln1_w, "attn.norm.weight", C);
        V1(ln1_b, "attn.norm.bias", C);
        V2(qkv_w, "attn.qkv.weight", 3 * C, C);
        V1(qkv_b, "attn.qkv.bias", 3 * C);
        V2(proj_w, "attn.proj.weight", C, C);
        V1(proj_b, "attn.proj.bias", C);
        V1(ln2_w, "mlp.norm.weight", C);
        V1(ln2_b, "mlp.norm.bias", C);
        V2(fc_w, "mlp.fc.weight", F, C);
        V1(fc_b, "mlp.fc.bias", F);
        V2(fcp_w, "mlp.proj.weight", C, F);
        V1(fcp_b, "mlp.proj.bias", C);
        bl.qn_w = bl.qn_b = bl.kn_w = bl.kn_b = -1;
        if (c->qk_norm) {
            V1(qn_w, "attn.q_norm.weight", C);
            V1(qn_b, "attn.q_norm.bias", C);
            V1(kn_w, "attn.k_norm.weight", C);
            V1(kn_b, "attn.k_norm.bias", C);
        }
        /* T5's bias table [buckets, heads], last in the block so that every
         * block has the same offsets whether or not it holds one; shared: in
         * block 0 only (every block reads the bias block 0 computed) */
        bl.rel_w = -1;
        if (c->positions == POS_T5 && (l == 0 || !c->t5_shared)) {
            V2(rel_w, "attn.rel_bias.weight", c->t5_buckets, c->heads);
        }
#undef V1
#undef V2
        if (l == 0) m->bl = bl; /* block 0 holds the shared table */
    }

    /* unit L+1: final norm and head */
    int h = L + 1;
    begin_unit(m, h);
    HeadLayout hl = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    if (c->norm == NORM_PRE) {
        hl.norm_w = add_view(m, h, "head.norm.weight", C, 0, 0);
        hl.norm_b = add_view(m, h, "head.norm.bias", C, 0, 0);
    }
    if (enc) {
        hl.tr_w = add_view(m, h, "head.transform.weight", C, C, 1);
        hl.tr_b = add_view(m, h, "head.transform.bias", C, 0, 0);
        hl.trn_w = add_view(m, h, "head.transform_norm.weight", C, 0, 0);
        hl.trn_b = add_view(m, h, "head.transform_norm.bias", C, 0, 0);
        hl.bias = add_view(m, h, "head.bias", V, 0, 0);
    }
    if (!c->tied) hl.dec_w = add_view(m, h, "head.decoder.weight", V, C, 1);
    if (enc && c->pooler) { /* no gradient reaches it: no decay either, so it stays as imported */
        hl.pool_w = add_view(m, h, "head.pooler.weight", C, C, 0);
        hl.pool_b = add_view(m, h, "head.pooler.bias", C, 0, 0);
    }
    m->hl = hl;

    size_t q = (size_t)(ranks > 0 ? ranks : 1) * (size_t)(align > 0 ? align : 1);
    for (int u = 0; u < m->nunits; u++) {
        m->nparams += m->unit[u].numel;
        m->unit[u].padded = (m->unit[u].numel + q - 1) / q * q;
    }
}

void model_alloc_params(Model *m) {
    for (int u = 0; u < m->nunits; u++) {
        m->unit[u].params = z_alloc(m->unit[u].padded * sizeof(float), MEM_PARAMS, "parameters");
        m->unit[u].grads = z_alloc(m->unit[u].padded * sizeof(float), MEM_GRADS, "gradients");
    }
}

static uint64_t name_hash(const char *s) { /* FNV-1a 64 */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

void model_init_params(Model *m, uint64_t seed) {
    for (int u = 0; u < m->nunits; u++) model_init_unit(m, seed, u);
}

/* Which block a tensor belongs to (−1: not a block's) */
static int block_of(const char *name) {
    return strncmp(name, "blocks.", 7) ? -1 : atoi(name + 7);
}

/* The std of a weight matrix under [model] init (see config.c's help):
 * qk and rest are the two DeepNet gains; *trunc asks for ±3σ truncation. */
static double weight_std(const ModelConfig *c, const ParamView *v, int *trunc) {
    int L = c->layers > 0 ? c->layers : 1, l = block_of(v->name);
    int out = ends_with(v->name, "attn.proj.weight") || ends_with(v->name, "mlp.proj.weight");
    int dense = l >= 0 && !ends_with(v->name, "rel_bias.weight");
    double fan_in = v->shape[1], fan_out = v->shape[0];
    *trunc = 0;
    switch (c->init == INIT_NORMAL && c->init_scaled ? INIT_SCALED : c->init) {
    case INIT_SCALED:
        return out ? c->init_std / sqrt(2.0 * L) : c->init_std;
    case INIT_DEPTH: /* 1/√fan_in; output projections shrink with depth */
        if (!dense && !ends_with(v->name, "transform.weight")) return c->init_std;
        *trunc = 1;
        return out ? 1 / sqrt(2.0 * fan_in * (l + 1)) : 1 / sqrt(fan_in);
    case INIT_DEEPNORM: /* Xavier normal, times β on out and FFN (and qkv's value rows:
                         * model_init_unit); q, k and v count as C×C each */
        if (!dense) return c->init_std;
        if (ends_with(v->name, "attn.qkv.weight")) return sqrt(1.0 / fan_in);
        return sqrt(2.0 / (fan_in + fan_out)) * pow(8.0 * L, -0.25);
    default:
        return c->init_std;
    }
}

void model_init_unit(Model *m, uint64_t seed, int unit) {
    const ModelConfig *c = &m->c;
    const Unit *U = &m->unit[unit];
    for (int i = U->first_view; i < U->first_view + U->nviews; i++) {
        const ParamView *v = &m->view[i];
        float *p = model_param(m, v);
        int is_norm_w = model_norm_gain(v);
        if (c->pos_init == POS_INIT_SINUSOID && !strcmp(v->name, "embed.pos.weight")) {
            /* row t: sin(t·ω_i), cos(t·ω_i) pairs, ω_i = 10000^(−2i/C), RMS init_std */
            int C = v->shape[1];
            for (int t = 0; t < v->shape[0]; t++)
                for (int j = 0; j < C; j++) {
                    double w = pow(10000.0, -2.0 * (j / 2) / C), a = t * w;
                    p[(size_t)t * C + j] =
                        (float)(c->init_std * M_SQRT2 * (j % 2 ? cos(a) : sin(a)));
                }
        } else if (is_norm_w) {
            for (size_t k = 0; k < v->numel; k++) p[k] = 1.0f;
        } else if (ends_with(v->name, ".bias")) {
            k_zero(p, v->numel);
        } else {
            int trunc;
            double std = weight_std(c, v, &trunc);
            uint64_t s = k_rng_child(seed, name_hash(v->name));
            /* DeepNet: the value rows of qkv take β, the query and key rows not */
            size_t vrows = c->init == INIT_DEEPNORM && ends_with(v->name, "attn.qkv.weight")
                               ? (size_t)2 * v->shape[1] * v->shape[1]
                               : v->numel;
            double beta = pow(8.0 * (c->layers > 0 ? c->layers : 1), -0.25);
            for (size_t k = 0; k < v->numel; k++) {
                double z = k_rng_normal(s, k);
                for (uint64_t r = 1; trunc && fabs(z) > 3; r++) /* redraw outside ±3σ */
                    z = k_rng_normal(k_rng_child(s, r), k);
                p[k] = (float)(std * (k >= vrows ? beta : 1) * z);
            }
        }
    }
}

int model_norm_gain(const ParamView *v) {
    return strstr(v->name, "norm.weight") != NULL;
}

int model_product_weight(const ParamView *v) {
    /* the token embedding too: its lookup (k_embedding_fwd) reads the bf16
     * copy, and tied, it is the decoder's product weight */
    static const char *const w[] = {
        "attn.qkv.weight",       "attn.proj.weight",    "mlp.fc.weight",   "mlp.proj.weight",
        "head.transform.weight", "head.decoder.weight", "embed.tok.weight"};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        if (ends_with(v->name, w[i])) return 1;
    return 0;
}

const ParamView *model_find(const Model *m, const char *name) {
    for (int i = 0; i < m->nviews; i++)
        if (strcmp(m->view[i].name, name) == 0) return &m->view[i];
    return NULL;
}

double model_flops_per_token(const Model *m, int T, double head_frac) {
    const ModelConfig *c = &m->c;
    double C = c->width, head = (double)c->vocab_size * C + (c->arch == ARCH_ENCODER ? C * C : 0);
    double unused = m->hl.pool_w >= 0 ? C * C + C : 0; /* the pooler: no part of the loss */
    return 6.0 * ((double)m->nparams - unused - (1 - head_frac) * head) +
           12.0 * c->layers * C * (double)T;
}

int model_layer_window(const ModelConfig *c, int l) {
    return c->attention == ATTN_WINDOW && !(c->full_every > 0 && l % c->full_every == 0);
}

size_t model_attn_probs(const ModelConfig *c, int l, int B, int T) {
    size_t per = model_layer_window(c, l) ? k_attention_window_probs(T, c->window, c->global_tokens,
                                                                     c->arch == ARCH_DECODER)
                                          : (size_t)T * T;
    return (size_t)B * c->heads * per;
}

double model_res_alpha(const ModelConfig *c) {
    return pow(2.0 * (c->layers > 0 ? c->layers : 1), 0.25);
}

int model_mlm_head_rows(int B, int T, double rate) {
    int N = B * T;
    double mean = rate * N;
    int rows = (int)(mean + 8 * sqrt(mean) + 64); /* 8 σ above the binomial mean */
    int budget = (int)ceil(mean) + B;             /* budgets: ≤ ⌈rate·n⌉ per sequence */
    rows = rows > budget ? rows : budget;
    return rows < N ? rows : N;
}

void model_zero_grads(Model *m) {
    for (int u = 0; u < m->nunits; u++)
        if (m->unit[u].grads) k_zero(m->unit[u].grads, m->unit[u].padded);
}

void model_free(Model *m) {
    for (int u = 0; u < m->nunits; u++) {
        k_free(m->unit[u].params);
        k_free(m->unit[u].grads);
    }
    free(m->unit);
    free(m->view);
    model_free_acts(m);
    memset(m, 0, sizeof *m);
}
