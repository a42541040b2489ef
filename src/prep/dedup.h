/*
 * dedup.h — duplicate documents for `zeropt prep --dedup`: exact duplicates
 * (the same text after cleaning: a 128-bit hash) and near duplicates by
 * MinHash with LSH banding (Broder; as in the C4, Gopher and RefinedWeb
 * pipelines), keeping the first document of every cluster in reading order.
 *
 * A document's shingles are its word n-grams (n = shingle, 5 by default); its
 * signature the minimum of each of `perms` seeded 64-bit hashes over them.
 * The signature is cut into b bands of r rows (b·r = perms) with the
 * S-curve's midpoint (1/b)^(1/r) well below the threshold, so pairs at the
 * threshold collide in some band almost surely; documents sharing a band
 * are compared, the estimated Jaccard similarity (the fraction of equal
 * signature entries) decides, and union-find makes the clusters. One
 * process holds every signature: perms × 4 bytes per document.
 */
#ifndef ZEROPT_DEDUP_H
#define ZEROPT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int exact;        /* drop exact duplicates */
    double threshold; /* near duplicates: Jaccard similarity of shingle sets (0: off) */
    int shingle;      /* words per shingle */
    int perms;        /* signature length */
    uint64_t seed;
} DedupOptions;

void dedup_default_options(DedupOptions *o); /* exact, 0.8, 5-word shingles, 128 hashes */

typedef struct Dedup Dedup;

Dedup *dedup_new(const DedupOptions *o);
/* Documents in reading order: document i is the i-th added. */
void dedup_add(Dedup *d, const char *text, size_t n);
/* Clusters (after the last add). */
void dedup_finish(Dedup *d);
/* 1 when document i is kept: not an exact or near duplicate of an earlier one. */
int dedup_keep(const Dedup *d, long i);
/* The bands and rows chosen, and what was found. */
typedef struct {
    long docs, exact, near; /* documents, dropped as exact and as near duplicates */
    int bands, rows;
} DedupStats;
DedupStats dedup_stats(const Dedup *d);
/* Clusters over every rank (dedup_mpi.c): each rank added its own documents;
 * gid[i] numbers its i-th in the global reading order. Collective. */
void dedup_finish_all(Dedup *d, const int64_t *gid);

/* For dedup_finish_all: the documents added, the near-duplicate bands (0
 * when near duplicates are off), document i's 128-bit exact hash, its
 * signature, the key of its band b, the similarity of two signatures, the
 * options, and the result to install (drop[i]: 0 kept, 1 exact, 2 near;
 * taken over; counts over every rank). */
long dedup_count(const Dedup *d);
int dedup_band_count(const Dedup *d);
const uint64_t *dedup_hash(const Dedup *d, long i);
const uint32_t *dedup_signature(const Dedup *d, long i);
uint64_t dedup_band_key(const Dedup *d, long i, int b);
double dedup_sig_similarity(const Dedup *d, const uint32_t *a, const uint32_t *b);
const DedupOptions *dedup_options(const Dedup *d);
void dedup_set_result(Dedup *d, uint8_t *drop, long all_docs, long exact, long near);
/* The estimated Jaccard similarity of documents i and j (tests). */
double dedup_similarity(const Dedup *d, long i, long j);
void dedup_free(Dedup *d);

#endif
