/*
 * quality.c — fastText's supervised classifier, its .bin file both ways
 * (see quality.h). The .bin layout: int32 magic 793712314, int32 version;
 * args (12 int32 and a double); the dictionary (int32 size, nwords, nlabels;
 * int64 ntokens, pruneidx_size; entries: NUL-terminated string, int64 count,
 * int8 type; prune pairs); a quantized flag (1 byte) and the input matrix
 * (int64 rows, int64 cols, float32 row-major); a quantized flag and the
 * output matrix. Little-endian, as fastText writes it on every machine we
 * run on.
 */
#include "quality.h"

#include "kernels/rng.h"
#include "mpi/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QC_MAGIC 793712314
#define QC_VERSION 12
#define QC_EOS "</s>"
#define QC_LABEL "__label__"
#define QC_MAX_LINE 1024 /* fastText's MAX_LINE_SIZE: tokens of an unsupervised line */
enum { TYPE_WORD = 0, TYPE_LABEL = 1 };

struct Qc {
    QcArgs a;
    int size, nwords, nlabels;
    int64_t ntokens;
    char **word;
    int64_t *count;
    int8_t *type;
    int32_t *table; /* open addressing over FNV-1a: entry index or −1 */
    size_t tcap;
    float *in, *out;    /* [nwords + bucket][dim], [nlabels][dim] */
    float sigmoid[513]; /* fastText's table (one-vs-all), 512 steps over [−8, 8] */
};

void qc_default_args(QcArgs *a) {
    memset(a, 0, sizeof *a);
    a->dim = 100, a->ws = 5, a->epoch = 5, a->min_count = 1, a->neg = 5, a->word_ngrams = 1;
    a->loss = QC_LOSS_SOFTMAX, a->model = QC_MODEL_SUP, a->bucket = 2000000;
    a->minn = 0, a->maxn = 0, a->lr_update_rate = 100, a->t = 1e-4, a->lr = 0.1;
}

/* fastText's hash: FNV-1a over the bytes taken as signed chars */
static uint32_t qc_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint32_t)(int32_t)(int8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static int find(const Qc *q, const char *s, size_t n, uint32_t h) {
    size_t i = h % q->tcap;
    while (q->table[i] >= 0) {
        const char *w = q->word[q->table[i]];
        if (strlen(w) == n && !memcmp(w, s, n)) return q->table[i];
        i = (i + 1) % q->tcap;
    }
    return -1;
}

static void index_words(Qc *q) {
    free(q->table);
    q->tcap = (size_t)q->size * 2 + 17;
    q->table = z_malloc(q->tcap * sizeof *q->table, "classifier vocabulary");
    for (size_t i = 0; i < q->tcap; i++) q->table[i] = -1;
    for (int e = 0; e < q->size; e++) {
        size_t i = qc_hash(q->word[e], strlen(q->word[e])) % q->tcap;
        while (q->table[i] >= 0) i = (i + 1) % q->tcap;
        q->table[i] = e;
    }
}

static void init_tables(Qc *q) {
    for (int i = 0; i <= 512; i++) {
        double x = (double)(i * 2 * 8) / 512 - 8;
        q->sigmoid[i] = (float)(1.0 / (1.0 + exp(-x)));
    }
}

static float qc_sigmoid(const Qc *q, float x) {
    if (x < -8) return 0.0f;
    if (x > 8) return 1.0f;
    return q->sigmoid[(int64_t)((x + 8) * 512 / 8 / 2)];
}

int qc_nlabels(const Qc *q) {
    return q->nlabels;
}
int qc_nwords(const Qc *q) {
    return q->nwords;
}
const QcArgs *qc_args(const Qc *q) {
    return &q->a;
}
const char *qc_label(const Qc *q, int i, int full) {
    const char *w = q->word[q->nwords + i];
    size_t p = strlen(QC_LABEL);
    return !full && !strncmp(w, QC_LABEL, p) ? w + p : w;
}

void qc_free(Qc *q) {
    if (!q) return;
    for (int i = 0; q->word && i < q->size; i++) free(q->word[i]);
    free(q->word), free(q->count), free(q->type), free(q->table), free(q->in), free(q->out);
    free(q);
}

/* ------------------------------------------------------------------------- */
/* tokens and the input rows of a line                                         */

static int is_space(int c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == 0;
}

/* The next token of text[*at, n): fastText's readWord. A newline met before
 * any character is the token "</s>". 0 at the end. */
static int next_token(const char *text, size_t n, size_t *at, const char **tok, size_t *len) {
    size_t i = *at;
    while (i < n && is_space((unsigned char)text[i])) {
        if (text[i] == '\n') {
            *tok = QC_EOS, *len = 4, *at = i + 1;
            return 1;
        }
        i++;
    }
    if (i >= n) {
        *at = i;
        return 0;
    }
    size_t s = i;
    while (i < n && !is_space((unsigned char)text[i])) i++;
    *tok = text + s, *len = i - s, *at = i; /* a newline after it stays for the next call */
    return 1;
}

typedef struct {
    int32_t *v;
    size_t n, cap;
} Ints;

static void push(Ints *x, int32_t v) {
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->v = realloc(x->v, x->cap * sizeof *x->v);
        if (!x->v) z_die("out of memory (classifier line)");
    }
    x->v[x->n++] = v;
}

