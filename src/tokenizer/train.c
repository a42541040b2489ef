/*
 * tokenizer_train.c — BPE training (tok_train in tokenizer.h), the
 * algorithm of HF's BpeTrainer:
 *
 *   1. pre-tokenize every document (tok_piece_end) and count the distinct
 *      pieces ("words"); each word starts as its byte symbols;
 *   2. count every adjacent pair of symbols, weighted by word count, and
 *      remember which words hold it;
 *   3. repeatedly take the pair with the highest count — ties to the
 *      smallest (left id, right id) — make it a token, and rewrite the words
 *      that hold it left to right; each rewrite of x a b y into x ab y moves
 *      the word's count from (x,a) and (b,y) to (x,ab) and (ab,y).
 *
 * The max-heap of candidates is lazy: an entry whose count went stale is
 * pushed back with the current count when it reaches the top; a pair whose
 * count grows gets a fresh entry. Counts only grow for pairs holding the new
 * token, so the top entry, once current, is the true maximum. Stops when the
 * vocabulary is full or the best count is below min_frequency.
 *
 * A merge whose string already exists (ab·c after a·bc) reuses that token's
 * id, as HF does; such a pair is never listed twice in the merges.
 *
 * WordPiece (tok_train_wordpiece) is the same engine over other symbols, as
 * HF's WordPieceTrainer is its BpeTrainer with continuing_subword_prefix
 * "##": words come from BERT's normalizer and pre-tokenizer, a word starts
 * as its characters (the first as itself, the rest as ##c), and the merge of
 * a and ##b is the token "ab"; no merges are kept, only the vocabulary.
 */
#include "internal.h"
#include "map.h"
#include "tokenizer.h"

#include "mpi/err.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct {
    int32_t *sym;
    uint32_t n, stamp; /* stamp: last iteration that rewrote it */
    int64_t count;
} Word;

typedef struct {
    int32_t a, b;
    int64_t count;
    int32_t *w; /* words holding the pair (possibly stale, no repeats in a row) */
    uint32_t nw, cw, stamp;
    int32_t merged; /* id it was merged into, or -1 */
} Pair;

typedef struct {
    int64_t count;
    int32_t a, b;
} Cand;

typedef struct {
    Tokenizer *t;
    Word *words;
    size_t nwords;
    Pair *pairs;
    size_t npairs, cappairs;
    U64Map pair_ix;
    Cand *heap;
    size_t nheap, capheap;
    int32_t *touched; /* pairs that grew in this iteration */
    size_t ntouched, captouched;
    uint32_t iter;
    int wordpiece; /* symbols are WordPiece strings; a merge concatenates them */
} Trainer;

static void *grow(void *p, size_t *cap, size_t need, size_t size, const char *what) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    p = realloc(p, c * size);
    if (!p) z_die("out of memory growing %s to %zu", what, c);
    *cap = c;
    return p;
}

/* ---- candidate heap: highest count, then smallest (a, b) ----------------- */

static int cbetter(Cand x, Cand y) {
    if (x.count != y.count) return x.count > y.count;
    return x.a != y.a ? x.a < y.a : x.b < y.b;
}

