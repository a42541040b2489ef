/*
 * data.c — packing, sample order and windows of a corpus split (see data.h).
 */
#include "data.h"

#include "kernels/rng.h"
#include "mpi/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 4-round Feistel network on the smallest even-bit domain ≥ n, with cycle
 * walking back into [0, n): a bijection of [0, n) for any key. */
int64_t data_permute(int64_t i, int64_t n, uint64_t key) {
    if (n <= 1) return 0;
    int bits = 2;
    while (((int64_t)1 << bits) < n) bits += 2;
    int half = bits / 2;
    uint64_t mask = ((uint64_t)1 << half) - 1;
    uint64_t x = (uint64_t)i;
    do {
        uint64_t l = x >> half, r = x & mask;
        for (int round = 0; round < 4; round++) {
            uint64_t f = k_rng_mix(r ^ k_rng_child(key, (uint64_t)round)) & mask;
            uint64_t t = l ^ f;
            l = r;
            r = t;
        }
        x = (l << half) | r;
    } while (x >= (uint64_t)n);
    return (int64_t)x;
}

int data_open(DataSource *d, const char *path, const char *split, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    return corpus_open(&d->corpus, path, split, err, errlen);
}

int data_pack(DataSource *d, int64_t stride, int64_t extra, int sep, uint64_t seed, int shuffle,
              const char *what, char *err, size_t errlen) {
    d->stride = stride, d->extra = extra, d->sep = sep, d->seed = seed, d->shuffle = shuffle;
    d->stream_len = d->corpus.n_tokens + d->corpus.n_docs;
    d->n_samples = stride > 0 && d->stream_len > extra ? (d->stream_len - extra) / stride : 0;
    if (d->n_samples < 1)
        return z_fail(err, errlen,
                      "%s: %s is larger than the %s split allows (%ld tokens in %ld documents "
                      "make no full sequence)",
                      d->corpus.path, what, d->corpus.split[0] ? d->corpus.split : "train",
                      (long)d->corpus.n_tokens, (long)d->corpus.n_docs);
    free(d->window);
    d->window = z_malloc((size_t)(stride + extra) * sizeof *d->window, "sample window");
    return 0;
}

int data_docs(DataSource *d, int64_t width, int sep, uint64_t seed, int shuffle, char *err,
              size_t errlen) {
    d->stride = width, d->extra = 0, d->sep = sep, d->seed = seed, d->shuffle = shuffle;
    d->docs = 1;
    d->stream_len = d->corpus.n_tokens + d->corpus.n_docs;
    d->n_samples = d->corpus.n_docs;
    if (d->n_samples < 1)
        return z_fail(err, errlen, "%s: the %s split has no documents", d->corpus.path,
                      d->corpus.split[0] ? d->corpus.split : "train");
    free(d->window);
    d->window = z_malloc((size_t)width * sizeof *d->window, "sample window");
    return 0;
}

typedef struct {
    float q;
    int64_t i;
} Scored;

static int by_quality(const void *a, const void *b) {
    const Scored *x = a, *y = b;
    return x->q < y->q ? -1 : x->q > y->q ? 1 : (x->i > y->i) - (x->i < y->i);
}

int data_quality_order(DataSource *d, int mode, double power, char *err, size_t errlen) {
    if (mode == DATA_QUALITY_NONE) return 0;
    int64_t n = d->corpus.n_docs;
    const char *split = d->corpus.split[0] ? "val" : "train";
    if (!d->docs)
        return z_fail(err, errlen,
                      "%s: a quality curriculum orders documents: it needs [data] packing = pad",
                      d->corpus.path);
    float *q = z_malloc((size_t)n * sizeof *q, "quality scores");
    int got = corpus_read_quality(&d->corpus, q, err, errlen);
    if (got <= 0) {
        free(q);
        return got < 0 ? -1
                       : z_fail(err, errlen,
                                "%s: a quality curriculum needs quality scores: the %s split has "
                                "no /%squality dataset",
                                d->corpus.path, split, d->corpus.split[0] ? "val/" : "");
    }
    if (mode == DATA_QUALITY_WEIGHTED) {
        d->cdf = z_malloc((size_t)n * sizeof *d->cdf, "quality distribution");
        double acc = 0;
        for (int64_t i = 0; i < n; i++) {
            if (q[i] < 0) {
                z_fail(err, errlen,
                       "%s: quality = weighted draws documents by their score: document %ld of "
                       "the %s split scores %g < 0",
                       d->corpus.path, (long)i, split, q[i]);
                free(q);
                return -1;
            }
            acc += pow(q[i], power), d->cdf[i] = acc;
        }
        free(q);
        if (!(acc > 0))
            return z_fail(err, errlen, "%s: quality = weighted: every score of the %s split is 0",
                          d->corpus.path, split);
        return 0;
    }
    Scored *s = z_malloc((size_t)n * sizeof *s, "quality order");
    for (int64_t i = 0; i < n; i++) s[i] = (Scored){q[i], i};
    qsort(s, (size_t)n, sizeof *s, by_quality); /* ties in document order */
    d->order = z_malloc((size_t)n * sizeof *d->order, "quality order");
    for (int64_t i = 0; i < n; i++)
        d->order[i] = s[mode == DATA_QUALITY_ASCENDING ? i : n - 1 - i].i;
    free(s), free(q);
    return 0;
}