/* character n-grams of "<word>" (fastText's computeSubwords): UTF-8
 * characters, lengths minn..maxn, not the lone "<" or ">" */
static void subwords(const Qc *q, const char *w, size_t wn, Ints *rows) {
    if (q->a.maxn <= 0 || q->a.bucket <= 0) return;
    char *s = z_malloc(wn + 3, "subword");
    s[0] = '<', memcpy(s + 1, w, wn), s[wn + 1] = '>';
    size_t n = wn + 2;
    for (size_t i = 0; i < n; i++) {
        if ((s[i] & 0xC0) == 0x80) continue;
        size_t j = i;
        for (int len = 1; j < n && len <= q->a.maxn; len++) {
            j++;
            while (j < n && (s[j] & 0xC0) == 0x80) j++;
            if (len >= q->a.minn && !(len == 1 && (i == 0 || j == n)))
                push(rows, q->nwords + (int32_t)(qc_hash(s + i, j - i) % (uint32_t)q->a.bucket));
        }
    }
    free(s);
}

/* The input rows and labels of the line at text[*at, n) (to its "</s>" or
 * the end): fastText's supervised getLine. Returns the tokens read. */
static long line_rows(const Qc *q, const char *text, size_t n, size_t *at, Ints *rows, Ints *labels,
                      Ints *hashes) {
    rows->n = labels->n = hashes->n = 0;
    const char *tok;
    size_t len;
    long ntok = 0;
    size_t pl = strlen(QC_LABEL);
    while (next_token(text, n, at, &tok, &len)) {
        uint32_t h = qc_hash(tok, len);
        int wid = find(q, tok, len, h);
        int type = wid < 0 ? (len >= pl && !memcmp(tok, QC_LABEL, pl) ? TYPE_LABEL : TYPE_WORD)
                           : q->type[wid];
        ntok++;
        int eos = len == 4 && !memcmp(tok, QC_EOS, 4);
        if (type == TYPE_WORD) {
            if (wid >= 0) push(rows, wid);
            if (!eos && (wid >= 0 || q->a.maxn > 0)) subwords(q, tok, len, rows);
            push(hashes, (int32_t)h); /* kept as int32: sign-extended below, as fastText */
        } else if (wid >= 0) {
            push(labels, wid - q->nwords);
        }
        if (eos) break;
    }
    /* word n-grams: h = h·116049371 + h' over 64 bits, into the buckets */
    for (size_t i = 0; q->a.bucket > 0 && i < hashes->n; i++) {
        uint64_t hh = (uint64_t)(int64_t)hashes->v[i];
        for (size_t j = i + 1; j < hashes->n && j < i + (size_t)q->a.word_ngrams; j++) {
            hh = hh * 116049371u + (uint64_t)(int64_t)hashes->v[j];
            push(rows, q->nwords + (int32_t)(hh % (uint64_t)q->a.bucket));
        }
    }
    return ntok;
}

/* ------------------------------------------------------------------------- */
/* forward                                                                     */

static void hidden_of(const Qc *q, const Ints *rows, float *h) {
    int d = q->a.dim;
    for (int c = 0; c < d; c++) h[c] = 0;
    for (size_t r = 0; r < rows->n; r++) {
        const float *w = q->in + (size_t)rows->v[r] * d;
        for (int c = 0; c < d; c++) h[c] += w[c];
    }
    float inv = (float)(1.0 / (double)rows->n);
    for (int c = 0; c < d; c++) h[c] *= inv;
}

