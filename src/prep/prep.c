/*
 * prep.c — text → corpus on one or many ranks (see prep.h). Three phases,
 * collective over MPI_COMM_WORLD:
 *
 *  1. read: the inputs are cut into units (a compressed file whole, or a
 *     byte range of an uncompressed one: textdocs.h), spread over the ranks
 *     by size; each rank cleans, hashes (dedup), scores and tokenizes the
 *     documents of its units and spills them, unit by unit, to
 *     <output>.parts/ (spill.h);
 *  2. decide: duplicates across all ranks (dedup_finish_all), the quality
 *     cut-off over all scores, and so which documents are kept, numbered in
 *     reading order over all inputs; the held-out split by that number;
 *  3. write: the kept documents in order, into one corpus or into shards of
 *     about shard_tokens tokens (a document goes to the shard its first
 *     token falls in), each shard written whole by one rank from the spills;
 *     rank 0 writes the index (corpus_set.h).
 *
 * Nothing written depends on the number of ranks or on the units: the same
 * input gives the same files, byte for byte, at 1, 2 or 4 ranks.
 */
#include "prep.h"

#include "bertshard.h"
#include "quality.h"
#include "spans.h"
#include "spill.h"

#include "src/tokenizer/tokenizer.h"

#include "io/corpus.h"
#include "io/corpus_set.h"
#include "kernels/clock.h"
#include "kernels/rng.h"
#include "mpi/err.h"
#include "mpi/exchange.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CHUNK ((int64_t)64 << 20)

typedef struct {
    int file;
    int64_t begin, end, bytes; /* end < 0: to the end of the file */
    int rank;                  /* the rank that reads it */
} Unit;

/* What phase 1 keeps in memory of each document it read (local order). */
typedef struct {
    int32_t ntok, unit;
    float score;
} Seen;

typedef struct {
    const PrepOptions *o;
    int me, P;
    Unit *u;
    int nu;
    char *parts; /* the spill directory */
    Tokenizer *tok;
    CorpusMeta meta;
    Qc *q;
    int label;
    Dedup *dd;
    Seen *seen;
    int64_t nseen, capseen;
    int64_t bytes_in;    /* the inputs' sizes (compressed files: compressed) */
    int64_t *unit_first; /* [nu] local index of each unit's first document (own units) */
    /* per unit, summed over the ranks: documents, lines, kept documents, kept tokens */
    int64_t *udocs, *ulines, *ukept, *utok;
    uint8_t *keep; /* [nseen] */
} Run;

/* ---- phase 0: the units ------------------------------------------------ */

/* The range size when the user gives none: 64 MiB, less when that would give
 * fewer than 8 ranges a rank (at least 1 MiB). The output does not depend on
 * it, so it may follow the number of ranks. */
static int64_t default_chunk(const PrepOptions *o, int P) {
    int64_t total = 0;
    struct stat sb;
    for (int f = 0; f < o->ninputs; f++)
        if (stat(o->inputs[f], &sb) == 0) total += (int64_t)sb.st_size;
    int64_t c = total / (8 * (int64_t)P);
    return c > DEFAULT_CHUNK ? DEFAULT_CHUNK : c < (1 << 20) ? (1 << 20) : c;
}

