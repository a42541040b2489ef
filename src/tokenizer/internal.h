/*
 * internal.h — private to src/tokenizer/: the Tokenizer's fields and the
 * helpers its files share (pretok.c: UTF-8 and the GPT-2 pre-tokenizer;
 * bpe.c: the vocabulary, merges, encode and decode; json.c: tokenizer.json;
 * train.c: learning merges; wordpiece.c: BERT's normalizer, pre-tokenizer,
 * WordPiece model and decoder, and vocab.txt).
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
    int normalized;                  /* matched in the normalized text (WordPiece only) */
    char *norm;                      /* then: its content normalized, and its length */
    size_t normlen;
} Added;

enum { TOK_BPE, TOK_WORDPIECE };

/* BERT's pipeline: BertNormalizer, BertPreTokenizer, WordPiece model and
 * decoder (HF's option names). strip_accents −1: follow lowercase. */
typedef struct {
    int clean_text, handle_chinese, strip_accents, lowercase;
    int unk;             /* id of unk_token */
    int max_chars;       /* max_input_chars_per_word */
    char prefix[16];     /* continuing_subword_prefix */
    int decoder;         /* 1: a WordPiece decoder; 0: none (tokens joined by spaces) */
    char dec_prefix[16]; /* its prefix */
    int cleanup;         /* its cleanup */
} WordPiece;

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
    int kind; /* TOK_BPE or TOK_WORDPIECE */
    WordPiece wp;
};

/* pretok.c: the code point at s[0..n) and its length; invalid UTF-8 gives (-1, 1). */
int32_t tok_utf8_decode(const unsigned char *s, size_t n, int *len);
/* pretok.c: Unicode's White_Space (Rust's char::is_whitespace). */
int tok_is_white_space(int32_t cp);
int tok_wp_is_punct(int32_t cp); /* BertPreTokenizer's punctuation */
/* bpe.c */
int tok_byte_to_cp(int b);             /* GPT-2's bytes_to_unicode */
int tok_put_utf8(int32_t cp, char *o); /* its UTF-8 (1 or 2 bytes) */
Tokenizer *tok_alloc(void);
void tok_grow_ids(Tokenizer *t, int need);
void tok_set_token(Tokenizer *t, int id, const char *s, size_t n, int vocab);
int tok_vocab_id(const Tokenizer *t, const char *s, size_t n);
uint64_t tok_pair_key(int a, int b);
void tok_add_merge_entry(Tokenizer *t, int a, int b, int id);
void tok_reserve_ids(int32_t **out, size_t *cap, size_t need);
/* The added token matched at text[i] (HF's AddedVocabulary: leftmost-longest,
 * honouring single_word) among the raw ones (normalized = 0: those matched
 * before normalization; 1: WordPiece's normalized ones, by their normalized
 * content), or −1; skip_special leaves special ones to the text. */
int tok_added_at(const Tokenizer *t, const char *text, size_t len, size_t i, int skip_special,
                 int normalized);
/* Split text by added tokens of one kind (as tok_added_at), ids of the
 * stretches between them from stretch(). */
void tok_split_added(const Tokenizer *t, const char *text, size_t len, int skip_special,
                     int normalized, int32_t **out, size_t *cap, size_t *k,
                     void (*stretch)(const Tokenizer *, const char *, size_t, int, int32_t **,
                                     size_t *, size_t *));
/* wordpiece.c */
void tok_wp_defaults(WordPiece *w);
/* BertNormalizer of text[0..len) (malloc'd UTF-8, its length in *n). */
char *tok_wp_normalize(const Tokenizer *t, const char *text, size_t len, size_t *n);
/* Ids of a stretch of raw text without raw added tokens. */
void tok_wp_stretch(const Tokenizer *t, const char *text, size_t len, int skip_special,
                    int32_t **out, size_t *cap, size_t *k);
char *tok_wp_decode(const Tokenizer *t, const int32_t *ids, size_t n, size_t *len);
/* After the vocabulary and added tokens are in: unk id, normalized added
 * tokens' content. 0, or −1 with the reason in err. */
int tok_wp_finish(Tokenizer *t, const char *unk, char *err, size_t errlen);
Tokenizer *tok_wp_from_vocab_txt(const char *text, size_t len, const char *config_json, char *err,
                                 size_t errlen);

#endif