void data_close(DataSource *d) {
    corpus_close(&d->corpus);
    free(d->order), free(d->cdf);
    free(d->window);
    memset(d, 0, sizeof *d);
}

/* Document containing stream position p (its tokens or its separator). */
static int64_t doc_of(DataSource *d, int64_t p) {
    return corpus_doc_at(&d->corpus, p);
}

/* One hyperslab read for the tokens, separators inserted at document ends. */
int data_read_stream(DataSource *d, int64_t a, int64_t n, int32_t *out, char *err, size_t errlen) {
    Corpus *c = &d->corpus;
    int64_t d0 = doc_of(d, a), d1 = doc_of(d, a + n - 1);
    /* token index of a stream position: p − (its document index) clipped to its doc */
    int64_t e0 = corpus_off(c, d0 + 1), e1 = corpus_off(c, d1 + 1);
    int64_t t0 = a - d0 < e0 ? a - d0 : e0;
    int64_t t1 = (a + n - 1) - d1 < e1 ? (a + n - 1) - d1 + 1 : e1;
    int32_t *tok = out + n - (t1 - t0); /* read into the tail, expand forward */
    if (t1 > t0 && corpus_read(&d->corpus, t0, t1 - t0, tok, err, errlen)) return -1;
    int64_t ti = 0, p = a;
    for (int64_t doc = d0; doc <= d1; doc++) {
        int64_t e = corpus_off(c, doc + 1) + doc; /* its tokens end at e, its separator */
        for (; p < a + n && p < e; p++) out[p - a] = tok[ti++];
        if (p < a + n && p == e) out[p++ - a] = d->sep;
    }
    return 0;
}

int data_window(DataSource *d, int64_t k, int32_t *out, char *err, size_t errlen) {
    int64_t epoch = k / d->n_samples, j = k % d->n_samples;
    int64_t i =
        d->shuffle ? data_permute(j, d->n_samples, k_rng_child(d->seed, 0xE0C0 + epoch)) : j;
    if (d->order) i = d->order[j];
    if (d->cdf) { /* the first document whose cumulative weight passes u */
        double u =
            k_rng_uniform(k_rng_child(d->seed, 0x9A11), (uint64_t)k) * d->cdf[d->n_samples - 1];
        int64_t lo = 0, hi = d->n_samples - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (d->cdf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        i = lo;
    }
    if (d->docs) { /* document i, cut to the window */
        int64_t o = corpus_off(&d->corpus, i), n = corpus_off(&d->corpus, i + 1) - o;
        d->window_len = n < d->stride ? n : d->stride;
        d->window_doc0 = d->window_doc1 = i, d->window_start = o + i;
        return d->window_len ? corpus_read(&d->corpus, o, d->window_len, out, err, errlen) : 0;
    }
    d->window_len = d->stride + d->extra;
    d->window_start = i * d->stride;
    d->window_doc0 = doc_of(d, d->window_start);
    d->window_doc1 = doc_of(d, d->window_start + d->window_len - 1);
    return data_read_stream(d, i * d->stride, d->stride + d->extra, out, err, errlen);
}

int data_unigram_entropy(DataSource *d, int64_t max_tokens, double *entropy, char *err,
                         size_t errlen) {
    int V = d->corpus.meta.vocab_size;
    int64_t n = d->corpus.n_tokens < max_tokens ? d->corpus.n_tokens : max_tokens, chunk = 1 << 20;
    int64_t *count = z_calloc((size_t)V, sizeof *count, "unigram counts");
    int32_t *buf = z_malloc((size_t)chunk * sizeof *buf, "unigram chunk");
    int rc = 0;
    for (int64_t o = 0; o < n && !rc; o += chunk) {
        int64_t c = n - o < chunk ? n - o : chunk;
        rc = corpus_read(&d->corpus, o, c, buf, err, errlen);
        for (int64_t i = 0; i < c && !rc; i++) count[buf[i]]++;
    }
    double h = 0;
    for (int v = 0; v < V && n > 0; v++)
        if (count[v]) h -= (double)count[v] / n * log((double)count[v] / n);
    *entropy = h;
    free(count), free(buf);
    return rc;
}
