/*
 * wordpiece.c — BERT's tokenizer as Hugging Face `tokenizers` runs it:
 * the BertNormalizer (clean text, space around CJK ideographs, NFD and drop
 * the nonspacing marks, lower-case), the BertPreTokenizer (split at
 * whitespace, each punctuation character a word of its own), the WordPiece
 * model (greedy longest match from the start of each word, continuations
 * prefixed "##", the whole word [UNK] when a piece has no match or the word is
 * longer than max_input_chars_per_word characters), the WordPiece decoder,
 * and BERT's plain vocab.txt. Character classes come from utf8proc.
 */
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void tok_wp_defaults(WordPiece *w) {
    memset(w, 0, sizeof *w);
    w->clean_text = w->handle_chinese = w->lowercase = 1;
    w->strip_accents = -1;
    w->unk = -1;
    w->max_chars = 100;
    w->decoder = 1;
    w->cleanup = 1;
    snprintf(w->prefix, sizeof w->prefix, "##");
    snprintf(w->dec_prefix, sizeof w->dec_prefix, "##");
}

/* ---- character classes ----------------------------------------------------- */

/* Rust's char::is_control as `tokenizers` uses it: Unicode's "Other"
 * categories (Cc Cf Cs Co Cn), except tab, newline and carriage return. */
static int is_control(int32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
           c == UTF8PROC_CATEGORY_CS || c == UTF8PROC_CATEGORY_CO;
}

/* The CJK Unified Ideographs blocks (BERT's "Chinese characters"). */
static int is_cjk(int32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* ASCII punctuation or a Unicode P* category. */
int tok_wp_is_punct(int32_t cp) {
    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
               (cp >= 123 && cp <= 126);
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

/* ---- normalizer ------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void put_cp(Buf *b, int32_t cp) {
    if (b->n + 4 >= b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->s = realloc(b->s, b->cap);
        if (!b->s) z_die("out of memory normalizing text");
    }
    b->n += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)b->s + b->n);
}

/* Accent stripping and lower-casing of one character (in that order, as
 * BertNormalizer): NFD, nonspacing marks dropped; Rust's full lower-case
 * mapping, which differs from the simple one only at U+0130. */
static void put_folded(const WordPiece *w, Buf *b, int32_t cp) {
    int32_t d[32];
    int n = 1;
    d[0] = cp;
    if (w->strip_accents) {
        n = (int)utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, NULL);
        if (n < 1 || n > 32) d[0] = cp, n = 1;
    }
    for (int i = 0; i < n; i++) {
        if (w->strip_accents && utf8proc_category(d[i]) == UTF8PROC_CATEGORY_MN) continue;
        if (!w->lowercase) {
            put_cp(b, d[i]);
        } else if (d[i] == 0x130) {
            put_cp(b, 'i');
            put_cp(b, 0x307);
        } else {
            put_cp(b, utf8proc_tolower(d[i]));
        }
    }
}

char *tok_wp_normalize(const Tokenizer *t, const char *text, size_t len, size_t *n) {
    const WordPiece *w = &t->wp;
    Buf b = {NULL, 0, 0};
    put_cp(&b, ' '), b.n = 0; /* allocate */
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        int l;
        int32_t cp = tok_utf8_decode(s + i, len - i, &l);
        i += (size_t)l;
        if (cp < 0) cp = 0xFFFD; /* invalid UTF-8: the replacement character */
        if (w->clean_text) {
            if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
            if (tok_is_white_space(cp)) cp = ' ';
        }
        if (w->handle_chinese && is_cjk(cp)) {
            put_cp(&b, ' ');
            put_folded(w, &b, cp);
            put_cp(&b, ' ');
        } else {
            put_folded(w, &b, cp);
        }
    }
    b.s[b.n] = 0;
    *n = b.n;
    return b.s;
}

/* ---- pre-tokenizer and model ----------------------------------------------- */

#define MAX_WORD_BYTES 4096 /* a longer word is [UNK] whatever max_chars says */

/* WordPiece of one word s[0..n): greedy longest match, continuations with
 * the prefix; the whole word is [UNK] if any piece has no match. */
