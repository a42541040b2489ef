/*
 * dedup_mpi.c — duplicate clusters over every rank (dedup_finish_all in
 * dedup.h), by hash-partitioned exchange:
 *
 *   1. exact: each document's 128-bit hash goes to the rank the hash picks;
 *      there, equal hashes sort together and all but the earliest document
 *      (global number) are answered "drop" to the rank that holds them;
 *   2. near: each remaining document's band keys go to the ranks the keys
 *      pick; a bucket (band, key) proposes the pairs (earliest, other), as
 *      the one-process code compares every member with the bucket's first;
 *   3. the pairs, without repeats, travel to the rank holding the earliest
 *      document, which attaches its signature, then to the other's rank,
 *      which keeps the pair when the signatures agree at the threshold;
 *   4. the kept pairs (as many as there are near duplicates, not documents)
 *      go to every rank, and each finds the clusters by union-find with the
 *      earliest document as the root, dropping its own non-roots.
 *
 * The pairs proposed, and so the clusters, are those of the one-process
 * dedup_finish over the same documents in the same order: the result does
 * not depend on the number of ranks.
 */
#include "dedup.h"

#include "kernels/rng.h"
#include "mpi/err.h"
#include "mpi/exchange.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t h0, h1;
    int64_t g, i; /* global number; index on its rank */
    int32_t src, pad;
} ExactRec;

typedef struct {
    uint64_t key;
    int64_t g, i;
    int32_t band, src;
} BandRec;

typedef struct {
    int64_t ga, ia, gb, ib; /* the earliest document a, the other b */
    int32_t sa, sb;
} Edge;

static int owner(uint64_t h, int P) {
    return (int)(k_rng_mix(h ^ 0x0DDBA11ull) % (uint64_t)P);
}

static int by_exact(const void *x, const void *y) {
    const ExactRec *a = x, *b = y;
    if (a->h0 != b->h0) return a->h0 < b->h0 ? -1 : 1;
    if (a->h1 != b->h1) return a->h1 < b->h1 ? -1 : 1;
    return (a->g > b->g) - (a->g < b->g);
}

static int by_band(const void *x, const void *y) {
    const BandRec *a = x, *b = y;
    if (a->band != b->band) return a->band < b->band ? -1 : 1;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->g > b->g) - (a->g < b->g);
}

static int by_pair(const void *x, const void *y) {
    const Edge *a = x, *b = y;
    if (a->ga != b->ga) return a->ga < b->ga ? -1 : 1;
    return (a->gb > b->gb) - (a->gb < b->gb);
}

/* Sorts n records of rec bytes by their destination rank (dest[k]) into a
 * send buffer with counts[r]; returns the buffer. */
static void *by_rank(const void *recs, const int *dest, int64_t n, size_t rec, int P,
                     int64_t *counts) {
    memset(counts, 0, (size_t)P * sizeof *counts);
    for (int64_t k = 0; k < n; k++) counts[dest[k]]++;
    int64_t *at = z_calloc((size_t)P, sizeof *at, "exchange offsets");
    for (int r = 1; r < P; r++) at[r] = at[r - 1] + counts[r - 1];
    char *out = z_malloc((size_t)(n ? n : 1) * rec, "exchange buffer");
    for (int64_t k = 0; k < n; k++)
        memcpy(out + (size_t)(at[dest[k]]++) * rec, (const char *)recs + (size_t)k * rec, rec);
    free(at);
    return out;
}

/* Sends n records to their ranks; returns what this rank receives. */
static void *route(const void *recs, const int *dest, int64_t n, size_t rec, int64_t *nrecv,
                   const char *what) {
    int P = z_nranks();
    int64_t *counts = z_malloc((size_t)P * sizeof *counts, "exchange counts");
    void *send = by_rank(recs, dest, n, rec, P, counts);
    void *got = xch_alltoall(send, counts, rec, nrecv, what);
    free(send), free(counts);
    return got;
}

