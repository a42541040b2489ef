/*
 * corpus.h — the pre-tokenized corpus file (DESIGN.md "Corpus file"):
 *
 *   /                 attrs format="zeropt-corpus", version, tokenizer,
 *                     vocab_size, pad_id unk_id cls_id sep_id mask_id bos_id eos_id
 *   /tokens           uint16 (vocab ≤ 65535) or uint32 [n_tokens], chunked
 *   /doc_offsets      int64 [n_docs + 1]; document d = tokens[off[d]:off[d+1]]
 *   /val/tokens, /val/doc_offsets   the held-out validation documents
 *   /tokenizer/json   the tokenizer.json that made the file (self-describing)
 *   /quality          float32 [n_docs] (optional): a quality score per document
 *   /spans            int64 [n_spans, 3] (optional) salient spans: start, end (token
 *                     offsets within their document, end exclusive) and a kind
 *   /span_offsets     int64 [n_docs + 1]: document d's spans are rows
 *                     span_offsets[d] .. span_offsets[d+1] (its index, as doc_offsets)
 *   /sources          string [n_sources] (optional): the input files of prep
 *   /provenance       int64 [n_docs, 3] (optional): each document's source
 *                     (a /sources row), first line (from 1) and byte offset
 *   /val/spans, /val/span_offsets, /val/quality, /val/provenance   the same
 *                     for the held-out split
 * Objects are created without timestamps: the same documents give the same
 * file, byte for byte.
 *
 * The writer runs in one process (prep). The reader is opened by every rank
 * independently and reads only the token ranges it asks for (hyperslabs);
 * only the document offsets are read whole.
 */
#ifndef ZEROPT_CORPUS_H
#define ZEROPT_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#define CORPUS_FORMAT "zeropt-corpus"
#define CORPUS_VERSION 1

typedef struct {
    int vocab_size;
    int pad, unk, cls, sep, mask, bos, eos; /* -1 when absent */
    const char *tokenizer;                  /* tokenizer name, e.g. "byte-level-bpe" */
    const char *tokenizer_json;             /* may be NULL */
} CorpusMeta;

typedef struct CorpusWriter CorpusWriter;

/* The root attributes (format, version, tokenizer, vocab_size, special ids)
 * and /tokenizer/json of meta on an open HDF5 file; also the shard-set
 * index's (corpus_set.h). 0 on success. */
int corpus_put_meta(int64_t file, const CorpusMeta *meta, const char *format);

/* Create (truncate) path. NULL + err on failure. */
CorpusWriter *corpus_writer_open(const char *path, const CorpusMeta *meta, char *err,
                                 size_t errlen);
/* Append one document to split 0 (train) or 1 (val). 0 on success. */
int corpus_writer_add(CorpusWriter *w, int split, const int32_t *ids, size_t n, char *err,
                      size_t errlen);
/* Salient spans of the document just added to a split: n rows of (start,
 * end, kind), offsets within the document, 0 <= start < end <= its length.
 * 0 on success. */
int corpus_writer_add_spans(CorpusWriter *w, int split, const int64_t *spans, size_t n, char *err,
                            size_t errlen);
/* The quality score of the document just added to a split (documents
 * without one score 0 once any has one). */
void corpus_writer_set_quality(CorpusWriter *w, int split, float q);
/* The input file names (/sources) that provenance rows index. */
void corpus_writer_set_sources(CorpusWriter *w, const char *const *names, int n);
/* Where the document just added to a split came from (/provenance; documents
 * without it get −1s once any has one). */
void corpus_writer_set_provenance(CorpusWriter *w, int split, int64_t source, int64_t line,
                                  int64_t offset);
/* Flush and close; 0 on success. Frees w either way. */
int corpus_writer_close(CorpusWriter *w, char *err, size_t errlen);

typedef struct {
    char path[1024];
    char split[16];               /* "" (train) or "val" */
    int64_t hid_file, hid_tokens; /* HDF5 handles */
    int64_t n_tokens, n_docs;
    int64_t *offsets; /* [n_docs + 1] */
    int token_bytes;  /* 2 or 4 */
    CorpusMeta meta;
    char *tokenizer_json; /* NULL when the file has none */
    int64_t hid_spans;    /* /spans, or −1 when the split has none */
    int64_t n_spans;
    int64_t *span_off; /* [n_docs + 1] or NULL */
    int has_spans;     /* the split has salient spans */
    /* a shard set (corpus_set.h): the fields above describe the whole set
     * (offsets, span_off and the handles are unused) and this holds the
     * shards; NULL for one file */
    struct CorpusSet *set;
} Corpus;

/* Open one split ("" or "val") and validate the layout: format attribute,
 * datasets present with integer types, offsets monotonic from 0 to n_tokens.
 * 0 on success; otherwise err names the problem and nothing is left open. */
int corpus_open(Corpus *c, const char *path, const char *split, char *err, size_t errlen);
/* Where document d's tokens start (d = n_docs: n_tokens). A shard set opens
 * the shard holding d when no open one does (a shard that cannot be read
 * ends the run with its name: z_die). */
int64_t corpus_off(Corpus *c, int64_t d);
/* The document holding position p of the stream in which every document is
 * followed by one separator: the last d with off[d] + d <= p. */
int64_t corpus_doc_at(Corpus *c, int64_t p);
/* Read tokens [start, start+count) as int32 and check every id < vocab.
 * 0 on success. */
int corpus_read(Corpus *c, int64_t start, int64_t count, int32_t *out, char *err, size_t errlen);
/* The salient spans of documents [d0, d1): out[4·i ..] = (document, start,
 * end, kind) of each, document by document (at most cap spans; *n says how
 * many); each is checked against its document's length. 0 on success, and 0
 * spans when the split has none. */
int corpus_read_spans(Corpus *c, int64_t d0, int64_t d1, int64_t *out, int64_t cap, int64_t *n,
                      char *err, size_t errlen);
/* The split's /quality scores into out[n_docs]: 1 when read, 0 when the
 * split has none, −1 and err when it is malformed. */
int corpus_read_quality(Corpus *c, float *out, char *err, size_t errlen);
void corpus_close(Corpus *c);

#endif
