/*
 * clean.c — normalisation and the document rules of `prep --clean` (see
 * clean.h).
 */
#include "clean.h"

#include "mpi/err.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static const char *const NAMES[CLEAN_NRULES] = {
    "words", "word_length", "symbols",   "ellipsis",  "bullets",
    "alpha", "stop_words",  "dup_lines", "top_ngram", "bad_words"};

const char *clean_rule_name(int rule) {
    return rule >= 0 && rule < CLEAN_NRULES ? NAMES[rule] : "?";
}

void clean_default_rules(CleanRules *r) {
    memset(r, 0, sizeof *r);
    r->normalize = 1;
    r->min_words = 50, r->max_words = 100000, r->min_mean_word = 3, r->max_mean_word = 10;
    r->max_symbol_ratio = 0.1, r->max_ellipsis_lines = 0.3, r->max_bullet_lines = 0.9;
    r->min_alpha_words = 0.8, r->min_stop_words = 2, r->max_dup_lines = 0.3;
    r->max_top_2gram = 0.20, r->max_top_3gram = 0.18, r->max_top_4gram = 0.16;
}

int clean_set_rule(CleanRules *r, const char *a, char *err, size_t errlen) {
    static const struct {
        const char *name;
        size_t off;
    } F[] = {{"min_words", offsetof(CleanRules, min_words)},
             {"max_words", offsetof(CleanRules, max_words)},
             {"min_mean_word", offsetof(CleanRules, min_mean_word)},
             {"max_mean_word", offsetof(CleanRules, max_mean_word)},
             {"max_symbol_ratio", offsetof(CleanRules, max_symbol_ratio)},
             {"max_ellipsis_lines", offsetof(CleanRules, max_ellipsis_lines)},
             {"max_bullet_lines", offsetof(CleanRules, max_bullet_lines)},
             {"min_alpha_words", offsetof(CleanRules, min_alpha_words)},
             {"min_stop_words", offsetof(CleanRules, min_stop_words)},
             {"max_dup_lines", offsetof(CleanRules, max_dup_lines)},
             {"max_top_2gram", offsetof(CleanRules, max_top_2gram)},
             {"max_top_3gram", offsetof(CleanRules, max_top_3gram)},
             {"max_top_4gram", offsetof(CleanRules, max_top_4gram)}};
    const char *eq = strchr(a, '=');
    if (!eq) return z_fail(err, errlen, "--clean-rule %s: expected name=value", a);
    char *end;
    double v = strtod(eq + 1, &end);
    if (*end || eq[1] == 0 || !isfinite(v) || v < 0)
        return z_fail(err, errlen, "--clean-rule %s: the value must be a number >= 0", a);
    if ((size_t)(eq - a) == 9 && !strncmp(a, "normalize", 9)) {
        r->normalize = v != 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof F / sizeof *F; i++)
        if (strlen(F[i].name) == (size_t)(eq - a) && !strncmp(a, F[i].name, (size_t)(eq - a))) {
            *(double *)((char *)r + F[i].off) = v;
            return 0;
        }
    return z_fail(err, errlen,
                  "--clean-rule %s: unknown rule (normalize, min_words, max_words, "
                  "min_mean_word, max_mean_word, max_symbol_ratio, max_ellipsis_lines, "
                  "max_bullet_lines, min_alpha_words, min_stop_words, max_dup_lines, "
                  "max_top_2gram, max_top_3gram, max_top_4gram)",
                  a);
}

static int by_string(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* lower-case ASCII, without leading and trailing ASCII punctuation */
static size_t fold(const char *w, size_t n, char *out) {
    while (n && ispunct((unsigned char)w[0])) w++, n--;
    while (n && ispunct((unsigned char)w[n - 1])) n--;
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)w[i]);
    out[n] = 0;
    return n;
}

int clean_load_bad_words(CleanRules *r, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) return z_fail(err, errlen, "%s: cannot open the word list", path);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *w = z_malloc((size_t)len + 1, "word");
        size_t k = fold(line, strcspn(line, "\r\n"), w);
        if (!k) {
            free(w);
            continue;
        }
        r->bad_words = realloc(r->bad_words, (n + 1) * sizeof *r->bad_words);
        if (!r->bad_words) z_die("out of memory (word list)");
        r->bad_words[n++] = w;
    }
    free(line);
    fclose(f);
    qsort(r->bad_words, n, sizeof *r->bad_words, by_string);
    r->nbad = n;
    return 0;
}

