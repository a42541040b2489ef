/*
 * corpus_set.h — a corpus kept as many shard files plus an index
 * (DESIGN.md "Corpus file"), the form prep writes with --shard-tokens:
 *
 *   index.h5          attrs format="zeropt-corpus-set", version, and the
 *                     shards' tokenizer attributes and /tokenizer/json
 *   /shards           string [n_shards]: shard file names, relative to the
 *                     index's directory
 *   /n_docs, /n_tokens          int64 [n_shards]: each shard's train split
 *   /val/n_docs, /val/n_tokens  int64 [n_shards]: and its validation split
 *   attrs spans, quality = 1 when the shards have /spans, /quality
 *
 * Every shard is an ordinary corpus file (corpus.h). The reader
 * (corpus_open on the index) sees the set as one corpus in shard order and
 * opens a shard only when a read reaches it: start-up reads the index alone.
 */
#ifndef ZEROPT_CORPUS_SET_H
#define ZEROPT_CORPUS_SET_H

#include "corpus.h"

#define CORPUS_SET_FORMAT "zeropt-corpus-set"

/* counts[4·i ..] = shard i's train documents, train tokens, validation
 * documents, validation tokens; spans, quality: what the shards hold. 0 on
 * success; err otherwise (and no file). */
int corpus_set_write(const char *path, const CorpusMeta *meta, const char *const *shards, int n,
                     const int64_t *counts, int spans, int quality, char *err, size_t errlen);

/* The reader behind corpus.h for an index: corpus_open calls corpus_set_open
 * with the index open as c->hid_file and its attributes read; the others
 * are corpus.h's calls for a set. At most SET_MAX_OPEN shards are open at
 * once (each holds its document offsets: 8 bytes a document) (the least recently used is closed).
 * Rank 0 checks at open that every shard file is there, so a missing one is named before training.
 */
#define SET_MAX_OPEN 64
int corpus_set_open(Corpus *c, char *err, size_t errlen);
void corpus_set_close(Corpus *c);
int64_t corpus_set_off(Corpus *c, int64_t d);
int64_t corpus_set_doc_at(Corpus *c, int64_t p);
int corpus_set_read(Corpus *c, int64_t start, int64_t count, int32_t *out, char *err,
                    size_t errlen);
int corpus_set_read_spans(Corpus *c, int64_t d0, int64_t d1, int64_t *out, int64_t cap, int64_t *n,
                          char *err, size_t errlen);
int corpus_set_read_quality(Corpus *c, float *out, char *err, size_t errlen);

#endif
