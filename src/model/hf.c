/*
 * hf.c — zeropt ⇄ Hugging Face tensor names, shapes and configs (see hf.h).
 */
#include "hf.h"

#include "io/safetensors.h"
#include "kernels/kernels.h"
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

/* HF pieces of one of our tensors (without the bert./transformer. prefix). */
static int pieces(const Model *m, const ParamView *v, Piece *p) {
    int enc = m->c.arch == ARCH_ENCODER, l;
    char rest[96];
    const char *qkv[3] = {"query", "key", "value"};
    if (enc) {
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

static const char *prefix_of(const Model *m) {
    return m->c.arch == ARCH_ENCODER ? "bert." : "transformer.";
}

static int supported(const Model *m, char *err, size_t n) {
    const ModelConfig *c = &m->c;
    if (!c->tied) return z_fail(err, n, "HF export/import: untied output heads are not supported");
    if (c->arch == ARCH_ENCODER && c->norm != NORM_POST)
        return z_fail(err, n, "HF BertForMaskedLM is post-LN; this encoder is pre-LN");
    if (c->arch == ARCH_DECODER && c->norm != NORM_PRE)
        return z_fail(err, n, "HF GPT2LMHeadModel is pre-LN; this decoder is post-LN");
    if (c->arch == ARCH_ENCODER && c->type_vocab_size == 0)
        return z_fail(err, n, "HF BERT needs token-type embeddings (type_vocab_size > 0)");
    return 0;
}

static int write_config(const Model *m, const char *path, int bf16, char *err, size_t n) {
    const ModelConfig *c = &m->c;
    json_t *j;
    if (c->arch == ARCH_ENCODER)
        j = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f,s:i,s:b}",
                      "architectures", "BertForMaskedLM", "model_type", "bert", "vocab_size",
                      c->vocab_size, "hidden_size", c->width, "num_hidden_layers", c->layers,
                      "num_attention_heads", c->heads, "intermediate_size", c->ffn,
                      "max_position_embeddings", c->max_positions, "type_vocab_size",
                      c->type_vocab_size, "hidden_act", c->gelu == K_GELU_ERF ? "gelu" : "gelu_new",
                      "layer_norm_eps", c->ln_eps, "hidden_dropout_prob", c->dropout,
                      "attention_probs_dropout_prob", c->attn_dropout, "initializer_range",
                      c->init_std, "pad_token_id", 0, "tie_word_embeddings", 1);
    else
        j = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f,s:f,s:b}",
                      "architectures", "GPT2LMHeadModel", "model_type", "gpt2", "vocab_size",
                      c->vocab_size, "n_positions", c->max_positions, "n_embd", c->width, "n_layer",
                      c->layers, "n_head", c->heads, "n_inner", c->ffn, "activation_function",
                      c->gelu == K_GELU_TANH ? "gelu_new" : "gelu", "layer_norm_epsilon", c->ln_eps,
                      "resid_pdrop", c->dropout, "embd_pdrop", c->dropout, "attn_pdrop",
                      c->attn_dropout, "initializer_range", c->init_std, "tie_word_embeddings", 1);
    json_object_set_new(j, "torch_dtype", json_string(bf16 ? "bfloat16" : "float32"));
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? z_fail(err, n, "%s: cannot write", path) : 0;
}

int hf_export(const Model *m, const char *dir, int bf16, char *err, size_t errlen) {
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
            if (!strncmp(p[k].name, "cls.", 4))
                snprintf(t[n].name, sizeof t[n].name, "%s", p[k].name);
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
    return write_config(m, path, bf16, err, errlen);
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

int hf_read_config(const char *dir, ModelConfig *c, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) return z_fail(err, errlen, "%s: cannot read (%s)", path, je.text);
    const char *type = jstr(j, "model_type", "");
    memset(c, 0, sizeof *c);
    c->tied = json_is_false(json_object_get(j, "tie_word_embeddings")) ? 0 : 1;
    c->init_std = jreal(j, "initializer_range", 0.02);
    int rc = 0;
    if (!strcmp(type, "bert")) {
        c->arch = ARCH_ENCODER, c->norm = NORM_POST;
        c->vocab_size = jint(j, "vocab_size", 30522);
        c->width = jint(j, "hidden_size", 768);
        c->layers = jint(j, "num_hidden_layers", 12);
        c->heads = jint(j, "num_attention_heads", 12);
        c->ffn = jint(j, "intermediate_size", 3072);
        c->max_positions = jint(j, "max_position_embeddings", 512);
        c->type_vocab_size = jint(j, "type_vocab_size", 2);
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
        c->init_scaled = 1;
    } else {
        rc = z_fail(err, errlen, "%s: model_type '%s' is not bert or gpt2", path, type);
    }
    json_decref(j);
    if (!rc && (c->width <= 0 || c->heads <= 0 || c->width % c->heads || c->layers <= 0))
        rc = z_fail(err, errlen, "%s: inconsistent sizes", path);
    return rc;
}

int hf_import(Model *m, const char *dir, char *err, size_t errlen) {
    if (supported(m, err, errlen)) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    StFile *f = st_open(path, err, errlen);
    if (!f) return -1;
    int C = m->c.width, rc = 0;
    for (int i = 0; i < m->nviews && !rc; i++) {
        const ParamView *v = &m->view[i];
        Piece p[3];
        int np = pieces(m, v, p);
        float *dst = model_param(m, v);
        for (int k = 0; k < np && !rc; k++) {
            char name[512];
            int64_t d[4];
            snprintf(name, sizeof name, "%s%s", prefix_of(m), p[k].name);
            if (st_shape(f, name, d) < 0) snprintf(name, sizeof name, "%s", p[k].name);
            int nd = st_shape(f, name, d);
            if (nd < 0) {
                rc = z_fail(err, errlen, "%s: missing tensor %s%s (for %s)", path, prefix_of(m),
                            p[k].name, v->name);
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
            float *src = st_read(f, name, &n, err, errlen);
            if (!src) {
                rc = -1;
                break;
            }
            if (p[k].how == COPY)
                memcpy(dst, src, n * sizeof(float));
            else if (p[k].how == ROWS)
                memcpy(dst + (size_t)p[k].k * n, src, n * sizeof(float));
            else {
                int r = v->shape[0], c = v->shape[1]; /* src is [c, r] */
                for (int a = 0; a < r; a++)
                    for (int b = 0; b < c; b++) dst[(size_t)a * c + b] = src[(size_t)b * r + a];
            }
            free(src);
        }
    }
    st_close(f);
    return rc;
}