static void cand_push(Trainer *tr, Cand c) {
    tr->heap = grow(tr->heap, &tr->capheap, tr->nheap + 1, sizeof *tr->heap, "pair heap");
    size_t i = tr->nheap++;
    while (i > 0 && cbetter(c, tr->heap[(i - 1) / 2])) {
        tr->heap[i] = tr->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    tr->heap[i] = c;
}

static Cand cand_pop(Trainer *tr) {
    Cand *h = tr->heap, top = h[0], last = h[--tr->nheap];
    size_t i = 0, n = tr->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cbetter(h[c + 1], h[c])) c++;
        if (!cbetter(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = last;
    return top;
}

/* ---- pairs ---------------------------------------------------------------- */

static int32_t pair_index(Trainer *tr, int32_t a, int32_t b) {
    int isnew;
    int64_t *v = u64map_put(&tr->pair_ix, (uint64_t)(uint32_t)a << 32 | (uint32_t)b, &isnew);
    if (isnew) {
        tr->pairs = grow(tr->pairs, &tr->cappairs, tr->npairs + 1, sizeof *tr->pairs, "pairs");
        tr->pairs[tr->npairs] = (Pair){a, b, 0, NULL, 0, 0, 0, -1};
        *v = (int64_t)tr->npairs++;
    }
    return (int32_t)*v;
}

/* Adds delta to the count of (a, b) for word wi; a pair that grows records
 * the word and is marked for a fresh heap entry. */
static void pair_change(Trainer *tr, int32_t a, int32_t b, int64_t delta, int32_t wi) {
    int32_t ix = pair_index(tr, a, b); /* may move tr->pairs */
    Pair *p = &tr->pairs[ix];
    p->count += delta;
    if (delta <= 0) return;
    if (!p->nw || p->w[p->nw - 1] != wi) {
        if (p->nw == p->cw) {
            p->cw = p->cw ? 2 * p->cw : 4;
            p->w = realloc(p->w, p->cw * sizeof *p->w);
            if (!p->w) z_die("out of memory growing a pair's word list to %u", p->cw);
        }
        p->w[p->nw++] = wi;
    }
    if (p->stamp != tr->iter) {
        p->stamp = tr->iter;
        tr->touched = grow(tr->touched, &tr->captouched, tr->ntouched + 1, sizeof *tr->touched,
                           "touched pairs");
        tr->touched[tr->ntouched++] = (int32_t)(p - tr->pairs);
    }
}

/* ---- words ---------------------------------------------------------------- */

/* Distinct pieces of all documents with their counts. Keys point into the
 * documents, which outlive the training. */
static void count_words(Trainer *tr, const char *const *docs, const size_t *lens, size_t ndocs) {
    SMap seen = {0};
    size_t cap = 0;
    for (size_t d = 0; d < ndocs; d++)
        for (size_t i = 0, e; i < lens[d]; i = e) {
            e = tok_piece_end(docs[d], lens[d], i);
            int isnew;
            int64_t *v = smap_put(&seen, docs[d] + i, e - i, &isnew);
            if (isnew) {
                tr->words = grow(tr->words, &cap, tr->nwords + 1, sizeof *tr->words, "words");
                /* sym holds the piece's address until words_to_symbols */
                tr->words[tr->nwords] =
                    (Word){(int32_t *)(uintptr_t)(docs[d] + i), (uint32_t)(e - i), 0, 0};
                *v = (int64_t)tr->nwords++;
            }
            tr->words[*v].count++;
        }
    smap_free(&seen);
}

static void words_to_symbols(Trainer *tr) {
    for (size_t w = 0; w < tr->nwords; w++) {
        const unsigned char *s = (const unsigned char *)(uintptr_t)tr->words[w].sym;
        uint32_t n = tr->words[w].n;
        int32_t *sym = z_malloc(n * sizeof *sym, "word symbols");
        for (uint32_t i = 0; i < n; i++) sym[i] = tok_byte_id(tr->t, s[i]);
        tr->words[w].sym = sym;
    }
}

static void count_pairs(Trainer *tr) {
    for (size_t w = 0; w < tr->nwords; w++) {
        const Word *x = &tr->words[w];
        for (uint32_t i = 0; i + 1 < x->n; i++)
            pair_change(tr, x->sym[i], x->sym[i + 1], x->count, (int32_t)w);
    }
    for (size_t p = 0; p < tr->npairs; p++)
        cand_push(tr, (Cand){tr->pairs[p].count, tr->pairs[p].a, tr->pairs[p].b});
    tr->ntouched = 0;
}

/* Rewrites every a b in word wi as id, left to right, updating pair counts. */
static void merge_word(Trainer *tr, int32_t wi, int32_t a, int32_t b, int32_t id) {
    Word *w = &tr->words[wi];
    int32_t *s = w->sym;
    int64_t c = w->count;
    uint32_t n = w->n, o = 0;
    for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (o > 0) {
                pair_change(tr, s[o - 1], a, -c, wi);
                pair_change(tr, s[o - 1], id, c, wi);
            }
            if (i + 2 < n) {
                pair_change(tr, b, s[i + 2], -c, wi);
                pair_change(tr, id, s[i + 2], c, wi);
            }
            s[o++] = id;
            i += 2;
        } else
            s[o++] = s[i++];
    }
    w->n = o;
}

