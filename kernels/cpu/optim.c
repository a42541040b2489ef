/*
 * optim.c — the optimizer's element-wise arithmetic on shards: AdamW, LAMB
 * and Adafactor passes, optimizer states in fp32, bf16 or q8 (decoded a
 * block at a time into the stack, updated in fp32, encoded again), the
 * squared norm of a gradient, clearing. All memory-bound: AdamW on fp32
 * states reads and writes p, m, v and reads g — 28 bytes per element for
 * ~10 FLOPs; q8 states make it 16 bytes, bf16 20.
 *
 * Sums are deterministic: each thread sums a fixed range of blocks and the
 * partial sums are added in thread order.
 */
#include "kernels/kernels.h"
#include "kernels/kdev.h"
#include "kernels/kmath.h"
#include "kernels/optim_math.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define BLK K_Q8_BLOCK
#define MAXT 256

/* Σ over items [0, n) of sum(ctx, lo, hi): each thread sums a fixed range
 * and the partial sums are added in thread order (deterministic for a given
 * thread count). */
static double ordered_sum(size_t n, double (*sum)(const void *ctx, size_t lo, size_t hi),
                          const void *ctx) {
    double part[MAXT] = {0};
    int nt = 1;
#pragma omp parallel num_threads(omp_get_max_threads() < MAXT ? omp_get_max_threads() : MAXT)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        if (t == 0) nt = T;
        part[t] = sum(ctx, n * t / T, n * (t + 1) / T);
    }
    double s = 0;
    for (int t = 0; t < nt; t++) s += part[t];
    return s;
}

/* ------------------------------------------------------------------------- */
/* the q8 codes                                                              */

/* bitsandbytes' dynamic map with 7 exponent bits: for decade i = 0..6, the
 * midpoints of linspace(0.1, 1, k + 1) times 10^(i−6), with k = 2^i signed
 * (and their negatives) or 2^(i+1) unsigned; then 0 and 1; sorted. */
static float code_signed[256], code_unsigned[256];
static int codes_made;

/* The nearest-code search, by table: neighbouring codes are at least 0.7 %
 * apart (64 linear steps in a decade), their midpoints too, wider than a
 * bf16 bucket (2^-8), so inside the bucket of y's upper 16 bits the answer
 * is one index, or one of two neighbours split by one midpoint. pick_*[k]:
 * the index at the bucket's lowest value, plus 256 when the bucket holds a
 * midpoint (then the exact distances decide, as km_q8_index does). The
 * result equals km_q8_index's (tests/unit/test_kernels.c). Codes are padded
 * to 257 so the comparison may read code[i + 1] for every i. */
static uint16_t pick_signed[65536], pick_unsigned[65536];
static float pad_signed[257], pad_unsigned[257];

static void make_pick(uint16_t *t, const float *code) {
    for (uint32_t k = 0; k < 65536; k++) {
        uint32_t b0 = k << 16, b1 = k << 16 | 0xffffu;
        float lo, hi;
        memcpy(&lo, k & 0x8000 ? &b1 : &b0, 4); /* negative: the larger magnitude is lower */
        memcpy(&hi, k & 0x8000 ? &b0 : &b1, 4);
        int a = km_q8_index(code, lo), b = km_q8_index(code, hi);
        t[k] = (uint16_t)(a + (b != a ? 256 : 0)); /* b is a + 1: see above */
    }
}

static inline uint8_t q8_index(const float *code, const uint16_t *pick, float y) {
    uint32_t bits;
    memcpy(&bits, &y, 4);
    uint32_t t = pick[bits >> 16], i = t & 255;
    return (uint8_t)(i + ((t >> 8) & (y - code[i] > code[i + 1] - y)));
}

uint8_t k_q8_quantize(float y, int is_signed) {
    return is_signed ? q8_index(pad_signed, pick_signed, y)
                     : q8_index(pad_unsigned, pick_unsigned, y);
}

static void make_code(float *out, int is_signed) {
    double d[256];
    int n = 0;
    for (int i = 0; i < 7; i++) {
        int k = is_signed ? 1 << i : 1 << (i + 1);
        double scale = pow(10.0, i - 6), step = 0.9 / k;
        for (int j = 0; j < k; j++) {
            double mid = ((0.1 + j * step) + (0.1 + (j + 1) * step)) / 2.0;
            d[n++] = scale * mid;
            if (is_signed) d[n++] = -scale * mid;
        }
    }
    d[n++] = 0.0;
    d[n++] = 1.0;
    for (int i = 1; i < n; i++) /* insertion sort: 256 values */
        for (int j = i; j > 0 && d[j] < d[j - 1]; j--) {
            double t = d[j];
            d[j] = d[j - 1], d[j - 1] = t;
        }
    for (int i = 0; i < 256; i++) out[i] = (float)d[i];
}

