/*
 * embedding.c — table lookups and row gathers, with their scatter-add
 * backwards. The scatters are parallel over column blocks and sequential over
 * rows, so repeated ids accumulate in a fixed order (deterministic).
 */
#include "real.h"

#ifndef KERNELS_F64
#include "kernels/optim_math.h"
#endif

#include <string.h>

void KF(k_embedding_fwd)(kreal *y, const int32_t *ids, const kreal *table, int N, int C,
                         int accumulate) {
    KD(embedding_fwd, y, ids, table, N, C, accumulate);
#ifndef KERNELS_F64
    /* a table that mirrors a bf16 copy is read from the copy (its fp32 view
     * may be left unwritten: zero_bf16_lazy), the same values */
    int32_t top = 0;
    for (int n = 0; n < N; n++) top = ids[n] > top ? ids[n] : top;
    const uint16_t *h = N ? k_bf16_mirror_find(table, ((size_t)top + 1) * C) : NULL;
    if (h) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const uint16_t *src = h + (size_t)ids[n] * C;
            float *dst = y + (size_t)n * C;
            if (accumulate)
                for (int c = 0; c < C; c++) dst[c] += km_from_bf16(src[c]);
            else
                for (int c = 0; c < C; c++) dst[c] = km_from_bf16(src[c]);
        }
        return;
    }
#endif
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const kreal *src = table + (size_t)ids[n] * C;
        kreal *dst = y + (size_t)n * C;
        if (accumulate)
            for (int c = 0; c < C; c++) dst[c] += src[c];
        else
            memcpy(dst, src, sizeof(kreal) * C);
    }
}

static void KF(scatter_add)(kreal *dst, const kreal *src, const int32_t *idx, int M, int C) {
    enum { CB = 64 };
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += CB) {
        int c1 = c0 + CB < C ? c0 + CB : C;
        for (int m = 0; m < M; m++) {
            kreal *d = dst + (size_t)idx[m] * C;
            const kreal *s = src + (size_t)m * C;
            for (int c = c0; c < c1; c++) d[c] += s[c];
        }
    }
}

void KF(k_embedding_bwd)(kreal *dtable, const kreal *dy, const int32_t *ids, int N, int C) {
    KD(embedding_bwd, dtable, dy, ids, N, C);
    KF(scatter_add)(dtable, dy, ids, N, C);
}

void KF(k_gather_rows)(kreal *y, const kreal *x, const int32_t *idx, int M, int C) {
    KF(k_embedding_fwd)(y, idx, x, M, C, 0);
}

void KF(k_scatter_rows_bwd)(kreal *dx, const kreal *dy, const int32_t *idx, int M, int C) {
    KD(embedding_bwd, dx, dy, idx, M, C);
    KF(scatter_add)(dx, dy, idx, M, C);
}
