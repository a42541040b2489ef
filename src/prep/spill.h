/*
 * spill.h — prep's intermediate files: the documents of one unit (a file or
 * a byte range of one) as phase 1 read them, tokenized, in
 * <output>.parts/u000012.rec, and the keep flags phase 2 decided for them in
 * u000012.keep (one byte per document). Any rank writes a unit's files and
 * any rank reads them back, so <output>'s directory must be shared by the
 * ranks (as the output itself is). Host byte order: they live for one run.
 */
#ifndef ZEROPT_SPILL_H
#define ZEROPT_SPILL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t ntok, nspans; /* tokens, salient spans (3 int64 each) that follow */
    float score;          /* the quality score (0 without a classifier) */
    int32_t pad;
    int64_t line, offset; /* the first line (from 1 in the unit) and byte offset */
} SpillRec;

typedef struct Spill Spill;
typedef struct SpillReader SpillReader;

Spill *spill_create(const char *dir, int unit, char *err, size_t errlen);
/* Appends a document: rec, then ids[rec.ntok] and spans[3·rec.nspans]. */
int spill_put(Spill *s, const SpillRec *rec, const int32_t *ids, const int64_t *spans, char *err,
              size_t errlen);
/* Closes (flushed and checked); 0 on success. Frees s either way. */
int spill_close(Spill *s, char *err, size_t errlen);
/* The unit's keep flags, keep[n]. 0 on success. */
int spill_put_keep(const char *dir, int unit, const uint8_t *keep, int64_t n, char *err,
                   size_t errlen);

SpillReader *spill_open(const char *dir, int unit, char *err, size_t errlen);
/* The next document (pointers valid until the next call) and its keep flag:
 * 1, or 0 at the end, −1 and err on a short or damaged file. */
int spill_next(SpillReader *r, SpillRec *rec, const int32_t **ids, const int64_t **spans, int *keep,
               char *err, size_t errlen);
void spill_close_reader(SpillReader *r);
/* Removes the unit's files (if any). */
void spill_remove(const char *dir, int unit);

#endif