void clean_free_rules(CleanRules *r) {
    for (size_t i = 0; i < r->nbad; i++) free(r->bad_words[i]);
    free(r->bad_words);
    r->bad_words = NULL, r->nbad = 0;
}

/* ------------------------------------------------------------------------- */
/* normalisation                                                               */

typedef struct {
    char *p;
    size_t n, cap;
} Out;

static void put(Out *o, const char *s, size_t n) {
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2;
        o->p = realloc(o->p, o->cap);
        if (!o->p) z_die("out of memory (cleaning)");
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = 0;
}

/* NFKC, control characters out, spaces within lines collapsed, lines
 * trimmed, blank-line runs made one */
static void normalize(const char *text, size_t n, Out *o) {
    utf8proc_uint8_t *nf = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)n, &nf,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    const char *s = m >= 0 ? (const char *)nf : text; /* invalid UTF-8: as it is */
    size_t len = m >= 0 ? (size_t)m : n;
    int space = 0, blank = 0, line_has = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0) k = 1, cp = (unsigned char)s[i]; /* a stray byte: kept */
        if (cp == '\n') {
            if (line_has)
                put(o, "\n", 1), blank = 0;
            else if (o->n && !blank)
                put(o, "\n", 1), blank = 1;
            space = 0, line_has = 0;
        } else if (cp == ' ' || cp == '\t' || utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS) {
            space = line_has;
        } else if (utf8proc_category(cp) != UTF8PROC_CATEGORY_CC) {
            if (space) put(o, " ", 1);
            put(o, s + i, (size_t)k);
            space = 0, line_has = 1;
        }
        i += (size_t)k;
    }
    while (o->n && o->p[o->n - 1] == '\n') o->p[--o->n] = 0;
    free(nf);
}

/* ------------------------------------------------------------------------- */
/* rules                                                                       */

static int is_ws(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static size_t chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static int has_letter(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) return 0;
        utf8proc_category_t c = utf8proc_category(cp);
        if (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) return 1;
        i += (size_t)k;
    }
    return 0;
}

static uint64_t fnv(const char *s, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* the largest count of one 64-bit key among keys[0, n) (sorted in place) */
static int by_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *s;
    size_t n, c; /* bytes, characters */
} Word;

/* the fraction of the words' characters inside the most frequent n-gram */
static double top_ngram(const Word *w, size_t nw, int n, size_t total) {
    if (nw < (size_t)n || !total) return 0;
    size_t m = nw - (size_t)n + 1;
    uint64_t *key = z_malloc(m * sizeof *key, "n-grams");
    for (size_t i = 0; i < m; i++) {
        uint64_t h = 1469598103934665603ull;
        for (int j = 0; j < n; j++) h = fnv(w[i + j].s, w[i + j].n, h) * 31 + 0x20;
        key[i] = h;
    }
    uint64_t *sorted = z_malloc(m * sizeof *sorted, "n-grams");
    memcpy(sorted, key, m * sizeof *key);
    qsort(sorted, m, sizeof *sorted, by_u64);
    uint64_t best = sorted[0];
    size_t run = 1, top = 1;
    for (size_t i = 1; i < m; i++) {
        run = sorted[i] == sorted[i - 1] ? run + 1 : 1;
        if (run > top) top = run, best = sorted[i];
    }
    size_t len = 0; /* the characters of one occurrence */
    for (size_t i = 0; i < m && !len; i++)
        if (key[i] == best)
            for (int j = 0; j < n; j++) len += w[i + j].c;
    free(key), free(sorted);
    return top > 1 ? (double)(top * len) / (double)total : 0;
}

