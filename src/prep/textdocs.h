/*
 * textdocs.h — documents out of raw text files, for `zeropt prep` and
 * `zeropt tokenizer train`.
 *
 * Formats: plain text where documents are separated by a separator line
 * (e.g. "%" as in fortune files) or, with an empty separator, by blank lines;
 * or JSONL with one {"text": "..."} object per line; either gzip-compressed. Invalid UTF-8 is
 * replaced by U+FFFD, empty documents are skipped, over-long lines are cut at
 * a character boundary — each counted in the stats, never a crash.
 */
#ifndef ZEROPT_TEXTDOCS_H
#define ZEROPT_TEXTDOCS_H

#include <stddef.h>
#include <stdint.h>

/* DOCS_NVIDIA_BERT: HDF5 shards of token ids, read by bertshard.h, not here */
typedef enum { DOCS_TEXT = 0, DOCS_JSONL = 1, DOCS_NVIDIA_BERT = 2 } DocFormat;

typedef struct {
    long docs;         /* documents returned */
    long empty;        /* empty (or whitespace-only) documents skipped */
    long invalid_utf8; /* documents that had invalid UTF-8 repaired */
    long long_lines;   /* lines cut at max_line bytes */
    long bad_json;     /* JSONL lines that were not an object with a string "text" */
    long truncated;    /* gzip files whose compressed stream ended early or was damaged */
    long bytes;        /* bytes of text returned */
} DocStats;

typedef struct DocReader DocReader;

/* separator: the line that ends a document ("%"), or NULL/"" for blank
 * lines; max_line: longest line kept, in bytes (0 = 1 MiB). NULL + err on
 * failure to open. */
DocReader *docs_open(const char *path, DocFormat fmt, const char *separator, size_t max_line,
                     char *err, size_t errlen);
/* The documents of an uncompressed file that start in the byte range
 * [begin, end) (end < 0: the end of the file), for reading one file on many
 * ranks: a document starts after a break line (a separator or blank line;
 * in JSONL, every line), so a range starts at the first break line at or
 * after begin and stops at the first one at or after end. Ranges that tile
 * a file give its documents and counts exactly once, in order. */
DocReader *docs_open_range(const char *path, DocFormat fmt, const char *separator, size_t max_line,
                           int64_t begin, int64_t end, char *err, size_t errlen);
/* Next document as valid UTF-8 (pointer valid until the next call); 0 at the
 * end of the file. */
int docs_next(DocReader *r, const char **text, size_t *len);
DocStats docs_stats(const DocReader *r);
/* Where the document returned last began: its first line (1 = the range's
 * first line) and its byte offset in the (decompressed) file. */
void docs_where(const DocReader *r, long *line, int64_t *offset);
/* Lines the reader has consumed: a range's lines, once at its end. */
long docs_lines(const DocReader *r);
/* What went wrong reading a compressed file (its path and zlib's message),
 * or NULL. */
const char *docs_error(const DocReader *r);
void docs_close(DocReader *r);

#endif