/* Step 1: drop[i] = 1 for this rank's exact duplicates of an earlier document. */
static void exact_pass(const Dedup *d, const int64_t *gid, uint8_t *drop) {
    int P = z_nranks(), me = z_rank();
    long n = dedup_count(d);
    ExactRec *r = z_malloc((size_t)(n ? n : 1) * sizeof *r, "exact hashes");
    int *dest = z_malloc((size_t)(n ? n : 1) * sizeof *dest, "exact owners");
    for (long i = 0; i < n; i++) {
        const uint64_t *h = dedup_hash(d, i);
        r[i] = (ExactRec){h[0], h[1], gid[i], i, me, 0};
        dest[i] = owner(h[0] ^ k_rng_mix(h[1]), P);
    }
    int64_t m;
    ExactRec *got = route(r, dest, n, sizeof *r, &m, "dedup exact hashes");
    qsort(got, (size_t)m, sizeof *got, by_exact);
    int64_t nd = 0; /* the drops, as (index, rank) in place */
    for (int64_t k = 1, first = 0; k < m; k++) {
        if (got[k].h0 != got[first].h0 || got[k].h1 != got[first].h1) {
            first = k;
            continue;
        }
        got[nd++] = got[k];
    }
    int64_t *idx = z_malloc((size_t)(nd ? nd : 1) * sizeof *idx, "exact drops");
    int *to = z_malloc((size_t)(nd ? nd : 1) * sizeof *to, "exact drops");
    for (int64_t k = 0; k < nd; k++) idx[k] = got[k].i, to[k] = got[k].src;
    int64_t nback;
    int64_t *back = route(idx, to, nd, sizeof *idx, &nback, "dedup exact drops");
    for (int64_t k = 0; k < nback; k++) drop[back[k]] = 1;
    free(r), free(dest), free(got), free(idx), free(to), free(back);
}

/* Steps 2 and 3: the candidate pairs of this rank's buckets, checked by
 * signature; returns the pairs that hold (on the rank of their b). */
static Edge *near_pairs(const Dedup *d, const int64_t *gid, const uint8_t *drop, int64_t *npairs) {
    int P = z_nranks(), me = z_rank(), B = dedup_band_count(d), S = dedup_options(d)->perms;
    long n = dedup_count(d);
    int64_t nb = 0;
    for (long i = 0; i < n; i++) nb += !drop[i];
    nb *= B;
    BandRec *br = z_malloc((size_t)(nb ? nb : 1) * sizeof *br, "band keys");
    int *dest = z_malloc((size_t)(nb ? nb : 1) * sizeof *dest, "band owners");
    int64_t k = 0;
    for (long i = 0; i < n; i++)
        for (int b = 0; b < B && !drop[i]; b++, k++) {
            uint64_t key = dedup_band_key(d, i, b);
            br[k] = (BandRec){key, gid[i], i, b, me};
            dest[k] = owner(key ^ k_rng_mix((uint64_t)b + 1), P);
        }
    int64_t m;
    BandRec *got = route(br, dest, nb, sizeof *br, &m, "dedup band keys");
    free(br), free(dest);
    qsort(got, (size_t)m, sizeof *got, by_band);
    int64_t ne = 0;
    for (int64_t j = 1, first = 0; j < m; j++) {
        if (got[j].band != got[first].band || got[j].key != got[first].key)
            first = j;
        else
            ne++;
    }
    Edge *e = z_malloc((size_t)(ne ? ne : 1) * sizeof *e, "candidate pairs");
    int *to = z_malloc((size_t)(ne ? ne : 1) * sizeof *to, "candidate owners");
    ne = 0;
    for (int64_t j = 1, first = 0; j < m; j++) {
        if (got[j].band != got[first].band || got[j].key != got[first].key) {
            first = j;
            continue;
        }
        const BandRec *a = &got[first], *b = &got[j];
        e[ne] = (Edge){a->g, a->i, b->g, b->i, a->src, b->src};
        to[ne++] = a->src;
    }
    free(got);
    int64_t nc;
    Edge *cand = route(e, to, ne, sizeof *e, &nc, "dedup candidate pairs");
    free(e), free(to);
    qsort(cand, (size_t)nc, sizeof *cand, by_pair);
    int64_t nu = 0;
    for (int64_t j = 0; j < nc; j++)
        if (!nu || by_pair(&cand[j], &cand[nu - 1])) cand[nu++] = cand[j];
    size_t rec = sizeof(Edge) + (size_t)S * sizeof(uint32_t);
    char *withsig = z_malloc((size_t)(nu ? nu : 1) * rec, "pairs with signatures");
    to = z_malloc((size_t)(nu ? nu : 1) * sizeof *to, "pair owners");
    for (int64_t j = 0; j < nu; j++) {
        memcpy(withsig + (size_t)j * rec, &cand[j], sizeof(Edge));
        memcpy(withsig + (size_t)j * rec + sizeof(Edge), dedup_signature(d, (long)cand[j].ia),
               (size_t)S * sizeof(uint32_t));
        to[j] = cand[j].sb;
    }
    free(cand);
    int64_t nv;
    char *ver = route(withsig, to, nu, rec, &nv, "dedup pair signatures");
    free(withsig), free(to);
    double t = dedup_options(d)->threshold;
    Edge *keep = z_malloc((size_t)(nv ? nv : 1) * sizeof *keep, "near pairs");
    int64_t nk = 0;
    for (int64_t j = 0; j < nv; j++) {
        Edge x;
        memcpy(&x, ver + (size_t)j * rec, sizeof x);
        uint32_t *sa = z_malloc((size_t)S * sizeof *sa, "signature");
        memcpy(sa, ver + (size_t)j * rec + sizeof(Edge), (size_t)S * sizeof *sa);
        if (dedup_sig_similarity(d, sa, dedup_signature(d, (long)x.ib)) >= t) keep[nk++] = x;
        free(sa);
    }
    free(ver);
    *npairs = nk;
    return keep;
}