/* output[i]: softmax of the label scores, or each one's sigmoid (ova) */
static void output_of(const Qc *q, const float *h, float *o) {
    int d = q->a.dim, L = q->nlabels;
    for (int i = 0; i < L; i++) {
        float s = 0;
        for (int c = 0; c < d; c++) s += q->out[(size_t)i * d + c] * h[c];
        o[i] = s;
    }
    if (q->a.loss == QC_LOSS_OVA) {
        for (int i = 0; i < L; i++) o[i] = qc_sigmoid(q, o[i]);
        return;
    }
    float mx = o[0], z = 0;
    for (int i = 0; i < L; i++) mx = o[i] > mx ? o[i] : mx;
    for (int i = 0; i < L; i++) o[i] = expf(o[i] - mx), z += o[i];
    for (int i = 0; i < L; i++) o[i] /= z;
}

/* fastText's findKBest keeps the k best (log(p + 1e-5), label) pairs in a
 * binary heap and sorts it with the C++ library's heap algorithms: the same
 * steps here (libstdc++'s push, adjust and pop), so that labels with equal
 * probabilities come out in fastText's order too. cmp(a, b): a ranks below b
 * as a heap parent, i.e. a's score is the greater (a min-heap on scores). */
typedef struct {
    float s;
    int i;
} Pair;

static int cmp(Pair a, Pair b) {
    return a.s > b.s;
}

static void heap_push_hole(Pair *h, long hole, long top, Pair v) {
    long parent = (hole - 1) / 2;
    while (hole > top && cmp(h[parent], v))
        h[hole] = h[parent], hole = parent, parent = (hole - 1) / 2;
    h[hole] = v;
}

static void heap_adjust(Pair *h, long hole, long len, Pair v) {
    long top = hole, child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (cmp(h[child], h[child - 1])) child--;
        h[hole] = h[child], hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        h[hole] = h[child - 1], hole = child - 1;
    }
    heap_push_hole(h, hole, top, v);
}

/* pop_heap over h[0, n): the root goes to h[n − 1] */
static void heap_pop(Pair *h, long n) {
    if (n < 2) return;
    Pair v = h[n - 1];
    h[n - 1] = h[0];
    heap_adjust(h, 0, n - 1, v);
}

/* The k best labels and their probabilities as fastText reports them,
 * exp(log(p + 1e-5)). */
static int predict_rows(const Qc *q, const Ints *rows, int k, double threshold, int *labels,
                        double *probs, float *scratch) {
    if (!rows->n || k <= 0) return 0;
    float *h = scratch, *o = scratch + q->a.dim;
    hidden_of(q, rows, h);
    output_of(q, h, o);
    Pair *heap = z_malloc(((size_t)k + 1) * sizeof *heap, "predictions");
    long n = 0;
    for (int i = 0; i < q->nlabels; i++) {
        if (o[i] < threshold) continue;
        float s = logf(o[i] + 1e-5f);
        if (n == k && s < heap[0].s) continue;
        heap[n++] = (Pair){s, i};
        heap_push_hole(heap, n - 1, 0, heap[n - 1]);
        if (n > k) heap_pop(heap, n), n--;
    }
    for (long m = n; m > 1; m--) heap_pop(heap, m); /* sort_heap: best first */
    for (long j = 0; j < n; j++) labels[j] = heap[j].i, probs[j] = expf(heap[j].s);
    free(heap);
    return (int)n;
}

int qc_predict(const Qc *q, const char *text, size_t len, int k, double threshold, int *labels,
               double *probs) {
    Ints rows = {0}, lab = {0}, hashes = {0};
    char *line = z_malloc(len + 2, "classifier line");
    memcpy(line, text, len);
    line[len] = '\n'; /* fastText's predict adds the newline, so "</s>" */
    size_t at = 0;
    line_rows(q, line, len + 1, &at, &rows, &lab, &hashes);
    float *scratch = z_malloc(((size_t)q->a.dim + q->nlabels) * sizeof *scratch, "scores");
    int got = predict_rows(q, &rows, k, threshold, labels, probs, scratch);
    free(scratch), free(line), free(rows.v), free(lab.v), free(hashes.v);
    return got;
}

