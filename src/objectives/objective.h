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
 *                 any rank count. What a masked unit is (a token, a whole
 *                 word, a SpanBERT span, a salient span of the corpus) and
 *                 how the rate moves over training: mask.c, [mask].
 *   CLM  (clm.c)  tokens = window[0, T), labels = window[1, T] (next token)
 *
 * Padded (data packing = pad): the window is one document of n tokens, cut
 * to fit; MLM reads [CLS] doc [SEP] then [PAD]s, CLM doc then EOS (when it
 * fits) predicting the next token; pads carry no label and mask 0.
 */
#ifndef ZEROPT_OBJECTIVE_H
#define ZEROPT_OBJECTIVE_H

#include "src/config/config.h"
#include "src/data/data.h"

#include <stddef.h>
#include <stdint.h>

#define LABEL_IGNORE (-100)

/* What the masking of one sample did, unit by unit (tests, statistics). */
enum { MASKED_WORD = 0, MASKED_SPAN = 1, MASKED_SALIENT = 2 };
typedef struct {
    int t0, t1; /* sample positions [t0, t1) */
    int words;  /* words in it (salient: 0) */
    int kind;   /* MASKED_* */
    int drawn;  /* span: the length drawn, in words */
    int cut;    /* a span cut short of its drawn length (budget, window end, masked word);
                   t0 = t1 when no free start was found for it at all */
} MaskSpan;

typedef struct {
    int kind; /* OBJ_MLM, OBJ_CLM */
    int T;
    double mask_rate;
    uint64_t seed;
    int vocab, cls, sep, mask; /* the corpus's special ids the objective uses */
    int padded, pad;           /* one padded document per sample; the pad id */
    int special[8], nspecial;  /* ids never predicted: every special id the corpus names */
    /* masking variant (obj_set_masking; obj_open sets BERT's token masking) */
    MaskConfig mk;
    long mk_steps;       /* the rate schedule's length */
    const uint8_t *cont; /* [vocab] 1: the token continues the word before it (NULL: none) */
    int *wstart, *wlen;  /* [T] scratch: words of a sample */
    int *order;          /* [T] scratch: a shuffled order */
    uint8_t *pm;         /* [T] scratch: positions predicted */
    int32_t *sal;        /* [2T] scratch: salient spans of a window, sample positions */
    int64_t *spans;      /* [3 * spans_cap] scratch: the corpus's spans of a window */
    int64_t spans_cap;
    /* contrastive views (obj_set_views): positions 2j, 2j + 1 are crops of sample j */
    int views, view_masked;
    double crop_min, crop_max;
} Objective;

/* Open a split of a corpus for this objective: the special tokens it needs
 * must exist, and the split must hold one sequence of T. 0 on success;
 * otherwise err says why and nothing is left open. */
int obj_open(Objective *o, DataSource *d, const char *path, const char *split, int kind, int T,
             double mask_rate, uint64_t seed, int shuffle, int padded, char *err, size_t errlen);
/* Masking beyond BERT's defaults: the [mask] section, the schedule's length
 * in steps, the word-continuation table (kept by the caller; word, span and
 * salient schemes; NULL: every token is a word). Salient masking needs the
 * split's /spans. 0 on success, otherwise err says why. */
int obj_set_masking(Objective *o, DataSource *d, const MaskConfig *mk, long steps,
                    const uint8_t *cont, char *err, size_t errlen);
void obj_close(Objective *o);
/* The masking rate at a step (−1: evaluation). */
double obj_mask_rate(const Objective *o, int64_t step);
int obj_is_special(const Objective *o, int32_t tok);
/* mask.c: predict positions of a framed sample tokens[0, real) ([CLS] …
 * [SEP]): labels[T] get the originals (LABEL_IGNORE elsewhere), tokens the
 * replacements. sal: nsal salient spans as [t0, t1) pairs. The units masked
 * go to trace (up to maxtrace; may be NULL); returns how many (0 for token
 * masking). */
int obj_mask(Objective *o, int32_t *tokens, int32_t *labels, int real, const int32_t *sal, int nsal,
             int64_t k, int64_t step, MaskSpan *trace, int maxtrace);
/* The masking of the sample at position k, with its trace (tests). */
int obj_sample_trace(Objective *o, DataSource *d, int64_t k, int64_t step, int32_t *tokens,
                     int32_t *labels, MaskSpan *trace, int maxtrace, int *ntrace, char *err,
                     size_t errlen);

/* contrastive.c: the crops' length range; on: training samples become
 * views (see there); masked = 0: the crops are not masked (MLM weight 0).
 * Retrieval evaluation crops held-out samples whether or not on. */
void obj_set_views(Objective *o, double crop_min, double crop_max, int on, int masked);
/* View v (0, 1) of sample j at a step (−1: evaluation) into tokens[T],
 * labels[T] (masked when asked); returns the real positions, or −1 and err. */
int obj_view(Objective *o, DataSource *d, int64_t j, int v, int64_t step, int masked,
             int32_t *tokens, int32_t *labels, char *err, size_t errlen);
/* objective.c: the salient spans of the window just read (sample positions,
 * those wholly inside its first n positions) into o->sal; how many, or −1. */
int obj_window_spans(Objective *o, DataSource *d, int n, char *err, size_t errlen);

/* curriculum.c: the sequence length of step s under [curriculum] (T when
 * off or past the warm-up); the tokens of steps [0, s) at `batch` sequences
 * a step; the steps whose tokens reach `steps` steps of length T. */
int obj_seq_len(const CurriculumConfig *cu, int T, long s);
double obj_seq_tokens(const CurriculumConfig *cu, int T, int batch, long s);
long obj_seq_total_steps(const CurriculumConfig *cu, int T, long steps);

/* The sample at training position k for step `step` (−1: evaluation, a
 * fixed mask): tokens[T], labels[T], and mask[T] (1 = a real token; may be
 * NULL when not padded). 0 on success. */
int obj_sample(Objective *o, DataSource *d, int64_t k, int64_t step, int32_t *tokens,
               int32_t *labels, uint8_t *mask, char *err, size_t errlen);

/* mlm.c, clm.c: a window of n tokens (the full window when packed) into
 * tokens and labels; they return the number of real positions. */
int obj_mlm(Objective *o, const int32_t *window, int n, const int32_t *sal, int nsal, int64_t k,
            int64_t step, int32_t *tokens, int32_t *labels, MaskSpan *trace, int maxtrace,
            int *ntrace);
int obj_clm(const Objective *o, const int32_t *window, int n, int32_t *tokens, int32_t *labels);

#endif
