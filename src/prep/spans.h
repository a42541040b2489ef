/*
 * spans.h — salient spans of a tokenized document, for salient-span masking
 * (REALM): runs of capitalised words (names, titles, places) and of numbers
 * (dates, amounts), found on the tokens with the tokenizer's own word
 * boundaries. A span starts at a token that begins a word (its text starts
 * with a space, or it is the document's first) and whose first letter is
 * upper case (kind SPAN_NAME) or a digit (SPAN_NUMBER); it takes the word's
 * continuation tokens and then every following word that also starts
 * capitalised or with a digit ("New York", "March 3, 1999" as "March 3" and
 * "1999"). A single capitalised word at a sentence start ("The") is not a
 * span. Heuristic, not a named-entity recogniser: what REALM's masking needs
 * is spans worth predicting, and these are mostly names and numbers.
 */
#ifndef ZEROPT_SPANS_H
#define ZEROPT_SPANS_H

#include "src/tokenizer/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

enum { SPAN_NAME = 1, SPAN_NUMBER = 2 };

typedef struct SpanDetector SpanDetector;

/* Per-token facts of a vocabulary, computed once. */
SpanDetector *spans_new(const Tokenizer *t);
void spans_free(SpanDetector *s);
/* The spans of ids[0, n) into out[3·i ..] = (start, end, kind); returns how
 * many (at most max). */
size_t spans_find(const SpanDetector *s, const int32_t *ids, size_t n, int64_t *out, size_t max);

#endif
