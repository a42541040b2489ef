/*
 * textdocs.c — documents out of raw text files (see textdocs.h): a line
 * reader over fread blocks (any bytes, NULs included, CRLF or LF, last line
 * with or without a newline), the document assembly for the separator,
 * blank-line and JSONL formats, and the UTF-8 repair.
 *
 * Rules, in the order they apply to a text line:
 *   - a UTF-8 byte-order mark at the start of the file is dropped;
 *   - one '\r' before the '\n' (or at the end of the file) is dropped;
 *   - a line over max_line bytes is cut back to the last character boundary
 *     at or before max_line (counted in long_lines);
 *   - separator mode: a line equal to the separator ends a document; blank
 *     mode: a line of ASCII whitespace ends a document (runs of them are one
 *     break); the lines of a document are joined with '\n';
 *   - the document's invalid UTF-8 is replaced, one U+FFFD per maximal
 *     invalid subpart (as Python's and Rust's lossy decoders do);
 *   - a document of ASCII whitespace only is skipped (counted in empty).
 * Files compressed with gzip are read through zlib (any file: zlib passes
 * other bytes through); a compressed stream that ends early keeps the
 * documents read before the cut and is counted in truncated, with zlib's
 * message (docs_error).
 * JSONL: a line must be an object whose "text" is a string (else bad_json;
 * blank lines are ignored); invalid UTF-8 in the line is repaired before
 * parsing; the lines of the text are then cut at max_line as above. A JSONL
 * line over JSONL_MAX_LINE bytes cannot be parsed and counts as long and bad.
 */
#include "textdocs.h"

#include "mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define READ_BLOCK ((size_t)1 << 16)
#define DEFAULT_MAX_LINE ((size_t)1 << 20)
#define JSONL_MAX_LINE ((size_t)256 << 20)

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

struct DocReader {
    gzFile f;
    char *path;
    char error[256]; /* a damaged compressed stream: zlib's message */
    DocFormat fmt;
    char *sep; /* NULL: blank-line mode */
    size_t seplen;
    size_t max_line;
    unsigned char *blk; /* read block: blk[bpos..blen) not yet consumed */
    size_t blen, bpos;
    int64_t blk_base; /* offset of blk[0] in the (decompressed) file */
    int eof, started, eof_range;
    /* a byte range (docs_open_range): stop at the first break line (any
     * line, JSONL) that starts at or after end */
    int64_t end;
    int64_t line_start; /* offset of the line read last */
    long line_no;       /* lines consumed from the reader's start */
    long doc_line;      /* the current document's first line (line_no) */
    int64_t doc_off;    /* and its offset */
    long out_line;      /* the document returned last: its first line, its offset */
    int64_t out_off;
    Buf line, doc, tmp, out;
    int doc_lines; /* lines in doc so far */
    DocStats st;
};

/* ---- growable byte buffer ---------------------------------------------- */

static void buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) z_die("out of memory growing a text buffer to %zu bytes", cap);
    b->p = p;
    b->cap = cap;
}

static void buf_add(Buf *b, const void *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* ---- UTF-8 ------------------------------------------------------------- */

/* Length of the valid UTF-8 character at s[0..n), or -(k) where k >= 1 is
 * the length of the maximal invalid subpart there (Unicode 3.9, "U+FFFD
 * substitution of maximal subparts"). Rejects overlongs, surrogates and
 * code points above U+10FFFF. */
static int utf8_char(const unsigned char *s, size_t n) {
    unsigned char b = s[0];
    if (b < 0x80) return 1;
    int need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        need = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else
        return -1;
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n) return -k;
        unsigned char c = s[k];
        if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return -k;
    }
    return need;
}

/* Appends s[0..n) to out with invalid UTF-8 replaced; returns the number of
 * replacements. */
static long utf8_repair(const char *s, size_t n, Buf *out) {
    static const char FFFD[] = "\xEF\xBF\xBD";
    const unsigned char *u = (const unsigned char *)s;
    long bad = 0;
    size_t i = 0, run = 0; /* run: start of the pending valid bytes */
    buf_reserve(out, n);
    while (i < n) {
        int k = utf8_char(u + i, n - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        buf_add(out, s + run, i - run);
        buf_add(out, FFFD, 3);
        bad++;
        i += (size_t)-k;
        run = i;
    }
    buf_add(out, s + run, n - run);
    return bad;
}

static int is_ascii_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int all_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_ascii_space((unsigned char)s[i])) return 0;
    return 1;
}

/* The cut for a line of n > limit bytes: limit, moved back so that it does
 * not split a character (at most 3 continuation bytes). */