static int plan_units(Run *R, char *err, size_t errlen) {
    const PrepOptions *o = R->o;
    int64_t chunk = o->chunk_bytes > 0 ? o->chunk_bytes : default_chunk(o, R->P);
    int cap = 0;
    for (int f = 0; f < o->ninputs; f++) {
        const char *path = o->inputs[f];
        FILE *fp = fopen(path, "rb");
        if (!fp) return z_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
        struct stat sb;
        int isdir = fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode);
        unsigned char magic[2] = {0, 0};
        size_t got = isdir ? 0 : fread(magic, 1, 2, fp);
        fclose(fp);
        if (isdir) return z_fail(err, errlen, "cannot read %s: it is a directory", path);
        int64_t size = (int64_t)sb.st_size, rows = 0;
        int gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        int64_t k = gz || size <= chunk ? 1 : (size + chunk - 1) / chunk;
        if (o->format == DOCS_NVIDIA_BERT) { /* ranges of rows */
            if (bs_rows(path, &rows, err, errlen)) return -1;
            k = k < rows ? k : rows > 0 ? rows : 1;
        }
        for (int64_t j = 0; j < k; j++) {
            if (R->nu == cap) {
                cap = cap ? 2 * cap : 64;
                R->u = realloc(R->u, (size_t)cap * sizeof *R->u);
                if (!R->u) z_die("out of memory (units)");
            }
            Unit *u = &R->u[R->nu++];
            u->file = f, u->begin = j * chunk, u->end = j + 1 < k ? (j + 1) * chunk : -1;
            u->bytes = (j + 1 < k ? (j + 1) * chunk : size) - j * chunk;
            if (o->format == DOCS_NVIDIA_BERT)
                u->begin = j * rows / k, u->end = (j + 1) * rows / k, u->bytes = size / k;
            u->rank = 0;
        }
        R->bytes_in += size;
    }
    /* largest first, each to the least loaded rank (the same on every rank) */
    int *ord = z_malloc((size_t)(R->nu ? R->nu : 1) * sizeof *ord, "unit order");
    for (int i = 0; i < R->nu; i++) ord[i] = i;
    for (int i = 1; i < R->nu; i++) /* insertion sort: stable, units are few */
        for (int j = i; j > 0 && R->u[ord[j]].bytes > R->u[ord[j - 1]].bytes; j--) {
            int t = ord[j];
            ord[j] = ord[j - 1], ord[j - 1] = t;
        }
    int64_t *load = z_calloc((size_t)R->P, sizeof *load, "rank loads");
    for (int i = 0; i < R->nu; i++) {
        int best = 0;
        for (int r = 1; r < R->P; r++)
            if (load[r] < load[best]) best = r;
        R->u[ord[i]].rank = best;
        load[best] += R->u[ord[i]].bytes + 1;
    }
    free(ord), free(load);
    return 0;
}

/* ---- phase 1: read, clean, hash, score, tokenize, spill ----------------- */

/* The next document of a reader, cleaned when asked (those failing a rule
 * skipped and counted); 0 at the end. */
static int next_doc(DocReader *r, const PrepOptions *o, const char **text, size_t *len, char **buf,
                    long *cleaned) {
    while (docs_next(r, text, len)) {
        if (!o->clean) return 1;
        free(*buf);
        int rule = clean_doc(o->clean, *text, *len, buf, len);
        if (rule < 0) {
            *text = *buf;
            return 1;
        }
        cleaned[rule]++;
    }
    return 0;
}

/* The classifier and the index of the label that scores documents. */
static Qc *open_scorer(const PrepOptions *o, int *label, char *err, size_t errlen) {
    Qc *q = qc_load(o->quality_model, err, errlen);
    if (!q) return NULL;
    const char *want = o->quality_label ? o->quality_label : "";
    *label = -1;
    for (int i = 0; i < qc_nlabels(q); i++)
        if (!strcmp(qc_label(q, i, 0), want) || !strcmp(qc_label(q, i, 1), want)) *label = i;
    if (*label < 0) {
        z_fail(err, errlen, "%s: no label '%s' (--quality-label; the model's: %s%s%s)",
               o->quality_model, want, qc_label(q, 0, 0), qc_nlabels(q) > 1 ? ", " : "",
               qc_nlabels(q) > 1 ? qc_label(q, 1, 0) : "");
        qc_free(q);
        return NULL;
    }
    return q;
}

/* A document's score: its lines joined with spaces, read as one line. */
static double score(const Qc *q, int label, const char *text, size_t len, char **buf, size_t *cap) {
    if (len + 1 > *cap) {
        *cap = len + 1;
        *buf = realloc(*buf, *cap);
        if (!*buf) z_die("out of memory (document)");
    }
    for (size_t i = 0; i < len; i++) (*buf)[i] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
    return qc_prob(q, *buf, len, label);
}

static void remember(Run *R, int32_t ntok, int unit, double s) {
    if (R->nseen == R->capseen) {
        R->capseen = R->capseen ? 2 * R->capseen : 4096;
        R->seen = realloc(R->seen, (size_t)R->capseen * sizeof *R->seen);
        if (!R->seen) z_die("out of memory (documents read)");
    }
    R->seen[R->nseen++] = (Seen){ntok, unit, (float)s};
}

/* The end of a document's phase 1: its salient spans (with det), what
 * phase 2 needs of it remembered, and the record spilled. */
