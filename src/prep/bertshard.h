/*
 * bertshard.h — NVIDIA DeepLearningExamples BERT pretraining shards as
 * prep input (`--format nvidia-bert`): HDF5 files of pre-masked samples,
 *
 *   input_ids, input_mask, segment_ids          int [N, seq_len]
 *   masked_lm_positions, masked_lm_ids          int [N, max_pred]
 *   next_sentence_labels                        int [N]
 *
 * read as documents of token ids. A sample's original tokens are restored
 * (masked_lm_ids written back at masked_lm_positions; position 0 ends the
 * list, as NVIDIA pads it), cut to input_mask's length, and its framing
 * [CLS] ... [SEP] dropped, so that "A [SEP] B" is one document: zeropt masks
 * dynamically and frames windows itself. Segment ids and next-sentence
 * labels have no use here and are not kept. Rows are read in blocks by
 * hyperslab; a unit is a range of rows.
 */
#ifndef ZEROPT_BERTSHARD_H
#define ZEROPT_BERTSHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct BertShard BertShard;

/* The number of samples of a shard, checking its layout. 0 on success. */
int bs_rows(const char *path, int64_t *rows, char *err, size_t errlen);
/* Rows [begin, end) (end < 0: all); ids must be < vocab; cls, sep: the
 * framing ids to drop (−1: none). NULL + err on failure. */
BertShard *bs_open(const char *path, int64_t begin, int64_t end, int vocab, int cls, int sep,
                   char *err, size_t errlen);
/* The next sample's tokens (valid until the next call) and its row: 1, or 0
 * at the end, −1 and err on a bad value or read. */
int bs_next(BertShard *b, const int32_t **ids, size_t *n, int64_t *row, char *err, size_t errlen);
void bs_close(BertShard *b);

#endif
