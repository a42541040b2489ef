/*
 * hf.c — zeropt ⇄ Hugging Face tensor names, shapes and configs (see hf.h).
 */
#include "hf.h"

#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "kernels/rng.h"
#include "mpi/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COPY, TRANSPOSE, ROWS }; /* ROWS: rows [k·C, (k+1)·C) of ours */

typedef struct {
    char name[128];
    int how, k;
} Piece;

/* A tensor that maps whole to one HF tensor, from a table of name pairs. */
static int whole(const char *const (*table)[2], size_t n, const char *name, Piece *p) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, table[i][0])) {
            snprintf(p[0].name, sizeof p[0].name, "%s", table[i][1]);
            p[0].how = COPY;
            return 1;
        }
    return 0;
}

/* RoBERTa: an encoder with RoBERTa's position ids (the only HF encoder
 * family with them); its MLM head is lm_head.*, its prefix roberta. */
static int roberta(const Model *m) {
    return m->c.arch == ARCH_ENCODER && m->c.positions == POS_ROBERTA;
}

/* A head tensor: named without the model prefix (cls.*, lm_head.*). */
static int unprefixed(const char *piece) {
    return !strncmp(piece, "cls.", 4) || !strncmp(piece, "lm_head.", 8);
}

/* HF pieces of one of our tensors (without the bert./roberta./transformer.
 * prefix). */
static int pieces(const Model *m, const ParamView *v, Piece *p) {
    int enc = m->c.arch == ARCH_ENCODER, l;
    char rest[96];
    const char *qkv[3] = {"query", "key", "value"};
    if (enc) {
        static const char *rob[][2] = {{"head.transform.weight", "lm_head.dense.weight"},
                                       {"head.transform.bias", "lm_head.dense.bias"},
                                       {"head.transform_norm.weight", "lm_head.layer_norm.weight"},
                                       {"head.transform_norm.bias", "lm_head.layer_norm.bias"},
                                       {"head.bias", "lm_head.bias"}};
        static const char *pool[][2] = {{"head.pooler.weight", "pooler.dense.weight"},
                                        {"head.pooler.bias", "pooler.dense.bias"}};
        if (roberta(m) && whole(rob, sizeof rob / sizeof rob[0], v->name, p)) return 1;
        if (whole(pool, 2, v->name, p)) return 1;
        static const char *emb[][2] = {
            {"embed.tok.weight", "embeddings.word_embeddings.weight"},
            {"embed.pos.weight", "embeddings.position_embeddings.weight"},
            {"embed.seg.weight", "embeddings.token_type_embeddings.weight"},
            {"embed.norm.weight", "embeddings.LayerNorm.weight"},
            {"embed.norm.bias", "embeddings.LayerNorm.bias"},
            {"head.transform.weight", "cls.predictions.transform.dense.weight"},
            {"head.transform.bias", "cls.predictions.transform.dense.bias"},
            {"head.transform_norm.weight", "cls.predictions.transform.LayerNorm.weight"},
            {"head.transform_norm.bias", "cls.predictions.transform.LayerNorm.bias"},
            {"head.bias", "cls.predictions.bias"}};
        if (whole(emb, sizeof emb / sizeof emb[0], v->name, p)) return 1;
        if (sscanf(v->name, "blocks.%d.%95s", &l, rest) != 2) return 0;
        static const char *blk[][2] = {{"attn.proj", "attention.output.dense"},
                                       {"attn.norm", "attention.output.LayerNorm"},
                                       {"mlp.fc", "intermediate.dense"},
                                       {"mlp.proj", "output.dense"},
                                       {"mlp.norm", "output.LayerNorm"}};
        const char *leaf = strrchr(rest, '.') + 1; /* weight | bias */
        if (!strncmp(rest, "attn.qkv.", 9)) {
            for (int k = 0; k < 3; k++) {
                snprintf(p[k].name, sizeof p[k].name, "encoder.layer.%d.attention.self.%s.%s", l,
                         qkv[k], leaf);
                p[k].how = ROWS, p[k].k = k;
            }
            return 3;
        }
        for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
            if (!strncmp(rest, blk[i][0], strlen(blk[i][0])) && rest[strlen(blk[i][0])] == '.') {
                snprintf(p[0].name, sizeof p[0].name, "encoder.layer.%d.%s.%s", l, blk[i][1], leaf);
                p[0].how = COPY;
                return 1;
            }
        return 0;
    }
    static const char *emb[][2] = {{"embed.tok.weight", "wte.weight"},
                                   {"embed.pos.weight", "wpe.weight"},
                                   {"head.norm.weight", "ln_f.weight"},
                                   {"head.norm.bias", "ln_f.bias"}};
    if (whole(emb, sizeof emb / sizeof emb[0], v->name, p)) return 1;
    if (sscanf(v->name, "blocks.%d.%95s", &l, rest) != 2) return 0;
    static const char *blk[][2] = {{"attn.norm", "ln_1"},        {"attn.qkv", "attn.c_attn"},
                                   {"attn.proj", "attn.c_proj"}, {"mlp.norm", "ln_2"},
                                   {"mlp.fc", "mlp.c_fc"},       {"mlp.proj", "mlp.c_proj"}};
    const char *leaf = strrchr(rest, '.') + 1;
    for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
        if (!strncmp(rest, blk[i][0], strlen(blk[i][0])) && rest[strlen(blk[i][0])] == '.') {
            snprintf(p[0].name, sizeof p[0].name, "h.%d.%s.%s", l, blk[i][1], leaf);
            p[0].how = v->ndim == 2 && strncmp(rest, "attn.norm", 9) && strncmp(rest, "mlp.norm", 8)
                           ? TRANSPOSE
                           : COPY; /* Conv1D weights are [in, out] */
            return 1;
        }
    return 0;
}

