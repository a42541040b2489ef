/*
 * kernels_api.h — the compute interface, written once for any element type.
 *
 * Not included directly: kernels.h instantiates it for float (the training
 * path, and what the CUDA backend implements), kernels_f64.h for double (the
 * finite-difference tests). `kreal` is the element type, KF() names the
 * instantiation. Kernels know buffers and shapes only, never models.
 *
 * Conventions
 *   - Row-major. A Linear weight is [out, in] (PyTorch's layout).
 *   - Forward kernels overwrite their outputs.
 *   - Backward kernels ACCUMULATE (+=) into every gradient they produce, so
 *     residual branches and tied weights need no extra adds; callers zero
 *     gradient buffers before a backward pass. k_xent_bwd is the one exception
 *     (it overwrites, so dlogits may alias probs and save a [N,V] buffer).
 *   - Every kernel is deterministic: the same inputs and the same thread
 *     count give bit-identical results.
 */
#include <stddef.h>
#include <stdint.h>

/* y[M,N] = x[M,K] · W[N,K]ᵀ */
void KF(k_matmul_fwd)(kreal *y, const kreal *x, const kreal *w, int M, int K, int N);
/* dx[M,K] += dy · W ;  dW[N,K] += dyᵀ · x.  dx or dw may be NULL. */
void KF(k_matmul_bwd)(kreal *dx, kreal *dw, const kreal *dy, const kreal *x, const kreal *w, int M,
                      int K, int N);

/* y[M,N] += b[N] */
void KF(k_bias_fwd)(kreal *y, const kreal *b, int M, int N);
/* db[N] += Σ_m dy[m,N] */
void KF(k_bias_bwd)(kreal *db, const kreal *dy, int M, int N);

/* y = a + b (residual add); its backward is k_accum into both inputs. */
void KF(k_add_fwd)(kreal *y, const kreal *a, const kreal *b, size_t n);
/* y += x */
void KF(k_accum)(kreal *y, const kreal *x, size_t n);
/* y += a·x (DeepNorm's scaled residual) */
void KF(k_axpy)(kreal *y, double a, const kreal *x, size_t n);

/* y[n,:] = table[ids[n],:]  (or += when accumulate) */
void KF(k_embedding_fwd)(kreal *y, const int32_t *ids, const kreal *table, int N, int C,
                         int accumulate);
/* dtable[ids[n],:] += dy[n,:] */
void KF(k_embedding_bwd)(kreal *dtable, const kreal *dy, const int32_t *ids, int N, int C);
/* y[m,:] = x[idx[m],:]  ;  backward: dx[idx[m],:] += dy[m,:] */
void KF(k_gather_rows)(kreal *y, const kreal *x, const int32_t *idx, int M, int C);
void KF(k_scatter_rows_bwd)(kreal *dx, const kreal *dy, const int32_t *idx, int M, int C);

/* y = (x - mean) * rstd * w + b over the last dimension C; mean, rstd [N] saved. */
void KF(k_layernorm_fwd)(kreal *y, kreal *mean, kreal *rstd, const kreal *x, const kreal *w,
                         const kreal *b, int N, int C, double eps);
void KF(k_layernorm_bwd)(kreal *dx, kreal *dw, kreal *db, const kreal *dy, const kreal *x,
                         const kreal *w, const kreal *mean, const kreal *rstd, int N, int C);
/* The same with row strides (elements between rows) for x, y, dx, dy; y may be x. */
void KF(k_layernorm_fwd_ld)(kreal *y, int ldy, kreal *mean, kreal *rstd, const kreal *x, int ldx,
                            const kreal *w, const kreal *b, int N, int C, double eps);
void KF(k_layernorm_bwd_ld)(kreal *dx, int lddx, kreal *dw, kreal *db, const kreal *dy, int lddy,
                            const kreal *x, int ldx, const kreal *w, const kreal *mean,
                            const kreal *rstd, int N, int C);

/* GELU, tanh approximation (GPT-2, "gelu_new") or exact erf form (BERT). */
#ifndef ZEROPT_KERNEL_ENUMS
#define ZEROPT_KERNEL_ENUMS
enum { K_GELU_TANH = 0, K_GELU_ERF = 1 };
#endif
void KF(k_gelu_fwd)(kreal *y, const kreal *x, size_t n, int form);
/* dx = dy · gelu'(x) (written, not accumulated: its callers start from
 * nothing, and a pass that reads dx back costs a tenth of the kernel) */
void KF(k_gelu_bwd)(kreal *dx, const kreal *dy, const kreal *x, size_t n, int form);

/* Inverted dropout with a counter-based mask: element i is kept when
 * k_rng_uniform(seed, i) >= p, and scaled by 1/(1-p). The mask is a pure
 * function of (seed, i), so backward regenerates it and stores nothing. */
void KF(k_dropout_fwd)(kreal *y, const kreal *x, size_t n, double p, uint64_t seed);
void KF(k_dropout_bwd)(kreal *dx, const kreal *dy, size_t n, double p, uint64_t seed);
/* The same masks on chosen rows of a [B·T, C] activation whose sample s
 * draws from seeds[s]: row r of y is row n = rows[r], its element c the one
 * k_dropout_fwd over sample n / T gives (index (n % T)·C + c). Backward
 * accumulates (dx +=), as k_dropout_bwd does. */
void KF(k_dropout_rows_fwd)(kreal *y, const kreal *x, const int32_t *rows, int R, int T, int C,
                            double p, const uint64_t *seeds);
void KF(k_dropout_rows_bwd)(kreal *dx, const kreal *dy, const int32_t *rows, int R, int T, int C,
                            double p, const uint64_t *seeds);