const float *k_q8_code(int is_signed) {
    if (!codes_made) { /* first call on the main thread, before any kernel */
        make_code(code_signed, 1);
        make_code(code_unsigned, 0);
        memcpy(pad_signed, code_signed, sizeof code_signed);
        memcpy(pad_unsigned, code_unsigned, sizeof code_unsigned);
        pad_signed[256] = pad_unsigned[256] = 2; /* never chosen: t has no 256 bit at 255 */
        make_pick(pick_signed, code_signed);
        make_pick(pick_unsigned, code_unsigned);
        codes_made = 1;
    }
    return is_signed ? code_signed : code_unsigned;
}

size_t k_q8_blocks(size_t n) {
    return (n + BLK - 1) / BLK;
}

/* ------------------------------------------------------------------------- */
/* decoding and encoding one block                                           */

/* Elements [off, off + len) of s as fp32: in place for fp32, else decoded
 * into buf (q8: off is a block start). */
static float *get(const KState *s, size_t off, size_t len, float *buf) {
    switch (s->type) {
    case KST_BF16: {
        const uint16_t *h = (const uint16_t *)s->data + off;
        for (size_t i = 0; i < len; i++) buf[i] = km_from_bf16(h[i]);
        return buf;
    }
    case KST_Q8: {
        const uint8_t *q = (const uint8_t *)s->data + off;
        float a = s->absmax[off / BLK];
        for (size_t i = 0; i < len; i++) buf[i] = s->code[q[i]] * a;
        return buf;
    }
    default:
        return (float *)s->data + off;
    }
}

/* Write a block computed in buf back (fp32: it was computed in place). */
static void put(const KState *s, size_t off, size_t len, const float *buf) {
    switch (s->type) {
    case KST_BF16: {
        uint16_t *h = (uint16_t *)s->data + off;
        uint64_t base = s->index0 + off;
        for (size_t i = 0; i < len; i++)
            h[i] = km_to_bf16_sr(buf[i], km_bf16_bits(s->seed, base + i));
        break;
    }
    case KST_Q8: {
        uint8_t *q = (uint8_t *)s->data + off;
        float a = 0;
        for (size_t i = 0; i < len; i++)
            if (fabsf(buf[i]) > a) a = fabsf(buf[i]);
        s->absmax[off / BLK] = a;
        int sg = s->code == code_signed;
        const uint16_t *pk = sg ? pick_signed : pick_unsigned;
        const float *c = sg ? pad_signed : pad_unsigned;
        float y[BLK];
        for (size_t i = 0; i < len; i++) y[i] = a > 0 ? buf[i] / a : 0.0f;
        for (size_t i = 0; i < len; i++) q[i] = q8_index(c, pk, y[i]);
        break;
    }
    default:
        break;
    }
}

void k_state_get(const KState *s, size_t n, size_t lo, size_t hi, float *dst) {
    (void)n;
    for (size_t i = lo; i < hi; i++) {
        switch (s->type) {
        case KST_BF16:
            dst[i - lo] = km_from_bf16(((const uint16_t *)s->data)[i]);
            break;
        case KST_Q8:
            dst[i - lo] = s->code[((const uint8_t *)s->data)[i]] * s->absmax[i / BLK];
            break;
        default:
            dst[i - lo] = ((const float *)s->data)[i];
        }
    }
}

/* Encode a q8 block with absmax a when that decodes to x exactly. */
static int put_if_exact(const KState *s, size_t off, size_t len, const float *x, float a) {
    int sg = s->code == code_signed;
    const uint16_t *pk = sg ? pick_signed : pick_unsigned;
    const float *c = sg ? pad_signed : pad_unsigned;
    uint8_t *q = (uint8_t *)s->data + off;
    if (!(a > 0) || !isfinite(a)) return 0;
    for (size_t i = 0; i < len; i++) {
        q[i] = q8_index(c, pk, x[i] / a);
        if (s->code[q[i]] * a != x[i]) return 0;
    }
    s->absmax[off / BLK] = a;
    return 1;
}

/* Encoding values that are a q8 decoding (a checkpoint's image) gives those
 * q8 bytes back, so a resume continues bit for bit: the block's absmax was
 * max |x| unless its extreme was negative — the signed code's lowest value is
 * −0.993, not −1 — and then it is |min x| / 0.993 within an ulp. Other values
 * are encoded as training encodes them. */
static void put_exact(const KState *s, size_t off, size_t len, const float *x) {
    float hi = 0, lo = 0;
    for (size_t i = 0; i < len; i++) hi = fmaxf(hi, fabsf(x[i])), lo = fminf(lo, x[i]);
    if (put_if_exact(s, off, len, x, hi)) return;
    if (lo < 0) {
        float a = -lo / -s->code[0];
        if (put_if_exact(s, off, len, x, a) || put_if_exact(s, off, len, x, nextafterf(a, 0)) ||
            put_if_exact(s, off, len, x, nextafterf(a, INFINITY)))
            return;
    }
    put(s, off, len, x);
}