static size_t cut_point(const char *s, size_t limit) {
    size_t cut = limit;
    while (cut > 0 && cut + 3 > limit && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
    return cut;
}

/* ---- line reader ------------------------------------------------------- */

static int refill(DocReader *r) {
    if (r->eof) return 0;
    r->blk_base += (int64_t)r->blen;
    int got = gzread(r->f, r->blk, (unsigned)READ_BLOCK);
    r->blen = got > 0 ? (size_t)got : 0;
    r->bpos = 0;
    if (got <= 0) { /* the end, or a damaged stream: both end the input */
        r->eof = 1;
        int zerr;
        const char *msg = gzerror(r->f, &zerr);
        if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
            r->st.truncated++;
            if (msg && *msg) /* zlib's message names the file */
                snprintf(r->error, sizeof r->error, "%s (the documents before it are kept)", msg);
            else
                snprintf(r->error, sizeof r->error, "%s: read error", r->path);
        }
    }
    if (!r->started && r->blen >= 3 && !memcmp(r->blk, "\xEF\xBB\xBF", 3)) r->bpos = 3;
    r->started = 1;
    return r->blen > r->bpos;
}

/* Reads the next line into r->line without its "\n" / "\r\n", keeping at
 * most limit bytes (cut at a character boundary; *cut set when the line was
 * longer). Returns 0 at the end of the input. */
static int read_line(DocReader *r, size_t limit, int *cut) {
    Buf *l = &r->line;
    int got = 0, over = 0;
    l->len = 0;
    r->line_start = r->blk_base + (int64_t)r->bpos;
    for (;;) {
        if (r->bpos == r->blen && !refill(r)) break;
        got = 1;
        unsigned char *s = r->blk + r->bpos, *nl = memchr(s, '\n', r->blen - r->bpos);
        size_t n = nl ? (size_t)(nl - s) : r->blen - r->bpos;
        size_t room = l->len <= limit ? limit + 1 - l->len : 0; /* keep limit + 1 bytes */
        if (n > room) over = 1;
        buf_add(l, s, n < room ? n : room);
        r->bpos += n + (nl != NULL);
        if (nl) break;
    }
    if (!over && l->len > 0 && l->p[l->len - 1] == '\r') l->len--;
    *cut = over || l->len > limit;
    if (*cut) l->len = cut_point(l->p, limit);
    if (l->p) l->p[l->len] = 0;
    return got;
}

/* ---- documents --------------------------------------------------------- */

/* Moves r->doc (raw) into r->out (repaired). Returns 1 when it is a document
 * to return, 0 when it was empty (counted). */
static int finish_doc(DocReader *r, long bad_utf8) {
    r->out.len = 0;
    r->out_line = r->doc_line, r->out_off = r->doc_off;
    bad_utf8 += utf8_repair(r->doc.p ? r->doc.p : "", r->doc.len, &r->out);
    r->doc.len = 0;
    r->doc_lines = 0;
    if (bad_utf8) r->st.invalid_utf8++;
    if (all_space(r->out.p, r->out.len)) {
        r->st.empty++;
        return 0;
    }
    r->st.docs++;
    r->st.bytes += (long)r->out.len;
    return 1;
}

static void doc_add_line(DocReader *r, const char *s, size_t n) {
    if (!r->doc_lines) r->doc_line = r->line_no, r->doc_off = r->line_start;
    if (r->doc_lines++) buf_add(&r->doc, "\n", 1);
    buf_add(&r->doc, s, n);
}

/* A line that ends a document: the separator, or (blank mode) a blank line. */
static int is_break(const DocReader *r, int cut) {
    const char *s = r->line.p;
    size_t n = r->line.len;
    return r->sep ? (!cut && n == r->seplen && !memcmp(s, r->sep, n)) : all_space(s, n);
}

static int next_text(DocReader *r) {
    int cut;
    while (!r->eof_range && read_line(r, r->max_line, &cut)) {
        int brk = is_break(r, cut);
        if (brk && r->line_start >= r->end) { /* the next range's first line, which */
            r->eof_range = 1;                 /* ends this one's last document */
            return (r->sep || r->doc_lines) && finish_doc(r, 0);
        }
        r->line_no++;
        if (cut) r->st.long_lines++;
        const char *s = r->line.p;
        size_t n = r->line.len;
        if (!brk) {
            doc_add_line(r, s, n);
            continue;
        }
        /* separator mode: every separator ends a document (maybe empty);
         * blank mode: a blank line ends a document only after text */
        if ((r->sep || r->doc_lines) && finish_doc(r, 0)) return 1;
    }
    return r->doc_lines && finish_doc(r, 0);
}

/* Adds the text of a JSONL document to r->doc, line by line, cutting lines
 * over max_line. */
