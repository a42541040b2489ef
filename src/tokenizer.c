/*
 * tokenizer.c — byte-level BPE as Hugging Face `tokenizers` does it for
 * GPT-2 / RoBERTa (see tokenizer.h): the GPT-2 pre-tokenization regex
 * (hand-written over code points, categories from utf8proc), the byte-level
 * alphabet, BPE by merge rank, decode, and tokenizer.json in and out.
 * Training lives in tokenizer_train.c and builds on tok_new_base /
 * tok_add_merge / tok_piece_end here.
 *
 * Encoding one pre-tokenized piece (HF's Word::merge_all): every byte starts
 * as its byte symbol; a heap holds the adjacent pairs that have a merge,
 * ordered by (rank, position); the top pair is merged unless it went stale,
 * then the pairs it forms with its neighbours are pushed. Lowest rank first,
 * leftmost first among equal ranks — the same ids as HF, including for
 * tokenizers whose merges are not in training order.
 *
 * Thread safety: a Tokenizer is read-only after it is built, except for
 * tok_add_merge; tok_encode and tok_decode may run concurrently.
 */
#include "tokenizer.h"
#include "tokenizer_map.h"

#include "../mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define NSPECIAL 6
static const char *const SPECIAL[NSPECIAL] = {"[PAD]", "[UNK]",  "[CLS]",
                                              "[SEP]", "[MASK]", "<|endoftext|>"};
#define MAX_ID (1 << 21) /* ids in files from here on are refused */