static int spill_doc(Run *R, Spill *sp, int ui, SpillRec *rec, const int32_t *ids, double s,
                     const SpanDetector *det, int64_t **spans, size_t *scap, char *err,
                     size_t errlen) {
    size_t n = (size_t)rec->ntok;
    if (det && n) {
        if (*scap < n) {
            *scap = n;
            *spans = realloc(*spans, 3 * *scap * sizeof **spans);
            if (!*spans) z_die("out of memory (spans)");
        }
        rec->nspans = (int32_t)spans_find(det, ids, n, *spans, *scap);
    }
    remember(R, rec->ntok, ui, s);
    return spill_put(sp, rec, ids, *spans, err, errlen);
}

/* A unit of an NVIDIA shard: samples of token ids (bertshard.h). Dedup sees
 * a sample as the text of its ids ("101 2023 ..."): shingles of 5 tokens.
 * Provenance: the row (from 1) as the line, the row as the offset. */
static int read_shard_unit(Run *R, int ui, Spill *sp, PrepStats *st, char *err, size_t errlen) {
    const PrepOptions *o = R->o;
    const Unit *u = &R->u[ui];
    SpecialIds s = tok_specials(R->tok);
    BertShard *b = bs_open(o->inputs[u->file], u->begin, u->end, tok_vocab_size(R->tok), s.cls,
                           s.sep, err, errlen);
    if (!b) return -1;
    SpanDetector *det = o->spans ? spans_new(R->tok) : NULL;
    int64_t *spans = NULL, row;
    size_t scap = 0, n, tcap = 0;
    char *text = NULL;
    const int32_t *ids;
    int rc = 0, got;
    while (!rc && (got = bs_next(b, &ids, &n, &row, err, errlen)) > 0) {
        SpillRec rec = {(int32_t)n, 0, 0, 0, row + 1, row};
        if (R->dd) {
            if (tcap < 12 * n + 1) {
                tcap = 12 * n + 1;
                text = realloc(text, tcap);
                if (!text) z_die("out of memory (dedup text)");
            }
            size_t len = 0;
            for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(text + len, tcap - len, "%s%d", i ? " " : "", ids[i]);
            dedup_add(R->dd, text, len);
        }
        st->docs.docs++;
        rc = spill_doc(R, sp, ui, &rec, ids, 0, det, &spans, &scap, err, errlen);
    }
    if (got < 0) rc = -1;
    bs_close(b);
    spans_free(det);
    free(spans), free(text);
    return rc;
}

static int read_unit(Run *R, int ui, PrepStats *st, char *err, size_t errlen) {
    const PrepOptions *o = R->o;
    if (o->format == DOCS_NVIDIA_BERT) {
        Spill *sp = spill_create(R->parts, ui, err, errlen);
        if (!sp) return -1;
        R->unit_first[ui] = R->nseen;
        int rc = read_shard_unit(R, ui, sp, st, err, errlen);
        R->udocs[ui] = R->nseen - R->unit_first[ui];
        if (spill_close(sp, err, errlen)) rc = -1;
        return rc;
    }
    const Unit *u = &R->u[ui];
    const char *path = o->inputs[u->file];
    DocReader *r =
        docs_open_range(path, o->format, o->separator, o->max_line, u->begin, u->end, err, errlen);
    if (!r) return -1;
    Spill *sp = spill_create(R->parts, ui, err, errlen);
    if (!sp) {
        docs_close(r);
        return -1;
    }
    SpanDetector *det = o->spans ? spans_new(R->tok) : NULL;
    int32_t *ids = NULL;
    int64_t *spans = NULL;
    size_t cap = 0, scap = 0, bcap = 0;
    char *buf = NULL, *cbuf = NULL;
    const char *text;
    size_t len;
    int rc = 0;
    R->unit_first[ui] = R->nseen;
    if (u->bytes == 0) st->empty_files++;
    while (!rc && next_doc(r, o, &text, &len, &cbuf, st->cleaned)) {
        SpillRec rec = {0, 0, 0, 0, 0, 0};
        long line;
        docs_where(r, &line, &rec.offset);
        rec.line = line;
        if (R->dd) dedup_add(R->dd, text, len);
        double s = R->q ? score(R->q, R->label, text, len, &buf, &bcap) : 0;
        rec.score = (float)s;
        /* dropped whatever else (compared as phase 2 compares: the float score) */
        int low = R->q && o->quality_min > 0 && rec.score < o->quality_min;
        size_t n = low ? 0 : tok_encode_opt(R->tok, text, len, o->special_as_text, &ids, &cap);
        if (n > INT32_MAX) n = 0; /* (a 2^31-token document: no corpus row holds it) */
        rec.ntok = (int32_t)n;
        rc = spill_doc(R, sp, ui, &rec, ids, s, det, &spans, &scap, err, errlen);
    }
    R->udocs[ui] = R->nseen - R->unit_first[ui];
    R->ulines[ui] = docs_lines(r);
    DocStats s = docs_stats(r);
    st->docs.docs += s.docs, st->docs.empty += s.empty, st->docs.invalid_utf8 += s.invalid_utf8;
    st->docs.long_lines += s.long_lines, st->docs.bad_json += s.bad_json;
    st->docs.truncated += s.truncated, st->docs.bytes += s.bytes;
    if (docs_error(r))
        fprintf(stderr, "zeropt: rank %d: prep: warning: %s\n", R->me, docs_error(r));
    docs_close(r);
    if (spill_close(sp, err, errlen)) rc = -1;
    free(ids), free(spans), free(buf), free(cbuf);
    spans_free(det);
    return rc;
}