const char *hf_class(const Model *m) {
    return roberta(m)                  ? "RobertaForMaskedLM"
           : m->c.arch == ARCH_ENCODER ? "BertForMaskedLM"
                                       : "GPT2LMHeadModel";
}

static const char *prefix_of(const Model *m) {
    return roberta(m) ? "roberta." : m->c.arch == ARCH_ENCODER ? "bert." : "transformer.";
}

static int supported(const Model *m, char *err, size_t n) {
    const ModelConfig *c = &m->c;
    if (!c->tied) return z_fail(err, n, "HF export/import: untied output heads are not supported");
    static const char *pos_name[] = {"absolute", "roberta", "learned", "t5", "rope", "alibi"};
    if (c->positions != POS_ABSOLUTE && c->positions != POS_ROBERTA)
        return z_fail(err, n,
                      "HF export: [model] positions = %s has no BERT, RoBERTa or GPT-2 equivalent "
                      "(learned absolute positions only)",
                      pos_name[c->positions]);
    if (c->attention == ATTN_WINDOW)
        return z_fail(err, n,
                      "HF export: [model] attention = window has no BERT, RoBERTa or GPT-2 "
                      "equivalent");
    if (c->qk_norm)
        return z_fail(err, n,
                      "HF export: [model] qk_norm has no BERT, RoBERTa or GPT-2 equivalent");
    if (c->init == INIT_DEEPNORM)
        return z_fail(err, n,
                      "HF export: init = deepnorm weights the residuals by (2L)^(1/4); HF BERT "
                      "and GPT-2 do not");
    if (c->arch == ARCH_ENCODER && c->norm != NORM_POST)
        return z_fail(err, n, "HF BertForMaskedLM is post-LN; this encoder is pre-LN");
    if (c->arch == ARCH_DECODER && c->norm != NORM_PRE)
        return z_fail(err, n, "HF GPT2LMHeadModel is pre-LN; this decoder is post-LN");
    if (c->arch == ARCH_ENCODER && c->type_vocab_size == 0)
        return z_fail(err, n, "HF BERT needs token-type embeddings (type_vocab_size > 0)");
    return 0;
}

