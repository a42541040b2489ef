/*
 * gemm_bf16.c — the single-precision product on bf16 inputs (k_sgemm_bf16):
 * C = alpha·op(A)·op(B) + beta·C with k_sgemm's row-major contract, A and B
 * rounded to bf16 (nearest even) on the way in, the products accumulated
 * and C written in fp32 — what PyTorch's bf16 autocast does to a linear
 * layer, through oneDNN's matmul (AMX tiles where the CPU has them).
 *
 * The operands stay fp32 in the model; each product converts them in
 * panels: op(A) by blocks of rows and of the inner dimension, op(B) by
 * blocks of columns and of the inner dimension, each panel at most
 * panel_elems elements (4 Mi: two panels, 16 MB, allocated once per
 * process — a packing buffer, like the BLAS's own, so not counted as the
 * model's memory). An inner dimension longer than a panel allows is summed
 * block after block into C (beta = 1 after the first), so any shape runs in
 * the same 16 MB. Blocks are a function of the shape alone: a product's
 * arithmetic is the same from call to call and run to run.
 *
 * Conversions cost 6 bytes per element read; a GPT-2 layer's products are
 * 2·M·N·K FLOPs on (M+N)·K converted elements, so at M = B·T = 1024 the
 * conversions are a few per cent of the product (bench/NOTES.md). An
 * operand that mirrors a bf16 array (k_bf16_mirror_add: the weights, whose
 * fp32 views ZeRO makes from the bf16 copies) is not converted: oneDNN
 * reads the bf16 array in place, with the operand's own leading dimension.
 */
#include "kernels/kernels.h"
#include "kernels/optim_math.h"

#include "blas_api.h"
#include "kernels/kdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mode; /* k_bf16_gemm_set: 1 when matmul.c's products take bf16 inputs */
static size_t panel_elems = (size_t)4 << 20;

void k_bf16_gemm_set(int on) {
    if (k_dev) k_dev->bf16_gemm_set(on);  /* the device's products */
    mode = on && k_bf16_gemm_available(); /* the host's only where oneDNN runs them */
}
int k_bf16_gemm_on(void) {
    return mode;
}
void k_bf16_gemm_panel(size_t elems) {
    panel_elems = elems < 256 ? 256 : elems;
}

/* k_bf16_mirror_add's table; full, a mirror is not kept (the product then
 * converts its operand: slower, the same bits) */
enum { NMIRROR = 64 };
static struct {
    int owner;
    uintptr_t f;
    const uint16_t *h;
    size_t n;
} mirrors[NMIRROR];
static int nmirrors;

static int has_native(void);

int k_bf16_mirror_add(int owner, const float *f, const uint16_t *h, size_t n) {
    if (k_dev || !n || nmirrors == NMIRROR || !has_native()) return 0;
    mirrors[nmirrors].owner = owner, mirrors[nmirrors].f = (uintptr_t)f;
    mirrors[nmirrors].h = h, mirrors[nmirrors].n = n;
    nmirrors++;
    return 1;
}

void k_bf16_mirror_drop(int owner) {
    int k = 0;
    for (int i = 0; i < nmirrors; i++)
        if (mirrors[i].owner != owner) mirrors[k++] = mirrors[i];
    nmirrors = k;
}

/* The bf16 array element that x's fp32 block of `extent` elements mirrors
 * from its start, or NULL when no mirror holds the whole block. */
static const uint16_t *mirrored(const float *x, size_t extent) {
    uintptr_t a = (uintptr_t)x, b = a + extent * sizeof(float);
    for (int i = 0; i < nmirrors; i++)
        if (a >= mirrors[i].f && b <= mirrors[i].f + mirrors[i].n * sizeof(float))
            return mirrors[i].h + (a - mirrors[i].f) / sizeof(float);
    return NULL;
}

const uint16_t *k_bf16_mirror_find(const float *f, size_t n) {
    return n ? mirrored(f, n) : NULL;
}

#ifndef ZEROPT_DNNL

static int has_native(void) {
    return 0;
}

int k_bf16_gemm_available(void) {
    return 0;
}
const char *k_bf16_gemm_impl(void) {
    return NULL;
}
void k_sgemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B;
    (void)ldb, (void)beta, (void)C, (void)ldc;
    fprintf(stderr, "zeropt: k_sgemm_bf16 called in a build without oneDNN\n");
    abort();
}

#else
#include <oneapi/dnnl/dnnl.h>