static int judge(const CleanRules *r, const char *s, size_t n) {
    /* words */
    size_t nw = 0, cap = 256, total = 0, alpha = 0, symbols = 0;
    Word *w = z_malloc(cap * sizeof *w, "words");
    for (size_t i = 0; i < n;) {
        while (i < n && is_ws(s[i])) i++;
        size_t a = i;
        while (i < n && !is_ws(s[i])) i++;
        if (i == a) continue;
        if (nw == cap) w = realloc(w, (cap *= 2) * sizeof *w);
        if (!w) z_die("out of memory (words)");
        w[nw] = (Word){s + a, i - a, chars(s + a, i - a)};
        total += w[nw].c, alpha += has_letter(s + a, i - a), nw++;
    }
    for (size_t i = 0; i < n; i++) {
        symbols += s[i] == '#';
        if (i + 3 <= n && !memcmp(s + i, "...", 3))
            symbols++, i += 2;
        else if (i + 3 <= n && !memcmp(s + i, "\xE2\x80\xA6", 3))
            symbols++, i += 2;
    }
    int rule = -1;
    double mean = nw ? (double)total / nw : 0;
    if ((r->min_words > 0 && nw < r->min_words) || (r->max_words > 0 && nw > r->max_words))
        rule = CLEAN_WORDS;
    else if ((r->min_mean_word > 0 && mean < r->min_mean_word) ||
             (r->max_mean_word > 0 && mean > r->max_mean_word))
        rule = CLEAN_WORD_LENGTH;
    else if (r->max_symbol_ratio > 0 && nw && (double)symbols / nw > r->max_symbol_ratio)
        rule = CLEAN_SYMBOLS;
    if (rule < 0) { /* lines */
        size_t lines = 0, ell = 0, bullets = 0, dup = 0, lcap = 64;
        uint64_t *seen = z_malloc(lcap * sizeof *seen, "lines");
        for (size_t i = 0; i < n;) {
            size_t a = i;
            while (i < n && s[i] != '\n') i++;
            size_t e = i++;
            while (a < e && (s[a] == ' ' || s[a] == '\t')) a++;
            while (e > a && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
            if (e == a) continue;
            const char *l = s + a;
            size_t ln = e - a;
            ell += (ln >= 3 && !memcmp(l + ln - 3, "...", 3)) ||
                   (ln >= 3 && !memcmp(l + ln - 3, "\xE2\x80\xA6", 3));
            bullets +=
                l[0] == '-' || l[0] == '*' || (ln >= 2 && !memcmp(l, "\xC2\xB7", 2)) ||
                (ln >= 3 && (!memcmp(l, "\xE2\x80\xA2", 3) || !memcmp(l, "\xE2\x80\xA3", 3)));
            if (lines == lcap) seen = realloc(seen, (lcap *= 2) * sizeof *seen);
            if (!seen) z_die("out of memory (lines)");
            seen[lines++] = fnv(l, ln, 1469598103934665603ull);
        }
        qsort(seen, lines, sizeof *seen, by_u64); /* lines equal to an earlier one */
        for (size_t k = 1; k < lines; k++) dup += seen[k] == seen[k - 1];
        free(seen);
        if (lines && r->max_ellipsis_lines > 0 && (double)ell / lines > r->max_ellipsis_lines)
            rule = CLEAN_ELLIPSIS;
        else if (lines && r->max_bullet_lines > 0 && (double)bullets / lines > r->max_bullet_lines)
            rule = CLEAN_BULLETS;
        else if (r->min_alpha_words > 0 && nw && (double)alpha / nw < r->min_alpha_words)
            rule = CLEAN_ALPHA;
        if (rule < 0 && r->min_stop_words > 0) {
            static const char *stop[] = {"the", "be", "to", "of", "and", "that", "have", "with"};
            int found[8] = {0}, distinct = 0;
            char buf[16];
            for (size_t i = 0; i < nw; i++) {
                if (w[i].n >= sizeof buf) continue;
                fold(w[i].s, w[i].n, buf);
                for (int k = 0; k < 8; k++)
                    if (!found[k] && !strcmp(buf, stop[k])) found[k] = 1, distinct++;
            }
            if (distinct < r->min_stop_words) rule = CLEAN_STOP_WORDS;
        }
        if (rule < 0 && lines && r->max_dup_lines > 0 && (double)dup / lines > r->max_dup_lines)
            rule = CLEAN_DUP_LINES;
    }
    if (rule < 0) {
        const double lim[3] = {r->max_top_2gram, r->max_top_3gram, r->max_top_4gram};
        for (int g = 0; g < 3 && rule < 0; g++)
            if (lim[g] > 0 && top_ngram(w, nw, g + 2, total) > lim[g]) rule = CLEAN_TOP_NGRAM;
    }
    if (rule < 0 && r->nbad) {
        for (size_t i = 0; i < nw && rule < 0; i++) {
            char *buf = z_malloc(w[i].n + 1, "word");
            fold(w[i].s, w[i].n, buf);
            char *key = buf;
            if (*buf && bsearch(&key, r->bad_words, r->nbad, sizeof *r->bad_words, by_string))
                rule = CLEAN_BAD_WORDS;
            free(buf);
        }
    }
    free(w);
    return rule;
}

int clean_doc(const CleanRules *r, const char *text, size_t n, char **out, size_t *outlen) {
    Out o = {0};
    if (r->normalize)
        normalize(text, n, &o);
    else
        put(&o, text, n);
    if (!o.p) put(&o, "", 0);
    *out = o.p, *outlen = o.n;
    return judge(r, o.p, o.n);
}
