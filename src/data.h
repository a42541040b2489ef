/*
 * data.h — training samples from a corpus split: packing, order, masking.
 *
 * Packing: the split is read as one stream in which every document is
 * followed by a separator ([SEP] for MLM, EOS for causal LM).
 *   MLM  sample i = [CLS] stream[i·(T−2) : (i+1)·(T−2)] [SEP]
 *   CLM  sample i = stream[i·T : i·T + T + 1]  → tokens = [0,T), labels = [1,T+1)
 * Order: training position k (0, 1, 2, … over the whole run) visits sample
 * perm_e(k mod n) of epoch e = k div n, a seeded bijection — no table, and
 * the same for any number of ranks. Masking (MLM) is a pure function of
 * (seed, step, k): dynamic, and rank-count invariant.
 */
#ifndef ZEROPT_DATA_H
#define ZEROPT_DATA_H

#include "../io/corpus.h"

#include <stdint.h>

typedef struct {
    Corpus corpus;
    int T, objective, shuffle, vocab;
    double mask_rate;
    uint64_t seed;
    int64_t stream_len; /* tokens + separators */
    int64_t n_samples;
    int sep, cls, mask; /* separator and MLM special ids */
    int32_t *buf;       /* one window of tokens */
} DataSource;

/* Open a split ("" = train, "val") for samples of length T. 0 on success,
 * otherwise err names the file and the problem. */
int data_open(DataSource *d, const char *path, const char *split, int T, int objective,
              double mask_rate, uint64_t seed, int shuffle, char *err, size_t errlen);
void data_close(DataSource *d);

/* The sample visited at training position k (masked for step `step`):
 * tokens[T], labels[T] (−100 where there is no loss). 0 on success. */
int data_sample(DataSource *d, int64_t k, int64_t step, int32_t *tokens, int32_t *labels, char *err,
                size_t errlen);

/* Bijective seeded permutation of [0, n) (exposed for tests). */
int64_t data_permute(int64_t i, int64_t n, uint64_t key);

#define LABEL_IGNORE (-100)

#endif
