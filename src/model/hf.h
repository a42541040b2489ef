/*
 * hf.h — Hugging Face layouts: zeropt's model as BertForMaskedLM (post-LN
 * encoder) or GPT2LMHeadModel (pre-LN decoder) safetensors + config.json, and
 * back. The mapping per tensor: BERT splits the fused qkv into query, key and
 * value; GPT-2's Conv1D stores [in, out], the transpose of our Linear.
 */
#ifndef ZEROPT_HF_H
#define ZEROPT_HF_H

#include "model.h"

#include <stddef.h>

/* Write dir/model.safetensors (F32, or BF16 when bf16) and dir/config.json
 * (its torch_dtype says which) for a model whose unit params are full
 * buffers. 0 on success; err says why otherwise (e.g. a pre-LN encoder has
 * no BertForMaskedLM equivalent). */
typedef struct {
    int pad, bos, eos; /* token ids for config.json; −1: none known */
} HfTokenIds;
int hf_export(const Model *m, const char *dir, int bf16, HfTokenIds ids, char *err, size_t errlen);

/* The transformers class an export loads as: BertForMaskedLM,
 * RobertaForMaskedLM or GPT2LMHeadModel. */
const char *hf_class(const Model *m);

/* Model configuration from dir/config.json (model_type bert or gpt2). */
int hf_read_config(const char *dir, ModelConfig *c, char *err, size_t errlen);

/* What to do with BERT's MLM head (cls.predictions.*): HF_HEAD_TIE loads it
 * when the file has it and otherwise starts one as transformers does (the
 * decoder tied to the word embeddings, the transform N(0, initializer_range),
 * LayerNorm 1/0, biases 0); HF_HEAD_INIT always starts a fresh one;
 * HF_HEAD_REQUIRE refuses a file without one. */
enum { HF_HEAD_TIE, HF_HEAD_INIT, HF_HEAD_REQUIRE };

/* Fill the full unit buffers of m (layout from hf_read_config) from
 * dir/model.safetensors or the shards dir/model.safetensors.index.json
 * lists. Names with or without the "bert." / "transformer." prefix are
 * accepted, LayerNorm weights also as gamma/beta (the original BERT
 * release). *head_started: 1 when the head was started rather than read. */
int hf_import(Model *m, const char *dir, int head, int *head_started, char *err, size_t errlen);

#endif