static dnnl_engine_t eng;
static dnnl_stream_t stream;
static uint16_t *pa, *pb; /* the two panels, panel_elems each */
static size_t pcap;

/* oneDNN's calls cannot fail once its engine exists, short of running out of
 * memory: a failure is a bug or an exhausted machine, stated and fatal */
#define DN(x)                                                                                      \
    do {                                                                                           \
        dnnl_status_t s_ = (x);                                                                    \
        if (s_ != dnnl_success) {                                                                  \
            fprintf(stderr, "zeropt: oneDNN: %s failed (status %d)\n", #x, (int)s_);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void setup(void) {
    if (!eng) {
        DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
        DN(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    }
    if (pcap < panel_elems) {
        free(pa), free(pb);
        pa = aligned_alloc(64, (panel_elems * 2 + 63) / 64 * 64);
        pb = aligned_alloc(64, (panel_elems * 2 + 63) / 64 * 64);
        if (!pa || !pb) {
            fprintf(stderr, "zeropt: out of memory for the bf16 product's panels (%zu MB)\n",
                    panel_elems * 4 >> 20);
            abort();
        }
        pcap = panel_elems;
    }
}

/* A primitive per block shape, made once: oneDNN's descriptors and JIT code
 * cost tens of microseconds, a step has a few dozen distinct blocks (and
 * attention thousands of small calls: no allocation per call). */
typedef struct {
    int at, bt, m, n, k, lda, ldb, ldc, acc;
    float alpha;
    dnnl_primitive_t p;
    dnnl_memory_t a, b, c; /* made once too; each call points them at its data */
} Prim;
enum { NPRIM = 128 };
static Prim prims[NPRIM];
static int nprims;

/* the operands' layouts: op(A) block [m x k] stored row-major (at = 0) or
 * as its transpose [k x m] (at = 1), rows lda apart; op(B) block [k x n]
 * row-major (bt = 0) or as [n x k] (bt = 1), rows ldb apart (a panel's
 * rows are contiguous; a mirrored operand keeps its own) */
static void descs(int at, int bt, int m, int n, int k, int lda, int ldb, int ldc,
                  dnnl_memory_desc_t *ad, dnnl_memory_desc_t *bd, dnnl_memory_desc_t *cd) {
    dnnl_dims_t adim = {m, k}, bdim = {k, n}, cdim = {m, n};
    dnnl_dims_t astr = {at ? 1 : lda, at ? lda : 1}, bstr = {bt ? 1 : ldb, bt ? ldb : 1},
                cstr = {ldc, 1};
    DN(dnnl_memory_desc_init_by_strides(ad, 2, adim, dnnl_bf16, astr));
    DN(dnnl_memory_desc_init_by_strides(bd, 2, bdim, dnnl_bf16, bstr));
    DN(dnnl_memory_desc_init_by_strides(cd, 2, cdim, dnnl_f32, cstr));
}

static dnnl_primitive_desc_t make_pd(int at, int bt, int m, int n, int k, int lda, int ldb, int ldc,
                                     int acc, float alpha) {
    dnnl_memory_desc_t ad, bd, cd;
    descs(at, bt, m, n, k, lda, ldb, ldc, &ad, &bd, &cd);
    dnnl_matmul_desc_t md;
    DN(dnnl_matmul_desc_init(&md, &ad, &bd, NULL, &cd));
    dnnl_primitive_attr_t attr;
    DN(dnnl_primitive_attr_create(&attr));
    if (alpha != 1.0f) DN(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha));
    if (acc) {
        dnnl_post_ops_t po;
        DN(dnnl_post_ops_create(&po));
        DN(dnnl_post_ops_append_sum(po, 1.0f));
        DN(dnnl_primitive_attr_set_post_ops(attr, po));
        dnnl_post_ops_destroy(po);
    }
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL));
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

static Prim *prim(int at, int bt, int m, int n, int k, int lda, int ldb, int ldc, int acc,
                  float alpha) {
    for (int i = 0; i < nprims; i++) {
        Prim *q = &prims[i];
        if (q->at == at && q->bt == bt && q->m == m && q->n == n && q->k == k && q->lda == lda &&
            q->ldb == ldb && q->ldc == ldc && q->acc == acc && q->alpha == alpha)
            return q;
    }
    if (nprims == NPRIM) { /* more shapes than a model has: start over */
        for (int i = 0; i < nprims; i++) {
            dnnl_primitive_destroy(prims[i].p);
            dnnl_memory_destroy(prims[i].a), dnnl_memory_destroy(prims[i].b);
            dnnl_memory_destroy(prims[i].c);
        }
        nprims = 0;
    }
    Prim *q = &prims[nprims++];
    *q = (Prim){.at = at,
                .bt = bt,
                .m = m,
                .n = n,
                .k = k,
                .lda = lda,
                .ldb = ldb,
                .ldc = ldc,
                .acc = acc,
                .alpha = alpha};
    dnnl_primitive_desc_t pd = make_pd(at, bt, m, n, k, lda, ldb, ldc, acc, alpha);
    DN(dnnl_primitive_create(&q->p, pd));
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_desc_t ad, bd, cd;
    descs(at, bt, m, n, k, lda, ldb, ldc, &ad, &bd, &cd);
    DN(dnnl_memory_create(&q->a, &ad, eng, DNNL_MEMORY_NONE));
    DN(dnnl_memory_create(&q->b, &bd, eng, DNNL_MEMORY_NONE));
    DN(dnnl_memory_create(&q->c, &cd, eng, DNNL_MEMORY_NONE));
    return q;
}

/* Whether oneDNN has a bf16 matmul for this CPU (it needs AVX512-BF16, AMX
 * or AVX2-VNNI-2; on plain AVX2 it reports "unimplemented"). Without one the
 * product rounds its panels to bf16 and multiplies them with the fp32 sgemm:
 * the same rounded inputs and fp32 accumulation, converted tiles. */
static int native = -1;
static int has_native(void) {
    if (native < 0) {
        setup();
        dnnl_memory_desc_t ad, bd, cd;
        descs(0, 1, 64, 64, 64, 64, 64, 64, &ad, &bd, &cd);
        dnnl_matmul_desc_t md;
        dnnl_primitive_desc_t pd = NULL;
        native = dnnl_matmul_desc_init(&md, &ad, &bd, NULL, &cd) == dnnl_success &&
                 dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL) == dnnl_success;
        if (pd) dnnl_primitive_desc_destroy(pd);
    }
    return native;
}

