/*
 * cmd_embed.c — `zeropt embed`: one vector per text from a model's last
 * hidden states, the [CLS] (first) position's or the mean over the text's
 * tokens, L2-normalised (as sentence-transformers pools). Texts go through
 * in padded batches with an attention mask, so a text's vector does not
 * depend on the others in its batch.
 *
 * One process, no MPI: it starts in a fraction of a second, on a login
 * node too.
 */
#include "cmd.h"
#include "source.h"

#include "src/model/infer.h"

#include "io/tensorfile.h"
#include "mpi/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char USAGE_EMBED[] =
    "zeropt embed <ckpt.h5|ckpt dir|HF dir> (--text TEXT ... | --input FILE)\n"
    "       [--pool cls|mean|pooler] [--no-normalize] [--batch N] [--out OUT.h5] [--tokenizer "
    "FILE]\n"
    "    a vector per text (--input: one text per line): the first position's last hidden\n"
    "    state (cls, the default for encoders) or the mean over the text's tokens (mean,\n"
    "    the default for decoders) or BERT's pooler (tanh(W·h_cls + b), when the model has\n"
    "    one), L2-normalised; printed one line of numbers per text,\n"
    "    or written to OUT.h5 as the float dataset embeddings [texts, width]\n";

enum { POOL_DEFAULT, POOL_CLS, POOL_MEAN, POOL_POOLER };

/* Embeddings of texts [a, a+B) into out[B, C]. */
static void embed_batch(Source *s, char **texts, int B, int pool, int normalize, float *out) {
    Model *m = &s->m;
    int C = m->c.width, P = model_max_len(&m->c);
    int32_t **ids = z_malloc((size_t)B * sizeof *ids, "ids");
    size_t *len = z_malloc((size_t)B * sizeof *len, "lengths");
    int T = 1;
    for (int b = 0; b < B; b++) {
        ids[b] = source_encode(s, texts[b], &len[b]);
        if ((int)len[b] > P) {
            fprintf(stderr, "embed: note: text %d has %zu tokens, cut to %d\n", b + 1, len[b], P);
            len[b] = (size_t)P;
        }
        if (len[b] == 0) z_die_all("embed: text %d has no tokens", b + 1);
        if ((int)len[b] > T) T = (int)len[b];
    }
    size_t N = (size_t)B * T;
    int32_t *tok = z_calloc(N, sizeof *tok, "tokens"), *lab = z_malloc(N * sizeof *lab, "labels");
    uint8_t *mask = z_calloc(N, 1, "mask");
    int pad = tok_specials(s->tok).pad;
    for (size_t i = 0; i < N; i++) tok[i] = pad >= 0 ? pad : 0, lab[i] = -1;
    for (int b = 0; b < B; b++)
        for (size_t t = 0; t < len[b]; t++) tok[(size_t)b * T + t] = ids[b][t], mask[b * T + t] = 1;
    model_alloc_acts(m, B, T, 1, 0, 0);
    Batch bt = {B, T, tok, lab, NULL, mask, NULL, 0, 0};
    model_forward(m, &bt);
    const float *h = model_last_hidden(m);
    if (pool == POOL_POOLER) model_pooled(m, B, T, out);
    for (int b = 0; b < B; b++) {
        float *e = out + (size_t)b * C;
        if (pool == POOL_CLS) /* (the pooler's rows are in out already) */
            memcpy(e, h + (size_t)b * T * C, C * sizeof(float));
        else if (pool == POOL_MEAN)
            for (int c = 0; c < C; c++) {
                double acc = 0;
                for (size_t t = 0; t < len[b]; t++) acc += h[((size_t)b * T + t) * C + c];
                e[c] = (float)(acc / (double)len[b]);
            }
        if (normalize) {
            double ss = 0;
            for (int c = 0; c < C; c++) ss += (double)e[c] * e[c];
            float inv = ss > 0 ? (float)(1.0 / fmax(sqrt(ss), 1e-12)) : 0;
            for (int c = 0; c < C; c++) e[c] *= inv;
        }
        free(ids[b]);
    }
    model_free_acts(m);
    free(ids), free(len), free(tok), free(lab), free(mask);
}

