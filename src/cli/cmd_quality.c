/*
 * cmd_quality.c — `zeropt quality train | predict | test`: the fastText-
 * compatible quality classifier (src/prep/quality.h) on "__label__X text"
 * lines; models are fastText .bin files.
 */
#include "cmd.h"

#include "src/prep/quality.h"

#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char USAGE_QUALITY[] =
    "zeropt quality train --input TRAIN.txt --output MODEL.bin [--lr 0.1] [--dim 100]\n"
    "       [--epoch 5] [--word-ngrams 1] [--min-count 1] [--min-count-label 0]\n"
    "       [--bucket 2000000] [--minn 0] [--maxn 0] [--loss softmax|ova] [--seed 0]\n"
    "zeropt quality predict --model MODEL.bin [--input FILE] [--k 1] [--threshold 0]\n"
    "zeropt quality test --model MODEL.bin --input TEST.txt [--k 1] [--threshold 0]\n"
    "    fastText's supervised classifier (its defaults, its .bin files both ways): lines\n"
    "    \"__label__X __label__Y text\"; predict prints, per input line (stdin without\n"
    "    --input), the k best labels with their probabilities as fastText's predict-prob\n"
    "    does; test prints examples, precision@k and recall@k\n";

static void bad_arg(const char *sub, const char *a) {
    z_die_all("quality %s: unknown or incomplete argument %s (zeropt quality --help)", sub, a);
}

static long num(const char *sub, const char *flag, const char *v, long lo, long hi) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi)
        z_die_all("quality %s: %s %s: expected an integer in [%ld, %ld]", sub, flag, v, lo, hi);
    return x;
}

static double real(const char *sub, const char *flag, const char *v, double lo, double hi) {
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x >= lo && x <= hi))
        z_die_all("quality %s: %s %s: expected a number in [%g, %g]", sub, flag, v, lo, hi);
    return x;
}

static int train(int argc, char **argv) {
    QcArgs a;
    qc_default_args(&a);
    const char *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) bad_arg("train", f);
        if (!strcmp(f, "--input"))
            in = v;
        else if (!strcmp(f, "--output"))
            out = v;
        else if (!strcmp(f, "--lr"))
            a.lr = real("train", f, v, 0, 100);
        else if (!strcmp(f, "--dim"))
            a.dim = (int)num("train", f, v, 1, 1 << 16);
        else if (!strcmp(f, "--epoch"))
            a.epoch = (int)num("train", f, v, 1, 1 << 20);
        else if (!strcmp(f, "--word-ngrams"))
            a.word_ngrams = (int)num("train", f, v, 1, 64);
        else if (!strcmp(f, "--min-count"))
            a.min_count = (int)num("train", f, v, 1, 1 << 30);
        else if (!strcmp(f, "--min-count-label"))
            a.min_count_label = (int)num("train", f, v, 0, 1 << 30);
        else if (!strcmp(f, "--bucket"))
            a.bucket = (int)num("train", f, v, 0, 1 << 30);
        else if (!strcmp(f, "--minn"))
            a.minn = (int)num("train", f, v, 0, 64);
        else if (!strcmp(f, "--maxn"))
            a.maxn = (int)num("train", f, v, 0, 64);
        else if (!strcmp(f, "--seed"))
            a.seed = (uint64_t)num("train", f, v, 0, 1L << 62);
        else if (!strcmp(f, "--loss")) {
            if (strcmp(v, "softmax") && strcmp(v, "ova"))
                z_die_all("quality train: --loss %s: expected softmax or ova", v);
            a.loss = !strcmp(v, "ova") ? QC_LOSS_OVA : QC_LOSS_SOFTMAX;
        } else
            bad_arg("train", f);
        i++;
    }
    if (!in || !out) z_die_all("quality train: needs --input TRAIN.txt and --output MODEL.bin");
    if (a.maxn > 0 && a.minn > a.maxn)
        z_die_all("quality train: --minn %d exceeds --maxn %d", a.minn, a.maxn);
    char err[Z_ERR_MAX];
    Qc *q = qc_train(in, &a, err, sizeof err);
    if (!q || qc_save(q, out, err, sizeof err)) z_die_all("%s", err);
    printf("quality train: %s: %d words, %d labels, dim %d, %d epochs, word n-grams %d "
           "(bucket %d) -> %s\n",
           in, qc_nwords(q), qc_nlabels(q), a.dim, a.epoch, a.word_ngrams, qc_args(q)->bucket, out);
    qc_free(q);
    return 0;
}

/* predict's and test's arguments, and the model they name */
typedef struct {
    const char *in;
    int k;
    double th;
    Qc *q;
} Use;

static Use use_args(const char *sub, int argc, char **argv) {
    Use u = {NULL, 1, 0, NULL};
    const char *model = NULL;
    for (int i = 0; i < argc; i += 2) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) bad_arg(sub, f);
        if (!strcmp(f, "--model"))
            model = v;
        else if (!strcmp(f, "--input"))
            u.in = v;
        else if (!strcmp(f, "--k"))
            u.k = (int)num(sub, f, v, 1, 1 << 20);
        else if (!strcmp(f, "--threshold"))
            u.th = real(sub, f, v, 0, 1);
        else
            bad_arg(sub, f);
    }
    if (!model) z_die_all("quality %s: needs --model MODEL.bin", sub);
    if (!u.in && !strcmp(sub, "test")) z_die_all("quality test: needs --input TEST.txt");
    char err[Z_ERR_MAX];
    u.q = qc_load(model, err, sizeof err);
    if (!u.q) z_die_all("%s", err);
    return u;
}

static int predict(int argc, char **argv) {
    Use u = use_args("predict", argc, argv);
    FILE *f = u.in ? fopen(u.in, "r") : stdin;
    if (!f) z_die_all("quality predict: %s: cannot open", u.in);
    int k = u.k < qc_nlabels(u.q) ? u.k : qc_nlabels(u.q);
    int *lab = z_malloc((size_t)k * sizeof *lab, "labels");
    double *p = z_malloc((size_t)k * sizeof *p, "probabilities");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (n && line[n - 1] == '\n') n--;
        int got = qc_predict(u.q, line, (size_t)n, k, u.th, lab, p);
        for (int j = 0; j < got; j++)
            printf("%s%s %.8g", j ? " " : "", qc_label(u.q, lab[j], 1), p[j]);
        printf("\n");
    }
    free(line), free(lab), free(p);
    if (u.in) fclose(f);
    qc_free(u.q);
    return 0;
}

static int test(int argc, char **argv) {
    Use u = use_args("test", argc, argv);
    QcTest r;
    char err[Z_ERR_MAX];
    if (qc_test(u.q, u.in, u.k, u.th, &r, err, sizeof err)) z_die_all("%s", err);
    printf("N\t%ld\nP@%d\t%.4f\nR@%d\t%.4f\n", r.examples, u.k, r.precision, u.k, r.recall);
    qc_free(u.q);
    return 0;
}

int cmd_quality(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_QUALITY)) return 0;
    if (argc < 1) z_die_all("quality: train, predict or test (zeropt quality --help)");
    if (!strcmp(argv[0], "train")) return train(argc - 1, argv + 1);
    if (!strcmp(argv[0], "predict")) return predict(argc - 1, argv + 1);
    if (!strcmp(argv[0], "test")) return test(argc - 1, argv + 1);
    z_die_all("quality: unknown subcommand '%s' (train, predict, test)", argv[0]);
    return 2;
}
