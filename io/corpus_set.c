/*
 * corpus_set.c — a shard set (see corpus_set.h): the index writer, and the
 * reader that corpus.c hands an index to.
 */
#include "corpus_set.h"

#include "h5attr.h"
#include "mpi/err.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int put_i64(hid_t loc, const char *name, const int64_t *v, int n, int stride) {
    int64_t *col = z_calloc((size_t)(n ? n : 1), sizeof *col, "index column");
    for (int i = 0; i < n; i++) col[i] = v[(size_t)i * stride];
    hsize_t dim = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &dim, NULL), d = h5_create_ds(loc, name, H5T_STD_I64LE, sp);
    int rc = d < 0 || (n && H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, col) < 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    free(col);
    return rc ? -1 : 0;
}

int corpus_set_write(const char *path, const CorpusMeta *meta, const char *const *shards, int n,
                     const int64_t *counts, int spans, int quality, char *err, size_t errlen) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return z_fail(err, errlen, "%s: cannot create the shard index", path);
    int rc = corpus_put_meta(f, meta, CORPUS_SET_FORMAT);
    rc |= h5_put_attr_i64(f, "spans", spans != 0);
    rc |= h5_put_attr_i64(f, "quality", quality != 0);
    rc |= h5_put_strings(f, "shards", shards, n);
    rc |= put_i64(f, "n_docs", counts, n, 4);
    rc |= put_i64(f, "n_tokens", counts + 1, n, 4);
    hid_t val = h5_create_group(f, "val");
    rc |= val < 0;
    if (val >= 0) {
        rc |= put_i64(val, "n_docs", counts + 2, n, 4);
        rc |= put_i64(val, "n_tokens", counts + 3, n, 4);
        H5Gclose(val);
    }
    if (H5Fclose(f) < 0) rc = -1;
    if (rc) {
        remove(path);
        return z_fail(err, errlen, "%s: cannot write the shard index (disk full?)", path);
    }
    return 0;
}

/* ---- reader -------------------------------------------------------------- */

struct CorpusSet {
    int n;                                      /* shards */
    char **path;                                /* [n] */
    int64_t *doc_base, *tok_base, *stream_base; /* [n + 1] for the split opened */
    Corpus *sh;                                 /* [n]: hid_file >= 0 when open */
    long *used, clock;                          /* last use, for closing the least recent */
    int nopen, quality;
};