static int write_config(const Model *m, const char *path, int bf16, HfTokenIds ids, char *err,
                        size_t n) {
    const ModelConfig *c = &m->c;
    json_t *j;
    if (roberta(m))
        j = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f,s:i,s:b}",
                      "architectures", "RobertaForMaskedLM", "model_type", "roberta", "vocab_size",
                      c->vocab_size, "hidden_size", c->width, "num_hidden_layers", c->layers,
                      "num_attention_heads", c->heads, "intermediate_size", c->ffn,
                      "max_position_embeddings", c->max_positions, "type_vocab_size",
                      c->type_vocab_size, "hidden_act", c->gelu == K_GELU_ERF ? "gelu" : "gelu_new",
                      "layer_norm_eps", c->ln_eps, "hidden_dropout_prob", c->dropout,
                      "attention_probs_dropout_prob", c->attn_dropout, "initializer_range",
                      c->init_std, "pad_token_id", c->position_pad_id, "tie_word_embeddings", 1);
    else if (c->arch == ARCH_ENCODER)
        j = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f,s:i,s:b}",
                      "architectures", "BertForMaskedLM", "model_type", "bert", "vocab_size",
                      c->vocab_size, "hidden_size", c->width, "num_hidden_layers", c->layers,
                      "num_attention_heads", c->heads, "intermediate_size", c->ffn,
                      "max_position_embeddings", c->max_positions, "type_vocab_size",
                      c->type_vocab_size, "hidden_act", c->gelu == K_GELU_ERF ? "gelu" : "gelu_new",
                      "layer_norm_eps", c->ln_eps, "hidden_dropout_prob", c->dropout,
                      "attention_probs_dropout_prob", c->attn_dropout, "initializer_range",
                      c->init_std, "pad_token_id", ids.pad >= 0 ? ids.pad : 0,
                      "tie_word_embeddings", 1);
    else
        j = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f,s:f,s:b}",
                      "architectures", "GPT2LMHeadModel", "model_type", "gpt2", "vocab_size",
                      c->vocab_size, "n_positions", c->max_positions, "n_embd", c->width, "n_layer",
                      c->layers, "n_head", c->heads, "n_inner", c->ffn, "activation_function",
                      c->gelu == K_GELU_TANH ? "gelu_new" : "gelu", "layer_norm_epsilon", c->ln_eps,
                      "resid_pdrop", c->dropout, "embd_pdrop", c->dropout, "attn_pdrop",
                      c->attn_dropout, "initializer_range", c->init_std, "tie_word_embeddings", 1);
    if (c->arch == ARCH_DECODER ||
        roberta(m)) { /* the configs' defaults may name no token of ours */
        if (ids.bos >= 0) json_object_set_new(j, "bos_token_id", json_integer(ids.bos));
        if (ids.eos >= 0) json_object_set_new(j, "eos_token_id", json_integer(ids.eos));
        if (ids.pad >= 0 && !roberta(m))
            json_object_set_new(j, "pad_token_id", json_integer(ids.pad));
    }
    json_object_set_new(j, "torch_dtype", json_string(bf16 ? "bfloat16" : "float32"));
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? z_fail(err, n, "%s: cannot write", path) : 0;
}

