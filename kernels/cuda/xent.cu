/*
 * xent.cu — softmax cross-entropy over the vocabulary, one block a row:
 *   p = softmax(z) written over the logits' buffer when probs aliases it
 *   (no second [N, V] array), loss = log Σ e^(z − max) − (z_label − max)
 *   in double, dz = s·(p − onehot) (km_xent_grad). Rows with a negative
 *   label are skipped (loss 0, zero gradient). The loss total is summed in
 *   row order by one thread and returned: the step's one host wait.
 */
#include "kc_internal.cuh"

#include "kernels/kmath.h"

__global__ static void __launch_bounds__(1024)
    xent_fwd_k(double *rowloss, float *losses, float *probs, const float *logits,
               const int32_t *labels, int V) {
    __shared__ double sh[32];
    __shared__ float shf[32];
    size_t n = blockIdx.x;
    int lab = labels[n];
    if (lab < 0) {
        if (threadIdx.x == 0) {
            rowloss[n] = 0;
            if (losses) losses[n] = 0;
        }
        return;
    }
    const float *z = logits + n * V;
    float *p = probs + n * V;
    float zl = z[lab];
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, z[v]);
    mx = block_max(mx, shf);
    double s = 0;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        float e = expf(z[v] - mx);
        p[v] = e; /* each thread rewrites only the entries it read */
        s += e;
    }
    double sum = kc_block_sum(s, sh);
    float inv = (float)(1.0 / sum);
    for (int v = threadIdx.x; v < V; v += blockDim.x) p[v] *= inv;
    if (threadIdx.x == 0) {
        double loss = log(sum) - ((double)zl - (double)mx);
        rowloss[n] = loss;
        if (losses) losses[n] = (float)loss;
    }
}

__global__ static void sum_rows_k(double *r, int N) {
    double s = 0;
    for (int n = 0; n < N; n++) s += r[n];
    r[N] = s;
}

double kc_xent_fwd(float *losses, float *probs, const float *logits, const int32_t *labels, int N,
                   int V) {
    if (N <= 0) return 0;
    double *rl = (double *)kc_scratch(sizeof(double) * ((size_t)N + 1)), total = 0;
    /* zl is read before any thread writes p: the block's first __syncthreads
     * (in block_max) comes after every thread's read of z[lab] */
    xent_fwd_k<<<N, kc_row_threads(V), 0, kc_s()>>>(rl, losses, probs, logits, labels, V);
    KC_LAUNCHED();
    sum_rows_k<<<1, 1, 0, kc_s()>>>(rl, N);
    KC_LAUNCHED();
    kc_to_host(&total, rl + N, sizeof total);
    return total;
}

__global__ static void xent_bwd_k(float *d, const float *p, const int32_t *labels, size_t N,
                                  size_t V, float s) {
    KC_FOR(i, N * V) {
        int lab = labels[i / V];
        d[i] = lab < 0 ? 0.0f : km_xent_grad(p[i], (size_t)lab == i % V, s);
    }
}

void kc_xent_bwd(float *dlogits, const float *probs, const int32_t *labels, int N, int V,
                 double scale) {
    size_t n = (size_t)N * V;
    if (!n) return;
    xent_bwd_k<<<kc_grid_1d(n), KC_BLOCK, 0, kc_s()>>>(dlogits, probs, labels, (size_t)N, (size_t)V,
                                                       (float)scale);
    KC_LAUNCHED();
}
