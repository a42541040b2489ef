/*
 * source.h — what the model-using commands (generate, fill-mask, embed) and
 * `ckpt` open: a checkpoint (a file, or a directory whose `latest` names
 * one) or a Hugging Face model folder (config.json + safetensors, as
 * `ckpt export` writes and transformers' save_pretrained saves), with the
 * tokenizer that goes with it.
 *
 * The tokenizer, in order: --tokenizer FILE (tokenizer.json or vocab.txt);
 * the folder's tokenizer.json or vocab.txt; for a checkpoint, the one stored
 * in the corpus its config trained on (/tokenizer/json).
 */
#ifndef ZEROPT_SOURCE_H
#define ZEROPT_SOURCE_H

#include "src/model/model.h"
#include "src/tokenizer/tokenizer.h"

#include <stddef.h>

typedef struct {
    Model m;
    Tokenizer *tok; /* NULL when none was asked for */
    char path[4096];
    int hf; /* an HF folder */
} Source;

/* A directory means its `latest` checkpoint (a directory with config.json is
 * an HF folder and is left as it is). */
void cli_resolve_ckpt(const char *arg, char *out, size_t n);
/* Open the model of arg and, when need_tok, its tokenizer (tok_file may be
 * NULL); one line and exit on failure. */
void source_open(Source *s, const char *arg, const char *tok_file, int need_tok);
void source_close(Source *s);
/* A checkpoint's tokenizer: tok_file when given, else its corpus's; when
 * none is found, one line and exit if required, NULL if not. */
Tokenizer *source_ckpt_tokenizer(const char *ckpt, const char *tok_file, int required);

/* ids of text framed as the model's tokenizer frames one sequence for this
 * architecture: [CLS] … [SEP] (BERT; <s> … </s> for RoBERTa-style
 * vocabularies) for encoders, as it is for decoders. *n gets the count. */
int32_t *source_encode(const Source *s, const char *text, size_t *n);

#endif
