/*
 * pretok.c — pre-tokenization: UTF-8 decoding, the character classes of the
 * GPT-2 regex (letters, numbers, other; whitespace) from utf8proc, and the
 * regex itself written over code points:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 */
#include "internal.h"

#include <utf8proc.h>

/* ---- UTF-8 and character classes --------------------------------------- */

/* Code point at s[0..n) and its length; invalid UTF-8 gives (-1, 1). */
int32_t tok_utf8_decode(const unsigned char *s, size_t n, int *len) {
    unsigned char b = s[0];
    *len = 1;
    if (b < 0x80) return b;
    int need = b >= 0xC2 && b <= 0xDF   ? 2
               : b >= 0xE0 && b <= 0xEF ? 3
               : b >= 0xF0 && b <= 0xF4 ? 4
                                        : 0;
    if (!need || (size_t)need > n) return -1;
    int32_t cp = b & (0x7F >> need);
    for (int k = 1; k < need; k++) {
        if ((s[k] & 0xC0) != 0x80) return -1;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    static const int32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *len = need;
    return cp;
}

enum { CL_OTHER, CL_LETTER, CL_NUMBER, CL_SPACE };

/* White_Space (= Rust's char::is_whitespace = Oniguruma's Unicode \s). */
int tok_is_white_space(int32_t cp) {
    return (cp >= 9 && cp <= 13) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* \p{L}, \p{N}, \s or anything else (invalid bytes included). */
static int char_class(int32_t cp) {
    if (cp < 0) return CL_OTHER;
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return CL_LETTER;
        if (cp >= '0' && cp <= '9') return CL_NUMBER;
        return tok_is_white_space(cp) ? CL_SPACE : CL_OTHER;
    }
    if (tok_is_white_space(cp)) return CL_SPACE;
    utf8proc_category_t c = utf8proc_category(cp);
    if (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) return CL_LETTER;
    if (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO) return CL_NUMBER;
    return CL_OTHER;
}

static int class_at(const unsigned char *s, size_t n, size_t i, int *len) {
    return char_class(tok_utf8_decode(s + i, n - i, len));
}

/* End of the run of class cl starting at i. */
static size_t run_end(const unsigned char *s, size_t n, size_t i, int cl) {
    int len;
    while (i < n && class_at(s, n, i, &len) == cl) i += (size_t)len;
    return i;
}

/* ---- pre-tokenization: the GPT-2 regex ----------------------------------
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Alternatives are tried in order at pos (leftmost-first, like Oniguruma).
 * A whitespace run followed by a non-space keeps its last character for the
 * next piece (so " word" stays together), unless the run is one character.
 */
static size_t contraction_end(const unsigned char *s, size_t n, size_t i) {
    if (s[i] != '\'' || i + 1 >= n) return 0;
    unsigned char c = s[i + 1], d = i + 2 < n ? s[i + 2] : 0;
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return i + 2;
    if ((c == 'r' && d == 'e') || (c == 'v' && d == 'e') || (c == 'l' && d == 'l')) return i + 3;
    return 0;
}

size_t tok_piece_end(const char *text, size_t n, size_t i) {
    const unsigned char *s = (const unsigned char *)text;
    int len, cl;
    size_t e = contraction_end(s, n, i);
    if (e) return e;
    if (s[i] == ' ' && i + 1 < n && (cl = class_at(s, n, i + 1, &len)) != CL_SPACE)
        return run_end(s, n, i + 1, cl); /* " ?\p{L}+" etc. with the space */
    if ((cl = class_at(s, n, i, &len)) != CL_SPACE) return run_end(s, n, i, cl);
    size_t last = i; /* start of the run's last character */
    e = i;
    while (e < n && class_at(s, n, e, &len) == CL_SPACE) {
        last = e;
        e += (size_t)len;
    }
    return e < n && last > i ? last : e;
}