int k_bf16_gemm_available(void) {
    return 1;
}

const char *k_bf16_gemm_impl(void) {
    static char name[96];
    if (!name[0] && !has_native()) snprintf(name, sizeof name, "fp32 sgemm on bf16-rounded panels");
    if (!name[0]) {
        setup();
        dnnl_primitive_desc_t pd = make_pd(0, 1, 512, 512, 512, 512, 512, 512, 0, 1.0f);
        const char *s = NULL;
        DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
        snprintf(name, sizeof name, "%s", s ? s : "?");
        dnnl_primitive_desc_destroy(pd);
    }
    return name;
}

/* rows [r0, r0+nr) × columns [c0, c0+nc) of the row-major X (ld) into the
 * contiguous panel P [nr × nc], rounded to bf16 */
static void pack(uint16_t *P, const float *X, int ld, int r0, int nr, int c0, int nc) {
#pragma omp parallel for schedule(static) if ((size_t)nr * nc >= 32768)
    for (int r = 0; r < nr; r++) {
        const float *x = X + (size_t)(r0 + r) * ld + c0;
        uint16_t *p = P + (size_t)r * nc;
        for (int c = 0; c < nc; c++) p[c] = km_to_bf16(x[c]);
    }
}

/* the same panel rounded to bf16 and kept as fp32 (the fallback's tiles) */
static void pack_f32(float *P, const float *X, int ld, int r0, int nr, int c0, int nc) {
#pragma omp parallel for schedule(static) if ((size_t)nr * nc >= 32768)
    for (int r = 0; r < nr; r++) {
        const float *x = X + (size_t)(r0 + r) * ld + c0;
        float *p = P + (size_t)r * nc;
        for (int c = 0; c < nc; c++) p[c] = km_from_bf16(km_to_bf16(x[c]));
    }
}

static float *fa, *fb; /* the fallback's fp32 panels, panel_elems each */
static size_t fcap;

static int min_i(int a, int b) {
    return a < b ? a : b;
}