int hf_export(const Model *m, const char *dir, int bf16, HfTokenIds ids, char *err, size_t errlen) {
    if (supported(m, err, errlen)) return -1;
    int C = m->c.width;
    StTensor *t = z_calloc(3 * (size_t)m->nviews, sizeof *t, "export");
    float **own = z_calloc(3 * (size_t)m->nviews, sizeof(float *), "export");
    int n = 0;
    for (int i = 0; i < m->nviews; i++) {
        const ParamView *v = &m->view[i];
        Piece p[3];
        int np = pieces(m, v, p);
        if (!np) {
            free(t), free(own);
            return z_fail(err, errlen, "HF export: no HF name for %s", v->name);
        }
        const float *src = model_param(m, v);
        for (int k = 0; k < np; k++, n++) {
            snprintf(t[n].name, sizeof t[n].name, "%s%s", prefix_of(m), p[k].name);
            if (unprefixed(p[k].name)) snprintf(t[n].name, sizeof t[n].name, "%s", p[k].name);
            t[n].ndim = v->ndim;
            t[n].dims[0] = v->shape[0], t[n].dims[1] = v->shape[1];
            if (p[k].how == COPY) {
                t[n].data = src;
            } else if (p[k].how == ROWS) { /* query/key/value: C rows each */
                t[n].dims[0] = C;
                t[n].data = src + (size_t)p[k].k * C * (v->ndim == 2 ? C : 1);
            } else { /* transpose [r, c] → [c, r] */
                int r = v->shape[0], c = v->shape[1];
                float *o = own[n] = z_malloc((size_t)r * c * sizeof(float), "transpose");
                for (int a = 0; a < r; a++)
                    for (int b = 0; b < c; b++) o[(size_t)b * r + a] = src[(size_t)a * c + b];
                t[n].dims[0] = c, t[n].dims[1] = r;
                t[n].data = o;
            }
        }
    }
    char path[4096];
    const char *meta[] = {"format", "pt", "producer", "zeropt"};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = st_write(path, t, n, meta, 2, bf16, err, errlen);
    for (int i = 0; i < n; i++) free(own[i]);
    free(own), free(t);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/config.json", dir);
    return write_config(m, path, bf16, ids, err, errlen);
}

static int jint(json_t *j, const char *k, int def) {
    json_t *v = json_object_get(j, k);
    return json_is_integer(v) ? (int)json_integer_value(v) : def;
}
static double jreal(json_t *j, const char *k, double def) {
    json_t *v = json_object_get(j, k);
    return json_is_number(v) ? json_number_value(v) : def;
}
static const char *jstr(json_t *j, const char *k, const char *def) {
    json_t *v = json_object_get(j, k);
    return json_is_string(v) ? json_string_value(v) : def;
}

static int has_pooler(const char *dir, const char *prefix);

