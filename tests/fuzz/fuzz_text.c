/*
 * fuzz_text.c — a libFuzzer target over everything that reads untrusted
 * text: the document readers (separator, blank-line and JSONL formats, plain
 * or as gzip, whole and in byte ranges), the tokenizers (byte-level BPE and
 * WordPiece, and the tokenizer.json reader), the cleaning rules, the dedup
 * hashes and the quality classifier. The first input byte picks the part;
 * the rest is its input. Beyond "no crash, no leak, no undefined behaviour"
 * it checks two properties: byte ranges that tile a file give the documents
 * of the whole file, in order, and every token id is inside the vocabulary.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (make fuzz); run for
 * a bounded time by tests/cli/test_fuzz.sh. Fixtures come from FUZZ_FIXTURES
 * (tests/fixtures by default).
 */
#include "src/prep/clean.h"
#include "src/prep/dedup.h"
#include "src/prep/quality.h"
#include "src/prep/textdocs.h"
#include "src/tokenizer/tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static Tokenizer *bpe, *wp;
static Qc *qc;
static CleanRules rules;
static char path[64], gzpath[64];

static void fixture(const char *name, char *out, size_t n) {
    const char *dir = getenv("FUZZ_FIXTURES");
    snprintf(out, n, "%s/%s", dir ? dir : "tests/fixtures", name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char p[512], err[512];
    fixture("hf_tok_gpt2.json", p, sizeof p);
    bpe = tok_load(p, err, sizeof err);
    fixture("hf_tok_bert_uncased.json", p, sizeof p);
    wp = tok_load(p, err, sizeof err);
    fixture("fasttext_softmax.bin", p, sizeof p);
    qc = qc_load(p, err, sizeof err);
    if (!bpe || !wp || !qc) {
        fprintf(stderr, "fuzz_text: fixtures missing (%s)\n", err);
        exit(1);
    }
    clean_default_rules(&rules);
    snprintf(path, sizeof path, "/tmp/fuzz_text.%d.txt", (int)getpid());
    snprintf(gzpath, sizeof gzpath, "/tmp/fuzz_text.%d.gz", (int)getpid());
    return 0;
}

static void put(const char *p, const uint8_t *d, size_t n, int gz) {
    if (gz) {
        gzFile g = gzopen(p, "wb");
        gzwrite(g, d, (unsigned)n);
        gzclose(g);
        return;
    }
    FILE *f = fopen(p, "wb");
    fwrite(d, 1, n, f);
    fclose(f);
}

typedef struct {
    char *text;
    size_t len;
    long line;
    int64_t off;
} Doc;

/* every document of [begin, end) (end < 0: to the end); *n of them */
static Doc *read_all(const char *p, DocFormat fmt, const char *sep, int64_t begin, int64_t end,
                     int *n, DocStats *st) {
    char err[256];
    DocReader *r = docs_open_range(p, fmt, sep, 64, begin, end, err, sizeof err);
    if (!r) abort(); /* the file exists: opening cannot fail */
    Doc *d = NULL;
    int k = 0;
    const char *t;
    size_t len;
    while (docs_next(r, &t, &len)) {
        d = realloc(d, (size_t)(k + 1) * sizeof *d);
        d[k].text = malloc(len + 1);
        memcpy(d[k].text, t, len);
        d[k].len = len;
        docs_where(r, &d[k].line, &d[k].off);
        k++;
    }
    if (st) *st = docs_stats(r);
    docs_close(r);
    *n = k;
    return d;
}

static void free_docs(Doc *d, int n) {
    for (int i = 0; i < n; i++) free(d[i].text);
    free(d);
}

/* the documents of the whole file = those of its ranges of `chunk` bytes */
static void ranges(const uint8_t *d, size_t n, DocFormat fmt, const char *sep, size_t chunk) {
    put(path, d, n, 0);
    int nw, nr = 0;
    DocStats sw, sr = {0}, s;
    Doc *w = read_all(path, fmt, sep, 0, -1, &nw, &sw);
    for (size_t b = 0; b < n || b == 0; b += chunk) {
        int k;
        Doc *r =
            read_all(path, fmt, sep, (int64_t)b, b + chunk < n ? (int64_t)(b + chunk) : -1, &k, &s);
        for (int i = 0; i < k; i++, nr++)
            if (nr >= nw || r[i].len != w[nr].len || memcmp(r[i].text, w[nr].text, r[i].len) ||
                r[i].off != w[nr].off)
                abort(); /* a range gave a document the whole file does not */
        sr.docs += s.docs, sr.empty += s.empty, sr.long_lines += s.long_lines,
            sr.bad_json += s.bad_json;
        free_docs(r, k);
        if (b + chunk >= n) break;
    }
    if (nr != nw || sr.docs != sw.docs || sr.empty != sw.empty || sr.long_lines != sw.long_lines ||
        sr.bad_json != sw.bad_json)
        abort(); /* ranges lost or doubled a document or a count */
    free_docs(w, nw);
}

static void encode(const Tokenizer *t, const uint8_t *d, size_t n, int as_text) {
    int32_t *ids = NULL;
    size_t cap = 0, k = tok_encode_opt(t, (const char *)d, n, as_text, &ids, &cap);
    int V = tok_vocab_size(t);
    for (size_t i = 0; i < k; i++)
        if (ids[i] < 0 || ids[i] >= V) abort();
    char *back = tok_decode(t, ids, k);
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t pick = data[0];
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    if (n > 1 << 16) return 0;
    switch (pick % 10) {
    case 0:
        ranges(d, n, DOCS_TEXT, "%", 1 + pick / 10 % 17);
        break;
    case 1:
        ranges(d, n, DOCS_TEXT, NULL, 1 + pick / 10 % 13);
        break;
    case 2:
        ranges(d, n, DOCS_JSONL, NULL, 1 + pick / 10 % 23);
        break;
    case 3: { /* gzip, maybe cut short */
        put(gzpath, d, n, 1);
        FILE *f = fopen(gzpath, "rb+");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fclose(f);
        if (pick & 0x10 && len > 12 && truncate(gzpath, len / 2)) abort();
        int k;
        free_docs(read_all(gzpath, pick & 0x20 ? DOCS_JSONL : DOCS_TEXT, "%", 0, -1, &k, NULL), k);
        break;
    }
    case 4:
        encode(bpe, d, n, pick & 0x10);
        break;
    case 5:
        encode(wp, d, n, pick & 0x10);
        break;
    case 6: {
        char err[256];
        Tokenizer *t = tok_from_json((const char *)d, n, err, sizeof err);
        if (t) encode(t, (const uint8_t *)"hello world, fuzz", 17, 0);
        tok_free(t);
        break;
    }
    case 7: {
        char *out = NULL;
        size_t len = 0;
        clean_doc(&rules, (const char *)d, n, &out, &len);
        free(out);
        break;
    }
    case 8: {
        DedupOptions o;
        dedup_default_options(&o);
        Dedup *dd = dedup_new(&o);
        dedup_add(dd, (const char *)d, n);
        dedup_add(dd, (const char *)d, n / 2);
        dedup_finish(dd);
        dedup_free(dd);
        break;
    }
    case 9: {
        double p = qc_prob(qc, (const char *)d, n, 0);
        if (!(p >= 0 && p <= 1)) abort();
        break;
    }
    }
    return 0;
}