void k_state_set(const KState *s, size_t n, const float *src) {
    if (s->type == KST_F32) {
        if (n) memmove(s->data, src, n * sizeof(float));
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < k_q8_blocks(n); b++) {
        size_t off = b * BLK, len = n - off < BLK ? n - off : BLK;
        if (s->type == KST_Q8)
            put_exact(s, off, len, src + off);
        else
            put(s, off, len, src + off);
    }
}

/* ------------------------------------------------------------------------- */
/* AdamW and LAMB                                                            */

/* A state as the device table takes it (kdev.h). */
static KDevState dev_state(const KState *s) {
    KDevState d = {(int)s->type, s->data, s->absmax, s->code == k_q8_code(1), s->seed, s->index0};
    return d;
}

void k_adamw(float *p, const float *g, float *m, float *v, size_t n, const KAdamW *a) {
    K_DEV(adamw, p, g, m, v, n, a->beta1, a->beta2, a->eps, a->step, a->rbc2, a->keep, a->gscale);
    KState M = {KST_F32, m, NULL, NULL, 0, 0}, V = {KST_F32, v, NULL, NULL, 0, 0};
    k_adamw_state(p, g, &M, &V, n, a);
}

/* One block of AdamW on fp32 values (restrict: the block's arrays never
 * overlap, so the loop vectorizes). */
static void adamw_block(float *restrict p, const float *restrict g, float *restrict m,
                        float *restrict v, size_t len, const KAdamW *a) {
    const float b1 = a->beta1, b2 = a->beta2, eps = a->eps, step = a->step, rbc2 = a->rbc2;
    const float keep = a->keep, gs = a->gscale;
    for (size_t i = 0; i < len; i++)
        p[i] = km_adamw(p[i], g[i], &m[i], &v[i], b1, b2, eps, step, rbc2, keep, gs);
}

void k_adamw_state(float *p, const float *g, const KState *m, const KState *v, size_t n,
                   const KAdamW *a) {
    if (k_dev && m->type == KST_F32 && v->type == KST_F32) {
        k_adamw(p, g, m->data, v->data, n, a);
        return;
    }
    K_DEV(adam_state, p, g, dev_state(m), dev_state(v), n, a->beta1, a->beta2, a->eps, a->step,
          a->rbc2, a->keep, a->gscale, 1);
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < k_q8_blocks(n); b++) {
        size_t off = b * BLK, len = n - off < BLK ? n - off : BLK;
        float mbuf[BLK], vbuf[BLK];
        float *mm = get(m, off, len, mbuf), *vv = get(v, off, len, vbuf);
        adamw_block(p + off, g + off, mm, vv, len, a);
        put(m, off, len, mm);
        put(v, off, len, vv);
    }
}

void k_adam_moments(const float *g, const KState *m, const KState *v, size_t n, float beta1,
                    float beta2, float gscale) {
    K_DEV(adam_state, NULL, g, dev_state(m), dev_state(v), n, beta1, beta2, 0, 0, 1, 1, gscale, 0);
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < k_q8_blocks(n); b++) {
        size_t off = b * BLK, len = n - off < BLK ? n - off : BLK;
        float mbuf[BLK], vbuf[BLK];
        float *mm = get(m, off, len, mbuf), *vv = get(v, off, len, vbuf);
        for (size_t i = 0; i < len; i++) {
            float gi = g[off + i] * gscale;
            mm[i] = beta1 * mm[i] + (1 - beta1) * gi;
            vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi;
        }
        put(m, off, len, mm);
        put(v, off, len, vv);
    }
}

/* The LAMB direction of one element. */
static inline float lamb_u(float p, float m, float v, const KLamb *l) {
    return km_lamb_u(p, m, v, l->c1, l->rbc2, l->eps, l->wd);
}

typedef struct {
    const float *p;
    const KState *m, *v;
    size_t n;
    const KLamb *l;
} LambSum;

static double lamb_blocks(const void *ctx, size_t b0, size_t b1) { /* blocks [b0, b1) */
    const LambSum *c = ctx;
    double s = 0;
    for (size_t b = b0; b < b1; b++) {
        size_t off = b * BLK, len = c->n - off < BLK ? c->n - off : BLK;
        float mbuf[BLK], vbuf[BLK];
        const float *mm = get(c->m, off, len, mbuf), *vv = get(c->v, off, len, vbuf);
        for (size_t i = 0; i < len; i++) {
            float u = lamb_u(c->p[off + i], mm[i], vv[i], c->l);
            s += (double)u * u;
        }
    }
    return s;
}

