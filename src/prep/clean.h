/*
 * clean.h — document cleaning for `zeropt prep --clean`: Unicode
 * normalisation and document-level quality rules in the style of Gopher
 * (Rae et al. 2021, appendix A) and C4, each configurable and counted.
 *
 * Normalisation: NFKC (utf8proc); control characters other than newline and
 * tab removed; runs of spaces and tabs inside a line made one space, line
 * ends trimmed, runs of blank lines made one.
 *
 * Rules (a document failing one is dropped and counted under its first
 * failed rule, in this order; a bound of 0 turns its rule off):
 *   words         min_words ≤ words ≤ max_words
 *   word_length   min_mean_word ≤ mean word length (characters) ≤ max_mean_word
 *   symbols       ('#' + "..." + "…") per word ≤ max_symbol_ratio
 *   ellipsis      lines ending in "..." or "…", as a fraction of lines ≤ max_ellipsis_lines
 *   bullets       lines starting with a bullet (•, ·, -, *, ‣), fraction ≤ max_bullet_lines
 *   alpha         words holding a letter, fraction ≥ min_alpha_words
 *   stop_words    at least min_stop_words of the, be, to, of, and, that, have, with
 *   dup_lines     lines equal to an earlier line, fraction ≤ max_dup_lines
 *   top_ngram     characters in the most frequent word 2-, 3- and 4-gram, fraction
 *                 ≤ max_top_2gram, max_top_3gram, max_top_4gram
 *   bad_words     none of a word list's words (case-folded, whole words)
 */
#ifndef ZEROPT_CLEAN_H
#define ZEROPT_CLEAN_H

#include <stddef.h>

enum {
    CLEAN_WORDS,
    CLEAN_WORD_LENGTH,
    CLEAN_SYMBOLS,
    CLEAN_ELLIPSIS,
    CLEAN_BULLETS,
    CLEAN_ALPHA,
    CLEAN_STOP_WORDS,
    CLEAN_DUP_LINES,
    CLEAN_TOP_NGRAM,
    CLEAN_BAD_WORDS,
    CLEAN_NRULES
};

typedef struct {
    int normalize;
    double min_words, max_words, min_mean_word, max_mean_word, max_symbol_ratio;
    double max_ellipsis_lines, max_bullet_lines, min_alpha_words, min_stop_words;
    double max_dup_lines, max_top_2gram, max_top_3gram, max_top_4gram;
    char **bad_words; /* sorted, lower case; NULL: none */
    size_t nbad;
} CleanRules;

/* Gopher's values: 50–100,000 words, mean word length 3–10, symbols 0.1,
 * ellipsis lines 0.3, bullet lines 0.9, alphabetic words 0.8, 2 stop words,
 * duplicate lines 0.3, top n-grams 0.20 / 0.18 / 0.16; normalisation on. */
void clean_default_rules(CleanRules *r);
/* "name=value" (a field of CleanRules by its name, e.g. min_words=5); 0 on
 * success, −1 and err for an unknown name or a bad value. */
int clean_set_rule(CleanRules *r, const char *assignment, char *err, size_t errlen);
/* A word list, one word per line, into the rules. 0 on success. */
int clean_load_bad_words(CleanRules *r, const char *path, char *err, size_t errlen);
void clean_free_rules(CleanRules *r);
const char *clean_rule_name(int rule);

/* Normalise text[0, n) (when the rules say so) into *out (malloc'd, its
 * length in *outlen) and judge it: −1 when kept, else the first rule it
 * fails. */
int clean_doc(const CleanRules *r, const char *text, size_t n, char **out, size_t *outlen);

#endif
