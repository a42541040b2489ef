/*
 * spans.c — salient spans of a tokenized document (see spans.h).
 */
#include "spans.h"

#include "mpi/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_WORD = 1,     /* begins a word: its text starts with a space */
    F_UPPER = 2,    /* its first letter is upper case (ASCII or a multi-byte letter) */
    F_DIGIT = 4,    /* its first visible character is a digit */
    F_CONT = 8,     /* continues a word: no space, starts with a letter or digit */
    F_END = 16,     /* ends a sentence: '.', '!' or '?' in its text */
    F_NEWLINE = 32, /* holds a newline: the next word starts a line */
};

struct SpanDetector {
    int n;
    uint8_t *flag;
};

SpanDetector *spans_new(const Tokenizer *t) {
    SpanDetector *s = z_calloc(1, sizeof *s, "span detector");
    s->n = tok_vocab_size(t);
    s->flag = z_calloc((size_t)s->n, 1, "span detector");
    for (int id = 0; id < s->n; id++) {
        size_t len;
        char *p = tok_piece_text(t, id, &len);
        size_t i = 0;
        uint8_t f = 0;
        if (len && p[0] == ' ') f |= F_WORD, i = 1;
        unsigned char c = i < len ? (unsigned char)p[i] : 0;
        if (isdigit(c)) f |= F_DIGIT;
        if (isupper(c)) f |= F_UPPER;
        if (!(f & F_WORD) && (isalnum(c) || c >= 0x80)) f |= F_CONT;
        for (size_t k = 0; k < len; k++) {
            if (p[k] == '.' || p[k] == '!' || p[k] == '?') f |= F_END;
            if (p[k] == '\n') f |= F_NEWLINE;
        }
        s->flag[id] = f;
        free(p);
    }
    return s;
}

void spans_free(SpanDetector *s) {
    if (!s) return;
    free(s->flag);
    free(s);
}

static uint8_t flag_of(const SpanDetector *s, int32_t id) {
    return id >= 0 && id < s->n ? s->flag[id] : 0;
}

size_t spans_find(const SpanDetector *s, const int32_t *ids, size_t n, int64_t *out, size_t max) {
    size_t got = 0, t = 0;
    int sentence_start = 1; /* the document's start, or after '.', '!', '?' or a newline */
    while (t < n && got < max) {
        uint8_t f = flag_of(s, ids[t]);
        int begins = (f & F_WORD) || t == 0 || (flag_of(s, ids[t - 1]) & F_NEWLINE);
        if (!begins || !(f & (F_UPPER | F_DIGIT))) {
            if (f & (F_END | F_NEWLINE))
                sentence_start = 1;
            else if (f & (F_WORD | F_CONT))
                sentence_start = 0;
            t++;
            continue;
        }
        size_t a = t, words = 1;
        int kind = f & F_DIGIT ? SPAN_NUMBER : SPAN_NAME;
        t++;
        for (; t < n; t++) { /* the word's continuations, then more capitalised words */
            uint8_t g = flag_of(s, ids[t]);
            if (g & F_CONT) continue;
            if ((g & F_WORD) && (g & (F_UPPER | F_DIGIT))) {
                words++;
                continue;
            }
            break;
        }
        int lone_start = sentence_start && words == 1 && kind == SPAN_NAME;
        if (!lone_start) {
            out[3 * got] = (int64_t)a, out[3 * got + 1] = (int64_t)t, out[3 * got + 2] = kind;
            got++;
        }
        sentence_start = (flag_of(s, ids[t - 1]) & (F_END | F_NEWLINE)) != 0;
    }
    return got;
}