/* ---- phase 2: decide ---------------------------------------------------- */

/* How many of this rank's documents that dedup keeps score at most the float
 * whose bits are u, summed over the ranks. */
static int64_t count_at_most(const Run *R, uint32_t u) {
    int64_t c = 0;
    for (int64_t i = 0; i < R->nseen; i++) {
        uint32_t b;
        float f = R->seen[i].score > 0 ? R->seen[i].score : 0; /* (−0 as 0) */
        memcpy(&b, &f, sizeof b);
        c += (!R->dd || dedup_keep(R->dd, (long)i)) && b <= u;
    }
    xch_sum_i64(&c, 1, "prep quality quantile");
    return c;
}

/* The score at the edge of the best fraction `top` of the documents dedup
 * keeps: the (m − ceil(top·m))-th smallest of all m scores, found exactly by
 * bisection over the bits of a non-negative float (their order is the
 * numbers' order), 32 sums over the ranks: no rank holds all scores. */
static double top_cutoff(const Run *R, double top) {
    int64_t m = count_at_most(R, 0xFFFFFFFFu), keep = (int64_t)ceil(top * (double)m);
    if (!m || !keep) return INFINITY;
    int64_t k = m - keep;              /* 0-based rank of the cut-off among the m scores */
    uint32_t lo = 0, hi = 0x7F800000u; /* [0, +inf] */
    while (lo < hi) {                  /* the least u with count(bits <= u) > k */
        uint32_t mid = lo + (hi - lo) / 2;
        if (count_at_most(R, mid) > k)
            hi = mid;
        else
            lo = mid + 1;
    }
    float f;
    memcpy(&f, &lo, sizeof f);
    return f;
}

/* The keep flag of every local document, the quality cut-off and the per-unit
 * kept counts. Collective. */
static int decide(Run *R, PrepStats *st, char *err, size_t errlen) {
    const PrepOptions *o = R->o;
    xch_sum_i64(R->udocs, R->nu, "prep documents per unit");
    xch_sum_i64(R->ulines, R->nu, "prep lines per unit");
    int64_t *gid = z_malloc((size_t)(R->nseen ? R->nseen : 1) * sizeof *gid, "document numbers");
    int64_t base = 0;
    for (int u = 0; u < R->nu; u++) {
        if (R->u[u].rank == R->me)
            for (int64_t k = 0; k < R->udocs[u]; k++) gid[R->unit_first[u] + k] = base + k;
        base += R->udocs[u];
    }
    if (R->dd) {
        dedup_finish_all(R->dd, gid);
        st->dups = dedup_stats(R->dd);
    }
    free(gid);
    st->cutoff = o->quality_min;
    if (R->q && o->quality_top > 0) st->cutoff = top_cutoff(R, o->quality_top);
    R->keep = z_calloc((size_t)(R->nseen ? R->nseen : 1), 1, "keep flags");
    for (int64_t i = 0; i < R->nseen; i++) {
        const Seen *s = &R->seen[i];
        if (R->dd && !dedup_keep(R->dd, (long)i)) continue; /* counted in st->dups */
        if (R->q) {
            int bin = (int)(s->score * 10);
            st->histogram[bin < 0 ? 0 : bin > 9 ? 9 : bin]++;
            if (s->score < st->cutoff) {
                st->low_quality++;
                continue;
            }
        }
        if (s->ntok == 0) {
            st->no_tokens++;
            continue;
        }
        R->keep[i] = 1;
        R->ukept[s->unit]++;
        R->utok[s->unit] += s->ntok;
    }
    xch_sum_i64(R->ukept, R->nu, "prep kept documents per unit");
    xch_sum_i64(R->utok, R->nu, "prep kept tokens per unit");
    for (int u = 0; u < R->nu; u++)
        if (R->u[u].rank == R->me &&
            spill_put_keep(R->parts, u, R->keep + R->unit_first[u], R->udocs[u], err, errlen))
            return -1;
    return 0;
}