int hf_read_config(const char *dir, ModelConfig *c, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) return z_fail(err, errlen, "%s: cannot read (%s)", path, je.text);
    const char *type = jstr(j, "model_type", "");
    Config d; /* keys HF's config does not set keep zeropt's defaults */
    config_defaults(&d);
    *c = d.model;
    c->tied = json_is_false(json_object_get(j, "tie_word_embeddings")) ? 0 : 1;
    c->init_std = jreal(j, "initializer_range", 0.02);
    int rc = 0;
    int rob = !strcmp(type, "roberta") || !strcmp(type, "xlm-roberta");
    if (!strcmp(type, "bert") || rob) {
        c->arch = ARCH_ENCODER, c->norm = NORM_POST;
        c->positions = rob ? POS_ROBERTA : POS_ABSOLUTE;
        c->position_pad_id = rob ? jint(j, "pad_token_id", 1) : 1;
        c->vocab_size = jint(j, "vocab_size", 30522);
        c->width = jint(j, "hidden_size", 768);
        c->layers = jint(j, "num_hidden_layers", 12);
        c->heads = jint(j, "num_attention_heads", 12);
        c->ffn = jint(j, "intermediate_size", 3072);
        c->max_positions = jint(j, "max_position_embeddings", 512);
        c->type_vocab_size = jint(j, "type_vocab_size", rob ? 1 : 2);
        const char *act = jstr(j, "hidden_act", "gelu");
        c->gelu = !strcmp(act, "gelu") ? K_GELU_ERF : K_GELU_TANH;
        if (strcmp(act, "gelu") && strcmp(act, "gelu_new") && strcmp(act, "gelu_pytorch_tanh"))
            rc = z_fail(err, errlen, "%s: hidden_act %s is not supported (gelu, gelu_new)", path,
                        act);
        c->ln_eps = jreal(j, "layer_norm_eps", 1e-12);
        c->dropout = jreal(j, "hidden_dropout_prob", 0.1);
        c->attn_dropout = jreal(j, "attention_probs_dropout_prob", 0.1);
    } else if (!strcmp(type, "gpt2")) {
        c->arch = ARCH_DECODER, c->norm = NORM_PRE;
        c->vocab_size = jint(j, "vocab_size", 50257);
        c->width = jint(j, "n_embd", 768);
        c->layers = jint(j, "n_layer", 12);
        c->heads = jint(j, "n_head", 12);
        c->ffn = jint(j, "n_inner", 4 * c->width);
        c->max_positions = jint(j, "n_positions", 1024);
        const char *act = jstr(j, "activation_function", "gelu_new");
        c->gelu = !strcmp(act, "gelu") ? K_GELU_ERF : K_GELU_TANH;
        if (strcmp(act, "gelu") && strcmp(act, "gelu_new") && strcmp(act, "gelu_pytorch_tanh"))
            rc = z_fail(err, errlen, "%s: activation_function %s is not supported", path, act);
        c->ln_eps = jreal(j, "layer_norm_epsilon", 1e-5);
        c->dropout = jreal(j, "resid_pdrop", 0.1);
        c->attn_dropout = jreal(j, "attn_pdrop", 0.1);
        c->init_scaled = 1, c->init = INIT_SCALED, c->type_vocab_size = 0;
        c->positions = POS_ABSOLUTE, c->position_pad_id = 1;
    } else {
        rc = z_fail(err, errlen, "%s: model_type '%s' is not bert, roberta or gpt2", path, type);
    }
    json_decref(j);
    if (!rc && c->arch == ARCH_ENCODER) c->pooler = has_pooler(dir, rob ? "roberta." : "bert.");
    if (!rc && (c->width <= 0 || c->heads <= 0 || c->width % c->heads || c->layers <= 0))
        rc = z_fail(err, errlen, "%s: inconsistent sizes", path);
    return rc;
}

/* ---- import: where the tensors are ------------------------------------------ */

#define MAX_SHARDS 512

/* model.safetensors, or the shards model.safetensors.index.json lists */
typedef struct {
    StFile *f[MAX_SHARDS];
    char file[MAX_SHARDS][256];
    int n;
    json_t *map; /* weight_map: tensor name -> shard file name; NULL for one file */
    char where[4096];
} Source;

static void src_close(Source *s) {
    for (int i = 0; i < s->n; i++) st_close(s->f[i]);
    json_decref(s->map);
}

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static int src_open(Source *s, const char *dir, char *err, size_t n) {
    memset(s, 0, sizeof *s);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (exists(path)) {
        snprintf(s->where, sizeof s->where, "%s", path);
        s->f[0] = st_open(path, err, n);
        return s->f[0] ? (s->n = 1, 0) : -1;
    }
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    snprintf(s->where, sizeof s->where, "%s", path);
    if (!exists(path)) {
        char bin[4096];
        snprintf(bin, sizeof bin, "%s/pytorch_model.bin", dir);
        if (exists(bin))
            return z_fail(err, n,
                          "%s: only a PyTorch pickle (pytorch_model.bin); zeropt reads safetensors "
                          "(model.safetensors or model.safetensors.index.json): save it with "
                          "save_pretrained(..., safe_serialization=True)",
                          dir);
        return z_fail(err, n, "%s: no model.safetensors or model.safetensors.index.json", dir);
    }
    json_error_t je;
    json_t *idx = json_load_file(path, 0, &je);
    json_t *map = json_object_get(idx, "weight_map");
    if (!json_is_object(map)) {
        json_decref(idx);
        return z_fail(err, n, "%s: not a safetensors index (no \"weight_map\" object%s%s)", path,
                      idx ? "" : ": ", idx ? "" : je.text);
    }
    s->map = json_incref(map);
    json_decref(idx);
    const char *k;
    json_t *v;
    json_object_foreach(s->map, k, v) {
        const char *file = json_string_value(v);
        if (!file || strchr(file, '/') || strlen(file) >= sizeof s->file[0])
            return z_fail(err, n, "%s: weight_map[\"%s\"] is not a file name in the folder", path,
                          k);
        int i = 0;
        while (i < s->n && strcmp(s->file[i], file)) i++;
        if (i < s->n) continue;
        if (s->n == MAX_SHARDS) return z_fail(err, n, "%s: more than %d shards", path, MAX_SHARDS);
        char sp[4096 + 256];
        snprintf(sp, sizeof sp, "%s/%s", dir, file);
        snprintf(s->file[s->n], sizeof s->file[0], "%s", file);
        if (!(s->f[s->n] = st_open(sp, err, n))) return -1;
        s->n++;
    }
    return 0;
}