static void word_ids(const Tokenizer *t, const char *s, size_t n, int32_t **out, size_t *cap,
                     size_t *k) {
    const WordPiece *w = &t->wp;
    size_t start[MAX_WORD_BYTES + 1];
    int nch = 0;
    for (size_t i = 0; i < n && n <= MAX_WORD_BYTES;) {
        int l;
        tok_utf8_decode((const unsigned char *)s + i, n - i, &l);
        start[nch++] = i;
        i += (size_t)l;
    }
    tok_reserve_ids(out, cap, *k + (size_t)nch + 1);
    if (n > MAX_WORD_BYTES || nch > w->max_chars) {
        (*out)[(*k)++] = w->unk;
        return;
    }
    start[nch] = n;
    size_t pl = strlen(w->prefix), k0 = *k;
    char buf[sizeof w->prefix + MAX_WORD_BYTES];
    for (int a = 0; a < nch;) {
        int id = -1, b;
        if (a) memcpy(buf, w->prefix, pl); /* the first piece wrote over it */
        for (b = nch; b > a; b--) {
            size_t off = a ? pl : 0, m = start[b] - start[a];
            memcpy(buf + off, s + start[a], m);
            if ((id = tok_vocab_id(t, buf, off + m)) >= 0) break;
        }
        if (id < 0) {
            *k = k0;
            (*out)[(*k)++] = w->unk;
            return;
        }
        (*out)[(*k)++] = id;
        a = b;
    }
}

/* BertPreTokenizer over normalized text: words end at whitespace, each
 * punctuation character is a word. */
static void pretok_ids(const Tokenizer *t, const char *text, size_t len, int skip_special,
                       int32_t **out, size_t *cap, size_t *k) {
    (void)skip_special;
    const unsigned char *s = (const unsigned char *)text;
    size_t ws = 0;
    for (size_t i = 0; i < len;) {
        int l;
        int32_t cp = tok_utf8_decode(s + i, len - i, &l);
        int sp = tok_is_white_space(cp), pu = !sp && tok_wp_is_punct(cp);
        if (sp || pu) {
            if (i > ws) word_ids(t, text + ws, i - ws, out, cap, k);
            if (pu) word_ids(t, text + i, (size_t)l, out, cap, k);
            ws = i + (size_t)l;
        }
        i += (size_t)l;
    }
    if (len > ws) word_ids(t, text + ws, len - ws, out, cap, k);
}

void tok_wp_stretch(const Tokenizer *t, const char *text, size_t len, int skip_special,
                    int32_t **out, size_t *cap, size_t *k) {
    if (!len) return;
    size_t n;
    char *norm = tok_wp_normalize(t, text, len, &n);
    tok_split_added(t, norm, n, skip_special, 1, out, cap, k, pretok_ids);
    free(norm);
}

/* ---- decoder --------------------------------------------------------------- */

/* s with every `from` replaced by `to` (in place; to is never longer). */
static size_t replace_all(char *s, size_t n, const char *from, const char *to) {
    size_t lf = strlen(from), lt = strlen(to), o = 0;
    for (size_t i = 0; i < n;) {
        if (i + lf <= n && !memcmp(s + i, from, lf)) {
            memmove(s + o, to, lt);
            o += lt, i += lf;
        } else {
            s[o++] = s[i++];
        }
    }
    return o;
}

/* HF's WordPiece decoder: a token after the first loses the prefix or gets
 * a space before it; cleanup then undoes the spaces the pre-tokenizer made
 * around punctuation and contractions (per token). Without a decoder the
 * tokens are joined by spaces. */
char *tok_wp_decode(const Tokenizer *t, const int32_t *ids, size_t n, size_t *len) {
    static const char *const fix[][2] = {{" .", "."},     {" ?", "?"},           {" !", "!"},
                                         {" ,", ","},     {" ' ", "'"},          {" n't", "n't"},
                                         {" 'm", "'m"},   {" do not", " don't"}, {" 's", "'s"},
                                         {" 've", "'ve"}, {" 're", "'re"}};
    const WordPiece *w = &t->wp;
    size_t total = 1, o = 0, pl = strlen(w->dec_prefix);
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < t->ntok && t->str[ids[i]]) total += t->len[ids[i]] + 1;
    char *s = z_malloc(total + 8, "decoded text");
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->ntok || !t->str[ids[i]]) continue;
        const char *tk = t->str[ids[i]];
        size_t tl = t->len[ids[i]], at = o;
        if (!first && w->decoder && pl && tl >= pl && !memcmp(tk, w->dec_prefix, pl))
            tk += pl, tl -= pl;
        else if (!first)
            s[o++] = ' ';
        memcpy(s + o, tk, tl);
        o += tl;
        if (w->decoder && w->cleanup) {
            size_t m = o - at;
            for (size_t f = 0; f < sizeof fix / sizeof *fix; f++)
                m = replace_all(s + at, m, fix[f][0], fix[f][1]);
            o = at + m;
        }
        first = 0;
    }
    s[o] = 0;
    *len = o;
    return s;
}

