/*
 * attn_bench.c — sliding-window against full attention at long sequences:
 * forward + backward time of the attention kernels alone (B = 1, NH heads
 * of 64) and the bytes each keeps (saved probabilities + scratch), for T in
 * 1024, 2048, 4096 at window w. The claim under test: memory ∝ T·w and time
 * ≥ 0.5 · T/w times faster than full attention (FLOPs predict about
 * T/(w + 64): the query blocks' spans are 64 + w wide). Median of REPS runs;
 * one JSON object per (T, kernel).
 *   attn_bench [threads] [w]       (make bench-attention; default 2, 256)
 */
#include "kernels/kernels.h"

#include "kernels/clock.h"

#include <stdio.h>
#include <stdlib.h>

enum { REPS = 3, NH = 4, HS = 64 };

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *filled(size_t n, uint64_t seed) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(2 * k_rng_uniform(seed, i) - 1);
    return p;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, w = argc > 2 ? atoi(argv[2]) : 256;
    k_init_threads();
    k_set_threads(threads);
    const int Ts[] = {1024, 2048, 4096};
    for (int ti = 0; ti < 3; ti++) {
        int T = Ts[ti], C = NH * HS;
        size_t nq = (size_t)T * 3 * C, ny = (size_t)T * C;
        float *qkv = filled(nq, 1), *dy = filled(ny, 2), *y = malloc(ny * 4), *dq = calloc(nq, 4);
        for (int win = 0; win < 2; win++) {
            for (int causal = 0; causal < 2; causal++) {
                size_t probs =
                    win ? NH * k_attention_window_probs(T, w, 0, causal) : (size_t)NH * T * T;
                size_t scr =
                    win ? k_attention_window_scratch(T, w, 0, causal) : k_attention_scratch(T);
                float *P = malloc(probs * 4), *S = malloc(scr * 4);
                double t[REPS];
                for (int r = 0; r < REPS; r++) {
                    double t0 = k_now();
                    if (win) {
                        k_attention_window_fwd(y, P, S, qkv, NULL, NULL, 1, T, C, NH, causal, w, 0,
                                               0, NULL);
                        k_attention_window_bwd(dq, NULL, S, dy, qkv, P, 1, T, C, NH, causal, w, 0,
                                               0, NULL);
                    } else {
                        k_attention_fwd(y, P, S, qkv, NULL, NULL, 1, T, C, NH, causal, 0, NULL);
                        k_attention_bwd(dq, NULL, S, dy, qkv, P, 1, T, C, NH, causal, 0, NULL);
                    }
                    t[r] = k_now() - t0;
                }
                qsort(t, REPS, sizeof *t, cmp);
                printf("{\"bench\":\"attention\",\"T\":%d,\"window\":%d,\"kernel\":\"%s\","
                       "\"causal\":%d,\"heads\":%d,\"head_dim\":%d,\"threads\":%d,"
                       "\"fwd_bwd_s\":%.6f,\"bytes\":%zu}\n",
                       T, w, win ? "window" : "full", causal, NH, HS, threads, t[REPS / 2],
                       (probs + scr) * 4);
                fflush(stdout);
                free(P), free(S);
            }
        }
        free(qkv), free(dy), free(y), free(dq);
    }
    return 0;
}
