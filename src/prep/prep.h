/*
 * prep.h — text in, corpus out: documents read from text or JSONL files
 * (textdocs.h), tokenized, and appended to the train or the validation split
 * of a corpus file (io/corpus.h). A document goes to validation when a
 * seeded hash of its index falls below val_fraction, so the split is by
 * document and reproducible. Runs in one process.
 */
#ifndef ZEROPT_PREP_H
#define ZEROPT_PREP_H

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
} PrepOptions;

typedef struct {
    DocStats docs;  /* what the readers saw, summed over the inputs */
    long kept, val; /* documents written; of them, validation */
    long no_tokens; /* documents that gave no tokens */
    long tokens[2]; /* train, validation */
    int vocab_size;
    double seconds;
} PrepStats;

/* 0 on success; otherwise err says why and no output file is left behind. */
int prep_corpus(const PrepOptions *o, PrepStats *st, char *err, size_t errlen);

#endif
