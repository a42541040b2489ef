/*
 * prep.h — text in, corpus out: documents read from text or JSONL files
 * (textdocs.h), tokenized, and appended to the train or the validation split
 * of a corpus file (io/corpus.h). A document goes to validation when a
 * seeded hash of its index falls below val_fraction, so the split is by
 * document and reproducible. Runs in one process.
 *
 * Optionally each document is first normalised and judged by the cleaning
 * rules (clean.h; dropped documents counted by rule), exact and near
 * duplicates of earlier documents dropped (dedup.h: a first pass sees them
 * all), then scored by a quality classifier
 * (quality.h: the probability of one of its labels, the document's lines joined with spaces), the
 * score kept as /quality and documents dropped below a threshold or outside the best fraction (a
 * first pass scores them all); and its salient spans are found (spans.h) and kept as /spans.
 */
#ifndef ZEROPT_PREP_H
#define ZEROPT_PREP_H

#include "clean.h"
#include "dedup.h"
#include "textdocs.h"

#include <stddef.h>

typedef struct {
    const char *const *inputs;
    int ninputs;
    const char *output, *tokenizer, *separator;
    DocFormat format;
    double val_fraction;
    size_t max_line;
    unsigned long long seed;
    int special_as_text; /* special-token strings in the text are plain text (else their ids) */
    const char *quality_model; /* a fastText .bin scoring each document, or NULL */
    const char *quality_label; /* the label whose probability is the score ("hq", "__label__hq") */
    double quality_min;        /* keep documents scoring at least this (0: all) */
    double quality_top;        /* keep the best fraction of documents (0: all) */
    int spans;                 /* detect salient spans (/spans) */
    const CleanRules *clean;   /* normalise and filter documents (clean.h), or NULL */
    const DedupOptions *dedup; /* drop exact and near duplicates (dedup.h), or NULL */
} PrepOptions;

typedef struct {
    DocStats docs;              /* what the readers saw, summed over the inputs */
    long kept, val;             /* documents written; of them, validation */
    long no_tokens;             /* documents that gave no tokens */
    long tokens[2];             /* train, validation */
    long low_quality;           /* documents dropped by the quality threshold or fraction */
    double cutoff;              /* the score kept documents reach (quality_top: the quantile) */
    long histogram[10];         /* quality scores of the documents read, in tenths */
    long spans;                 /* salient spans written */
    long cleaned[CLEAN_NRULES]; /* documents dropped by each cleaning rule */
    DedupStats dups;            /* duplicates dropped (exact, near) */
    int vocab_size;
    double seconds;
} PrepStats;

/* 0 on success; otherwise err says why and no output file is left behind. */
int prep_corpus(const PrepOptions *o, PrepStats *st, char *err, size_t errlen);

#endif