/* ---- phase 3: write ----------------------------------------------------- */

static int by_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The shards that hold documents, as numbers k (tokens [k·S, (k+1)·S)),
 * sorted: every rank's, gathered. */
static int64_t *shard_list(Run *R, int64_t S, int64_t *n) {
    int64_t *mine = NULL, m = 0, cap = 0, pos = 0;
    for (int u = 0; u < R->nu; u++) {
        if (R->u[u].rank == R->me)
            for (int64_t k = 0, p = pos; k < R->udocs[u]; k++) {
                int64_t i = R->unit_first[u] + k;
                if (!R->keep[i]) continue;
                int64_t s = p / S;
                if (!m || mine[m - 1] != s) {
                    if (m == cap) {
                        cap = cap ? 2 * cap : 64;
                        mine = realloc(mine, (size_t)cap * sizeof *mine);
                        if (!mine) z_die("out of memory (shards)");
                    }
                    mine[m++] = s;
                }
                p += R->seen[i].ntok;
            }
        pos += R->utok[u];
    }
    int64_t *all = xch_allgather(mine, m, sizeof *mine, n, "prep shard numbers");
    free(mine);
    qsort(all, (size_t)*n, sizeof *all, by_i64);
    int64_t k = 0;
    for (int64_t i = 0; i < *n; i++)
        if (!k || all[i] != all[k - 1]) all[k++] = all[i];
    *n = k;
    return all;
}

/* <output minus ".h5">-00012.h5 */
static char *shard_path(const char *output, int64_t j) {
    size_t n = strlen(output);
    if (n > 3 && !strcmp(output + n - 3, ".h5")) n -= 3;
    char *p = z_malloc(n + 32, "shard path");
    snprintf(p, n + 32, "%.*s-%05ld.h5", (int)n, output, (long)j);
    return p;
}

/* Writes the kept documents whose first token lies in [lo, hi) to path;
 * c[4] = train documents, train tokens, validation documents and tokens. */
static int write_shard(Run *R, const char *path, int64_t lo, int64_t hi, int64_t *c, long *nspans,
                       char *err, size_t errlen) {
    const PrepOptions *o = R->o;
    CorpusWriter *w = corpus_writer_open(path, &R->meta, err, errlen);
    if (!w) return -1;
    corpus_writer_set_sources(w, o->inputs, o->ninputs);
    int64_t pos = 0, kidx = 0, line0 = 0;
    int rc = 0;
    for (int u = 0; u < R->nu && !rc && pos < hi; u++) {
        if (u > 0 && R->u[u].file != R->u[u - 1].file) line0 = 0;
        if (R->utok[u] == 0 || pos + R->utok[u] <= lo) {
            pos += R->utok[u], kidx += R->ukept[u], line0 += R->ulines[u];
            continue;
        }
        SpillReader *sr = spill_open(R->parts, u, err, errlen);
        if (!sr) {
            rc = -1;
            break;
        }
        SpillRec rec;
        const int32_t *ids;
        const int64_t *sp;
        int keep, got;
        while ((got = spill_next(sr, &rec, &ids, &sp, &keep, err, errlen)) > 0) {
            if (!keep) continue;
            if (pos >= lo && pos < hi) {
                int split = k_rng_uniform(o->seed, (uint64_t)kidx) < o->val_fraction;
                if (corpus_writer_add(w, split, ids, (size_t)rec.ntok, err, errlen) ||
                    (o->spans &&
                     corpus_writer_add_spans(w, split, sp, (size_t)rec.nspans, err, errlen))) {
                    rc = -1;
                    break;
                }
                if (R->q) corpus_writer_set_quality(w, split, rec.score);
                corpus_writer_set_provenance(w, split, R->u[u].file, line0 + rec.line, rec.offset);
                c[2 * split]++, c[2 * split + 1] += rec.ntok;
                *nspans += rec.nspans;
            }
            pos += rec.ntok, kidx++;
        }
        if (got < 0) rc = -1;
        spill_close_reader(sr);
        line0 += R->ulines[u];
    }
    if (corpus_writer_close(w, rc ? NULL : err, errlen)) rc = -1;
    if (rc) remove(path);
    return rc;
}

