/*
 * dedup.c — exact and MinHash-LSH near-duplicate detection (see dedup.h).
 */
#include "dedup.h"

#include "kernels/rng.h"
#include "mpi/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct Dedup {
    DedupOptions o;
    int bands, rows;
    long n, cap;
    uint32_t *sig;  /* [cap][perms] */
    uint64_t *hash; /* [cap][2] exact: 128 bits of the text */
    uint8_t *drop;  /* [n] 1 exact, 2 near */
    long *parent;   /* union-find */
    long exact, near;
    long all_docs; /* over every rank (dedup_set_result), else 0 */
};

void dedup_default_options(DedupOptions *o) {
    o->exact = 1, o->threshold = 0.8, o->shingle = 5, o->perms = 128, o->seed = 0x5EED;
}

/* the largest r (dividing perms) with which a pair at the threshold shares a
 * band with probability ≥ 0.999: 1 − (1 − t^r)^(perms/r) */
static void choose_bands(Dedup *d) {
    int P = d->o.perms;
    double t = d->o.threshold;
    d->rows = 1, d->bands = P;
    for (int r = 1; r <= P; r++)
        if (P % r == 0 && 1 - pow(1 - pow(t, r), P / r) >= 0.999) d->rows = r, d->bands = P / r;
}

Dedup *dedup_new(const DedupOptions *o) {
    Dedup *d = z_calloc(1, sizeof *d, "dedup");
    d->o = *o;
    if (d->o.perms < 1) d->o.perms = 128;
    if (d->o.shingle < 1) d->o.shingle = 5;
    if (d->o.threshold > 0) choose_bands(d);
    return d;
}

