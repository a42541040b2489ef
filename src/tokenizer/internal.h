/*
 * internal.h — private to src/tokenizer/: the Tokenizer's fields and the
 * helpers its files share (pretok.c: UTF-8 and the GPT-2 pre-tokenizer;
 * bpe.c: the vocabulary, merges, encode and decode; json.c: tokenizer.json;
 * train.c: learning merges).
 */
#ifndef ZEROPT_TOKENIZER_INTERNAL_H
#define ZEROPT_TOKENIZER_INTERNAL_H

#include "map.h"
#include "tokenizer.h"

#include <stddef.h>
#include <stdint.h>

#define NSPECIAL 6
extern const char *const TOK_SPECIAL[NSPECIAL];
#define MAX_ID (1 << 21) /* ids in files from here on are refused */

typedef struct {
    int id, special;
    int lstrip, rstrip, single_word; /* HF's matching options of an added token */
} Added;

struct Tokenizer {
    int ntok, captok;
    char **str;              /* id -> token string (byte-level alphabet), NULL for a hole */
    uint32_t *len;           /* its length in bytes */
    char **raw;              /* id -> the bytes it decodes to */
    uint32_t *rawlen;        /* their number */
    unsigned char *in_vocab; /* 1: in model.vocab (not only an added token) */
    SMap vocab;              /* model.vocab: string -> id */
    U64Map merges;           /* (a, b) -> rank << 32 | merged id */
    int32_t *ma, *mb;        /* merges in rank order */
    size_t nmerges, capmerges;
    Added *added;
    int nadded;
    int byte_id[256];
    int add_prefix_space, trim_offsets, use_regex;
};

/* pretok.c: the code point at s[0..n) and its length; invalid UTF-8 gives (-1, 1). */
int32_t tok_utf8_decode(const unsigned char *s, size_t n, int *len);
/* bpe.c */
int tok_byte_to_cp(int b);             /* GPT-2's bytes_to_unicode */
int tok_put_utf8(int32_t cp, char *o); /* its UTF-8 (1 or 2 bytes) */
Tokenizer *tok_alloc(void);
void tok_grow_ids(Tokenizer *t, int need);
void tok_set_token(Tokenizer *t, int id, const char *s, size_t n, int vocab);
int tok_vocab_id(const Tokenizer *t, const char *s, size_t n);
uint64_t tok_pair_key(int a, int b);
void tok_add_merge_entry(Tokenizer *t, int a, int b, int id);

#endif