static void jsonl_add_text(DocReader *r, const char *s, size_t n) {
    size_t i = 0;
    for (;;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t m = nl ? (size_t)(nl - (s + i)) : n - i;
        if (m > r->max_line) {
            r->st.long_lines++;
            doc_add_line(r, s + i, cut_point(s + i, r->max_line));
        } else
            doc_add_line(r, s + i, m);
        if (!nl) break;
        i += m + 1;
    }
}

static int next_jsonl(DocReader *r) {
    int cut;
    while (!r->eof_range && read_line(r, JSONL_MAX_LINE, &cut)) {
        if (r->line_start >= r->end) {
            r->eof_range = 1;
            break;
        }
        r->doc_line = ++r->line_no, r->doc_off = r->line_start;
        if (cut) {
            r->st.long_lines++;
            r->st.bad_json++;
            continue;
        }
        if (all_space(r->line.p, r->line.len)) continue;
        r->tmp.len = 0;
        long bad = utf8_repair(r->line.p, r->line.len, &r->tmp);
        json_t *o = json_loadb(r->tmp.p, r->tmp.len, JSON_ALLOW_NUL, NULL);
        json_t *t = json_is_object(o) ? json_object_get(o, "text") : NULL;
        if (!json_is_string(t)) {
            r->st.bad_json++;
            json_decref(o);
            continue;
        }
        jsonl_add_text(r, json_string_value(t), json_string_length(t));
        json_decref(o);
        if (finish_doc(r, bad)) return 1;
    }
    return 0;
}

/* ---- API --------------------------------------------------------------- */

DocReader *docs_open(const char *path, DocFormat fmt, const char *separator, size_t max_line,
                     char *err, size_t errlen) {
    return docs_open_range(path, fmt, separator, max_line, 0, -1, err, errlen);
}

/* Moves a reader opened at begin - 1 to the start of its range: the first
 * line starting at or after begin (JSONL), or the first break line starting
 * there, consumed (text); at or past end, the range is empty. */
static void align(DocReader *r) {
    int cut;
    read_line(r, 0, &cut); /* the rest of the line holding begin - 1 */
    if (r->fmt == DOCS_JSONL) return;
    for (;;) {
        if (r->blk_base + (int64_t)r->bpos >= r->end) {
            r->eof_range = 1;
            return;
        }
        if (!read_line(r, r->max_line, &cut)) return;
        if (is_break(r, cut)) { /* the range's first line: its count is ours */
            r->line_no = 1;
            if (cut) r->st.long_lines++;
            return;
        }
    }
}

DocReader *docs_open_range(const char *path, DocFormat fmt, const char *separator, size_t max_line,
                           int64_t begin, int64_t end, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "cannot read %s: it is a directory", path);
        fclose(f);
        return NULL;
    }
    fclose(f);
    gzFile g = gzopen(path, "rb");
    if (!g) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    gzbuffer(g, 1 << 17);
    DocReader *r = z_calloc(1, sizeof *r, "document reader");
    r->f = g;
    r->path = z_strdup(path);
    r->fmt = fmt;
    r->sep = separator && *separator ? z_strdup(separator) : NULL;
    r->seplen = r->sep ? strlen(r->sep) : 0;
    r->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
    r->blk = z_malloc(READ_BLOCK, "read block");
    r->end = end < 0 ? INT64_MAX : end;
    if (begin > 0) {
        /* gzdirect looks at the header first, so that gzseek in a plain
         * file is an lseek (else zlib reads up to the offset) */
        gzdirect(g);
        if (gzseek(g, (z_off_t)(begin - 1), SEEK_SET) < 0) {
            snprintf(err, errlen, "cannot seek to byte %ld of %s", (long)begin, path);
            docs_close(r);
            return NULL;
        }
        r->blk_base = begin - 1;
        r->started = 1; /* no byte-order mark inside a file */
        align(r);
    }
    return r;
}

void docs_where(const DocReader *r, long *line, int64_t *offset) {
    *line = r->out_line;
    *offset = r->out_off;
}

long docs_lines(const DocReader *r) {
    return r->line_no;
}

int docs_next(DocReader *r, const char **text, size_t *len) {
    int got = r->fmt == DOCS_JSONL ? next_jsonl(r) : next_text(r);
    *text = got ? r->out.p : "";
    *len = got ? r->out.len : 0;
    return got;
}

DocStats docs_stats(const DocReader *r) {
    return r->st;
}

const char *docs_error(const DocReader *r) {
    return r->error[0] ? r->error : NULL;
}

void docs_close(DocReader *r) {
    if (!r) return;
    gzclose(r->f);
    free(r->path);
    free(r->sep);
    free(r->blk);
    free(r->line.p);
    free(r->doc.p);
    free(r->tmp.p);
    free(r->out.p);
    free(r);
}