void k_sgemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (beta != 0.0f && beta != 1.0f) {
        fprintf(stderr, "zeropt: k_sgemm_bf16: beta %g (only 0 and 1 are supported)\n", beta);
        abort();
    }
    if (K <= 0) { /* C = beta·C */
        if (beta == 0.0f)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    setup();
    int at = ta == CblasTrans, bt = tb == CblasTrans;
    /* blocks: the inner dimension first (at most 4096, less when one side
     * is so long that even 256 of it fill a panel), then rows and columns
     * filling a panel each */
    int kb = min_i(K, 4096);
    while (kb > 256 && (size_t)kb * 256 > panel_elems) kb /= 2;
    if ((size_t)kb * 16 > panel_elems) kb = (int)(panel_elems / 16);
    int mb = min_i(M, (int)(panel_elems / kb)), nb = min_i(N, (int)(panel_elems / kb));
    int nat = has_native();
    /* operands read in place (mirrors of bf16 arrays), or NULL: packed */
    const uint16_t *ha =
        nat ? mirrored(A, at ? (size_t)(K - 1) * lda + M : (size_t)(M - 1) * lda + K) : NULL;
    const uint16_t *hb =
        nat ? mirrored(B, bt ? (size_t)(N - 1) * ldb + K : (size_t)(K - 1) * ldb + N) : NULL;
    if (!nat && fcap < panel_elems) {
        free(fa), free(fb);
        fa = aligned_alloc(64, (panel_elems * 4 + 63) / 64 * 64);
        fb = aligned_alloc(64, (panel_elems * 4 + 63) / 64 * 64);
        if (!fa || !fb) {
            fprintf(stderr, "zeropt: out of memory for the bf16 product's panels (%zu MB)\n",
                    panel_elems * 8 >> 20);
            abort();
        }
        fcap = panel_elems;
    }
    for (int k0 = 0; k0 < K; k0 += kb) {
        int kk = min_i(kb, K - k0), acc = k0 > 0 || beta != 0.0f;
        if (!nat) { /* converted tiles through the fp32 sgemm */
            for (int i0 = 0; i0 < M; i0 += mb) {
                int mm = min_i(mb, M - i0);
                if (at)
                    pack_f32(fa, A, lda, k0, kk, i0, mm);
                else
                    pack_f32(fa, A, lda, i0, mm, k0, kk);
                for (int j0 = 0; j0 < N; j0 += nb) {
                    int nn = min_i(nb, N - j0);
                    if (bt)
                        pack_f32(fb, B, ldb, j0, nn, k0, kk);
                    else
                        pack_f32(fb, B, ldb, k0, kk, j0, nn);
                    k_sgemm(CblasRowMajor, at ? CblasTrans : CblasNoTrans,
                            bt ? CblasTrans : CblasNoTrans, mm, nn, kk, alpha, fa, at ? mm : kk, fb,
                            bt ? kk : nn, acc ? 1.0f : 0.0f, C + (size_t)i0 * ldc + j0, ldc);
                }
            }
            continue;
        }
        for (int i0 = 0; i0 < M; i0 += mb) {
            int mm = min_i(mb, M - i0), la = lda;
            const uint16_t *ablk =
                ha ? ha + (at ? (size_t)k0 * lda + i0 : (size_t)i0 * lda + k0) : pa;
            if (!ha) { /* op(A)'s block [mm x kk], or A's [kk x mm] when transposed, into pa */
                if (at)
                    pack(pa, A, lda, k0, kk, i0, mm);
                else
                    pack(pa, A, lda, i0, mm, k0, kk);
                la = at ? mm : kk;
            }
            for (int j0 = 0; j0 < N; j0 += nb) {
                int nn = min_i(nb, N - j0), lb = ldb;
                const uint16_t *bblk =
                    hb ? hb + (bt ? (size_t)j0 * ldb + k0 : (size_t)k0 * ldb + j0) : pb;
                if (!hb) { /* op(B)'s block [kk x nn], or B's [nn x kk] when transposed */
                    if (bt)
                        pack(pb, B, ldb, j0, nn, k0, kk);
                    else
                        pack(pb, B, ldb, k0, kk, j0, nn);
                    lb = bt ? kk : nn;
                }
                Prim *q = prim(at, bt, mm, nn, kk, la, lb, ldc, acc, alpha);
                DN(dnnl_memory_set_data_handle(q->a, (void *)(uintptr_t)ablk));
                DN(dnnl_memory_set_data_handle(q->b, (void *)(uintptr_t)bblk));
                DN(dnnl_memory_set_data_handle(q->c, C + (size_t)i0 * ldc + j0));
                dnnl_exec_arg_t args[3] = {
                    {DNNL_ARG_SRC, q->a}, {DNNL_ARG_WEIGHTS, q->b}, {DNNL_ARG_DST, q->c}};
                DN(dnnl_primitive_execute(q->p, stream, 3, args));
                DN(dnnl_stream_wait(stream));
            }
        }
    }
}
#endif