/* ---- the run ------------------------------------------------------------ */

/* 1 when any rank failed (collective). */
static int any_failed(int failed) {
    int64_t f = failed != 0;
    xch_max_i64(&f, 1, "prep agreement");
    return f != 0;
}

static void remove_parts(Run *R) {
    for (int u = 0; u < R->nu; u++) spill_remove(R->parts, u);
    rmdir(R->parts);
}

/* The counts every rank kept of its own documents, summed. */
static void sum_stats(PrepStats *st) {
    DocStats *d = &st->docs;
    long *f[] = {&d->docs,       &d->empty,     &d->invalid_utf8, &d->long_lines,
                 &d->bad_json,   &d->truncated, &d->bytes,        &st->low_quality,
                 &st->no_tokens, &st->spans,    &st->empty_files};
    enum { NF = sizeof f / sizeof *f, N = NF + 10 + CLEAN_NRULES };
    int64_t v[N];
    for (int i = 0; i < NF; i++) v[i] = *f[i];
    for (int b = 0; b < 10; b++) v[NF + b] = st->histogram[b];
    for (int r = 0; r < CLEAN_NRULES; r++) v[NF + 10 + r] = st->cleaned[r];
    xch_sum_i64(v, N, "prep statistics");
    for (int i = 0; i < NF; i++) *f[i] = (long)v[i];
    for (int b = 0; b < 10; b++) st->histogram[b] = (long)v[NF + b];
    for (int r = 0; r < CLEAN_NRULES; r++) st->cleaned[r] = (long)v[NF + 10 + r];
}