static int64_t find(int64_t *parent, int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

static int by_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int64_t node(const int64_t *ids, int64_t n, int64_t g) {
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (ids[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Step 4: clusters from every rank's pairs; drop[i] = 2 for this rank's
 * documents that are not their cluster's earliest. */
static void clusters(const Edge *mine, int64_t nmine, uint8_t *drop) {
    int me = z_rank();
    int64_t ne;
    Edge *e = xch_allgather(mine, nmine, sizeof *mine, &ne, "dedup near pairs");
    int64_t *ids = z_malloc((size_t)(2 * ne + 1) * sizeof *ids, "cluster members");
    int64_t n = 0;
    for (int64_t j = 0; j < ne; j++) ids[n++] = e[j].ga, ids[n++] = e[j].gb;
    qsort(ids, (size_t)n, sizeof *ids, by_i64);
    int64_t u = 0;
    for (int64_t j = 0; j < n; j++)
        if (!u || ids[j] != ids[u - 1]) ids[u++] = ids[j];
    int64_t *parent = z_malloc((size_t)(u ? u : 1) * sizeof *parent, "clusters");
    for (int64_t j = 0; j < u; j++) parent[j] = j;
    for (int64_t j = 0; j < ne; j++) { /* ids are sorted: the smaller index is the earlier */
        int64_t a = find(parent, node(ids, u, e[j].ga)), b = find(parent, node(ids, u, e[j].gb));
        if (a < b)
            parent[b] = a;
        else if (b < a)
            parent[a] = b;
    }
    for (int64_t j = 0; j < ne; j++) {
        int64_t b = node(ids, u, e[j].gb), a = node(ids, u, e[j].ga);
        if (e[j].sb == me && find(parent, b) != b) drop[e[j].ib] = 2;
        if (e[j].sa == me && find(parent, a) != a) drop[e[j].ia] = 2;
    }
    free(e), free(ids), free(parent);
}

void dedup_finish_all(Dedup *d, const int64_t *gid) {
    long n = dedup_count(d);
    uint8_t *drop = z_calloc((size_t)(n ? n : 1), 1, "dedup flags");
    if (dedup_options(d)->exact) exact_pass(d, gid, drop);
    if (dedup_band_count(d) > 0) {
        int64_t np;
        Edge *p = near_pairs(d, gid, drop, &np);
        clusters(p, np, drop);
        free(p);
    }
    int64_t c[3] = {n, 0, 0};
    for (long i = 0; i < n; i++) c[1] += drop[i] == 1, c[2] += drop[i] == 2;
    xch_sum_i64(c, 3, "dedup counts");
    dedup_set_result(d, drop, (long)c[0], (long)c[1], (long)c[2]);
}