static int read_col(hid_t f, const char *name, int n, int64_t *out) {
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t dim = 0;
    int ok = H5Sget_simple_extent_ndims(sp) == 1;
    if (ok) H5Sget_simple_extent_dims(sp, &dim, NULL);
    ok = ok && (int)dim == n &&
         (n == 0 || H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Sclose(sp), H5Dclose(d);
    return ok ? 0 : -1;
}

int corpus_set_open(Corpus *c, char *err, size_t errlen) {
    hid_t f = (hid_t)c->hid_file;
    const char *pre = c->split[0] ? "val/" : "";
    char **names = NULL;
    int n = 0;
    if (h5_get_strings(f, "shards", &names, &n) || n < 1)
        return z_fail(err, errlen, "%s: a shard index without a /shards list", c->path);
    struct CorpusSet *s = z_calloc(1, sizeof *s, "shard set");
    c->set = s;
    s->n = n, s->path = names;
    int64_t *docs = z_calloc((size_t)n, sizeof *docs, "index"),
            *toks = z_calloc((size_t)n, sizeof *toks, "index");
    char dn[32], tn[32];
    snprintf(dn, sizeof dn, "%sn_docs", pre), snprintf(tn, sizeof tn, "%sn_tokens", pre);
    int bad = read_col(f, dn, n, docs) || read_col(f, tn, n, toks);
    s->doc_base = z_calloc((size_t)n + 1, sizeof(int64_t), "index");
    s->tok_base = z_calloc((size_t)n + 1, sizeof(int64_t), "index");
    s->stream_base = z_calloc((size_t)n + 1, sizeof(int64_t), "index");
    for (int i = 0; i < n && !bad; i++) {
        bad = docs[i] < 0 || toks[i] < 0 || (docs[i] == 0) != (toks[i] == 0);
        s->doc_base[i + 1] = s->doc_base[i] + docs[i];
        s->tok_base[i + 1] = s->tok_base[i] + toks[i];
        s->stream_base[i + 1] = s->doc_base[i + 1] + s->tok_base[i + 1];
    }
    free(docs), free(toks);
    if (bad)
        return z_fail(err, errlen, "%s: /%s and /%s must list a count per shard (%d shards)",
                      c->path, dn, tn, n);
    c->n_docs = s->doc_base[n], c->n_tokens = s->tok_base[n];
    if (c->n_tokens == 0)
        return z_fail(err, errlen, "%s: the %s split is empty (no tokens)", c->path,
                      c->split[0] ? "val" : "train");
    int64_t v;
    c->has_spans = !h5_attr_i64(f, "spans", &v) && v;
    s->quality = !h5_attr_i64(f, "quality", &v) && v;
    c->token_bytes = c->meta.vocab_size <= 65535 ? 2 : 4;
    /* shard names are relative to the index's folder */
    const char *slash = strrchr(c->path, '/');
    int dirlen = slash ? (int)(slash - c->path) + 1 : 0;
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)dirlen + strlen(names[i]) + 1;
        char *p = z_malloc(len, "shard path");
        snprintf(p, len, "%.*s%s", dirlen, c->path, names[i]);
        free(names[i]);
        names[i] = p;
        if (z_rank() == 0 && access(p, R_OK))
            return z_fail(err, errlen, "%s: shard %d, %s, is missing or unreadable", c->path, i, p);
    }
    s->sh = z_calloc((size_t)n, sizeof *s->sh, "shards");
    s->used = z_calloc((size_t)n, sizeof *s->used, "shards");
    for (int i = 0; i < n; i++) s->sh[i].hid_file = s->sh[i].hid_tokens = s->sh[i].hid_spans = -1;
    return 0;
}

void corpus_set_close(Corpus *c) {
    struct CorpusSet *s = c->set;
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        if (s->sh && s->sh[i].hid_file >= 0) corpus_close(&s->sh[i]);
        free(s->path[i]);
    }
    free(s->path), free(s->doc_base), free(s->tok_base), free(s->stream_base);
    free(s->sh), free(s->used);
    free(s);
    c->set = NULL;
}

/* Shard i, opened (and checked against the index) when it is not. */
static Corpus *shard(Corpus *c, int i, char *err, size_t errlen) {
    struct CorpusSet *s = c->set;
    Corpus *h = &s->sh[i];
    s->used[i] = ++s->clock;
    if (h->hid_file >= 0) return h;
    if (s->nopen == SET_MAX_OPEN) { /* close the least recently used */
        int lru = -1;
        for (int j = 0; j < s->n; j++)
            if (s->sh[j].hid_file >= 0 && (lru < 0 || s->used[j] < s->used[lru])) lru = j;
        corpus_close(&s->sh[lru]);
        s->nopen--;
    }
    char e[1024];
    if (corpus_open(h, s->path[i], c->split, e, sizeof e)) {
        z_fail(err, errlen, "%s: shard %d: %s", c->path, i, e);
        return NULL;
    }
    int64_t nd = s->doc_base[i + 1] - s->doc_base[i], nt = s->tok_base[i + 1] - s->tok_base[i];
    if (h->n_docs != nd || h->n_tokens != nt || h->meta.vocab_size != c->meta.vocab_size) {
        z_fail(err, errlen,
               "%s: shard %d, %s, holds %ld documents and %ld tokens (vocab %d); the index says "
               "%ld, %ld (vocab %d)",
               c->path, i, s->path[i], (long)h->n_docs, (long)h->n_tokens, h->meta.vocab_size,
               (long)nd, (long)nt, c->meta.vocab_size);
        corpus_close(h);
        return NULL;
    }
    s->nopen++;
    return h;
}

