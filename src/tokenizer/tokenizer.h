/*
 * tokenizer.h — byte-level BPE (GPT-2 / RoBERTa style) that trains a
 * vocabulary from text and reads and writes Hugging Face's tokenizer.json, so
 * HF `tokenizers` loads our files and produces the same ids; and BERT's
 * WordPiece (BertNormalizer, BertPreTokenizer, WordPiece model and decoder)
 * from a tokenizer.json or a plain vocab.txt, giving the ids HF gives.
 *
 * Id layout of a trained vocabulary: the special tokens first
 * ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 <|endoftext|>=5), then the 256
 * byte symbols, then one token per merge in merge order.
 */
#ifndef ZEROPT_TOKENIZER_H
#define ZEROPT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct Tokenizer Tokenizer;

/* Special-token ids; -1 where the vocabulary has none. */
typedef struct {
    int pad, unk, cls, sep, mask, bos, eos;
} SpecialIds;

/* Learn merges from documents until the vocabulary has vocab_size entries
 * (or no pair occurs at least min_frequency times). */
Tokenizer *tok_train(const char *const *docs, const size_t *lens, size_t ndocs, int vocab_size,
                     int min_frequency);
/* A WordPiece vocabulary as HF's WordPieceTrainer learns one: words of the
 * BertNormalizer (lower-casing and accent stripping when lowercase) and
 * BertPreTokenizer; [PAD] [UNK] [CLS] [SEP] [MASK] first, then every
 * character of the words and its ## continuation form, then BPE merges
 * over those symbols (a merge of x and ##y makes xy) until vocab_size
 * tokens or no pair occurs min_frequency times. HF assigns the ids of the
 * ## forms in hash-table order (its vocabulary differs from run to run); we
 * assign them by code point, so the same text always gives the same file. */
Tokenizer *tok_train_wordpiece(const char *const *docs, const size_t *lens, size_t ndocs,
                               int vocab_size, int min_frequency, int lowercase);
/* Parse tokenizer.json text (ours, or an HF byte-level BPE one). On failure
 * returns NULL and writes the reason to err. */
Tokenizer *tok_from_json(const char *json, size_t len, char *err, size_t errlen);
/* A tokenizer.json, or (a file not named *.json whose text does not start
 * with '{') BERT's vocab.txt, with the tokenizer_config.json beside it when there is one. */
Tokenizer *tok_load(const char *path, char *err, size_t errlen);
/* "bpe" or "wordpiece" */
const char *tok_kind(const Tokenizer *t);
/* HF tokenizer.json text (malloc'd). */
char *tok_to_json(const Tokenizer *t);
int tok_save(const Tokenizer *t, const char *path); /* 0 on success */
/* An HF tokenizer folder in dir: tokenizer.json, tokenizer_config.json and
 * special_tokens_map.json (the special tokens by role), so AutoTokenizer
 * loads it. framed (an encoder's): one sequence encodes as cls … sep, as
 * zeropt frames it ([CLS] … [SEP], or <s> … </s>). 0 on success; err names
 * the file otherwise. */
int tok_save_pretrained(const Tokenizer *t, const char *dir, int model_max_length, int framed,
                        char *err, size_t errlen);
void tok_free(Tokenizer *t);

int tok_vocab_size(const Tokenizer *t);
SpecialIds tok_specials(const Tokenizer *t);
const char *tok_id_to_token(const Tokenizer *t, int id);

/* Encode UTF-8 text (no special tokens added around it; any bytes are
 * accepted) with HF's defaults: added tokens in the text — "[SEP]",
 * "<|endoftext|>" — become their ids (HF's encode_special_tokens = False).
 * The ids are written to (*out)[0..n), the buffer grown with realloc
 * (capacity in *cap; *out may start NULL with *cap 0); returns n.
 * Thread-safe: t is only read. */
size_t tok_encode(const Tokenizer *t, const char *text, size_t len, int32_t **out, size_t *cap);
/* The same; special_as_text = 1 encodes the special tokens' strings as plain
 * text (HF's encode_special_tokens = True; added tokens that are not special
 * still match). */
size_t tok_encode_opt(const Tokenizer *t, const char *text, size_t len, int special_as_text,
                      int32_t **out, size_t *cap);
/* Decode ids back to text (malloc'd, NUL-terminated): the exact bytes the
 * tokens stand for (not UTF-8-repaired); ids outside the vocabulary give
 * nothing. */
char *tok_decode(const Tokenizer *t, const int32_t *ids, size_t n);
/* The same, with its length in *len (the text holds NUL bytes where the ids
 * encode them). WordPiece ids decode as HF's WordPiece decoder does ("##"
 * pieces joined, spaces between words, its cleanup of spaces before
 * punctuation), special tokens as their strings. */
char *tok_decode_len(const Tokenizer *t, const int32_t *ids, size_t n, size_t *len);
/* The text one token adds to running text (malloc'd, length in *len): BPE
 * its bytes (" word" with its space); WordPiece " word" for a word's first
 * piece, "ing" for "##ing". */
char *tok_piece_text(const Tokenizer *t, int32_t id, size_t *len);
/* 1 when the token continues the word before it: its text does not start
 * with whitespace (WordPiece: a "##" piece; byte-level BPE: a token without
 * its leading space, punctuation included, as fairseq's whole-word masking
 * reads GPT-2 BPE). Whole-word and span masking group tokens by it. */
int tok_continues_word(const Tokenizer *t, int32_t id);

/* Building blocks, shared by tokenizer.c and tokenizer_train.c. */

/* End of the pre-tokenization piece (GPT-2 regex) that starts at pos < len. */
size_t tok_piece_end(const char *text, size_t len, size_t pos);
/* The 6 special tokens and the 256 byte symbols, no merges. */
Tokenizer *tok_new_base(void);
/* Id of byte b's symbol. */
int tok_byte_id(const Tokenizer *t, unsigned char b);
/* Append the merge (a, b) (a pair not merged yet); returns the id of the
 * token a+b, new unless that string is already in the vocabulary. */
int tok_add_merge(Tokenizer *t, int a, int b);

#endif
