/*
 * cmd_train.c — `zeropt train` and `zeropt eval`.
 */
#include "cmd.h"

#include "src/sweep/geometry.h"
#include "src/tokenizer/tokenizer.h"
#include "src/train/trainer.h"

#include "io/corpus.h"
#include "mpi/comm.h"
#include "mpi/watchdog.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char USAGE_TRAIN[] =
    "zeropt train -c <config.ini> [section.key=value ...]   (under mpirun / srun)\n"
    "    train; the run directory gets config.ini, metrics.jsonl, model.h5, ckpt/.\n"
    "    Every key: zeropt model --keys. Exit 75 after a SIGUSR1/SIGTERM stop (checkpoint\n"
    "    written: requeue), 0 when done, 1 on an error.\n";
const char USAGE_EVAL[] =
    "zeropt eval -c <config.ini> [--model <model.h5>] [--show N] [section.key=value ...]\n"
    "    validation loss, perplexity (and MLM accuracy; retrieval recall@1/@10 with\n"
    "    objective.retrieval_pairs=N) of a model on the corpus's held-out split, as JSON;\n"
    "    --show N: N held-out documents with some words masked and the model's top guesses\n";

int cli_help(int argc, char **argv, const char *usage) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s", usage);
            return 1;
        }
    return 0;
}

/* Whole-word, span and salient masking group tokens into words: which
 * tokens continue a word, from the tokenizer the corpus stores (NULL for
 * token masking). */
static uint8_t *word_table(const Config *c) {
    if (c->data.objective != OBJ_MLM || c->mask.scheme == MASK_TOKEN || c->train.replay[0])
        return NULL;
    Corpus corp;
    char err[Z_ERR_MAX];
    if (corpus_open(&corp, c->data.path, "", err, sizeof err)) z_die_all("%s", err);
    Tokenizer *tok =
        corp.tokenizer_json
            ? tok_from_json(corp.tokenizer_json, strlen(corp.tokenizer_json), err, sizeof err)
            : NULL;
    if (!tok)
        z_die_all("%s: [mask] scheme = %s groups tokens into words: it needs the tokenizer the "
                  "corpus stores (/tokenizer/json)%s%s",
                  c->data.path,
                  c->mask.scheme == MASK_WORD   ? "word"
                  : c->mask.scheme == MASK_SPAN ? "span"
                                                : "salient",
                  corp.tokenizer_json ? ": " : "", corp.tokenizer_json ? err : "");
    int V = corp.meta.vocab_size;
    uint8_t *cont = z_calloc((size_t)V, 1, "word table");
    for (int id = 0; id < V; id++) cont[id] = (uint8_t)tok_continues_word(tok, id);
    tok_free(tok);
    corpus_close(&corp);
    return cont;
}

/* Before anything is allocated: the bytes `zeropt plan` gives this run per
 * rank (the bytes runs count, to the byte in the tests) against the share
 * of the node's memory each rank may hold (z_mem_limit). An oversized model
 * then stops at once with one line, instead of zeroing gigabytes until the
 * kernel's OOM killer ends it (z_alloc checks each block as well). */
static void check_memory(const Config *c, int ranks) {
    const char *src;
    int local;
    double limit = z_mem_limit(&src, &local);
    if (limit <= 0 || c->train.device != DEV_CPU) return; /* a device counts its own memory */
    int per = c->train.micro_batch * ranks, gb = c->train.global_batch;
    PlanGeo g;
    plan_geo_model(&g, c, ranks, c->train.micro_batch, c->data.seq_len,
                   gb > 0 && gb % per == 0 ? gb / per : 1, c->train.recompute, c->data.mask_rate);
    PlanBytes b = plan_geo_bytes(c->train.precision == DT_BF16 ? PREC_BF16 : PREC_FP32, c);
    PlanMem m = plan_memory(&g.pm, c->zero.stage, ranks, &b);
    plan_geo_free(&g);
    if (m.total > limit)
        z_die_all(
            "out of memory: this run needs %.1f MB per rank (params %.1f, grads %.1f, "
            "optimizer %.1f, buffers %.1f, activations %.1f, batch %.1f MB: `zeropt plan`), past "
            "the "
            "%.1f MB each of this node's %d rank(s) can have (%s): a smaller model or "
            "batch, more nodes, or a higher [zero] stage",
            m.total / 1e6, m.params / 1e6, m.grads / 1e6, m.optim / 1e6, m.buffers / 1e6,
            m.activations / 1e6, m.data / 1e6, limit / 1e6, local, src);
}

int cmd_train(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_TRAIN)) return 0;
    comm_init(&argc, &argv);
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    trainer_parse(&tr, argc, argv, "train");
    check_memory(&tr.cfg, comm_size());
    watchdog_start(tr.cfg.run.collective_timeout);
    uint8_t *cont = word_table(&tr.cfg);
    tr.word_cont = cont;
    trainer_build(&tr);
    int rc = trainer_run(&tr);
    trainer_free(&tr);
    free(cont);
    comm_finalize();
    return rc;
}

/* ------------------------------------------------------------------------- */
/* eval --show: the model at work on held-out documents                       */

/* 1: the token starts a word of letters (" word"); 2: it continues one
 * ("ing"); 0: anything else. */
