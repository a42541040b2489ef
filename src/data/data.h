/*
 * data.h — the samples of a corpus split: packing documents into fixed
 * windows, the order in which training visits them, reading a window.
 *
 * Packing: the split is read as one stream in which every document is
 * followed by a separator (the objective's: [SEP] for MLM, EOS for causal
 * LM). Sample i is the window stream[i·stride : i·stride + stride + extra]
 * (MLM: stride T−2, extra 0, framed by [CLS] … [SEP] later; causal LM:
 * stride T, extra 1 for the shifted labels).
 * Order: training position k (0, 1, 2, … over the whole run) visits sample
 * perm_e(k mod n) of epoch e = k div n, a seeded bijection — no table, and
 * the same for any number of ranks. What a window is trained on (masking,
 * shifting) is the objective's (src/objectives/). With data_docs instead,
 * a sample is one document, cut to the window: the objective pads it.
 */
#ifndef ZEROPT_DATA_H
#define ZEROPT_DATA_H

#include "io/corpus.h"

#include <stdint.h>

typedef struct {
    Corpus corpus;
    int64_t stride, extra; /* window = stride + extra tokens, every stride */
    int sep;               /* separator after every document */
    int shuffle;
    uint64_t seed;
    int64_t stream_len; /* tokens + separators */
    int64_t n_samples;
    int32_t *window; /* [stride + extra]: the last window read (data_window's caller may use it) */
    int docs;        /* one document per sample (data_docs) */
    int64_t window_len; /* tokens in the last window read (docs: the document's, cut) */
    /* where the last window lies: its first stream position (token x of
     * document d sits at window position x + d − window_start) and the
     * documents it touches, [doc0, doc1] — where the corpus's spans fall */
    int64_t window_start, window_doc0, window_doc1;
    /* documents by quality (data_quality_order): a fixed visiting order, or a
     * cumulative distribution to draw documents from; NULL: the permutation */
    int64_t *order;
    double *cdf;
} DataSource;

/* Open a split ("" = train, "val") of a corpus. 0 on success, otherwise err
 * names the file and the problem. */
int data_open(DataSource *d, const char *path, const char *split, char *err, size_t errlen);
/* Pack it into windows of stride + extra tokens separated by sep; what
 * names the sequence length in the error when not one window fits. */
int data_pack(DataSource *d, int64_t stride, int64_t extra, int sep, uint64_t seed, int shuffle,
              const char *what, char *err, size_t errlen);
/* One document per sample instead: sample i is document i's first `width`
 * tokens (fewer when it is shorter), in the same seeded order. */
int data_docs(DataSource *d, int64_t width, int sep, uint64_t seed, int shuffle, char *err,
              size_t errlen);
/* Visit documents (data_docs) by the split's /quality scores: DATA_QUALITY_
 * ASCENDING or _DESCENDING (the same order every epoch: a curriculum), or
 * _WEIGHTED (position k draws document i with probability ∝ q_i^power, from
 * the stream (seed, k)). 0 on success; err when the split has no scores or
 * the scores do not fit the mode. */
enum { DATA_QUALITY_NONE, DATA_QUALITY_ASCENDING, DATA_QUALITY_DESCENDING, DATA_QUALITY_WEIGHTED };
int data_quality_order(DataSource *d, int mode, double power, char *err, size_t errlen);
void data_close(DataSource *d);

/* The window of training position k: out[stride + extra]. 0 on success. */
int data_window(DataSource *d, int64_t k, int32_t *out, char *err, size_t errlen);

/* stream[a, a + n) (document tokens, each document followed by the
 * separator) into out[n]; the stream holds stream_len positions. */
int data_read_stream(DataSource *d, int64_t a, int64_t n, int32_t *out, char *err, size_t errlen);

/* Bijective seeded permutation of [0, n) (exposed for tests). */
int64_t data_permute(int64_t i, int64_t n, uint64_t key);

/* The entropy (nats) of the split's unigram token distribution, counted
 * over its first max_tokens tokens (all when fewer): what a model that
 * learned only token frequencies scores. 0 on success. */
int data_unigram_entropy(DataSource *d, int64_t max_tokens, double *entropy, char *err,
                         size_t errlen);

#endif