typedef struct {
    int id, special;
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

/* ---- byte-level alphabet (GPT-2 bytes_to_unicode) ---------------------- */

/* Printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves; the
 * other 68 bytes, in increasing order, become U+0100, U+0101, ... */
static int byte_printable(int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static int byte_to_cp(int b) {
    if (byte_printable(b)) return b;
    if (b <= 0x20) return 0x100 + b;
    if (b <= 0xA0) return 0x100 + 33 + (b - 0x7F);
    return 0x100 + 67; /* 0xAD */
}

/* The byte a code point of the alphabet stands for, or -1. */
static int cp_to_byte(int32_t cp) {
    if (cp < 0x100) return byte_printable(cp) ? cp : -1;
    int n = cp - 0x100;
    if (n <= 32) return n;
    if (n <= 66) return 0x7F + n - 33;
    return n == 67 ? 0xAD : -1;
}

/* Position of byte b's symbol in the alphabet sorted by code point (the
 * order of HF's trainer): the printable bytes, then U+0100... */
static int byte_rank(int b) {
    if (b >= 0x21 && b <= 0x7E) return b - 0x21;
    if (b >= 0xA1 && b <= 0xAC) return 94 + b - 0xA1;
    if (b >= 0xAE) return 106 + b - 0xAE;
    return 188 + byte_to_cp(b) - 0x100;
}

static int put_utf8(int32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xC0 | (cp >> 6)); /* the alphabet stays below U+0800 */
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* ---- UTF-8 and character classes --------------------------------------- */

/* Code point at s[0..n) and its length; invalid UTF-8 gives (-1, 1). */
static int32_t utf8_decode(const unsigned char *s, size_t n, int *len) {
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
static int is_space(int32_t cp) {
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
        return is_space(cp) ? CL_SPACE : CL_OTHER;
    }
    if (is_space(cp)) return CL_SPACE;
    utf8proc_category_t c = utf8proc_category(cp);
    if (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) return CL_LETTER;
    if (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO) return CL_NUMBER;
    return CL_OTHER;
}

static int class_at(const unsigned char *s, size_t n, size_t i, int *len) {
    return char_class(utf8_decode(s + i, n - i, len));
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

/* ---- building ------------------------------------------------------------ */

static void grow_ids(Tokenizer *t, int need) {
    if (need <= t->captok) return;
    int cap = t->captok ? t->captok : 512;
    while (cap < need) cap *= 2;
    t->str = realloc(t->str, (size_t)cap * sizeof *t->str);
    t->len = realloc(t->len, (size_t)cap * sizeof *t->len);
    t->raw = realloc(t->raw, (size_t)cap * sizeof *t->raw);
    t->rawlen = realloc(t->rawlen, (size_t)cap * sizeof *t->rawlen);
    t->in_vocab = realloc(t->in_vocab, (size_t)cap);
    if (!t->str || !t->len || !t->raw || !t->rawlen || !t->in_vocab)
        z_die("out of memory growing the vocabulary to %d tokens", cap);
    for (int i = t->captok; i < cap; i++) {
        t->str[i] = t->raw[i] = NULL;
        t->len[i] = t->rawlen[i] = 0;
        t->in_vocab[i] = 0;
    }
    t->captok = cap;
}

/* The bytes a token stands for: each character of the byte-level alphabet
 * gives its byte, any other character its own UTF-8 (as HF's decoder). */
static void set_raw(Tokenizer *t, int id) {
    const unsigned char *s = (const unsigned char *)t->str[id];
    size_t n = t->len[id], o = 0;
    char *raw = z_malloc(n + 1, "token bytes");
    for (size_t i = 0; i < n;) {
        int len;
        int b = cp_to_byte(utf8_decode(s + i, n - i, &len));
        if (b >= 0)
            raw[o++] = (char)b;
        else
            for (int k = 0; k < len; k++) raw[o++] = (char)s[i + k];
        i += (size_t)len;
    }
    raw[o] = 0;
    t->raw[id] = raw;
    t->rawlen[id] = (uint32_t)o;
}

/* Puts string s at id (the slot must be free); vocab: also in model.vocab. */
static void set_token(Tokenizer *t, int id, const char *s, size_t n, int vocab) {
    grow_ids(t, id + 1);
    char *c = z_malloc(n + 1, "token");
    memcpy(c, s, n);
    c[n] = 0;
    t->str[id] = c;
    t->len[id] = (uint32_t)n;
    set_raw(t, id);
    if (id >= t->ntok) t->ntok = id + 1;
    if (vocab) {
        t->in_vocab[id] = 1;
        *smap_put(&t->vocab, c, n, NULL) = id;
    }
}

static int vocab_id(const Tokenizer *t, const char *s, size_t n) {
    const int64_t *v = smap_get(&t->vocab, s, n);
    return v ? (int)*v : -1;
}

static uint64_t pair_key(int a, int b) {
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

static void add_merge_entry(Tokenizer *t, int a, int b, int id) {
    if (t->nmerges == t->capmerges) {
        t->capmerges = t->capmerges ? 2 * t->capmerges : 1024;
        t->ma = realloc(t->ma, t->capmerges * sizeof *t->ma);
        t->mb = realloc(t->mb, t->capmerges * sizeof *t->mb);
        if (!t->ma || !t->mb) z_die("out of memory growing the merges to %zu", t->capmerges);
    }
    /* a pair listed twice keeps its last rank, as HF's HashMap::insert */
    *u64map_put(&t->merges, pair_key(a, b), NULL) =
        (int64_t)((uint64_t)t->nmerges << 32 | (uint32_t)id);
    t->ma[t->nmerges] = a;
    t->mb[t->nmerges] = b;
    t->nmerges++;
}

int tok_add_merge(Tokenizer *t, int a, int b) {
    size_t la = t->len[a], lb = t->len[b];
    char *s = z_malloc(la + lb + 1, "merged token");
    memcpy(s, t->str[a], la);
    memcpy(s + la, t->str[b], lb);
    int id = vocab_id(t, s, la + lb);
    if (id < 0) set_token(t, id = t->ntok, s, la + lb, 1);
    free(s);
    add_merge_entry(t, a, b, id);
    return id;
}

static Tokenizer *tok_alloc(void) {
    Tokenizer *t = z_calloc(1, sizeof *t, "tokenizer");
    t->trim_offsets = t->use_regex = 1;
    return t;
}

int tok_byte_id(const Tokenizer *t, unsigned char b) {
    return t->byte_id[b];
}

Tokenizer *tok_new_base(void) {
    Tokenizer *t = tok_alloc();
    t->added = z_malloc(NSPECIAL * sizeof *t->added, "added tokens");
    for (int i = 0; i < NSPECIAL; i++) {
        set_token(t, i, SPECIAL[i], strlen(SPECIAL[i]), 1);
        t->added[t->nadded++] = (Added){i, 1};
    }
    for (int b = 0; b < 256; b++) {
        char c[2];
        int id = NSPECIAL + byte_rank(b);
        set_token(t, id, c, (size_t)put_utf8(byte_to_cp(b), c), 1);
        t->byte_id[b] = id;
    }
    return t;
}

void tok_free(Tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->ntok; i++) {
        free(t->str[i]);
        free(t->raw[i]);
    }
    free(t->str);
    free(t->len);
    free(t->raw);
    free(t->rawlen);
    free(t->in_vocab);
    smap_free(&t->vocab);
    u64map_free(&t->merges);
    free(t->ma);
    free(t->mb);
    free(t->added);
    free(t);
}

/* ---- queries --------------------------------------------------------------- */

int tok_vocab_size(const Tokenizer *t) {
    return t->ntok;
}

const char *tok_id_to_token(const Tokenizer *t, int id) {
    return id >= 0 && id < t->ntok ? t->str[id] : NULL;
}

/* Id of the token a (else b): in model.vocab, else among the added tokens. */
static int find_token(const Tokenizer *t, const char *a, const char *b) {
    for (int k = 0; k < 2; k++) {
        const char *s = k ? b : a;
        int id = vocab_id(t, s, strlen(s));
        for (int i = 0; id < 0 && i < t->nadded; i++)
            if (!strcmp(t->str[t->added[i].id], s)) id = t->added[i].id;
        if (id >= 0) return id;
    }
    return -1;
}

/* By name: BERT's [PAD] [UNK] [CLS] [SEP] [MASK], GPT-2's <|endoftext|>
 * (beginning and end), else RoBERTa's <pad> <unk> <s> </s> <mask>. */
SpecialIds tok_specials(const Tokenizer *t) {
    SpecialIds s;
    s.pad = find_token(t, "[PAD]", "<pad>");
    s.unk = find_token(t, "[UNK]", "<unk>");
    s.cls = find_token(t, "[CLS]", "<s>");
    s.sep = find_token(t, "[SEP]", "</s>");
    s.mask = find_token(t, "[MASK]", "<mask>");
    s.bos = find_token(t, "<|endoftext|>", "<s>");
    s.eos = find_token(t, "<|endoftext|>", "</s>");
    return s;
}

/* ---- encode ---------------------------------------------------------------- */

typedef struct {
    uint32_t rank, pos;
    int32_t id;
} MergeAt;

/* Min-heap on (rank, pos). */
static int mless(MergeAt x, MergeAt y) {
    return x.rank != y.rank ? x.rank < y.rank : x.pos < y.pos;
}

static void heap_push(MergeAt *h, size_t *n, MergeAt m) {
    size_t i = (*n)++;
    while (i > 0 && mless(m, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = m;
}

static MergeAt heap_pop(MergeAt *h, size_t *n) {
    MergeAt top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && mless(h[c + 1], h[c])) c++;
        if (!mless(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

typedef struct {
    int32_t *c, *prev, *next;
    MergeAt *heap;
    size_t nheap;
} Work;

/* Pushes the merge of the pair starting at pos, if the pair has one. */
static void push_pair(const Tokenizer *t, Work *w, int32_t pos, int32_t nxt) {
    const int64_t *m = u64map_get(&t->merges, pair_key(w->c[pos], w->c[nxt]));
    if (m)
        heap_push(w->heap, &w->nheap,
                  (MergeAt){(uint32_t)((uint64_t)*m >> 32), (uint32_t)pos, (int32_t)(uint32_t)*m});
}

/* BPE of one piece of n >= 2 bytes into ids appended at out[*k]. */
static void bpe_piece(const Tokenizer *t, const unsigned char *s, int32_t n, Work *w, int32_t *out,
                      size_t *k) {
    w->nheap = 0;
    for (int32_t i = 0; i < n; i++) {
        w->c[i] = t->byte_id[s[i]];
        w->prev[i] = i - 1;
        w->next[i] = i + 1 < n ? i + 1 : -1;
    }
    for (int32_t i = 0; i + 1 < n; i++) push_pair(t, w, i, i + 1);
    while (w->nheap) {
        MergeAt top = heap_pop(w->heap, &w->nheap);
        int32_t p = (int32_t)top.pos, q = w->next[p];
        if (w->c[p] < 0 || q < 0) continue; /* removed, or last */
        const int64_t *m = u64map_get(&t->merges, pair_key(w->c[p], w->c[q]));
        if (!m || (int32_t)(uint32_t)*m != top.id) continue; /* stale */
        w->c[p] = top.id;
        w->c[q] = -1;
        w->next[p] = w->next[q];
        if (w->next[q] >= 0) w->prev[w->next[q]] = p;
        if (w->prev[p] >= 0) push_pair(t, w, w->prev[p], p);
        if (w->next[p] >= 0) push_pair(t, w, p, w->next[p]);
    }
    for (int32_t i = 0; i >= 0; i = w->next[i]) out[(*k)++] = w->c[i];
}

#define SMALL_PIECE 256

static void encode_piece(const Tokenizer *t, const unsigned char *s, size_t n, int32_t *out,
                         size_t *k) {
    if (n == 1) {
        out[(*k)++] = t->byte_id[s[0]];
        return;
    }
    int32_t c[SMALL_PIECE], prev[SMALL_PIECE], next[SMALL_PIECE];
    MergeAt heap[3 * SMALL_PIECE];
    Work w = {c, prev, next, heap, 0};
    if (n > SMALL_PIECE) {
        if (n > INT32_MAX / 3) z_die("tokenizer: a piece of %zu bytes is too long", n);
        w.c = z_malloc(3 * n * sizeof(int32_t), "BPE work");
        w.prev = w.c + n;
        w.next = w.c + 2 * n;
        w.heap = z_malloc(3 * n * sizeof(MergeAt), "BPE heap");
    }
    bpe_piece(t, s, (int32_t)n, &w, out, k);
    if (n > SMALL_PIECE) {
        free(w.c);
        free(w.heap);
    }
}

static void reserve_ids(int32_t **out, size_t *cap, size_t need) {
    if (need <= *cap && *out) return;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    int32_t *p = realloc(*out, c * sizeof *p);
    if (!p) z_die("out of memory growing the id buffer to %zu", c);
    *out = p;
    *cap = c;
}

/* The ids go to (*out)[0..n): a piece of m bytes gives at most m ids. */
size_t tok_encode(const Tokenizer *t, const char *text, size_t len, int32_t **out, size_t *cap) {
    char *tmp = NULL;
    if (t->add_prefix_space && len && text[0] != ' ') {
        tmp = z_malloc(len + 1, "prefixed text");
        tmp[0] = ' ';
        memcpy(tmp + 1, text, len);
        text = tmp;
        len++;
    }
    reserve_ids(out, cap, len ? len : 1);
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t e = t->use_regex ? tok_piece_end(text, len, i) : len;
        encode_piece(t, (const unsigned char *)text + i, e - i, *out, &k);
        i = e;
    }
    free(tmp);
    return k;
}

/* ---- decode ---------------------------------------------------------------- */

/* Ids outside the vocabulary decode to nothing. */
char *tok_decode_len(const Tokenizer *t, const int32_t *ids, size_t n, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < t->ntok) total += t->rawlen[ids[i]];
    char *s = z_malloc(total + 1, "decoded text"), *o = s;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < t->ntok && t->raw[ids[i]]) {
            memcpy(o, t->raw[ids[i]], t->rawlen[ids[i]]);
            o += t->rawlen[ids[i]];
        }
    *o = 0;
    *len = total;
    return s;
}

char *tok_decode(const Tokenizer *t, const int32_t *ids, size_t n) {
    size_t len;
    return tok_decode_len(t, ids, n, &len);
}

/* ---- tokenizer.json out ---------------------------------------------------- */

static json_t *byte_level_json(const Tokenizer *t) {
    return json_pack("{s:s,s:b,s:b,s:b}", "type", "ByteLevel", "add_prefix_space",
                     t->add_prefix_space, "trim_offsets", t->trim_offsets, "use_regex",
                     t->use_regex);
}

static json_t *added_json(const Tokenizer *t) {
    json_t *a = json_array();
    for (int i = 0; i < t->nadded; i++)
        json_array_append_new(a, json_pack("{s:i,s:s,s:b,s:b,s:b,s:b,s:b}", "id", t->added[i].id,
                                           "content", t->str[t->added[i].id], "single_word", 0,
                                           "lstrip", 0, "rstrip", 0, "normalized", 0, "special",
                                           t->added[i].special));
    return a;
}

/* model: vocab in id order, merges as "a b" strings (read by every
 * `tokenizers` version; byte-level tokens never contain a space). */
static json_t *model_json(const Tokenizer *t) {
    json_t *vocab = json_object(), *merges = json_array();
    for (int i = 0; i < t->ntok; i++)
        if (t->in_vocab[i]) json_object_set_new(vocab, t->str[i], json_integer(i));
    for (size_t m = 0; m < t->nmerges; m++) {
        const char *a = t->str[t->ma[m]], *b = t->str[t->mb[m]];
        size_t la = strlen(a), lb = strlen(b);
        char *s = z_malloc(la + lb + 2, "merge string");
        memcpy(s, a, la);
        s[la] = ' ';
        memcpy(s + la + 1, b, lb + 1);
        json_array_append_new(merges, json_string(s));
        free(s);
    }
    return json_pack("{s:s,s:n,s:n,s:n,s:n,s:b,s:b,s:b,s:o,s:o}", "type", "BPE", "dropout",
                     "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                     "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", merges);
}

char *tok_to_json(const Tokenizer *t) {
    json_t *root = json_pack("{s:s,s:n,s:n,s:o,s:n,s:o,s:n,s:o,s:o}", "version", "1.0",
                             "truncation", "padding", "added_tokens", added_json(t), "normalizer",
                             "pre_tokenizer", byte_level_json(t), "post_processor", "decoder",
                             byte_level_json(t), "model", model_json(t));
    if (!root) z_die("tokenizer: cannot build the JSON document");
    char *s = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!s) z_die("tokenizer: cannot serialize the JSON document");
    return s;
}

int tok_save(const Tokenizer *t, const char *path) {
    char *s = tok_to_json(t);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(s, 1, strlen(s), f) == strlen(s) && fputc('\n', f) != EOF;
    if (f && fclose(f)) ok = 0;
    free(s);
    return ok ? 0 : -1;
}

/* ---- tokenizer.json in ----------------------------------------------------- */

typedef struct {
    char *err;
    size_t errlen;
} Err;

__attribute__((format(printf, 2, 3))) static int fail(Err *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* NULL or absent: 1; JSON false/0/"": also acceptable where the setting is off. */
static int is_off(const json_t *v) {
    return !v || json_is_null(v) || json_is_false(v) ||
           (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_number(v) && json_number_value(v) == 0);
}

static const char *type_of(const json_t *o) {
    const char *s = json_string_value(json_object_get(o, "type"));
    return s ? s : json_is_null(o) || !o ? "null" : "untyped";
}

static int read_options(Tokenizer *t, const json_t *root, Err *e) {
    const json_t *norm = json_object_get(root, "normalizer");
    if (!is_off(norm))
        return fail(e, "normalizer %s is not supported (byte-level BPE has none)", type_of(norm));
    const json_t *pre = json_object_get(root, "pre_tokenizer");
    if (strcmp(type_of(pre), "ByteLevel"))
        return fail(e, "pre_tokenizer is %s, not ByteLevel: not a byte-level BPE tokenizer",
                    type_of(pre));
    t->add_prefix_space = json_is_true(json_object_get(pre, "add_prefix_space"));
    t->trim_offsets = !json_is_false(json_object_get(pre, "trim_offsets"));
    t->use_regex = !json_is_false(json_object_get(pre, "use_regex"));
    const json_t *m = json_object_get(root, "model");
    if (!json_is_object(m)) return fail(e, "no \"model\" object");
    const char *type = json_string_value(json_object_get(m, "type"));
    if (type && strcmp(type, "BPE")) return fail(e, "model type is %s, not BPE", type);
    static const char *const off[] = {"dropout", "continuing_subword_prefix", "end_of_word_suffix",
                                      "ignore_merges"};
    for (size_t i = 0; i < sizeof off / sizeof *off; i++)
        if (!is_off(json_object_get(m, off[i])))
            return fail(e, "model.%s is set: not supported", off[i]);
    return 0;
}

static int read_vocab(Tokenizer *t, const json_t *vocab, Err *e) {
    if (!json_is_object(vocab)) return fail(e, "model has no \"vocab\" object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vocab, key, v) {
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= MAX_ID)
            return fail(e, "vocab entry \"%s\" has a bad id (want an integer in [0, %d))", key,
                        MAX_ID);
        grow_ids(t, (int)id + 1);
        if (t->str[id])
            return fail(e, "vocab id %d is used by both \"%s\" and \"%s\"", (int)id, t->str[id],
                        key);
        set_token(t, (int)id, key, strlen(key), 1);
    }
    return 0;
}

static int read_added(Tokenizer *t, const json_t *added, Err *e) {
    if (!added || json_is_null(added)) return 0;
    if (!json_is_array(added)) return fail(e, "\"added_tokens\" is not an array");
    size_t i;
    json_t *a;
    t->added = z_malloc((json_array_size(added) + 1) * sizeof *t->added, "added tokens");
    json_array_foreach((json_t *)added, i, a) {
        json_t *idv = json_object_get(a, "id");
        const char *c = json_string_value(json_object_get(a, "content"));
        json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
        if (!c || id < 0 || id >= MAX_ID)
            return fail(e, "added_tokens[%zu] lacks a string \"content\" or a valid \"id\"", i);
        grow_ids(t, (int)id + 1);
        if (!t->str[id])
            set_token(t, (int)id, c, strlen(c), 0);
        else if (strcmp(t->str[id], c))
            return fail(e, "added token \"%s\" has id %d, which is \"%s\" in the vocab", c, (int)id,
                        t->str[id]);
        t->added[t->nadded++] = (Added){(int)id, json_is_true(json_object_get(a, "special"))};
    }
    return 0;
}

static int read_bytes(Tokenizer *t, Err *e) {
    for (int b = 0; b < 256; b++) {
        char c[2];
        int n = put_utf8(byte_to_cp(b), c);
        if ((t->byte_id[b] = vocab_id(t, c, (size_t)n)) < 0)
            return fail(e, "the vocab lacks the symbol \"%.*s\" of byte 0x%02X", n, c, b);
    }
    return 0;
}

/* One merge: "a b" (exactly one space, as HF splits) or ["a", "b"]. */
static int merge_ids(Tokenizer *t, const char *a, const char *b, size_t i, Err *e) {
    size_t la = strlen(a), lb = strlen(b);
    int ia = vocab_id(t, a, la), ib = vocab_id(t, b, lb);
    if (ia < 0 || ib < 0)
        return fail(e, "merges[%zu] (\"%s\" \"%s\"): \"%s\" is not in the vocab", i, a, b,
                    ia < 0 ? a : b);
    char *ab = z_malloc(la + lb + 1, "merged token");
    memcpy(ab, a, la);
    memcpy(ab + la, b, lb);
    int id = vocab_id(t, ab, la + lb);
    free(ab);
    if (id < 0)
        return fail(e, "merges[%zu] (\"%s\" \"%s\"): \"%s%s\" is not in the vocab", i, a, b, a, b);
    add_merge_entry(t, ia, ib, id);
    return 0;
}

/* One merge: "a b" (exactly one space, as HF splits) or ["a", "b"]. */
static int read_merge(Tokenizer *t, const json_t *m, size_t i, Err *e) {
    if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
        json_is_string(json_array_get(m, 1)))
        return merge_ids(t, json_string_value(json_array_get(m, 0)),
                         json_string_value(json_array_get(m, 1)), i, e);
    if (!json_is_string(m)) return fail(e, "merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", i);
    char *s = z_strdup(json_string_value(m)), *sp = strchr(s, ' ');
    int rc = !sp || strchr(sp + 1, ' ')
                 ? fail(e, "merges[%zu] \"%s\" is not two tokens separated by one space", i, s)
                 : (*sp = 0, merge_ids(t, s, sp + 1, i, e));
    free(s);
    return rc;
}

static int read_merges(Tokenizer *t, const json_t *merges, Err *e) {
    if (!json_is_array(merges)) return fail(e, "model has no \"merges\" array");
    size_t i;
    json_t *m;
    json_array_foreach((json_t *)merges, i, m) if (read_merge(t, m, i, e)) return -1;
    return 0;
}

Tokenizer *tok_from_json(const char *json, size_t len, char *err, size_t errlen) {
    Err e = {err, errlen};
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root) {
        fail(&e, "not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return NULL;
    }
    Tokenizer *t = tok_alloc();
    const json_t *m = json_object_get(root, "model");
    int bad = !json_is_object(root)
                  ? fail(&e, "not a tokenizer.json: the top level is not an object")
                  : read_options(t, root, &e);
    if (!bad) bad = read_vocab(t, json_object_get(m, "vocab"), &e);
    if (!bad) bad = read_added(t, json_object_get(root, "added_tokens"), &e);
    if (!bad) bad = read_bytes(t, &e);
    if (!bad) bad = read_merges(t, json_object_get(m, "merges"), &e);
    json_decref(root);
    if (bad) {
        tok_free(t);
        return NULL;
    }
    return t;
}

Tokenizer *tok_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 1 << 16, got;
    char *buf = z_malloc(cap, "tokenizer file");
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *p = realloc(buf, cap);
            if (!p) z_die("out of memory reading %s", path);
            buf = p;
        }
    }
    int rerr = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (rerr) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(rerr));
        free(buf);
        return NULL;
    }
    char inner[512];
    Tokenizer *t = tok_from_json(buf, n, inner, sizeof inner);
    free(buf);
    if (!t) snprintf(err, errlen, "%s: %s", path, inner);
    return t;
}