/* ---- setup ----------------------------------------------------------------- */

int tok_wp_finish(Tokenizer *t, const char *unk, char *err, size_t errlen) {
    t->wp.unk = tok_vocab_id(t, unk, strlen(unk));
    if (t->wp.unk < 0) {
        snprintf(err, errlen, "the unk_token \"%s\" is not in the vocab", unk);
        return -1;
    }
    if (t->wp.strip_accents < 0) t->wp.strip_accents = t->wp.lowercase;
    for (int i = 0; i < t->nadded; i++) {
        Added *a = &t->added[i];
        if (!a->normalized) continue;
        a->norm = tok_wp_normalize(t, t->str[a->id], t->len[a->id], &a->normlen);
    }
    return 0;
}

/* Has an upper-case letter outside a [BRACKETED] special token. */
static int has_upper(const char *s, size_t n) {
    if (n > 2 && s[0] == '[' && s[n - 1] == ']') return 0;
    for (size_t i = 0; i < n;) {
        int l;
        int32_t cp = tok_utf8_decode((const unsigned char *)s + i, n - i, &l);
        if (cp >= 0 && utf8proc_category(cp) == UTF8PROC_CATEGORY_LU) return 1;
        i += (size_t)l;
    }
    return 0;
}

static int cfg_bool(json_t *cfg, const char *key, int def) {
    json_t *v = json_object_get(cfg, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static const char *cfg_str(json_t *cfg, const char *key, const char *def) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_object(v)) v = json_object_get(v, "content"); /* AddedToken form */
    return json_is_string(v) ? json_string_value(v) : def;
}

/* BERT's vocab.txt: one token per line, the id is the line number (a token
 * listed twice is found at its last line, as transformers' load_vocab). The
 * options come from tokenizer_config.json when given (do_lower_case,
 * strip_accents, tokenize_chinese_chars, unk_token), else lower-casing is on
 * when no token other than the [SPECIAL] ones has an upper-case letter. The
 * special tokens present are added tokens, never split. */
Tokenizer *tok_wp_from_vocab_txt(const char *text, size_t len, const char *config_json, char *err,
                                 size_t errlen) {
    json_t *cfg = NULL;
    if (config_json) {
        json_error_t je;
        cfg = json_loads(config_json, 0, &je);
        if (!json_is_object(cfg)) {
            snprintf(err, errlen, "tokenizer_config.json is not a JSON object (%s)", je.text);
            json_decref(cfg);
            return NULL;
        }
    }
    Tokenizer *t = tok_alloc();
    t->kind = TOK_WORDPIECE;
    tok_wp_defaults(&t->wp);
    int id = 0, upper = 0;
    for (size_t i = 0; i < len; id++) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len, n = e - i;
        if (n && text[i + n - 1] == '\r') n--;
        if (id >= MAX_ID) {
            snprintf(err, errlen, "more than %d lines: not a vocab.txt", MAX_ID);
            goto fail;
        }
        if (memchr(text + i, 0, n)) {
            snprintf(err, errlen, "line %d holds a NUL byte: not a vocab.txt", id + 1);
            goto fail;
        }
        tok_set_token(t, id, text + i, n, 1);
        upper |= has_upper(text + i, n);
        i = e + 1;
        if (!nl) {
            id++;
            break;
        }
    }
    if (id == 0) {
        snprintf(err, errlen, "empty vocab.txt");
        goto fail;
    }
    t->wp.lowercase = cfg_bool(cfg, "do_lower_case", !upper);
    json_t *sa = json_object_get(cfg, "strip_accents");
    t->wp.strip_accents = json_is_boolean(sa) ? json_is_true(sa) : -1;
    t->wp.handle_chinese = cfg_bool(cfg, "tokenize_chinese_chars", 1);
    static const char *const special[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    t->added = z_malloc(sizeof special / sizeof *special * sizeof *t->added, "added tokens");
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
        int sid = tok_vocab_id(t, special[i], strlen(special[i]));
        if (sid >= 0) t->added[t->nadded++] = (Added){sid, 1, 0, 0, 0, 0, NULL, 0};
    }
    if (tok_wp_finish(t, cfg_str(cfg, "unk_token", "[UNK]"), err, errlen)) goto fail;
    json_decref(cfg);
    return t;
fail:
    json_decref(cfg);
    tok_free(t);
    return NULL;
}