/* Merges pair ix into id in every word that holds it. */
static void apply_merge(Trainer *tr, int32_t ix, int32_t id) {
    Pair *p = &tr->pairs[ix];
    int32_t a = p->a, b = p->b, *ws = p->w;
    uint32_t nw = p->nw;
    p->w = NULL;
    p->nw = p->cw = 0;
    tr->iter++;
    tr->ntouched = 0;
    for (uint32_t k = 0; k < nw; k++) {
        Word *w = &tr->words[ws[k]];
        if (w->stamp == tr->iter) continue;
        w->stamp = tr->iter;
        merge_word(tr, ws[k], a, b, id);
    }
    free(ws);
    p = &tr->pairs[ix];
    p->count = 0;
    p->merged = id;
    for (size_t k = 0; k < tr->ntouched; k++) {
        const Pair *q = &tr->pairs[tr->touched[k]];
        if (q->count > 0) cand_push(tr, (Cand){q->count, q->a, q->b});
    }
}

/* a + b without b's "##": an existing token's id, or a new one */
static int32_t wp_merge(Tokenizer *t, int32_t a, int32_t b) {
    const char *sb = t->str[b];
    size_t la = t->len[a], lb = t->len[b], pl = strlen(t->wp.prefix);
    if (lb >= pl && !memcmp(sb, t->wp.prefix, pl)) sb += pl, lb -= pl;
    char *s = z_malloc(la + lb + 1, "token");
    memcpy(s, t->str[a], la);
    memcpy(s + la, sb, lb);
    int id = tok_vocab_id(t, s, la + lb);
    if (id < 0) tok_set_token(t, id = t->ntok, s, la + lb, 1);
    free(s);
    return id;
}

static void merge_loop(Trainer *tr, int vocab_size, int64_t min_count) {
    while (tok_vocab_size(tr->t) < vocab_size && tr->nheap) {
        Cand top = cand_pop(tr);
        const int64_t *v =
            u64map_get(&tr->pair_ix, (uint64_t)(uint32_t)top.a << 32 | (uint32_t)top.b);
        int32_t ix = (int32_t)*v;
        const Pair *p = &tr->pairs[ix];
        if (p->count != top.count) { /* stale: back with the current count */
            if (p->count > 0) cand_push(tr, (Cand){p->count, p->a, p->b});
            continue;
        }
        if (top.count < min_count) break;
        int32_t id = p->merged >= 0  ? p->merged
                     : tr->wordpiece ? wp_merge(tr->t, top.a, top.b)
                                     : tok_add_merge(tr->t, top.a, top.b);
        apply_merge(tr, ix, id);
    }
}

static void train_free(Trainer *tr) {
    for (size_t w = 0; w < tr->nwords; w++) free(tr->words[w].sym);
    for (size_t p = 0; p < tr->npairs; p++) free(tr->pairs[p].w);
    free(tr->words);
    free(tr->pairs);
    free(tr->heap);
    free(tr->touched);
    u64map_free(&tr->pair_ix);
}

Tokenizer *tok_train(const char *const *docs, const size_t *lens, size_t ndocs, int vocab_size,
                     int min_frequency) {
    Trainer tr = {0};
    tr.t = tok_new_base();
    count_words(&tr, docs, lens, ndocs);
    words_to_symbols(&tr);
    count_pairs(&tr);
    merge_loop(&tr, vocab_size, min_frequency > 1 ? min_frequency : 1);
    train_free(&tr);
    return tr.t;
}

/* ---- WordPiece ------------------------------------------------------------ */

/* BertPreTokenizer's words of normalized text s[0..n): split at whitespace,
 * every punctuation character a word of its own. */
static void wp_count_words(Trainer *tr, SMap *seen, size_t *cap, const char *s, size_t n) {
    size_t ws = 0;
    for (size_t i = 0; i <= n;) {
        int l = 1, cut = i == n, pu = 0;
        if (i < n) {
            int32_t cp = tok_utf8_decode((const unsigned char *)s + i, n - i, &l);
            cut = tok_is_white_space(cp) || (pu = tok_wp_is_punct(cp));
        }
        size_t a[2] = {ws, i}, e[2] = {i, i + (size_t)l};
        for (int k = 0; k < 1 + pu; k++) {
            if (!cut || e[k] <= a[k]) continue;
            int isnew;
            int64_t *v = smap_put(seen, s + a[k], e[k] - a[k], &isnew);
            if (isnew) {
                tr->words = grow(tr->words, cap, tr->nwords + 1, sizeof *tr->words, "words");
                tr->words[tr->nwords] =
                    (Word){(int32_t *)(uintptr_t)(s + a[k]), (uint32_t)(e[k] - a[k]), 0, 0};
                *v = (int64_t)tr->nwords++;
            }
            tr->words[*v].count++;
        }
        if (cut) ws = i + (size_t)l;
        i += (size_t)l;
    }
}