static uint64_t fnv(const char *s, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int is_ws(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

void dedup_add(Dedup *d, const char *text, size_t n) {
    int P = d->o.perms, k = d->o.shingle;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 1024;
        d->sig = realloc(d->sig, (size_t)d->cap * P * sizeof *d->sig);
        d->hash = realloc(d->hash, (size_t)d->cap * 2 * sizeof *d->hash);
        if (!d->sig || !d->hash) z_die("out of memory (dedup signatures)");
    }
    d->hash[2 * d->n] = fnv(text, n, 1469598103934665603ull);
    d->hash[2 * d->n + 1] = k_rng_mix(fnv(text, n, 0x84222325cbf29ce4ull) ^ n);
    uint32_t *sig = d->sig + (size_t)d->n * P;
    uint64_t *mins = z_malloc((size_t)P * sizeof *mins, "minhash");
    for (int p = 0; p < P; p++) mins[p] = UINT64_MAX;
    if (d->o.threshold > 0) {
        /* word starts, then each shingle's hash: words a .. a + k − 1 */
        size_t nw = 0, wcap = 256;
        size_t *ws = z_malloc(wcap * sizeof *ws, "words"),
               *we = z_malloc(wcap * sizeof *we, "words");
        for (size_t i = 0; i < n;) {
            while (i < n && is_ws(text[i])) i++;
            size_t a = i;
            while (i < n && !is_ws(text[i])) i++;
            if (i == a) continue;
            if (nw == wcap) {
                wcap *= 2;
                ws = realloc(ws, wcap * sizeof *ws), we = realloc(we, wcap * sizeof *we);
                if (!ws || !we) z_die("out of memory (dedup words)");
            }
            ws[nw] = a, we[nw] = i, nw++;
        }
        size_t m = nw >= (size_t)k ? nw - k + 1 : (nw ? 1 : 0); /* a short text: one shingle */
        for (size_t s = 0; s < m; s++) {
            uint64_t h = 1469598103934665603ull;
            for (size_t w = s; w < s + (size_t)k && w < nw; w++)
                h = fnv(text + ws[w], we[w] - ws[w], h) * 31 + 0x20;
            for (int p = 0; p < P; p++) {
                uint64_t v = k_rng_mix(h ^ k_rng_child(d->o.seed, (uint64_t)p));
                mins[p] = v < mins[p] ? v : mins[p];
            }
        }
        free(ws), free(we);
    }
    for (int p = 0; p < P; p++) sig[p] = (uint32_t)(mins[p] >> 32);
    free(mins);
    d->n++;
}

double dedup_similarity(const Dedup *d, long i, long j) {
    int P = d->o.perms, eq = 0;
    const uint32_t *a = d->sig + (size_t)i * P, *b = d->sig + (size_t)j * P;
    for (int p = 0; p < P; p++) eq += a[p] == b[p];
    return (double)eq / P;
}

static long find(long *parent, long x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

static void unite(long *parent, long a, long b) {
    a = find(parent, a), b = find(parent, b);
    if (a == b) return;
    if (a < b)
        parent[b] = a; /* the earliest document is the cluster's root */
    else
        parent[a] = b;
}

typedef struct {
    uint64_t key;
    long doc;
} Keyed;

static int by_key(const void *x, const void *y) {
    const Keyed *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->doc > b->doc) - (a->doc < b->doc);
}

void dedup_finish(Dedup *d) {
    long n = d->n;
    d->drop = z_calloc((size_t)(n ? n : 1), 1, "dedup flags");
    Keyed *k = z_malloc((size_t)(n ? n : 1) * sizeof *k, "dedup keys");
    if (d->o.exact && n) { /* the same 128 bits: all but the first */
        for (long i = 0; i < n; i++)
            k[i] = (Keyed){d->hash[2 * i] ^ k_rng_mix(d->hash[2 * i + 1]), i};
        qsort(k, (size_t)n, sizeof *k, by_key);
        for (long i = 1; i < n; i++) {
            long a = k[i - 1].doc, b = k[i].doc;
            if (k[i].key == k[i - 1].key && d->hash[2 * a] == d->hash[2 * b] &&
                d->hash[2 * a + 1] == d->hash[2 * b + 1])
                d->drop[b] = 1, d->exact++, k[i].doc = a; /* (compare the next to the first) */
        }
    }
    if (d->o.threshold > 0 && n) {
        d->parent = z_malloc((size_t)n * sizeof *d->parent, "dedup clusters");
        for (long i = 0; i < n; i++) d->parent[i] = i;
        for (int b = 0; b < d->bands; b++) {
            long m = 0;
            for (long i = 0; i < n; i++)
                if (!d->drop[i]) k[m++] = (Keyed){dedup_band_key(d, i, b), i};
            qsort(k, (size_t)m, sizeof *k, by_key);
            for (long i = 1, first = 0; i < m; i++) {
                if (k[i].key != k[first].key) {
                    first = i;
                    continue;
                }
                if (dedup_similarity(d, k[first].doc, k[i].doc) >= d->o.threshold)
                    unite(d->parent, k[first].doc, k[i].doc);
            }
        }
        for (long i = 0; i < n; i++)
            if (!d->drop[i] && find(d->parent, i) != i) d->drop[i] = 2, d->near++;
    }
    free(k);
}

long dedup_count(const Dedup *d) {
    return d->n;
}

int dedup_band_count(const Dedup *d) {
    return d->o.threshold > 0 ? d->bands : 0;
}

const uint64_t *dedup_hash(const Dedup *d, long i) {
    return d->hash + 2 * i;
}

const uint32_t *dedup_signature(const Dedup *d, long i) {
    return d->sig + (size_t)i * d->o.perms;
}

uint64_t dedup_band_key(const Dedup *d, long i, int b) {
    const uint32_t *s = d->sig + (size_t)i * d->o.perms + (size_t)b * d->rows;
    uint64_t h = k_rng_child(0xBA4D, (uint64_t)b);
    for (int r = 0; r < d->rows; r++) h = k_rng_mix(h ^ s[r]);
    return h;
}

double dedup_sig_similarity(const Dedup *d, const uint32_t *a, const uint32_t *b) {
    int P = d->o.perms, eq = 0;
    for (int p = 0; p < P; p++) eq += a[p] == b[p];
    return (double)eq / P;
}

const DedupOptions *dedup_options(const Dedup *d) {
    return &d->o;
}

void dedup_set_result(Dedup *d, uint8_t *drop, long all_docs, long exact, long near) {
    free(d->drop);
    d->drop = drop;
    d->all_docs = all_docs, d->exact = exact, d->near = near;
}

int dedup_keep(const Dedup *d, long i) {
    return i < 0 || i >= d->n || !d->drop || !d->drop[i];
}

DedupStats dedup_stats(const Dedup *d) {
    DedupStats s = {d->all_docs ? d->all_docs : d->n, d->exact, d->near, d->bands, d->rows};
    return s;
}

void dedup_free(Dedup *d) {
    if (!d) return;
    free(d->sig), free(d->hash), free(d->drop), free(d->parent);
    free(d);
}