/* The shard holding name (as the index says, and the shard agrees), or −1. */
static int src_find(const Source *s, const char *name, int64_t d[4], int *nd) {
    int i = 0;
    if (s->map) {
        const char *file = json_string_value(json_object_get(s->map, name));
        if (!file) return -1;
        while (i < s->n && strcmp(s->file[i], file)) i++;
        if (i == s->n) return -1;
    }
    *nd = st_shape(s->f[i], name, d);
    return *nd < 0 ? -1 : i;
}

/* The files hold BERT's pooler (pooler.dense.weight, with or without the
 * prefix): then the model keeps it, and exports it again. */
static int has_pooler(const char *dir, const char *prefix) {
    Source s;
    char err[Z_ERR_MAX], name[64];
    int found = 0;
    if (!src_open(&s, dir, err, sizeof err)) {
        int64_t d[4];
        int nd;
        snprintf(name, sizeof name, "%spooler.dense.weight", prefix);
        found = src_find(&s, name, d, &nd) >= 0 || src_find(&s, "pooler.dense.weight", d, &nd) >= 0;
    }
    src_close(&s);
    return found;
}

/* The name HF saved our piece under: with or without the model prefix
 * (bert., roberta., transformer.), LayerNorm weight/bias also as the original
 * BERT release's gamma/beta. */
static int resolve(const Model *m, const Source *s, const char *piece, char *name, size_t n,
                   int64_t d[4], int *nd) {
    const char *pre[] = {prefix_of(m), ""};
    char alt[512];
    const char *ln = strstr(piece, "LayerNorm.");
    snprintf(alt, sizeof alt, "%s", piece);
    if (ln && !strcmp(ln, "LayerNorm.weight"))
        snprintf(alt + (ln - piece), sizeof alt - (size_t)(ln - piece), "LayerNorm.gamma");
    else if (ln && !strcmp(ln, "LayerNorm.bias"))
        snprintf(alt + (ln - piece), sizeof alt - (size_t)(ln - piece), "LayerNorm.beta");
    const char *base[] = {piece, alt};
    for (int b = 0; b < 2; b++)
        for (int p = unprefixed(piece); p < 2; p++) {
            snprintf(name, n, "%s%s", pre[p], base[b]);
            int i = src_find(s, name, d, nd);
            if (i >= 0) return i;
        }
    return -1;
}

static int is_head(const Model *m, const char *piece) {
    return m->c.arch == ARCH_ENCODER && unprefixed(piece);
}

/* transformers' _init_weights for the MLM head it adds: Linear N(0,
 * initializer_range) with zero bias, LayerNorm 1 and 0, the output bias 0
 * (the decoder is the tied word embeddings). */
