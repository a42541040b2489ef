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
int hf_export(const Model *m, const char *dir, int bf16, char *err, size_t errlen);

/* Model configuration from dir/config.json (model_type bert or gpt2). */
int hf_read_config(const char *dir, ModelConfig *c, char *err, size_t errlen);

/* Fill the full unit buffers of m (layout from hf_read_config) from
 * dir/model.safetensors. Names with or without the "bert." / "transformer."
 * prefix are accepted. */
int hf_import(Model *m, const char *dir, char *err, size_t errlen);

#endif
