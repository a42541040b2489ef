/*
 * elementwise.cu — the memory-bound kernels: residual adds, bias, GELU,
 * dropout, embeddings, RoPE, bf16 conversions and the squared norm. One
 * thread an element in grid-stride loops (geometry.h); the formulas are
 * kmath.h's and optim_math.h's. Sums are deterministic: column sums in two
 * stages with partials added in row order, the norm in fixed blocks added
 * in block order, embedding gradients one thread per column walking the
 * rows in order (no atomics anywhere).
 */
#include "kc_internal.cuh"

#include "kernels/kmath.h"
#include "kernels/optim_math.h"

#define GRID(n) kc_grid_1d(n), KC_BLOCK, 0, kc_s()

__global__ static void add_k(float *y, const float *a, const float *b, size_t n) {
    KC_FOR(i, n) y[i] = a[i] + b[i];
}
void kc_add_fwd(float *y, const float *a, const float *b, size_t n) {
    if (!n) return;
    add_k<<<GRID(n)>>>(y, a, b, n);
    KC_LAUNCHED();
}

__global__ static void axpy_k(float *y, float a, const float *x, size_t n) {
    KC_FOR(i, n) y[i] += a * x[i];
}
void kc_accum(float *y, const float *x, size_t n) {
    if (!n) return;
    axpy_k<<<GRID(n)>>>(y, 1.0f, x, n);
    KC_LAUNCHED();
}
void kc_axpy(float *y, double a, const float *x, size_t n) {
    if (!n) return;
    axpy_k<<<GRID(n)>>>(y, (float)a, x, n);
    KC_LAUNCHED();
}

__global__ static void bias_k(float *y, const float *b, size_t M, size_t N) {
    KC_FOR(i, M * N) y[i] += b[i % N];
}
void kc_bias_fwd(float *y, const float *b, int M, int N) {
    size_t n = (size_t)M * N;
    if (!n) return;
    bias_k<<<GRID(n)>>>(y, b, (size_t)M, (size_t)N);
    KC_LAUNCHED();
}

/* Stage 1 of a column sum: parts[p][c] = Σ rows [p·R, (p+1)·R) of dy[:, c] */
__global__ static void colsum_part_k(float *parts, const float *dy, int M, int N) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, p = blockIdx.y;
    if (c >= N) return;
    int r1 = min(M, (p + 1) * KC_COLSUM_ROWS);
    double s = 0;
    for (int r = p * KC_COLSUM_ROWS; r < r1; r++) s += dy[(size_t)r * N + c];
    parts[(size_t)p * N + c] = (float)s;
}
/* Stage 2: out[c] += Σ_p parts[p][c], in p order */
__global__ static void colsum_finish_k(float *out, const float *parts, unsigned np, int N) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= N) return;
    double s = 0;
    for (unsigned p = 0; p < np; p++) s += parts[(size_t)p * N + c];
    out[c] += (float)s;
}
void kc_colsum_finish(float *out, const float *parts, unsigned nparts, int N) {
    colsum_finish_k<<<(N + KC_BLOCK - 1) / KC_BLOCK, KC_BLOCK, 0, kc_s()>>>(out, parts, nparts, N);
    KC_LAUNCHED();
}
void kc_bias_bwd(float *db, const float *dy, int M, int N) {
    if (M <= 0 || N <= 0) return;
    unsigned np = kc_colsum_parts(M);
    float *parts = (float *)kc_scratch(sizeof(float) * np * (size_t)N);
    dim3 g((N + KC_BLOCK - 1) / KC_BLOCK, np);
    colsum_part_k<<<g, KC_BLOCK, 0, kc_s()>>>(parts, dy, M, N);
    KC_LAUNCHED();
    kc_colsum_finish(db, parts, np, N);
}

__global__ static void gelu_k(float *y, const float *x, size_t n, int form) {
    KC_FOR(i, n) y[i] = km_gelu(x[i], form);
}
__global__ static void gelu_bwd_k(float *dx, const float *dy, const float *x, size_t n, int form) {
    KC_FOR(i, n) dx[i] = dy[i] * km_gelu_grad(x[i], form);
}
void kc_gelu_fwd(float *y, const float *x, size_t n, int form) {
    if (!n) return;
    gelu_k<<<GRID(n)>>>(y, x, n, form);
    KC_LAUNCHED();
}
void kc_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int form) {
    if (!n) return;
    gelu_bwd_k<<<GRID(n)>>>(dx, dy, x, n, form);
    KC_LAUNCHED();
}

__global__ static void dropout_k(float *y, const float *x, size_t n, double p, uint64_t seed,
                                 float scale, int accumulate) {
    KC_FOR(i, n) {
        float v = km_dropout_keep(seed, i, p) ? x[i] * scale : 0.0f;
        if (accumulate)
            y[i] += v;
        else
            y[i] = v;
    }
}
void kc_dropout_fwd(float *y, const float *x, size_t n, double p, uint64_t seed) {
    if (!n) return;
    dropout_k<<<GRID(n)>>>(y, x, n, p, seed, (float)(1.0 / (1.0 - p)), 0);
    KC_LAUNCHED();
}
void kc_dropout_bwd(float *dx, const float *dy, size_t n, double p, uint64_t seed) {
    if (!n) return;
    dropout_k<<<GRID(n)>>>(dx, dy, n, p, seed, (float)(1.0 / (1.0 - p)), 1);
    KC_LAUNCHED();
}