static int word_kind(void *ctx, int32_t id) {
    size_t n;
    char *s = tok_piece_text(ctx, id, &n);
    size_t i = s[0] == ' ', letters = 0;
    while (i + letters < n && isalpha((unsigned char)s[i + letters])) letters++;
    int kind = i + letters != n || !letters ? 0 : s[0] == ' ' ? (letters >= 2 ? 1 : 0) : 2;
    free(s);
    return kind;
}

/* A token as it reads in running text (newlines indented under the quote). */
static void print_text(const Tokenizer *t, int32_t id) {
    size_t n;
    char *s = tok_piece_text(t, id, &n);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            fputs("\n      ", stdout);
        else
            putchar(s[i]);
    free(s);
}

/* A token on its own: leading space dropped, newlines and tabs escaped. */
static void print_word(const Tokenizer *t, int32_t id) {
    size_t n;
    char *s = tok_piece_text(t, id, &n);
    for (size_t i = s[0] == ' ' && n > 1; i < n; i++)
        fputs(s[i] == '\n' ? "\\n" : s[i] == '\t' ? "\\t" : (char[]){s[i], 0}, stdout);
    free(s);
}

static void show(Trainer *tr, int n) {
    const char *json = tr->val.corpus.tokenizer_json;
    char err[Z_ERR_MAX];
    Tokenizer *tok = json ? tok_from_json(json, strlen(json), err, sizeof err) : NULL;
    if (!tok)
        z_die_all("%s: --show needs the tokenizer the corpus stores (/tokenizer/json)",
                  tr->cfg.data.path);
    Prediction *p = z_calloc((size_t)n, sizeof *p, "predictions");
    int got = trainer_predict(tr, p, n, 0.2, word_kind, tok);
    if (tr->rank == 0) {
        int first = 0, top = 0, all = 0;
        printf("the model at work on %d held-out documents: words masked, its %d best guesses\n",
               got, PREDICT_TOP);
        for (int d = 0; d < got; d++) {
            const Prediction *q = &p[d];
            printf("\n  \"");
            for (int i = 0, j = 0; i < q->n; i++) {
                if (j < q->nmasked && q->at[j] == i)
                    printf(" [%d]", ++j);
                else
                    print_text(tok, q->tokens[i]);
            }
            printf("\"\n");
            for (int j = 0; j < q->nmasked; j++) {
                int32_t truth = q->tokens[q->at[j]];
                const int32_t *g = q->guess + (size_t)j * PREDICT_TOP;
                printf("    [%d] ", j + 1);
                print_word(tok, truth);
                printf("  ->  ");
                int in_top = 0;
                for (int s = 0; s < PREDICT_TOP; s++) {
                    printf("%s", s ? "  " : "");
                    print_word(tok, g[s]);
                    printf(" %.0f%%", 100.0 * q->prob[(size_t)j * PREDICT_TOP + s]);
                    in_top |= g[s] == truth;
                }
                first += g[0] == truth, top += in_top, all++;
                printf("%s\n", g[0] == truth ? "   (right)" : in_top ? "   (in its top 3)" : "");
            }
        }
        printf("\n%d of %d masked words guessed right at the first guess, %d within the top %d\n",
               first, all, top, PREDICT_TOP);
        fflush(stdout);
    }
    trainer_free_predictions(p, got);
    free(p);
    tok_free(tok);
}

int cmd_eval(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_EVAL)) return 0;
    comm_init(&argc, &argv);
    const char *model_path = NULL;
    int nshow = 0;
    for (int i = 0; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--model")) model_path = argv[i + 1];
        if (!strcmp(argv[i], "--show")) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 1 || v > 1000)
                z_die_all("eval: --show %s: expected a number of documents in [1, 1000]",
                          argv[i + 1]);
            nshow = (int)v;
        }
    }
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    trainer_parse(&tr, argc, argv, "eval");
    watchdog_start(tr.cfg.run.collective_timeout);
    if (tr.cfg.data.val_batches == 0) tr.cfg.data.val_batches = 1;
    uint8_t *cont = word_table(&tr.cfg);
    tr.word_cont = cont;
    trainer_build(&tr);
    if (nshow && tr.cfg.data.objective != OBJ_MLM)
        z_die_all("eval: --show shows masked-word guesses: it needs an MLM encoder");
    if (model_path) trainer_load_params(&tr, model_path, "model");
    EvalStats e = trainer_evaluate(&tr, &tr.val, 0);
    if (tr.rank == 0) {
        /* MLM: the perplexity of the masked tokens (pseudo-perplexity) */
        printf("{\"val_loss\": %.10g, \"val_ppl\": %.10g", e.loss, exp(e.loss));
        if (tr.cfg.data.objective == OBJ_MLM) printf(", \"val_acc\": %.10g", e.acc);
        if (!isnan(e.recall1))
            printf(", \"recall_1\": %.10g, \"recall_10\": %.10g, \"retrieval_pairs\": %d",
                   e.recall1, e.recall10, e.pairs);
        if (!isnan(tr.unigram)) printf(", \"unigram_entropy\": %.10g", tr.unigram);
        printf(", \"tokens\": %.0f, \"model\": \"%s\"}\n", e.count,
               model_path ? model_path : "init");
        fflush(stdout);
    }
    if (nshow) show(&tr, nshow);
    trainer_free(&tr);
    free(cont);
    comm_finalize();
    return 0;
}
