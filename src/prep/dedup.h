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
/* The estimated Jaccard similarity of documents i and j (tests). */
double dedup_similarity(const Dedup *d, long i, long j);
void dedup_free(Dedup *d);

#endif
