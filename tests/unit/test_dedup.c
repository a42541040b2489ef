/*
 * test_dedup.c — exact and near-duplicate detection (src/prep/dedup.c) on
 * planted duplicates: 400 documents of 200 random words; then exact copies,
 * near copies with 1-4 words replaced (Jaccard similarity of 5-word
 * shingles 0.80-0.98, computed exactly here) and far copies with 10-16
 * replaced (0.42-0.62). At threshold 0.8: every exact copy is found, the near
 * copies at or above the threshold with recall ≥ 0.95, no copy below 0.7
 * (threshold − 0.1) is merged, and no original is dropped.
 */
#include "tests/lib/check.h"

#include "kernels/rng.h"
#include "src/prep/dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NBASE = 400, W = 200, K = 5 };

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* exact Jaccard similarity of two word arrays' 5-word shingle sets */
static double jaccard(const int *a, const int *b) {
    uint64_t sa[W], sb[W];
    int n = W - K + 1;
    for (int i = 0; i < n; i++) {
        uint64_t ha = 0, hb = 0;
        for (int j = 0; j < K; j++)
            ha = k_rng_mix(ha ^ (uint64_t)a[i + j]), hb = k_rng_mix(hb ^ (uint64_t)b[i + j]);
        sa[i] = ha, sb[i] = hb;
    }
    qsort(sa, n, 8, cmp_u64), qsort(sb, n, 8, cmp_u64);
    int ua = 0, ub = 0, i = 0, j = 0, both = 0; /* distinct sizes and intersection */
    for (int x = 0; x < n; x++) ua += !x || sa[x] != sa[x - 1], ub += !x || sb[x] != sb[x - 1];
    while (i < n && j < n) {
        if (sa[i] == sb[j]) {
            both++;
            uint64_t v = sa[i];
            while (i < n && sa[i] == v) i++;
            while (j < n && sb[j] == v) j++;
        } else if (sa[i] < sb[j])
            i++;
        else
            j++;
    }
    return (double)both / (ua + ub - both);
}

static size_t text_of(const int *w, char *out) {
    size_t n = 0;
    for (int i = 0; i < W; i++) n += (size_t)sprintf(out + n, "%sw%d", i ? " " : "", w[i]);
    return n;
}

int main(void) {
    check_plan(5);
    static int base[NBASE][W], copy[W];
    static char text[W * 12];
    DedupOptions o;
    dedup_default_options(&o);
    Dedup *d = dedup_new(&o);
    uint64_t r = 7;
    for (int b = 0; b < NBASE; b++) {
        for (int i = 0; i < W; i++) base[b][i] = (int)(k_rng_mix(r++) % 20000);
        dedup_add(d, text, text_of(base[b], text));
    }
    /* copies, each of a different original: kind 0 exact, 1 near, 2 far */
    int ncopy = 300, kind[300];
    double sim[300];
    for (int c = 0; c < ncopy; c++) {
        int b = c, edits = c < 50 ? 0 : c < 200 ? 1 + (c % 4) : 10 + (c % 7);
        kind[c] = c < 50 ? 0 : c < 200 ? 1 : 2;
        memcpy(copy, base[b], sizeof copy);
        for (int e = 0; e < edits; e++) /* replace spread-out words by new ones */
            copy[(e * W) / (edits + 1) + (int)(k_rng_mix(r++) % 5)] = 100000 + c * 100 + e;
        sim[c] = jaccard(base[b], copy);
        dedup_add(d, text, text_of(copy, text));
    }
    dedup_finish(d);
    DedupStats st = dedup_stats(d);
    int exact_found = 0, originals_dropped = 0, near_above = 0, near_found = 0, false_merges = 0;
    double lo_near = 1, hi_far = 0, lo_far = 1;
    for (int b = 0; b < NBASE; b++) originals_dropped += !dedup_keep(d, b);
    for (int c = 0; c < ncopy; c++) {
        int dropped = !dedup_keep(d, NBASE + c);
        if (kind[c] == 0) exact_found += dropped;
        if (kind[c] == 1) lo_near = sim[c] < lo_near ? sim[c] : lo_near;
        if (kind[c] == 2)
            hi_far = sim[c] > hi_far ? sim[c] : hi_far, lo_far = sim[c] < lo_far ? sim[c] : lo_far;
        if (kind[c] > 0 && sim[c] >= o.threshold) near_above++, near_found += dropped;
        if (kind[c] > 0 && sim[c] < o.threshold - 0.1) false_merges += dropped;
    }
    check(exact_found == 50 && st.exact == 50, "every exact copy found, as exact", "%d of 50 (%ld)",
          exact_found, st.exact);
    check(near_above > 100 && near_found >= 0.95 * near_above,
          "near copies at or above the threshold (0.8): recall >= 0.95",
          "%d of %d found (similarities %.3f and up), %d bands of %d rows", near_found, near_above,
          lo_near, st.bands, st.rows);
    check(false_merges == 0 && hi_far < 0.7, "no copy below threshold - 0.1 merged",
          "%d merged; far copies at %.3f-%.3f", false_merges, lo_far, hi_far);
    check(originals_dropped == 0, "no original dropped (the first of a cluster stays)", "%d",
          originals_dropped);
    double s01 = dedup_similarity(d, 0, NBASE), s_far = dedup_similarity(d, 250, NBASE + 250);
    check(s01 == 1.0 && s_far < 0.8, "estimated similarity: 1 for a copy, low for a far one",
          "%.3f, %.3f", s01, s_far);
    dedup_free(d);
    return check_exit();
}
