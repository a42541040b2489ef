/*
 * rope.c — rotary position embedding (Su et al., RoFormer) on the queries and
 * keys of packed qkv, in Hugging Face's pairing (LLaMA, GPT-NeoX): in each
 * head, dimension i pairs with i + hs/2, and for position p
 *   θ_i = p · base^(−2i/hs),  i < hs/2
 *   x'_i        = x_i cos θ_i − x_{i+hs/2} sin θ_i
 *   x'_{i+hs/2} = x_{i+hs/2} cos θ_i + x_i sin θ_i
 * Then q'·k' depends on the positions only through their difference. The
 * rotation is orthogonal, so the backward is the rotation by −θ applied to
 * the gradients of q' and k'. 6·hs FLOPs per head, row and tensor; the
 * angles are computed once per row in double (position 4096 × a frequency
 * near 1 keeps 1e-13 rad) and shared by every sample and head.
 */
#include "real.h"

static void rotate(kreal *x, int B, int T, int pos0, int C, int NH, double base, double sign) {
    int hs = C / NH, h2 = hs / 2, C3 = 3 * C;
    double inv[h2 > 0 ? h2 : 1];
    for (int i = 0; i < h2; i++) inv[i] = pow(base, -2.0 * i / hs);
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        kreal cs[h2 > 0 ? h2 : 1], sn[h2 > 0 ? h2 : 1];
        for (int i = 0; i < h2; i++) {
            double a = (double)(pos0 + t) * inv[i];
            cs[i] = (kreal)cos(a), sn[i] = (kreal)(sign * sin(a));
        }
        for (int b = 0; b < B; b++) {
            kreal *row = x + ((size_t)b * T + t) * C3;
            for (int h = 0; h < 2 * NH; h++) { /* the NH query heads, then the NH key heads */
                kreal *v = row + (size_t)h * hs;
                for (int i = 0; i < h2; i++) {
                    kreal a = v[i], c = v[i + h2];
                    v[i] = a * cs[i] - c * sn[i];
                    v[i + h2] = c * cs[i] + a * sn[i];
                }
            }
        }
    }
}

void KF(k_rope_fwd)(kreal *qkv, int B, int T, int pos0, int C, int NH, double base) {
    KD(rope_fwd, qkv, B, T, pos0, C, NH, base);
    rotate(qkv, B, T, pos0, C, NH, base, 1.0);
}

void KF(k_rope_bwd)(kreal *dqkv, int B, int T, int pos0, int C, int NH, double base) {
    KD(rope_bwd, dqkv, B, T, pos0, C, NH, base);
    rotate(dqkv, B, T, pos0, C, NH, base, -1.0);
}