/* k_dropout_rows_*: element (r, c) draws sample rows[r] / T's stream at
 * (rows[r] % T)·C + c; seeds and rows are managed memory (the model's) */
__global__ static void dropout_rows_k(float *y, const float *x, const int32_t *rows, size_t R,
                                      int T, size_t C, double p, const uint64_t *seeds,
                                      float scale, int accumulate) {
    KC_FOR(i, R * C) {
        size_t r = i / C, c = i % C;
        int n = rows[r];
        float v = km_dropout_keep(seeds[n / T], (uint64_t)(n % T) * C + c, p) ? x[i] * scale : 0.0f;
        if (accumulate)
            y[i] += v;
        else
            y[i] = v;
    }
}
void kc_dropout_rows_fwd(float *y, const float *x, const int32_t *rows, int R, int T, int C,
                         double p, const uint64_t *seeds) {
    if (R <= 0) return;
    dropout_rows_k<<<GRID((size_t)R * C)>>>(y, x, rows, R, T, C, p, seeds,
                                            (float)(1.0 / (1.0 - p)), 0);
    KC_LAUNCHED();
}
void kc_dropout_rows_bwd(float *dx, const float *dy, const int32_t *rows, int R, int T, int C,
                         double p, const uint64_t *seeds) {
    if (R <= 0) return;
    dropout_rows_k<<<GRID((size_t)R * C)>>>(dx, dy, rows, R, T, C, p, seeds,
                                            (float)(1.0 / (1.0 - p)), 1);
    KC_LAUNCHED();
}

__global__ static void gather_k(float *y, const int32_t *ids, const float *table, size_t N,
                                size_t C, int accumulate) {
    KC_FOR(i, N * C) {
        float v = table[(size_t)ids[i / C] * C + i % C];
        if (accumulate)
            y[i] += v;
        else
            y[i] = v;
    }
}
/* One thread a column, rows in order: deterministic without atomics. */
__global__ static void scatter_k(float *dst, const float *src, const int32_t *idx, int M, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int m = 0; m < M; m++) dst[(size_t)idx[m] * C + c] += src[(size_t)m * C + c];
}
void kc_embedding_fwd(float *y, const int32_t *ids, const float *table, int N, int C,
                      int accumulate) {
    size_t n = (size_t)N * C;
    if (!n) return;
    gather_k<<<GRID(n)>>>(y, ids, table, (size_t)N, (size_t)C, accumulate);
    KC_LAUNCHED();
}
void kc_embedding_bwd(float *dtable, const float *dy, const int32_t *ids, int N, int C) {
    if (N <= 0 || C <= 0) return;
    scatter_k<<<(C + 127) / 128, 128, 0, kc_s()>>>(dtable, dy, ids, N, C);
    KC_LAUNCHED();
}
void kc_gather_rows(float *y, const float *x, const int32_t *idx, int M, int C) {
    kc_embedding_fwd(y, idx, x, M, C, 0);
}
void kc_scatter_rows_bwd(float *dx, const float *dy, const int32_t *idx, int M, int C) {
    kc_embedding_bwd(dx, dy, idx, M, C);
}

/* RoPE: element (b, t, head h of the 2·NH q and k heads, pair i); the angle
 * in double as the CPU computes it. */
__global__ static void rope_k(float *x, int B, int T, int pos0, int C, int NH, double base,
                              double sign) {
    int hs = C / NH, h2 = hs / 2;
    size_t n = (size_t)B * T * 2 * NH * h2;
    KC_FOR(e, n) {
        int i = (int)(e % h2);
        size_t r = e / h2;
        int h = (int)(r % (2 * NH));
        size_t bt = r / (2 * NH);
        int t = (int)(bt % T);
        double a = (double)(pos0 + t) * pow(base, -2.0 * i / hs);
        float *v = x + bt * 3 * C + (size_t)h * hs;
        km_rope_pair(&v[i], &v[i + h2], (float)cos(a), (float)(sign * sin(a)));
    }
}
void kc_rope_fwd(float *qkv, int B, int T, int pos0, int C, int NH, double base) {
    size_t n = (size_t)B * T * C;
    if (!n) return;
    rope_k<<<GRID(n)>>>(qkv, B, T, pos0, C, NH, base, 1.0);
    KC_LAUNCHED();
}
void kc_rope_bwd(float *dqkv, int B, int T, int pos0, int C, int NH, double base) {
    size_t n = (size_t)B * T * C;
    if (!n) return;
    rope_k<<<GRID(n)>>>(dqkv, B, T, pos0, C, NH, base, -1.0);
    KC_LAUNCHED();
}

/* ---- bf16 arrays ----------------------------------------------------------- */