static int cmp_cp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The symbols: every character as a token, sorted by code point, then the
 * ## forms of those seen after a word's first character, sorted likewise. */
static void wp_symbols(Trainer *tr) {
    Tokenizer *t = tr->t;
    U64Map first = {0}, later = {0};
    for (size_t w = 0; w < tr->nwords; w++) {
        const unsigned char *s = (const unsigned char *)(uintptr_t)tr->words[w].sym;
        uint32_t n = tr->words[w].n;
        for (uint32_t i = 0; i < n;) {
            int l, isnew;
            int32_t cp = tok_utf8_decode(s + i, n - i, &l);
            u64map_put(&first, (uint64_t)(uint32_t)cp, &isnew);
            if (i) u64map_put(&later, (uint64_t)(uint32_t)cp, &isnew);
            i += (uint32_t)l;
        }
    }
    U64Map *sets[2] = {&first, &later};
    size_t pl = strlen(t->wp.prefix);
    for (int k = 0; k < 2; k++) {
        int32_t *cps = z_malloc((sets[k]->used + 1) * sizeof *cps, "alphabet");
        size_t n = 0;
        for (size_t i = 0; i < sets[k]->cap; i++)
            if (sets[k]->key[i] != MAP_EMPTY) cps[n++] = (int32_t)sets[k]->key[i];
        qsort(cps, n, sizeof *cps, cmp_cp);
        for (size_t i = 0; i < n; i++) {
            char buf[32];
            size_t m = 0;
            if (k) memcpy(buf, t->wp.prefix, pl), m = pl;
            utf8proc_ssize_t e = utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)buf + m);
            if (tok_vocab_id(t, buf, m + (size_t)e) < 0)
                tok_set_token(t, t->ntok, buf, m + (size_t)e, 1);
        }
        free(cps);
    }
    u64map_free(&first), u64map_free(&later);
    char buf[32];
    for (size_t w = 0; w < tr->nwords; w++) {
        const unsigned char *s = (const unsigned char *)(uintptr_t)tr->words[w].sym;
        uint32_t n = tr->words[w].n, k = 0;
        int32_t *sym = z_malloc((n ? n : 1) * sizeof *sym, "word symbols");
        for (uint32_t i = 0; i < n;) {
            int l;
            tok_utf8_decode(s + i, n - i, &l);
            size_t off = i ? pl : 0;
            memcpy(buf, t->wp.prefix, pl); /* (the first character wrote over it) */
            memcpy(buf + off, s + i, (size_t)l);
            sym[k++] = tok_vocab_id(t, buf, off + (size_t)l);
            i += (uint32_t)l;
        }
        tr->words[w].sym = sym, tr->words[w].n = k;
    }
}

Tokenizer *tok_train_wordpiece(const char *const *docs, const size_t *lens, size_t ndocs,
                               int vocab_size, int min_frequency, int lowercase) {
    Trainer tr = {0};
    Tokenizer *t = tr.t = tok_alloc();
    t->kind = TOK_WORDPIECE;
    tok_wp_defaults(&t->wp);
    t->wp.lowercase = lowercase, t->wp.strip_accents = -1;
    static const char *const special[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    t->added = z_malloc(5 * sizeof *t->added, "added tokens");
    for (int i = 0; i < 5; i++) {
        tok_set_token(t, i, special[i], strlen(special[i]), 1);
        t->added[t->nadded++] = (Added){i, 1, 0, 0, 0, 0, NULL, 0};
    }
    char err[256];
    if (tok_wp_finish(t, "[UNK]", err, sizeof err)) z_die("wordpiece: %s", err);
    /* the normalized documents hold the words' bytes until training ends */
    char **norm = z_malloc((ndocs ? ndocs : 1) * sizeof *norm, "normalized documents");
    SMap seen = {0};
    size_t cap = 0;
    for (size_t d = 0; d < ndocs; d++) {
        size_t n;
        norm[d] = tok_wp_normalize(t, docs[d], lens[d], &n);
        wp_count_words(&tr, &seen, &cap, norm[d], n);
    }
    smap_free(&seen);
    wp_symbols(&tr);
    tr.wordpiece = 1;
    count_pairs(&tr);
    merge_loop(&tr, vocab_size, min_frequency > 1 ? min_frequency : 1);
    train_free(&tr);
    for (size_t d = 0; d < ndocs; d++) free(norm[d]);
    free(norm);
    return t;
}