static void init_head(Model *m) {
    for (int i = 0; i < m->nviews; i++) {
        const ParamView *v = &m->view[i];
        if (strncmp(v->name, "head.", 5) || !strncmp(v->name, "head.norm", 9) ||
            !strncmp(v->name, "head.pooler", 11))
            continue; /* not the MLM head */
        float *p = model_param(m, v);
        size_t n = (size_t)v->shape[0] * (v->ndim == 2 ? (size_t)v->shape[1] : 1);
        int is_w = !strcmp(v->name, "head.transform.weight"),
            is_g = !strcmp(v->name, "head.transform_norm.weight");
        for (size_t k = 0; k < n; k++)
            p[k] = is_w   ? (float)(m->c.init_std * k_rng_normal(k_rng_child(0x4845414Dull, i), k))
                   : is_g ? 1.0f
                          : 0.0f;
    }
}

int hf_import(Model *m, const char *dir, int head, int *head_started, char *err, size_t errlen) {
    *head_started = 0;
    if (supported(m, err, errlen)) return -1;
    Source src;
    if (src_open(&src, dir, err, errlen)) {
        src_close(&src);
        return -1;
    }
    const char *path = src.where;
    int C = m->c.width, rc = 0;
    /* the head: all of it in the file, or none of it (a headless BertModel) */
    int have = 0, want = 0;
    char missing[512] = "";
    for (int i = 0; i < m->nviews; i++) {
        Piece p[3];
        int np = pieces(m, &m->view[i], p);
        for (int k = 0; k < np; k++) {
            if (!is_head(m, p[k].name)) continue;
            char name[512];
            int64_t d[4];
            int nd;
            want++;
            if (resolve(m, &src, p[k].name, name, sizeof name, d, &nd) >= 0)
                have++;
            else if (!*missing)
                snprintf(missing, sizeof missing, "%s", p[k].name);
        }
    }
    int start_head = head == HF_HEAD_INIT || (head == HF_HEAD_TIE && want && !have);
    if (want && !start_head && have < want)
        rc = have ? z_fail(err, errlen, "%s: the MLM head is incomplete: %s is missing", path,
                           missing)
                  : z_fail(err, errlen,
                           "%s: no MLM head (%s and the rest of %s): a headless %s; import "
                           "with --head tie (or init) to start a head",
                           path, missing, roberta(m) ? "lm_head.*" : "cls.predictions.*",
                           roberta(m) ? "RobertaModel" : "BertModel");
    for (int i = 0; i < m->nviews && !rc; i++) {
        const ParamView *v = &m->view[i];
        Piece p[3];
        int np = pieces(m, v, p);
        float *dst = model_param(m, v);
        for (int k = 0; k < np && !rc; k++) {
            if (start_head && is_head(m, p[k].name)) continue;
            char name[512];
            int64_t d[4];
            int nd, sh = resolve(m, &src, p[k].name, name, sizeof name, d, &nd);
            if (sh < 0) {
                rc =
                    z_fail(err, errlen, "%s: missing tensor %s (for %s)", path, p[k].name, v->name);
                break;
            }
            int64_t want0 = p[k].how == ROWS        ? C
                            : p[k].how == TRANSPOSE ? v->shape[1]
                                                    : v->shape[0];
            int64_t want1 = p[k].how == TRANSPOSE ? v->shape[0] : v->shape[1];
            if (nd != v->ndim || d[0] != want0 || (nd == 2 && d[1] != want1)) {
                rc = z_fail(err, errlen, "%s: %s has the wrong shape for %s", path, name, v->name);
                break;
            }
            size_t n;
            float *in = st_read(src.f[sh], name, &n, err, errlen);
            if (!in) {
                rc = -1;
                break;
            }
            if (p[k].how == COPY)
                memcpy(dst, in, n * sizeof(float));
            else if (p[k].how == ROWS)
                memcpy(dst + (size_t)p[k].k * n, in, n * sizeof(float));
            else {
                int r = v->shape[0], c = v->shape[1]; /* in is [c, r] */
                for (int a = 0; a < r; a++)
                    for (int b = 0; b < c; b++) dst[(size_t)a * c + b] = in[(size_t)b * r + a];
            }
            free(in);
        }
    }
    if (!rc && start_head && want) {
        init_head(m);
        *head_started = 1;
    }
    src_close(&src);
    return rc;
}
