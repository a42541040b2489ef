/*
 * objective.h — what a sample is trained on. An objective asks the data
 * layer for windows of the packing it needs and turns each into the tokens
 * the model reads and the labels it is scored on (LABEL_IGNORE where there is
 * no loss):
 *
 *   MLM  (mlm.c)  tokens = [CLS] window [SEP]; a fraction mask_rate of the
 *                 window's positions is predicted, 80 % shown as [MASK], 10 %
 *                 as a random token, 10 % unchanged — dynamic: a pure
 *                 function of (seed, step, training position), the same for
 *                 any rank count
 *   CLM  (clm.c)  tokens = window[0, T), labels = window[1, T] (next token)
 *
 * Padded (data packing = pad): the window is one document of n tokens, cut
 * to fit; MLM reads [CLS] doc [SEP] then [PAD]s, CLM doc then EOS (when it
 * fits) predicting the next token; pads carry no label and mask 0.
 */
#ifndef ZEROPT_OBJECTIVE_H
#define ZEROPT_OBJECTIVE_H

#include "src/data/data.h"

#include <stddef.h>
#include <stdint.h>

#define LABEL_IGNORE (-100)

typedef struct {
    int kind; /* OBJ_MLM, OBJ_CLM */
    int T;
    double mask_rate;
    uint64_t seed;
    int vocab, cls, sep, mask; /* the corpus's special ids the objective uses */
    int padded, pad;           /* one padded document per sample; the pad id */
} Objective;

/* Open a split of a corpus for this objective: the special tokens it needs
 * must exist, and the split must hold one sequence of T. 0 on success;
 * otherwise err says why and nothing is left open. */
int obj_open(Objective *o, DataSource *d, const char *path, const char *split, int kind, int T,
             double mask_rate, uint64_t seed, int shuffle, int padded, char *err, size_t errlen);
/* The sample at training position k for step `step` (−1: evaluation, a
 * fixed mask): tokens[T], labels[T], and mask[T] (1 = a real token; may be
 * NULL when not padded). 0 on success. */
int obj_sample(const Objective *o, DataSource *d, int64_t k, int64_t step, int32_t *tokens,
               int32_t *labels, uint8_t *mask, char *err, size_t errlen);

/* mlm.c, clm.c: a window of n tokens (the full window when packed) into
 * tokens and labels; they return the number of real positions. */
int obj_mlm(const Objective *o, const int32_t *window, int n, int64_t k, int64_t step,
            int32_t *tokens, int32_t *labels);
int obj_clm(const Objective *o, const int32_t *window, int n, int32_t *tokens, int32_t *labels);

#endif
