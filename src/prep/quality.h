/*
 * quality.h — the quality classifier: fastText's supervised linear text
 * classifier, compatible with its `.bin` models both ways (models trained by
 * the `fasttext` package load here and give its predictions; ours load
 * there).
 *
 * A line is split on whitespace into tokens; a newline adds the token "</s>".
 * Tokens starting with the label prefix ("__label__") are labels, the others
 * words. The input rows of a line are its in-vocabulary words (or their
 * character n-grams, with minn/maxn) and its word n-grams up to wordNgrams,
 * hashed (FNV-1a over sign-extended bytes, combined as h·116049371 + h')
 * into `bucket` rows after the vocabulary. The hidden vector is the mean of
 * the input rows; the output is softmax (or one-vs-all sigmoids) of the
 * output matrix times it. Training is fastText's: SGD over the lines in
 * order, epoch times, learning rate decaying linearly to 0 by tokens seen,
 * the softmax gradient on the output rows and its mean on the input rows.
 * One thread (fastText runs Hogwild threads: the same algorithm, a
 * different interleaving).
 */
#ifndef ZEROPT_QUALITY_H
#define ZEROPT_QUALITY_H

#include <stddef.h>
#include <stdint.h>

/* fastText's enums as stored in .bin files */
enum { QC_LOSS_HS = 1, QC_LOSS_NS = 2, QC_LOSS_SOFTMAX = 3, QC_LOSS_OVA = 4 };
enum { QC_MODEL_CBOW = 1, QC_MODEL_SG = 2, QC_MODEL_SUP = 3 };

typedef struct {
    int dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, maxn,
        lr_update_rate;
    double t;
    /* training only (not stored) */
    double lr;
    int min_count_label;
    uint64_t seed;
    int verbose;
} QcArgs;

/* fastText's `supervised` defaults (lr 0.1, dim 100, epoch 5, minCount 1,
 * wordNgrams 1, softmax, bucket 2000000 — 0 when wordNgrams ≤ 1 and no char
 * n-grams) */
void qc_default_args(QcArgs *a);

typedef struct Qc Qc;

/* Train on a file of "__label__X … text" lines. NULL and err on failure. */
Qc *qc_train(const char *path, const QcArgs *a, char *err, size_t errlen);
/* Read / write a fastText .bin (version 11 or 12, not quantized). */
Qc *qc_load(const char *path, char *err, size_t errlen);
int qc_save(const Qc *q, const char *path, char *err, size_t errlen);
void qc_free(Qc *q);

int qc_nlabels(const Qc *q);
/* A label without its prefix ("__label__hq" → "hq") or whole (full = 1). */
const char *qc_label(const Qc *q, int i, int full);
const QcArgs *qc_args(const Qc *q);
int qc_nwords(const Qc *q);

/* The k best labels of one line of text (no newline in it; "</s>" is added
 * as fastText's predict adds it) with their probabilities as fastText
 * reports them (p + 1e-5, it ranks by log(p + 1e-5)); probabilities below
 * threshold are left out. Returns how many (≤ k). */
int qc_predict(const Qc *q, const char *text, size_t len, int k, double threshold, int *labels,
               double *probs);
/* Probability of one label (its index; the model's softmax, or its sigmoid
 * for one-vs-all), for scoring documents. */
double qc_prob(const Qc *q, const char *text, size_t len, int label);

/* fastText's `test`: over the labelled lines of a file, precision and recall
 * at k (threshold as predict). 0 on success. */
typedef struct {
    long examples;
    double precision, recall;
} QcTest;
int qc_test(const Qc *q, const char *path, int k, double threshold, QcTest *r, char *err,
            size_t errlen);

#endif
