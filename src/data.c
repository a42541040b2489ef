/*
 * data.c — packing, sample order and dynamic masking (see data.h).
 */
#include "data.h"

#include "../kernels/rng.h"
#include "../mpi/err.h"
#include "train.h"

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

static int fail(char *err, size_t n, const char *msg, const char *path) {
    snprintf(err, n, "%s: %s", path, msg);
    return -1;
}

int data_open(DataSource *d, const char *path, const char *split, int T, int objective,
              double mask_rate, uint64_t seed, int shuffle, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (corpus_open(&d->corpus, path, split, err, errlen)) return -1;
    const CorpusMeta *m = &d->corpus.meta;
    d->T = T, d->objective = objective, d->mask_rate = mask_rate;
    d->seed = seed, d->shuffle = shuffle, d->vocab = m->vocab_size;
    if (objective == OBJ_MLM) {
        if (m->cls < 0 || m->sep < 0 || m->mask < 0)
            return fail(err, errlen, "MLM needs cls_id, sep_id and mask_id attributes", path);
        d->sep = m->sep, d->cls = m->cls, d->mask = m->mask;
    } else {
        if (m->eos < 0) return fail(err, errlen, "causal LM needs an eos_id attribute", path);
        d->sep = m->eos;
    }
    d->stream_len = d->corpus.n_tokens + d->corpus.n_docs;
    int64_t w = objective == OBJ_MLM ? T - 2 : T;
    d->n_samples = objective == OBJ_MLM ? d->stream_len / w : (d->stream_len - 1) / w;
    if (d->n_samples < 1) {
        snprintf(err, errlen,
                 "%s: seq_len %d is larger than the %s split allows (%ld tokens in %ld documents "
                 "make no full sequence)",
                 path, T, split && *split ? split : "train", (long)d->corpus.n_tokens,
                 (long)d->corpus.n_docs);
        return -1;
    }
    d->buf = z_malloc(((size_t)T + 2) * sizeof(int32_t), "sample window");
    return 0;
}

void data_close(DataSource *d) {
    corpus_close(&d->corpus);
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* Document containing stream position p (its tokens or its separator). */
static int64_t doc_of(const DataSource *d, int64_t p) {
    const int64_t *off = d->corpus.offsets;
    int64_t lo = 0, hi = d->corpus.n_docs - 1; /* last d with off[d] + d <= p */
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (off[mid] + mid <= p)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* stream[a, a+n) into out: one hyperslab read for the tokens, separators
 * inserted at document ends. */
static int read_stream(DataSource *d, int64_t a, int64_t n, int32_t *out, char *err,
                       size_t errlen) {
    const int64_t *off = d->corpus.offsets;
    int64_t d0 = doc_of(d, a), d1 = doc_of(d, a + n - 1);
    /* token index of a stream position: p − (its document index) clipped to its doc */
    int64_t t0 = a - d0 < off[d0 + 1] ? a - d0 : off[d0 + 1];
    int64_t t1 = (a + n - 1) - d1 < off[d1 + 1] ? (a + n - 1) - d1 + 1 : off[d1 + 1];
    int32_t *tok = out + n - (t1 - t0); /* read into the tail, expand forward */
    if (t1 > t0 && corpus_read(&d->corpus, t0, t1 - t0, tok, err, errlen)) return -1;
    int64_t ti = 0, p = a;
    for (int64_t doc = d0; doc <= d1; doc++) {
        int64_t s = off[doc] + doc, e = off[doc + 1] + doc; /* tokens [s,e), separator at e */
        for (; p < a + n && p < e; p++) out[p - a] = tok[ti++];
        if (p < a + n && p == e) out[p++ - a] = d->sep;
        (void)s;
    }
    return 0;
}

int data_sample(DataSource *d, int64_t k, int64_t step, int32_t *tokens, int32_t *labels, char *err,
                size_t errlen) {
    int T = d->T;
    int64_t epoch = k / d->n_samples, j = k % d->n_samples;
    int64_t i =
        d->shuffle ? data_permute(j, d->n_samples, k_rng_child(d->seed, 0xE0C0 + epoch)) : j;
    if (d->objective == OBJ_CLM) {
        if (read_stream(d, i * T, T + 1, d->buf, err, errlen)) return -1;
        memcpy(tokens, d->buf, T * sizeof(int32_t));
        memcpy(labels, d->buf + 1, T * sizeof(int32_t));
        return 0;
    }
    /* MLM: [CLS] window [SEP], then mask positions of the window.
     * draw 1 < rate: predict this position; draw 2: 80% [MASK], 10% random
     * token, 10% unchanged; draw 3 picks the random token. */
    tokens[0] = d->cls;
    tokens[T - 1] = d->sep;
    if (read_stream(d, i * (T - 2), T - 2, tokens + 1, err, errlen)) return -1;
    uint64_t ms = k_rng_child(k_rng_child(k_rng_child(d->seed, 0x3A5C), (uint64_t)step), k);
    for (int t = 0; t < T; t++) {
        labels[t] = LABEL_IGNORE;
        int tok = tokens[t];
        if (t == 0 || t == T - 1 || tok == d->sep || tok == d->cls) continue;
        if (k_rng_uniform(ms, 3 * (uint64_t)t) >= d->mask_rate) continue;
        labels[t] = tok;
        double r = k_rng_uniform(ms, 3 * (uint64_t)t + 1);
        if (r < 0.8)
            tokens[t] = d->mask;
        else if (r < 0.9)
            tokens[t] = (int32_t)(k_rng_uniform(ms, 3 * (uint64_t)t + 2) * d->vocab);
    }
    return 0;
}
