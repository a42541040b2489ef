/*
 * prep.c — text → corpus.h5 (see prep.h).
 */
#include "prep.h"

#include "quality.h"
#include "spans.h"

#include "src/tokenizer/tokenizer.h"

#include "io/corpus.h"
#include "kernels/clock.h"
#include "kernels/rng.h"
#include "mpi/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_removing(CorpusWriter *w, const char *out) {
    if (w) corpus_writer_close(w, NULL, 0);
    remove(out);
    return -1;
}

/* The next document of a reader, cleaned when asked (those failing a rule
 * skipped and, with cleaned, counted); 0 at the end. */
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
        if (cleaned) cleaned[rule]++;
    }
    return 0;
}

/* The classifier and the index of the label that scores documents. */
static Qc *open_scorer(const PrepOptions *o, int *label, char *err, size_t errlen) {
    if (!o->quality_model) return NULL;
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

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The first pass, when the second needs to have seen every document: the
 * duplicates' clusters (dd), and with quality_top the score at the best
 * fraction's edge among the documents dedup keeps. */
static int first_pass(const PrepOptions *o, const Qc *q, int label, Dedup *dd, double *cut,
                      char *err, size_t errlen) {
    double *all = NULL;
    size_t n = 0, cap = 0, bcap = 0;
    char *buf = NULL, *cbuf = NULL;
    int top = q && o->quality_top > 0;
    for (int f = 0; f < o->ninputs; f++) {
        DocReader *r = docs_open(o->inputs[f], o->format, o->separator, o->max_line, err, errlen);
        if (!r) {
            free(all), free(buf);
            return -1;
        }
        const char *text;
        size_t len;
        while (next_doc(r, o, &text, &len, &cbuf, NULL)) {
            if (dd) dedup_add(dd, text, len);
            if (!top) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                all = realloc(all, cap * sizeof *all);
                if (!all) z_die("out of memory (quality scores)");
            }
            all[n++] = score(q, label, text, len, &buf, &bcap);
        }
        docs_close(r);
    }
    if (dd) dedup_finish(dd);
    if (top) {
        size_t m = 0; /* the scores of the documents dedup keeps */
        for (size_t i = 0; i < n; i++)
            if (!dd || dedup_keep(dd, (long)i)) all[m++] = all[i];
        qsort(all, m, sizeof *all, by_value);
        size_t keep = (size_t)ceil(o->quality_top * (double)m);
        *cut = m && keep ? all[m - keep] : INFINITY;
    }
    free(all), free(buf), free(cbuf);
    return 0;
}

int prep_corpus(const PrepOptions *o, PrepStats *st, char *err, size_t errlen) {
    memset(st, 0, sizeof *st);
    double t0 = k_now();
    Tokenizer *tok = tok_load(o->tokenizer, err, errlen);
    if (!tok) return -1;
    SpecialIds sp = tok_specials(tok);
    char *json = tok_to_json(tok);
    CorpusMeta meta = {tok_vocab_size(tok), sp.pad, sp.unk, sp.cls, sp.sep, sp.mask, sp.bos, sp.eos,
                       "byte-level-bpe",    json};
    st->vocab_size = meta.vocab_size;
    int label = -1;
    Qc *q = open_scorer(o, &label, err, errlen);
    st->cutoff = o->quality_min;
    Dedup *dd = o->dedup ? dedup_new(o->dedup) : NULL;
    if ((o->quality_model && !q) || ((dd || (q && o->quality_top > 0)) &&
                                     first_pass(o, q, label, dd, &st->cutoff, err, errlen))) {
        qc_free(q), dedup_free(dd), free(json), tok_free(tok);
        return -1;
    }
    if (dd) st->dups = dedup_stats(dd);
    long di = 0; /* documents after cleaning, in reading order (dedup's numbering) */
    SpanDetector *det = o->spans ? spans_new(tok) : NULL;
    int64_t *sp_buf = NULL;
    size_t sp_cap = 0, bcap = 0;
    char *buf = NULL, *cbuf = NULL;
    CorpusWriter *w = corpus_writer_open(o->output, &meta, err, errlen);
    int rc = w ? 0 : -1;
    int32_t *ids = NULL;
    size_t cap = 0;
    long ndoc = 0;
    for (int f = 0; f < o->ninputs && !rc; f++) {
        DocReader *r = docs_open(o->inputs[f], o->format, o->separator, o->max_line, err, errlen);
        if (!r) {
            rc = fail_removing(w, o->output);
            break;
        }
        const char *text;
        size_t len;
        while (!rc && next_doc(r, o, &text, &len, &cbuf, st->cleaned)) {
            if (dd && !dedup_keep(dd, di++)) continue; /* counted in st->dups */
            double s = q ? score(q, label, text, len, &buf, &bcap) : 0;
            if (q) {
                int bin = (int)(s * 10);
                st->histogram[bin < 0 ? 0 : bin > 9 ? 9 : bin]++;
                if (s < st->cutoff) {
                    st->low_quality++;
                    continue;
                }
            }
            size_t n = tok_encode_opt(tok, text, len, o->special_as_text, &ids, &cap);
            if (n == 0) {
                st->no_tokens++;
                continue;
            }
            int split = k_rng_uniform(o->seed, (uint64_t)ndoc) < o->val_fraction;
            if (corpus_writer_add(w, split, ids, n, err, errlen)) {
                rc = fail_removing(w, o->output);
                break;
            }
            if (q) corpus_writer_set_quality(w, split, (float)s);
            if (det) {
                if (sp_cap < n) {
                    sp_cap = n;
                    sp_buf = realloc(sp_buf, 3 * sp_cap * sizeof *sp_buf);
                    if (!sp_buf) z_die("out of memory (spans)");
                }
                size_t ns = spans_find(det, ids, n, sp_buf, sp_cap);
                st->spans += (long)ns;
                if (corpus_writer_add_spans(w, split, sp_buf, ns, err, errlen)) {
                    rc = fail_removing(w, o->output);
                    break;
                }
            }
            st->tokens[split] += (long)n;
            st->val += split;
            ndoc++;
        }
        DocStats s = docs_stats(r);
        st->docs.docs += s.docs, st->docs.empty += s.empty, st->docs.invalid_utf8 += s.invalid_utf8;
        st->docs.long_lines += s.long_lines, st->docs.bad_json += s.bad_json;
        st->docs.truncated += s.truncated;
        if (docs_error(r)) fprintf(stderr, "zeropt: prep: warning: %s\n", docs_error(r));
        st->docs.bytes += s.bytes;
        docs_close(r);
    }
    if (!rc && corpus_writer_close(w, err, errlen)) rc = fail_removing(NULL, o->output);
    st->kept = ndoc;
    st->seconds = k_now() - t0;
    free(ids);
    free(json);
    free(buf), free(sp_buf), free(cbuf);
    spans_free(det);
    dedup_free(dd);
    qc_free(q);
    tok_free(tok);
    return rc;
}