double qc_prob(const Qc *q, const char *text, size_t len, int label) {
    Ints rows = {0}, lab = {0}, hashes = {0};
    char *line = z_malloc(len + 2, "classifier line");
    memcpy(line, text, len);
    line[len] = '\n';
    size_t at = 0;
    line_rows(q, line, len + 1, &at, &rows, &lab, &hashes);
    float *s = z_malloc(((size_t)q->a.dim + q->nlabels) * sizeof *s, "scores");
    double p = 0;
    if (rows.n) {
        hidden_of(q, &rows, s);
        output_of(q, s, s + q->a.dim);
        p = s[q->a.dim + label];
    }
    free(s), free(line), free(rows.v), free(lab.v), free(hashes.v);
    return p;
}

/* ------------------------------------------------------------------------- */
/* files                                                                       */

static char *slurp(const char *path, size_t *n, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        z_fail(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = z_malloc(cap, "file");
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            buf = realloc(buf, cap *= 2);
            if (!buf) z_die("out of memory reading %s", path);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        z_fail(err, errlen, "%s: read error", path);
        return NULL;
    }
    *n = len;
    return buf;
}

typedef struct {
    const char *p;
    size_t n, at;
    int bad;
} Reader;

static void get(Reader *r, void *dst, size_t n) {
    if (r->bad || r->at + n > r->n) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->at, n);
    r->at += n;
}

Qc *qc_load(const char *path, char *err, size_t errlen) {
    size_t n;
    char *buf = slurp(path, &n, err, errlen);
    if (!buf) return NULL;
    Reader r = {buf, n, 0, 0};
    Qc *q = z_calloc(1, sizeof *q, "classifier");
    int32_t magic, version, iv[12];
    get(&r, &magic, 4), get(&r, &version, 4);
    const char *why = NULL;
    if (r.bad || magic != QC_MAGIC)
        why = "not a fastText model (magic number)";
    else if (version > QC_VERSION || version < 11)
        why = "a fastText format version not read here";
    if (!why) {
        get(&r, iv, sizeof iv), get(&r, &q->a.t, 8);
        QcArgs *a = &q->a;
        a->dim = iv[0], a->ws = iv[1], a->epoch = iv[2], a->min_count = iv[3], a->neg = iv[4];
        a->word_ngrams = iv[5], a->loss = iv[6], a->model = iv[7], a->bucket = iv[8];
        a->minn = iv[9], a->maxn = iv[10], a->lr_update_rate = iv[11];
        if (version == 11 && a->model == QC_MODEL_SUP) a->maxn = 0; /* as fastText */
        int64_t prune;
        int32_t dv[3];
        get(&r, dv, sizeof dv), get(&r, &q->ntokens, 8), get(&r, &prune, 8);
        q->size = dv[0], q->nwords = dv[1], q->nlabels = dv[2];
        if (r.bad)
            why = "truncated header";
        else if (a->model != QC_MODEL_SUP)
            why = "not a supervised model (word vectors)";
        else if (a->loss != QC_LOSS_SOFTMAX && a->loss != QC_LOSS_OVA)
            why = "loss hs or ns: only softmax and one-vs-all classifiers are read (retrain with "
                  "-loss softmax)";
        else if (a->dim <= 0 || a->dim > 1 << 16 || a->bucket < 0 || q->size < 0 || q->nwords < 0 ||
                 q->nlabels <= 0 || q->nwords + q->nlabels != q->size)
            why = "inconsistent sizes in the header";
        else if ((size_t)q->size > r.n / 10) /* an entry takes 10 bytes at least */
            why = "more dictionary entries than the file can hold";
        else if (prune >= 0)
            why = "a pruned (quantized) model: only full .bin models are read";
    }
    if (!why) {
        q->word = z_calloc((size_t)q->size, sizeof *q->word, "classifier words");
        q->count = z_malloc((size_t)q->size * sizeof *q->count, "classifier counts");
        q->type = z_malloc((size_t)q->size, "classifier types");
        for (int e = 0; e < q->size && !r.bad; e++) {
            const char *s = r.p + r.at, *nul = memchr(s, 0, r.n - r.at);
            if (!nul) {
                r.bad = 1;
                break;
            }
            q->word[e] = z_malloc((size_t)(nul - s) + 1, "classifier word");
            memcpy(q->word[e], s, (size_t)(nul - s) + 1);
            r.at += (size_t)(nul - s) + 1;
            get(&r, &q->count[e], 8), get(&r, &q->type[e], 1);
            if ((e < q->nwords) != (q->type[e] == TYPE_WORD)) why = "entry types out of order";
        }
        if (r.bad && !why) why = "truncated dictionary";
    }
    uint8_t quant = 0;
    int64_t dims[2];
    for (int m = 0; m < 2 && !why; m++) {
        get(&r, &quant, 1), get(&r, dims, sizeof dims);
        int64_t rows = m == 0 ? (int64_t)q->nwords + q->a.bucket : q->nlabels;
        if (r.bad)
            why = "truncated matrices";
        else if (quant)
            why = "a quantized model (.ftz): only full .bin models are read";
        else if (dims[0] != rows || dims[1] != q->a.dim)
            why = m == 0 ? "the input matrix is not (nwords + bucket) x dim"
                         : "the output matrix is not labels x dim";
        else if ((size_t)(dims[0] * dims[1]) * 4 > r.n - r.at)
            why = "truncated matrices";
        if (why) break;
        float *mat = z_malloc((size_t)(dims[0] * dims[1]) * 4, "classifier matrix");
        get(&r, mat, (size_t)(dims[0] * dims[1]) * 4);
        if (m == 0)
            q->in = mat;
        else
            q->out = mat;
    }
    if (!why && r.at != r.n) why = "trailing bytes after the output matrix";
    free(buf);
    if (why) {
        z_fail(err, errlen, "%s: %s", path, why);
        qc_free(q);
        return NULL;
    }
    index_words(q);
    init_tables(q);
    return q;
}