int prep_corpus(const PrepOptions *o, PrepStats *st, char *err, size_t errlen) {
    memset(st, 0, sizeof *st);
    err[0] = 0;
    double t0 = k_now();
    Run R = {0};
    R.o = o, R.me = z_rank(), R.P = z_nranks();
    st->ranks = R.P;
    /* the plan is rank 0's (the files as it sees them), broadcast */
    int64_t hdr[3] = {0, 0, 0}; /* failed, units, input bytes */
    if (R.me == 0) hdr[0] = plan_units(&R, err, errlen) != 0, hdr[1] = R.nu, hdr[2] = R.bytes_in;
    xch_bcast(hdr, sizeof hdr, "prep plan");
    if (hdr[0]) { /* every rank knows: rank 0 says it */
        free(R.u);
        st->alike = 1;
        return -1;
    }
    if (R.me != 0) R.u = z_malloc((size_t)(hdr[1] ? hdr[1] : 1) * sizeof *R.u, "units");
    R.nu = (int)hdr[1], R.bytes_in = hdr[2];
    xch_bcast(R.u, (size_t)R.nu * sizeof *R.u, "prep units");
    R.tok = tok_load(o->tokenizer, err, errlen);
    if (R.tok && o->quality_model) R.q = open_scorer(o, &R.label, err, errlen);
    int64_t bad[2] = {!R.tok || (o->quality_model && !R.q), 0};
    bad[1] = -bad[0];
    xch_max_i64(bad, 2, "prep setup"); /* bad[0]: any rank failed; −bad[1]: all did */
    if (bad[0]) {
        tok_free(R.tok), qc_free(R.q), free(R.u);
        st->alike = bad[1] == -1; /* the same error everywhere: rank 0 says it */
        return -1;
    }
    st->units = R.nu;
    st->bytes_in = R.bytes_in;
    SpecialIds sp = tok_specials(R.tok);
    char *json = tok_to_json(R.tok);
    R.meta = (CorpusMeta){tok_vocab_size(R.tok),
                          sp.pad,
                          sp.unk,
                          sp.cls,
                          sp.sep,
                          sp.mask,
                          sp.bos,
                          sp.eos,
                          !strcmp(tok_kind(R.tok), "wordpiece") ? "wordpiece" : "byte-level-bpe",
                          json};
    st->vocab_size = R.meta.vocab_size;
    R.dd = o->dedup ? dedup_new(o->dedup) : NULL;
    size_t plen = strlen(o->output) + 8;
    R.parts = z_malloc(plen, "parts path");
    snprintf(R.parts, plen, "%s.parts", o->output);
    R.unit_first = z_calloc((size_t)R.nu, sizeof(int64_t), "units");
    R.udocs = z_calloc((size_t)R.nu, sizeof(int64_t), "units");
    R.ulines = z_calloc((size_t)R.nu, sizeof(int64_t), "units");
    R.ukept = z_calloc((size_t)R.nu, sizeof(int64_t), "units");
    R.utok = z_calloc((size_t)R.nu, sizeof(int64_t), "units");
    int failed = 0, writing = 0;
    if (mkdir(R.parts, 0777) && errno != EEXIST) /* every rank: a new folder may be late on NFS */
        failed = z_fail(err, errlen, "cannot create %s: %s", R.parts, strerror(errno));
    int64_t *shards = NULL, nshards = 0;
    int64_t *counts = NULL;
    if (!(failed = any_failed(failed))) {
        for (int u = 0; u < R.nu && !failed; u++)
            if (R.u[u].rank == R.me) failed = read_unit(&R, u, st, err, errlen);
        st->seconds_read = k_now() - t0;
        if (!(failed = any_failed(failed))) {
            failed = decide(&R, st, err, errlen);
            int64_t kept = 0;
            for (int u = 0; u < R.nu; u++) kept += R.ukept[u];
            if (!failed && kept == 0) { /* every rank knows: rank 0 says it */
                st->alike = 1, failed = 1;
                long read = 0;
                for (int u = 0; u < R.nu; u++) read += (long)R.udocs[u];
                z_fail(err, errlen,
                       "prep: no document to write (%ld read after cleaning, none kept): nothing "
                       "written to %s",
                       read, o->output);
            }
            if (!(failed = any_failed(failed))) {
                int64_t S = o->shard_tokens > 0 ? o->shard_tokens : 0;
                writing = 1; /* from here a failure removes what this run wrote */
                if (S)
                    shards = shard_list(&R, S, &nshards);
                else
                    nshards = 1, shards = z_calloc(1, sizeof *shards, "shards");
                counts = z_calloc((size_t)(4 * nshards), sizeof *counts, "shard counts");
                for (int64_t j = R.me; j < nshards && !failed; j += R.P) {
                    char *path = S ? shard_path(o->output, j) : z_strdup(o->output);
                    int64_t lo = S ? shards[j] * S : 0, hi = S ? lo + S : INT64_MAX;
                    failed = write_shard(&R, path, lo, hi, counts + 4 * j, &st->spans, err, errlen);
                    free(path);
                }
                xch_sum_i64(counts, (int)(4 * nshards), "prep shard counts");
                if (!any_failed(failed) && S && R.me == 0) {
                    char **names = z_calloc((size_t)nshards, sizeof *names, "shard names");
                    for (int64_t j = 0; j < nshards; j++) {
                        char *p = shard_path(o->output, j), *slash = strrchr(p, '/');
                        names[j] = z_strdup(slash ? slash + 1 : p);
                        free(p);
                    }
                    failed =
                        corpus_set_write(o->output, &R.meta, (const char *const *)names,
                                         (int)nshards, counts, o->spans, R.q != NULL, err, errlen);
                    for (int64_t j = 0; j < nshards; j++) free(names[j]);
                    free(names);
                }
                failed = any_failed(failed);
            }
        }
    }
    if (!failed) {
        sum_stats(st);
        for (int64_t j = 0; j < nshards; j++) {
            st->kept += counts[4 * j] + counts[4 * j + 2];
            st->val += counts[4 * j + 2];
            st->tokens[0] += counts[4 * j + 1], st->tokens[1] += counts[4 * j + 3];
        }
        st->shards = o->shard_tokens > 0 ? nshards : 0;
    }
    if (R.me == 0) {
        remove_parts(&R);
        if (failed && writing) { /* no output left behind (an older one is not touched before) */
            for (int64_t j = 0; o->shard_tokens > 0 && j < nshards; j++) {
                char *p = shard_path(o->output, j);
                remove(p);
                free(p);
            }
            remove(o->output);
        }
    }
    st->seconds = k_now() - t0;
    free(shards), free(counts), free(json);
    free(R.u), free(R.parts), free(R.seen), free(R.keep);
    free(R.unit_first), free(R.udocs), free(R.ulines), free(R.ukept), free(R.utok);
    dedup_free(R.dd);
    qc_free(R.q);
    tok_free(R.tok);
    return failed ? -1 : 0;
}
