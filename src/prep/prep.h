/*
 * prep.h — text in, corpus out, on one rank or many (prep.c has the
 * phases): documents read from text or JSONL files, plain or gzip
 * (textdocs.h), tokenized, and appended to the train or the validation split
 * of one corpus file, or of shards of about shard_tokens tokens listed by an
 * index (io/corpus_set.h). A document goes to validation when a seeded hash
 * of its number among the kept documents falls below val_fraction, so the
 * split is by document and reproducible. Each document records where it came
 * from (/sources, /provenance: file, line, byte offset).
 *
 * Optionally each document is first normalised and judged by the cleaning
 * rules (clean.h; dropped documents counted by rule), exact and near
 * duplicates of earlier documents dropped over all ranks (dedup.h), then
 * scored by a quality classifier (quality.h: the probability of one of its
 * labels, the document's lines joined with spaces), the score kept as
 * /quality and documents dropped below a threshold or outside the best
 * fraction; and its salient spans are found (spans.h) and kept as /spans.
 *
 * Collective over MPI_COMM_WORLD; the files written do not depend on the
 * number of ranks.
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
    long long chunk_bytes;     /* uncompressed files are read in ranges of this size (0: 64 MiB) */
    long long shard_tokens;    /* > 0: shards of about this many tokens and an index */
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
    int ranks;
    long units;       /* files and byte ranges read */
    long shards;      /* shards written (0: one corpus file) */
    long empty_files; /* inputs of 0 bytes */
    long bytes_in;    /* the input files' sizes (gzip: compressed) */
    int alike;        /* on failure: every rank found the same error (rank 0 reports it) */
    double seconds, seconds_read;
} PrepStats;

/* 0 on success; otherwise −1 on every rank, err says why on the ranks that
 * failed ("" on the others), and no output file is left behind. */
int prep_corpus(const PrepOptions *o, PrepStats *st, char *err, size_t errlen);

#endif
