/*
 * positions.h — relative positions as a bias on the attention scores: T5's
 * learned buckets and ALiBi's fixed slopes, laid out for k_attention_fwd
 * (relb [NH][2T−1], offset j − i at index T − 1 + j − i) and for the
 * decoding kernel (dbias [NH][cap] by distance). RoPE is a kernel of its
 * own (k_rope_fwd); learned absolute tables are embeddings.
 */
#ifndef ZEROPT_POSITIONS_H
#define ZEROPT_POSITIONS_H

#include "src/config/config.h"

#include <stdint.h>

/* T5's bucket of the offset rel = j − i (HF T5Attention._relative_position_bucket,
 * including its fp32 logarithm): bidirectional splits the buckets between
 * the two directions; causal puts every key after the query in bucket 0. */
int pos_t5_bucket(int rel, int bidirectional, int buckets, int max_distance);
/* ALiBi's slope of each head: 2^(−8(h+1)/n) for n a power of two, else the
 * n' = 2^⌊log2 n⌋ slopes then every other one of the 2n' series (Press et al.). */
void pos_alibi_slopes(int heads, double *slopes);

/* relb [NH][2T−1] for sequences of T: T5 from table [buckets, NH] (HF's
 * relative_attention_bias layout), ALiBi −slope_h·|j − i| (table unused). */
void pos_relb_fill(const ModelConfig *c, const float *table, int T, float *relb);
/* table gradient [buckets, NH] += the relb gradient (T5) */
void pos_relb_fold(const ModelConfig *c, const float *drelb, int T, float *dtable);
/* dbias [NH][cap] for the decoding kernel: the bias of a key d positions back. */
void pos_dbias_fill(const ModelConfig *c, const float *table, int cap, float *dbias);

#endif
