/*
 * bpe.c — the byte-level BPE model as Hugging Face `tokenizers` runs it for
 * GPT-2 / RoBERTa (see tokenizer.h): the byte-level alphabet, the vocabulary
 * and merges, special and added tokens, encode and decode.
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
#include "internal.h"

#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const TOK_SPECIAL[NSPECIAL] = {"[PAD]", "[UNK]",  "[CLS]",
                                           "[SEP]", "[MASK]", "<|endoftext|>"};

/* ---- byte-level alphabet (GPT-2 bytes_to_unicode) ---------------------- */

/* Printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves; the
 * other 68 bytes, in increasing order, become U+0100, U+0101, ... */
static int byte_printable(int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

int tok_byte_to_cp(int b) {
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
    return 188 + tok_byte_to_cp(b) - 0x100;
}

int tok_put_utf8(int32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xC0 | (cp >> 6)); /* the alphabet stays below U+0800 */
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* ---- building ------------------------------------------------------------ */

void tok_grow_ids(Tokenizer *t, int need) {
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
 * gives its byte, any other character its own UTF-8 (as HF's decoder). A
 * WordPiece token stands for its text as it reads in running text: " word"
 * when it starts a word, "ing" for "##ing" (see tok_piece_text). */
static void set_raw(Tokenizer *t, int id) {
    const unsigned char *s = (const unsigned char *)t->str[id];
    size_t n = t->len[id], o = 0;
    char *raw = z_malloc(n + 2, "token bytes");
    if (t->kind == TOK_WORDPIECE) {
        size_t pl = strlen(t->wp.prefix);
        if (pl && n >= pl && !memcmp(s, t->wp.prefix, pl))
            memcpy(raw, s + pl, o = n - pl);
        else
            raw[0] = ' ', memcpy(raw + 1, s, n), o = n + 1;
        raw[o] = 0;
        t->raw[id] = raw;
        t->rawlen[id] = (uint32_t)o;
        return;
    }
    for (size_t i = 0; i < n;) {
        int len;
        int b = cp_to_byte(tok_utf8_decode(s + i, n - i, &len));
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
void tok_set_token(Tokenizer *t, int id, const char *s, size_t n, int vocab) {
    tok_grow_ids(t, id + 1);
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

int tok_vocab_id(const Tokenizer *t, const char *s, size_t n) {
    const int64_t *v = smap_get(&t->vocab, s, n);
    return v ? (int)*v : -1;
}

uint64_t tok_pair_key(int a, int b) {
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

void tok_add_merge_entry(Tokenizer *t, int a, int b, int id) {
    if (t->nmerges == t->capmerges) {
        t->capmerges = t->capmerges ? 2 * t->capmerges : 1024;
        t->ma = realloc(t->ma, t->capmerges * sizeof *t->ma);
        t->mb = realloc(t->mb, t->capmerges * sizeof *t->mb);
        if (!t->ma || !t->mb) z_die("out of memory growing the merges to %zu", t->capmerges);
    }
    /* a pair listed twice keeps its last rank, as HF's HashMap::insert */
    *u64map_put(&t->merges, tok_pair_key(a, b), NULL) =
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
    int id = tok_vocab_id(t, s, la + lb);
    if (id < 0) tok_set_token(t, id = t->ntok, s, la + lb, 1);
    free(s);
    tok_add_merge_entry(t, a, b, id);
    return id;
}

Tokenizer *tok_alloc(void) {
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
        tok_set_token(t, i, TOK_SPECIAL[i], strlen(TOK_SPECIAL[i]), 1);
        t->added[t->nadded++] = (Added){i, 1, 0, 0, 0, 0, NULL, 0};
    }
    for (int b = 0; b < 256; b++) {
        char c[2];
        int id = NSPECIAL + byte_rank(b);
        tok_set_token(t, id, c, (size_t)tok_put_utf8(tok_byte_to_cp(b), c), 1);
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
    for (int i = 0; i < t->nadded; i++) free(t->added[i].norm);
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
        int id = tok_vocab_id(t, s, strlen(s));
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
    const int64_t *m = u64map_get(&t->merges, tok_pair_key(w->c[pos], w->c[nxt]));
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
        const int64_t *m = u64map_get(&t->merges, tok_pair_key(w->c[p], w->c[q]));
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

void tok_reserve_ids(int32_t **out, size_t *cap, size_t need) {
    if (need <= *cap && *out) return;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    int32_t *p = realloc(*out, c * sizeof *p);
    if (!p) z_die("out of memory growing the id buffer to %zu", c);
    *out = p;
    *cap = c;
}

/* One stretch of text without added tokens: the pre-tokenizer's pieces,
 * each by BPE, with the prefix space HF's ByteLevel adds to every stretch. */
static void encode_stretch(const Tokenizer *t, const char *text, size_t len, int skip_special,
                           int32_t **outp, size_t *cap, size_t *k) {
    (void)skip_special;
    if (!len) return;
    tok_reserve_ids(outp, cap, *k + len + 2);
    int32_t *out = *outp;
    char *tmp = NULL;
    if (t->add_prefix_space && text[0] != ' ') {
        tmp = z_malloc(len + 1, "prefixed text");
        tmp[0] = ' ';
        memcpy(tmp + 1, text, len);
        text = tmp;
        len++;
    }
    for (size_t i = 0; i < len;) {
        size_t e = t->use_regex ? tok_piece_end(text, len, i) : len;
        encode_piece(t, (const unsigned char *)text + i, e - i, out, k);
        i = e;
    }
    free(tmp);
}

static int ascii_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static int word_char(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z') || c == '_';
}

int tok_added_at(const Tokenizer *t, const char *text, size_t len, size_t i, int skip_special,
                 int normalized) {
    int best = -1;
    size_t blen = 0;
    for (int a = 0; a < t->nadded; a++) {
        const Added *d = &t->added[a];
        if ((skip_special && d->special) || d->normalized != normalized) continue;
        const char *s = normalized ? d->norm : t->str[d->id];
        size_t n = normalized ? d->normlen : t->len[d->id];
        if (!n || n > len - i || n <= blen || memcmp(text + i, s, n)) continue;
        if (d->single_word && ((i > 0 && word_char((unsigned char)text[i - 1])) ||
                               (i + n < len && word_char((unsigned char)text[i + n]))))
            continue;
        best = a, blen = n;
    }
    return best;
}

/* Added tokens are split out of the text first (HF's AddedVocabulary: a
 * token with lstrip / rstrip takes the whitespace beside it), the stretches
 * between them go to stretch(). */
void tok_split_added(const Tokenizer *t, const char *text, size_t len, int skip_special,
                     int normalized, int32_t **out, size_t *cap, size_t *k,
                     void (*stretch)(const Tokenizer *, const char *, size_t, int, int32_t **,
                                     size_t *, size_t *)) {
    size_t start = 0;
    for (size_t i = 0; i < len && t->nadded;) {
        int a = tok_added_at(t, text, len, i, skip_special, normalized);
        if (a < 0) {
            i++;
            continue;
        }
        const Added *d = &t->added[a];
        size_t lo = i, hi = i + (normalized ? d->normlen : t->len[d->id]);
        if (d->lstrip)
            while (lo > start && ascii_space((unsigned char)text[lo - 1])) lo--;
        if (d->rstrip)
            while (hi < len && ascii_space((unsigned char)text[hi])) hi++;
        stretch(t, text + start, lo - start, skip_special, out, cap, k);
        tok_reserve_ids(out, cap, *k + 1);
        (*out)[(*k)++] = d->id;
        start = i = hi;
    }
    stretch(t, text + start, len - start, skip_special, out, cap, k);
}

/* The ids go to (*out)[0..n), the buffer grown as needed. */
size_t tok_encode_opt(const Tokenizer *t, const char *text, size_t len, int special_as_text,
                      int32_t **out, size_t *cap) {
    tok_reserve_ids(out, cap, len + 2);
    size_t k = 0;
    tok_split_added(t, text, len, special_as_text, 0, out, cap, &k,
                    t->kind == TOK_WORDPIECE ? tok_wp_stretch : encode_stretch);
    return k;
}

size_t tok_encode(const Tokenizer *t, const char *text, size_t len, int32_t **out, size_t *cap) {
    return tok_encode_opt(t, text, len, 0, out, cap);
}

/* ---- decode ---------------------------------------------------------------- */

/* Ids outside the vocabulary decode to nothing. */
char *tok_decode_len(const Tokenizer *t, const int32_t *ids, size_t n, size_t *len) {
    if (t->kind == TOK_WORDPIECE) return tok_wp_decode(t, ids, n, len);
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

char *tok_piece_text(const Tokenizer *t, int32_t id, size_t *len) {
    int ok = id >= 0 && id < t->ntok && t->raw[id];
    *len = ok ? t->rawlen[id] : 0;
    char *s = z_malloc(*len + 1, "token text");
    if (ok) memcpy(s, t->raw[id], *len);
    s[*len] = 0;
    return s;
}

int tok_continues_word(const Tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->ntok || !t->raw[id] || !t->rawlen[id]) return 0;
    unsigned char c = (unsigned char)t->raw[id][0];
    return !(c == ' ' || c == '\n' || c == '\t' || c == '\r');
}

char *tok_decode(const Tokenizer *t, const int32_t *ids, size_t n) {
    size_t len;
    return tok_decode_len(t, ids, n, &len);
}
