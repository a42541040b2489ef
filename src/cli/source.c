/*
 * source.c — a model and its tokenizer from a checkpoint or an HF folder
 * (see source.h).
 */
#include "source.h"

#include "src/config/config.h"
#include "src/model/hf.h"
#include "src/train/trainer.h"

#include "io/corpus.h"
#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

void cli_resolve_ckpt(const char *arg, char *out, size_t n) {
    struct stat st;
    char p[4096];
    snprintf(p, sizeof p, "%s/config.json", arg);
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode) && !is_file(p)) {
        char name[256] = "";
        snprintf(p, sizeof p, "%s/latest", arg);
        FILE *f = fopen(p, "r");
        if (!f || !fgets(name, sizeof name, f)) z_die_all("%s: no latest checkpoint", arg);
        fclose(f);
        name[strcspn(name, "\r\n")] = 0;
        snprintf(out, n, "%s/%s", arg, name);
    } else
        snprintf(out, n, "%s", arg);
}

/* The tokenizer stored in the corpus a checkpoint's config trained on;
 * NULL (with why in err) when there is none. */
static Tokenizer *corpus_tokenizer(const char *ckpt, char *why, size_t n) {
    char err[Z_ERR_MAX];
    Config cfg;
    if (trainer_ckpt_config(ckpt, &cfg, err, sizeof err)) z_die_all("%s", err);
    Corpus c;
    if (!cfg.data.path[0]) {
        snprintf(why, n, "the checkpoint names no corpus (an import?)");
        return NULL;
    }
    if (corpus_open(&c, cfg.data.path, "", err, sizeof err)) {
        snprintf(why, n, "the corpus it trained on (%s) cannot be read", cfg.data.path);
        return NULL;
    }
    Tokenizer *t = c.tokenizer_json
                       ? tok_from_json(c.tokenizer_json, strlen(c.tokenizer_json), err, sizeof err)
                       : NULL;
    if (!t) snprintf(why, n, "its corpus %s stores none", cfg.data.path);
    corpus_close(&c);
    return t;
}

Tokenizer *source_ckpt_tokenizer(const char *ckpt, const char *tok_file, int required) {
    char err[Z_ERR_MAX];
    Tokenizer *t;
    if (tok_file) {
        if (!(t = tok_load(tok_file, err, sizeof err))) z_die_all("%s", err);
        return t;
    }
    t = corpus_tokenizer(ckpt, err, sizeof err);
    if (!t && required) z_die_all("%s: no tokenizer: %s; pass --tokenizer FILE", ckpt, err);
    return t;
}

void source_open(Source *s, const char *arg, const char *tok_file, int need_tok) {
    char err[Z_ERR_MAX], p[4200];
    memset(s, 0, sizeof *s);
    cli_resolve_ckpt(arg, s->path, sizeof s->path);
    snprintf(p, sizeof p, "%s/config.json", s->path);
    s->hf = is_file(p);
    if (s->hf) {
        Config cfg;
        config_defaults(&cfg);
        if (hf_read_config(s->path, &cfg.model, err, sizeof err)) z_die_all("%s", err);
        if (cfg.data.seq_len > model_max_len(&cfg.model))
            cfg.data.seq_len = model_max_len(&cfg.model);
        config_finish(&cfg, p);
        model_layout(&s->m, &cfg.model, 1, 1);
        model_alloc_params(&s->m);
        int started;
        if (hf_import(&s->m, s->path, HF_HEAD_TIE, &started, err, sizeof err)) z_die_all("%s", err);
        if (started && s->m.c.arch == ARCH_ENCODER)
            fprintf(stderr, "%s: note: no MLM head in the folder; its head is freshly started\n",
                    s->path);
    } else if (trainer_ckpt_model(s->path, &s->m, err, sizeof err))
        z_die_all("%s", err);
    if (!need_tok) return;
    if (s->hf && !tok_file) {
        snprintf(p, sizeof p, "%s/tokenizer.json", s->path);
        if (!is_file(p)) snprintf(p, sizeof p, "%s/vocab.txt", s->path);
        if (!is_file(p))
            z_die_all("%s: no tokenizer.json or vocab.txt in the folder; pass --tokenizer FILE",
                      s->path);
        if (!(s->tok = tok_load(p, err, sizeof err))) z_die_all("%s", err);
    } else
        s->tok = source_ckpt_tokenizer(s->path, tok_file, 1);
    if (tok_vocab_size(s->tok) > s->m.c.vocab_size)
        z_die_all("%s: the tokenizer has %d tokens, the model's vocabulary %d", s->path,
                  tok_vocab_size(s->tok), s->m.c.vocab_size);
}

void source_close(Source *s) {
    model_free(&s->m);
    if (s->tok) tok_free(s->tok);
    memset(s, 0, sizeof *s);
}

int32_t *source_encode(const Source *s, const char *text, size_t *n) {
    int32_t *ids = NULL;
    size_t cap = 0, k = tok_encode(s->tok, text, strlen(text), &ids, &cap);
    SpecialIds sp = tok_specials(s->tok);
    if (s->m.c.arch == ARCH_ENCODER) {
        int cls = sp.cls >= 0 ? sp.cls : sp.bos, sep = sp.sep >= 0 ? sp.sep : sp.eos;
        if (cls < 0 || sep < 0) z_die_all("the tokenizer has no [CLS]/[SEP] (or <s>/</s>) token");
        int32_t *o = z_malloc((k + 2) * sizeof *o, "ids");
        o[0] = cls;
        memcpy(o + 1, ids, k * sizeof *o);
        o[k + 1] = sep;
        free(ids);
        ids = o, k += 2;
    }
    *n = k;
    return ids;
}