/*
 * Multi-head scaled-dot-product attention on packed qkv [B,T,3C]: columns
 * [0,C) are q, [C,2C) k, [2C,3C) v; head h owns columns h·hs..(h+1)·hs of each.
 *   S = q kᵀ / √hs, masked where keymask[b,j] == 0 or (causal and j > i)
 *   P = softmax(S) saved in probs [B,NH,T,T];  y[B,T,C] = dropout(P) v
 * keymask may be NULL. Dropout on P uses seed mix(seeds[b], h) when p > 0.
 * relb, NULL or [NH][2T−1]: a bias on the scores that depends only on the
 * offset j − i (ALiBi, T5's buckets): S[i,j] += relb[h][T − 1 + j − i].
 * Backward accumulates its gradient into drelb (same layout) unless NULL.
 * scratch holds k_attention_scratch(T) elements. Backward takes the
 * forward's causal: the keys after a causal row's are left out of its
 * products (their P is 0, and so is their gradient).
 */
size_t KF(k_attention_scratch)(int T);
void KF(k_attention_fwd)(kreal *y, kreal *probs, kreal *scratch, const kreal *qkv,
                         const uint8_t *keymask, const kreal *relb, int B, int T, int C, int NH,
                         int causal, double p_drop, const uint64_t *seeds);
void KF(k_attention_bwd)(kreal *dqkv, kreal *drelb, kreal *scratch, const kreal *dy,
                         const kreal *qkv, const kreal *probs, int B, int T, int C, int NH,
                         int causal, double p_drop, const uint64_t *seeds);
/* Decoding with a key/value cache: n new query rows (row i at position
 * past + i; q[i] at q + i·qstride, heads side by side) attend causally over
 * cached keys and values K, V [NH][cap][hs] (positions 0 … past + n − 1
 * filled): y[n, C]. scratch: cap elements. 4·hs·(past + i + 1) FLOPs per row
 * and head, reading each cached row once. dbias, NULL or [NH][cap]: the
 * relative bias by distance, dbias[h][pos − j] added to the score of key j.
 * window > 0: only the last `window` keys and the first nglobal are seen
 * (k_attention_window_fwd's causal rule); 0: every earlier key. */
void KF(k_attention_cached)(kreal *y, kreal *scratch, const kreal *q, int qstride, const kreal *K,
                            const kreal *V, const kreal *dbias, int n, int past, int C, int NH,
                            int cap, int window, int nglobal);

/* Sliding-window attention with global tokens, the contract of
 * k_attention_fwd/bwd otherwise: query i sees keys i − ⌊w/2⌋ … i + ⌊w/2⌋
 * (causal: i − w + 1 … i) and the first nglobal tokens, which see every key
 * (causal: every earlier one). probs holds k_attention_window_probs per
 * (sample, head), O(T·(w + nglobal)); scratch k_attention_window_scratch.
 * With w ≥ 2T and nglobal = 0 it is full attention (the same dropout). */
size_t KF(k_attention_window_probs)(int T, int w, int nglobal, int causal);
size_t KF(k_attention_window_scratch)(int T, int w, int nglobal, int causal);
void KF(k_attention_window_fwd)(kreal *y, kreal *probs, kreal *scratch, const kreal *qkv,
                                const uint8_t *keymask, const kreal *relb, int B, int T, int C,
                                int NH, int causal, int w, int nglobal, double p_drop,
                                const uint64_t *seeds);
void KF(k_attention_window_bwd)(kreal *dqkv, kreal *drelb, kreal *scratch, const kreal *dy,
                                const kreal *qkv, const kreal *probs, int B, int T, int C, int NH,
                                int causal, int w, int nglobal, double p_drop,
                                const uint64_t *seeds);

/* Rotary position embedding on the queries and keys of packed qkv [B,T,3C]
 * (values untouched), in place; row t sits at position pos0 + t. HF's
 * pairing (dimension i with i + hs/2 in each head, θ_i = pos·base^(−2i/hs));
 * hs even. The backward rotates the gradients of the rotated q, k (in dqkv)
 * back by −θ, in place: they become the gradients of the unrotated ones. */
void KF(k_rope_fwd)(kreal *qkv, int B, int T, int pos0, int C, int NH, double base);
void KF(k_rope_bwd)(kreal *dqkv, int B, int T, int pos0, int C, int NH, double base);

/* Softmax cross-entropy over V classes per row: probs = softmax(logits) (probs
 * may alias logits), losses[n] = -log probs[n, labels[n]]; rows whose label is
 * negative are ignored (loss 0). Returns Σ losses in double. */
double KF(k_xent_fwd)(kreal *losses, kreal *probs, const kreal *logits, const int32_t *labels,
                      int N, int V);
/* dlogits = scale · (probs - onehot(label)) for labelled rows, 0 for others.
 * Overwrites; dlogits may alias probs. */
void KF(k_xent_bwd)(kreal *dlogits, const kreal *probs, const int32_t *labels, int N, int V,
                    double scale);

/* InfoNCE over n (even) sequence embeddings E[n, C] whose positives are the
 * pairs (2i, 2i + 1): z = E / |E| (cosine) or E (dot), s_ij = z_i·z_j / tau,
 * L = (1/n) Σ_i [log Σ_{j≠i} exp s_ij − s_i,partner(i)] (every other
 * embedding a negative). Returns L (double accumulation). When dE is not
 * NULL, dE[0, r1 − r0) = scale · ∂L/∂E of rows [r0, r1) (overwrites). */
double KF(k_infonce)(const kreal *E, int n, int C, double tau, int cosine, double scale, int r0,
                     int r1, kreal *dE);