static char **read_lines(const char *path, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) z_die_all("%s: cannot open", path);
    char **out = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int k = 0, room = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (!got) continue;
        if (k == room) out = realloc(out, (size_t)(room = room ? 2 * room : 64) * sizeof *out);
        out[k++] = strdup(line);
    }
    free(line);
    fclose(f);
    if (!k) z_die_all("%s: no texts (one per line)", path);
    *n = k;
    return out;
}

int cmd_embed(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_EMBED)) return 0;
    const char *target = NULL, *tok_file = NULL, *input = NULL, *outp = NULL;
    char **texts = z_calloc((size_t)argc + 1, sizeof *texts, "texts");
    int nt = 0, pool = POOL_DEFAULT, normalize = 1, batch = 32, owned = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-normalize"))
            normalize = 0;
        else if (a[0] == '-' && a[1] == '-' && !v)
            z_die_all("embed: %s needs a value", a);
        else if (!strcmp(a, "--text"))
            texts[nt++] = argv[++i];
        else if (!strcmp(a, "--input"))
            input = v, i++;
        else if (!strcmp(a, "--out"))
            outp = v, i++;
        else if (!strcmp(a, "--tokenizer"))
            tok_file = v, i++;
        else if (!strcmp(a, "--pool")) {
            pool = !strcmp(v, "cls")      ? POOL_CLS
                   : !strcmp(v, "mean")   ? POOL_MEAN
                   : !strcmp(v, "pooler") ? POOL_POOLER
                                          : -1,
            i++;
            if (pool < 0) z_die_all("embed: --pool %s: cls, mean or pooler", v);
        } else if (!strcmp(a, "--batch")) {
            char *end;
            batch = (int)strtol(v, &end, 10), i++;
            if (*end || batch < 1) z_die_all("embed: --batch %s: a positive integer", v);
        } else if (a[0] != '-' && !target)
            target = a;
        else
            z_die_all("embed: unknown argument %s (zeropt embed --help)", a);
    }
    if (!target) z_die_all("embed: which model? (a checkpoint or an HF folder)");
    if (!nt == !input) z_die_all("embed: give --text TEXT (any number) or --input FILE");
    if (input) free(texts), texts = read_lines(input, &nt), owned = 1;
    Source s;
    source_open(&s, target, tok_file, 1);
    if (pool == POOL_DEFAULT) pool = s.m.c.arch == ARCH_ENCODER ? POOL_CLS : POOL_MEAN;
    if (pool == POOL_POOLER && s.m.hl.pool_w < 0)
        z_die_all("%s: --pool pooler: the model has no pooler (import one that ships it)", s.path);
    int C = s.m.c.width;
    float *e = z_malloc((size_t)nt * C * sizeof *e, "embeddings");
    for (int a = 0; a < nt; a += batch)
        embed_batch(&s, texts + a, nt - a < batch ? nt - a : batch, pool, normalize,
                    e + (size_t)a * C);
    if (outp) {
        char err[Z_ERR_MAX];
        TensorFile *o = tf_create(outp, err, sizeof err);
        int64_t dims[2] = {nt, C};
        if (!o || tf_write(o, "embeddings", 'f', e, 2, dims) ||
            tf_set_attr(o, "pool",
                        pool == POOL_CLS    ? "cls"
                        : pool == POOL_MEAN ? "mean"
                                            : "pooler") ||
            tf_set_attr(o, "model", s.path) || tf_close(o))
            z_die_all("%s: cannot write embeddings", outp);
        printf("embeddings [%d, %d] (%s pooling%s) of %s -> %s\n", nt, C,
               pool == POOL_CLS    ? "cls"
               : pool == POOL_MEAN ? "mean"
                                   : "pooler",
               normalize ? ", L2-normalised" : "", s.path, outp);
    } else
        for (int i = 0; i < nt; i++) {
            for (int c = 0; c < C; c++) printf(c ? " %.9g" : "%.9g", e[(size_t)i * C + c]);
            printf("\n");
        }
    if (owned)
        for (int i = 0; i < nt; i++) free(texts[i]);
    free(texts), free(e);
    source_close(&s);
    return 0;
}