/* The last i in [0, n) with base[i] <= x: a shard with something there when
 * x < base[n] (empty shards share their base with the next). */
static int find(const int64_t *base, int n, int64_t x) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (base[mid] <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static Corpus *shard_or_die(Corpus *c, int i) {
    char err[1280];
    Corpus *h = shard(c, i, err, sizeof err);
    if (!h) z_die("%s", err);
    return h;
}

int64_t corpus_set_off(Corpus *c, int64_t d) {
    struct CorpusSet *s = c->set;
    if (d >= c->n_docs) return c->n_tokens;
    int i = find(s->doc_base, s->n, d);
    if (d == s->doc_base[i]) return s->tok_base[i]; /* a shard's first: no need to open it */
    return s->tok_base[i] + corpus_off(shard_or_die(c, i), d - s->doc_base[i]);
}

int64_t corpus_set_doc_at(Corpus *c, int64_t p) {
    struct CorpusSet *s = c->set;
    int i = find(s->stream_base, s->n, p);
    while (i > 0 && s->doc_base[i + 1] == s->doc_base[i]) i--; /* past the end: the last */
    return s->doc_base[i] + corpus_doc_at(shard_or_die(c, i), p - s->stream_base[i]);
}

int corpus_set_read(Corpus *c, int64_t start, int64_t count, int32_t *out, char *err,
                    size_t errlen) {
    struct CorpusSet *s = c->set;
    if (start < 0 || count < 0 || start + count > c->n_tokens)
        return z_fail(err, errlen, "%s: read [%ld, %ld) outside %ld tokens", c->path, (long)start,
                      (long)(start + count), (long)c->n_tokens);
    while (count > 0) {
        int i = find(s->tok_base, s->n, start);
        int64_t m = s->tok_base[i + 1] - start;
        if (m > count) m = count;
        Corpus *h = shard(c, i, err, errlen);
        if (!h || corpus_read(h, start - s->tok_base[i], m, out, err, errlen)) return -1;
        start += m, count -= m, out += m;
    }
    return 0;
}

int corpus_set_read_spans(Corpus *c, int64_t d0, int64_t d1, int64_t *out, int64_t cap, int64_t *n,
                          char *err, size_t errlen) {
    struct CorpusSet *s = c->set;
    *n = 0;
    if (!c->has_spans) return 0;
    while (d0 < d1 && *n < cap) {
        int i = find(s->doc_base, s->n, d0);
        int64_t e = s->doc_base[i + 1] < d1 ? s->doc_base[i + 1] : d1, got;
        Corpus *h = shard(c, i, err, errlen);
        if (!h || corpus_read_spans(h, d0 - s->doc_base[i], e - s->doc_base[i], out + 4 * *n,
                                    cap - *n, &got, err, errlen))
            return -1;
        for (int64_t k = 0; k < got; k++) out[4 * (*n + k)] += s->doc_base[i];
        *n += got, d0 = e;
    }
    return 0;
}

int corpus_set_read_quality(Corpus *c, float *out, char *err, size_t errlen) {
    struct CorpusSet *s = c->set;
    if (!s->quality) return 0;
    for (int i = 0; i < s->n; i++) {
        if (s->doc_base[i + 1] == s->doc_base[i]) continue;
        Corpus *h = shard(c, i, err, errlen);
        if (!h) return -1;
        int got = corpus_read_quality(h, out + s->doc_base[i], err, errlen);
        if (got < 0) return -1;
        if (got == 0)
            return z_fail(err, errlen, "%s: shard %d, %s, has no /quality (the index says it has)",
                          c->path, i, s->path[i]);
    }
    return 1;
}