int qc_save(const Qc *q, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "wb");
    if (!f) return z_fail(err, errlen, "%s: cannot create", path);
    const QcArgs *a = &q->a;
    int32_t head[2] = {QC_MAGIC, QC_VERSION};
    int32_t iv[12] = {a->dim,  a->ws,    a->epoch,  a->min_count, a->neg,  a->word_ngrams,
                      a->loss, a->model, a->bucket, a->minn,      a->maxn, a->lr_update_rate};
    int32_t dv[3] = {q->size, q->nwords, q->nlabels};
    int64_t prune = -1, dims[2];
    uint8_t no = 0;
    int ok = fwrite(head, 4, 2, f) == 2 && fwrite(iv, 4, 12, f) == 12 &&
             fwrite(&a->t, 8, 1, f) == 1 && fwrite(dv, 4, 3, f) == 3 &&
             fwrite(&q->ntokens, 8, 1, f) == 1 && fwrite(&prune, 8, 1, f) == 1;
    for (int e = 0; e < q->size && ok; e++)
        ok = fwrite(q->word[e], 1, strlen(q->word[e]) + 1, f) == strlen(q->word[e]) + 1 &&
             fwrite(&q->count[e], 8, 1, f) == 1 && fwrite(&q->type[e], 1, 1, f) == 1;
    for (int m = 0; m < 2 && ok; m++) {
        dims[0] = m == 0 ? (int64_t)q->nwords + a->bucket : q->nlabels, dims[1] = a->dim;
        size_t cnt = (size_t)(dims[0] * dims[1]);
        ok = fwrite(&no, 1, 1, f) == 1 && fwrite(dims, 8, 2, f) == 2 &&
             fwrite(m == 0 ? q->in : q->out, 4, cnt, f) == cnt;
    }
    if (fclose(f) || !ok) {
        remove(path);
        return z_fail(err, errlen, "%s: write failed (disk full?)", path);
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* training                                                                    */

typedef struct {
    char *s;
    int64_t count;
    int type;
    long first; /* first occurrence: ties keep reading order */
} Tally;

static int by_type_count(const void *x, const void *y) {
    const Tally *a = x, *b = y;
    if (a->type != b->type) return a->type - b->type;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

/* the vocabulary of a training text: counts, threshold, fastText's order */
static int build_dictionary(Qc *q, const char *text, size_t n, char *err, size_t errlen,
                            const char *path) {
    size_t cap = 1 << 16, used = 0;
    int32_t *slot = z_malloc(cap * sizeof *slot, "vocabulary");
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    Tally *t = NULL;
    size_t nt = 0, tcap = 0, at = 0, pl = strlen(QC_LABEL);
    const char *tok;
    size_t len;
    long seen = 0;
    while (next_token(text, n, &at, &tok, &len)) {
        q->ntokens++;
        uint32_t h = qc_hash(tok, len);
        size_t i = h & (cap - 1);
        while (slot[i] >= 0 && (strlen(t[slot[i]].s) != len || memcmp(t[slot[i]].s, tok, len)))
            i = (i + 1) & (cap - 1);
        if (slot[i] >= 0) {
            t[slot[i]].count++;
            continue;
        }
        if (nt == tcap) {
            tcap = tcap ? 2 * tcap : 4096;
            t = realloc(t, tcap * sizeof *t);
            if (!t) z_die("out of memory (vocabulary)");
        }
        t[nt].s = z_malloc(len + 1, "word");
        memcpy(t[nt].s, tok, len), t[nt].s[len] = 0;
        t[nt].count = 1, t[nt].first = seen++;
        t[nt].type = len >= pl && !memcmp(tok, QC_LABEL, pl) ? TYPE_LABEL : TYPE_WORD;
        slot[i] = (int32_t)nt++;
        if (++used * 2 > cap) { /* grow the table */
            free(slot);
            cap *= 2;
            slot = z_malloc(cap * sizeof *slot, "vocabulary");
            for (size_t k = 0; k < cap; k++) slot[k] = -1;
            for (size_t e = 0; e < nt; e++) {
                size_t k = qc_hash(t[e].s, strlen(t[e].s)) & (cap - 1);
                while (slot[k] >= 0) k = (k + 1) & (cap - 1);
                slot[k] = (int32_t)e;
            }
        }
    }
    free(slot);
    qsort(t, nt, sizeof *t, by_type_count);
    q->word = z_malloc(nt * sizeof *q->word, "classifier words");
    q->count = z_malloc(nt * sizeof *q->count, "classifier counts");
    q->type = z_malloc(nt, "classifier types");
    for (size_t e = 0; e < nt; e++) {
        int keep = t[e].type == TYPE_WORD ? t[e].count >= q->a.min_count
                                          : t[e].count >= q->a.min_count_label;
        if (!keep) {
            free(t[e].s);
            continue;
        }
        q->word[q->size] = t[e].s, q->count[q->size] = t[e].count,
        q->type[q->size] = (int8_t)t[e].type;
        q->size++;
        if (t[e].type == TYPE_WORD)
            q->nwords++;
        else
            q->nlabels++;
    }
    free(t);
    if (q->nlabels == 0)
        return z_fail(err, errlen, "%s: no labels (lines start with __label__NAME)", path);
    if (q->nwords == 0) return z_fail(err, errlen, "%s: no words (lower --min-count)", path);
    index_words(q);
    return 0;
}

/* one example: fastText's Model::update with its softmax or one-vs-all loss */
static void update(Qc *q, const Ints *rows, const Ints *labels, int target, float lr, float *h,
                   float *grad, float *o) {
    int d = q->a.dim, L = q->nlabels;
    hidden_of(q, rows, h);
    for (int c = 0; c < d; c++) grad[c] = 0;
    if (q->a.loss == QC_LOSS_OVA) {
        for (int i = 0; i < L; i++) {
            int pos = 0;
            for (size_t j = 0; j < labels->n; j++) pos |= labels->v[j] == i;
            float *w = q->out + (size_t)i * d, s = 0;
            for (int c = 0; c < d; c++) s += w[c] * h[c];
            float alpha = lr * ((float)pos - qc_sigmoid(q, s));
            for (int c = 0; c < d; c++) grad[c] += alpha * w[c];
            for (int c = 0; c < d; c++) w[c] += alpha * h[c];
        }
    } else {
        output_of(q, h, o);
        for (int i = 0; i < L; i++) {
            float alpha = lr * ((i == target ? 1.0f : 0.0f) - o[i]), *w = q->out + (size_t)i * d;
            for (int c = 0; c < d; c++) grad[c] += alpha * w[c];
            for (int c = 0; c < d; c++) w[c] += alpha * h[c];
        }
    }
    float inv = (float)(1.0 / (double)rows->n); /* supervised: the gradient's mean */
    for (int c = 0; c < d; c++) grad[c] *= inv;
    for (size_t r = 0; r < rows->n; r++) {
        float *w = q->in + (size_t)rows->v[r] * d;
        for (int c = 0; c < d; c++) w[c] += grad[c];
    }
}

Qc *qc_train(const char *path, const QcArgs *args, char *err, size_t errlen) {
    size_t n;
    char *text = slurp(path, &n, err, errlen);
    if (!text) return NULL;
    Qc *q = z_calloc(1, sizeof *q, "classifier");
    q->a = *args;
    q->a.model = QC_MODEL_SUP;
    if (q->a.word_ngrams <= 1 && q->a.maxn == 0) q->a.bucket = 0; /* as fastText */
    if (q->a.loss != QC_LOSS_SOFTMAX && q->a.loss != QC_LOSS_OVA) {
        z_fail(err, errlen, "quality train: loss must be softmax or ova");
        free(text), qc_free(q);
        return NULL;
    }
    if (build_dictionary(q, text, n, err, errlen, path)) {
        free(text), qc_free(q);
        return NULL;
    }
    init_tables(q);
    int d = q->a.dim;
    size_t rows_in = (size_t)q->nwords + (size_t)q->a.bucket;
    q->in = z_malloc(rows_in * d * sizeof *q->in, "classifier input matrix");
    q->out = z_calloc((size_t)q->nlabels * d, sizeof *q->out, "classifier output matrix");
    uint64_t seed = k_rng_child(args->seed, 0xFA57);
    for (size_t i = 0; i < rows_in * d; i++) /* uniform(−1/dim, 1/dim) */
        q->in[i] = (float)((2 * k_rng_uniform(seed, i) - 1) / d);
    float *h = z_malloc(((size_t)3 * d + q->nlabels) * sizeof *h, "classifier scratch");
    Ints rows = {0}, labels = {0}, hashes = {0};
    double total = (double)q->a.epoch * (double)q->ntokens, seen = 0;
    long local = 0;
    size_t at = 0;
    uint64_t pick = k_rng_child(args->seed, 0x7A6), example = 0;
    while (seen < total) {
        float lr = (float)(q->a.lr * (1.0 - seen / total));
        if (at >= n) at = 0; /* the next epoch */
        local += line_rows(q, text, n, &at, &rows, &labels, &hashes);
        if (labels.n && rows.n) {
            int target = labels.v[(size_t)(k_rng_uniform(pick, example++) * labels.n)];
            update(q, &rows, &labels, target, lr, h, h + d, h + 2 * d);
        }
        if (local > q->a.lr_update_rate) seen += local, local = 0;
    }
    free(h), free(rows.v), free(labels.v), free(hashes.v), free(text);
    return q;
}

int qc_test(const Qc *q, const char *path, int k, double threshold, QcTest *r, char *err,
            size_t errlen) {
    size_t n;
    char *text = slurp(path, &n, err, errlen);
    if (!text) return -1;
    Ints rows = {0}, labels = {0}, hashes = {0};
    int *lab = z_malloc((size_t)(k > 0 ? k : 1) * sizeof *lab, "predictions");
    double *prob = z_malloc((size_t)(k > 0 ? k : 1) * sizeof *prob, "predictions");
    float *scratch = z_malloc(((size_t)q->a.dim + q->nlabels) * sizeof *scratch, "scores");
    long tp = 0, predicted = 0, gold = 0;
    memset(r, 0, sizeof *r);
    size_t at = 0;
    while (at < n) {
        line_rows(q, text, n, &at, &rows, &labels, &hashes);
        if (!labels.n || !rows.n) continue;
        int got = predict_rows(q, &rows, k, threshold, lab, prob, scratch);
        r->examples++;
        gold += (long)labels.n, predicted += got;
        for (int i = 0; i < got; i++)
            for (size_t j = 0; j < labels.n; j++)
                if (labels.v[j] == lab[i]) {
                    tp++;
                    break;
                }
    }
    r->precision = predicted ? (double)tp / predicted : NAN;
    r->recall = gold ? (double)tp / gold : NAN;
    free(text), free(rows.v), free(labels.v), free(hashes.v), free(lab), free(prob), free(scratch);
    return 0;
}