double k_lamb_sumsq(const float *p, const KState *m, const KState *v, size_t n, const KLamb *l) {
    K_DEV_RET(lamb_sumsq, p, dev_state(m), dev_state(v), n, l->c1, l->rbc2, l->eps, l->wd);
    LambSum c = {p, m, v, n, l};
    return ordered_sum(k_q8_blocks(n), lamb_blocks, &c);
}

void k_lamb_apply(float *p, const KState *m, const KState *v, size_t n, const KLamb *l,
                  float rate) {
    K_DEV(lamb_apply, p, dev_state(m), dev_state(v), n, l->c1, l->rbc2, l->eps, l->wd, rate);
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < k_q8_blocks(n); b++) {
        size_t off = b * BLK, len = n - off < BLK ? n - off : BLK;
        float mbuf[BLK], vbuf[BLK];
        const float *mm = get(m, off, len, mbuf), *vv = get(v, off, len, vbuf);
        for (size_t i = 0; i < len; i++) p[off + i] -= rate * lamb_u(p[off + i], mm[i], vv[i], l);
    }
}

/* ------------------------------------------------------------------------- */
/* Adafactor                                                                 */

void k_rowcol_sq(const float *g, size_t n, size_t first, size_t C, double *row, double *col) {
    /* serial: the column sums would need a partial array per thread */
    size_t r = first / C, c = first % C;
    for (size_t i = 0; i < n; i++) {
        double q = (double)g[i] * g[i];
        row[r] += q;
        col[c] += q;
        if (++c == C) c = 0, r++;
    }
}

void k_lerp_sq(float *v, const float *g, size_t n, float w, float gscale) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        v[i] = v[i] + w * (gi * gi - v[i]);
    }
}

void k_pull(float *p, const float *p0, size_t n, float w) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) p[i] += w * (p0[i] - p[i]);
}

/* The Adafactor update of element i of the part, before the step size. */
static inline float adafactor_u(const KAdafactor *a, const float *g, size_t i) {
    float est;
    if (a->C) {
        size_t f = a->first + i;
        est = a->row[f / a->C] * a->col[f % a->C] / a->rdiv;
    } else {
        est = a->v[i];
    }
    if (est < a->eps1sq) est = a->eps1sq;
    return (1.0f / sqrtf(est)) * (g[i] * a->gscale);
}

typedef struct {
    const float *g;
    const KAdafactor *a;
} AfSum;

static double adafactor_range(const void *ctx, size_t lo, size_t hi) {
    const AfSum *c = ctx;
    double s = 0;
    for (size_t i = lo; i < hi; i++) {
        float u = adafactor_u(c->a, c->g, i);
        s += (double)u * u;
    }
    return s;
}

double k_adafactor_sumsq(const float *g, size_t n, const KAdafactor *a) {
    AfSum c = {g, a};
    return ordered_sum(n, adafactor_range, &c);
}

void k_adafactor_apply(float *p, const float *g, size_t n, const KAdafactor *a, float keep,
                       float rate) {
    if (a->m) { /* momentum of the scaled update (Shazeer & Stern's beta1) */
        float b1 = a->beta1, c = (1 - a->beta1) * rate;
#pragma omp parallel for schedule(static)
        for (size_t b = 0; b < k_q8_blocks(n); b++) {
            size_t off = b * BLK, len = n - off < BLK ? n - off : BLK;
            float mbuf[BLK];
            float *mm = get(a->m, off, len, mbuf);
            for (size_t i = 0; i < len; i++) {
                mm[i] = b1 * mm[i] + c * adafactor_u(a, g, off + i);
                p[off + i] = p[off + i] * keep - mm[i];
            }
            put(a->m, off, len, mm);
        }
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) p[i] = p[i] * keep - rate * adafactor_u(a, g, i);
}

/* ------------------------------------------------------------------------- */

static double sumsq_range(const void *ctx, size_t lo, size_t hi) {
    const float *x = ctx;
    double s = 0;
    /* in vector lanes, added at the end: a fixed order for a given build,
     * and 2.7x faster than one chain of dependent double adds, which bound
     * this loop (not memory: bench/NOTES.md 2026-12-07) */
#pragma omp simd reduction(+ : s)
    for (size_t i = lo; i < hi; i++) s += (double)x[i] * x[i];
    return s;
}

double k_sumsq(const float *x, size_t n) {
    K_DEV_RET(sumsq, x, n);
    return ordered_sum(n, sumsq_range, x);
}

void k_zero(float *x, size_t n) {
    K_DEV(zero, x, n);
    if (n) memset(x, 0, n * sizeof *x);
}

void k_copy(float *y, const float *x, size_t n) {
    K_DEV(copy, y, x, n);
    if (n) memcpy(y, x, n * sizeof *y);
}