__global__ static void bf16_to_f32_k(float *x, const uint16_t *h, size_t n) {
    KC_FOR(i, n) x[i] = km_from_bf16(h[i]);
}
__global__ static void f32_to_bf16_k(uint16_t *h, const float *x, size_t n) {
    KC_FOR(i, n) h[i] = km_to_bf16(x[i]);
}
__global__ static void bf16_to_f32_off_k(float *x, const uint16_t *h, size_t n, float off) {
    KC_FOR(i, n) x[i] = km_from_bf16(h[i]) + off;
}
__global__ static void f32_to_bf16_off_k(uint16_t *h, const float *x, size_t n, float off) {
    KC_FOR(i, n) h[i] = km_to_bf16(x[i] - off);
}
__global__ static void bf16_add_f32_k(uint16_t *h, const float *w, size_t n) {
    KC_FOR(i, n) h[i] = km_to_bf16(km_from_bf16(h[i]) + w[i]);
}
__global__ static void f32_add_bf16_k(float *w, const uint16_t *h, size_t n) {
    KC_FOR(i, n) w[i] += km_from_bf16(h[i]);
}
void kc_bf16_to_f32(float *x, const uint16_t *h, size_t n) {
    if (!n) return;
    bf16_to_f32_k<<<GRID(n)>>>(x, h, n);
    KC_LAUNCHED();
}
void kc_f32_to_bf16(uint16_t *h, const float *x, size_t n) {
    if (!n) return;
    f32_to_bf16_k<<<GRID(n)>>>(h, x, n);
    KC_LAUNCHED();
}
void kc_bf16_to_f32_off(float *x, const uint16_t *h, size_t n, float off) {
    if (!n) return;
    bf16_to_f32_off_k<<<GRID(n)>>>(x, h, n, off);
    KC_LAUNCHED();
}
void kc_f32_to_bf16_off(uint16_t *h, const float *x, size_t n, float off) {
    if (!n) return;
    f32_to_bf16_off_k<<<GRID(n)>>>(h, x, n, off);
    KC_LAUNCHED();
}
void kc_bf16_add_f32(uint16_t *h, const float *w, size_t n) {
    if (!n) return;
    bf16_add_f32_k<<<GRID(n)>>>(h, w, n);
    KC_LAUNCHED();
}
void kc_f32_add_bf16(float *w, const uint16_t *h, size_t n) {
    if (!n) return;
    f32_add_bf16_k<<<GRID(n)>>>(w, h, n);
    KC_LAUNCHED();
}

__global__ static void zero_k(float *x, size_t n) {
    KC_FOR(i, n) x[i] = 0.0f;
}
void kc_zero(float *x, size_t n) {
    if (!n) return;
    zero_k<<<GRID(n)>>>(x, n);
    KC_LAUNCHED();
}

void kc_copy(float *y, const float *x, size_t n) {
    if (n) KC_CHECK(cudaMemcpyAsync(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice, kc_s()));
}

void kc_zero16(uint16_t *h, size_t n) {
    kc_memset0(h, n * sizeof(uint16_t));
}

void kc_bf16_in_place(float *w, size_t n) {
    if (!n) return;
    uint16_t *t = (uint16_t *)kc_scratch(n * sizeof(uint16_t));
    kc_f32_to_bf16(t, w, n);
    KC_CHECK(cudaMemcpyAsync(w, t, n * sizeof(uint16_t), cudaMemcpyDeviceToDevice, kc_s()));
}

/* ---- the squared norm: fixed blocks, partials added in block order -------- */

template <typename T> __device__ static inline double sq_of(T v);
template <> __device__ inline double sq_of<float>(float v) {
    return (double)v * v;
}
template <> __device__ inline double sq_of<uint16_t>(uint16_t v) {
    double x = km_from_bf16(v);
    return x * x;
}

template <typename T> __global__ static void sumsq_part_k(double *part, const T *x, size_t n) {
    __shared__ double sh[2 * (KC_BLOCK / 32)];
    double s = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        s += sq_of<T>(x[i]);
    s = kc_block_sum(s, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
__global__ static void sumsq_finish_k(double *part, unsigned nb) {
    double s = 0;
    for (unsigned b = 0; b < nb; b++) s += part[b];
    part[nb] = s;
}
template <typename T> static double sumsq(const T *x, size_t n) {
    if (!n) return 0;
    unsigned nb = kc_sumsq_blocks(n);
    double *part = (double *)kc_scratch(sizeof(double) * (nb + 1)), out = 0;
    sumsq_part_k<T><<<nb, KC_BLOCK, 0, kc_s()>>>(part, x, n);
    KC_LAUNCHED();
    sumsq_finish_k<<<1, 1, 0, kc_s()>>>(part, nb);
    KC_LAUNCHED();
    kc_to_host(&out, part + nb, sizeof out);
    return out;
}
double kc_sumsq(const float *x, size_t n) {
    return sumsq<float>(x, n);
}
double kc_sumsq_bf16(const uint16_t *h, size_t n) {
    return sumsq<uint16_t>(h, n);
}
