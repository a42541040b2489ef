/*
 * test_tokenizer.c — the byte-level BPE tokenizer and the text-document
 * reader. Against Hugging Face `tokenizers` (tests/fixtures/tokenizer_ref.json,
 * made by tests/ref/make_tokenizer_fixture.py from the committed
 * tokenizer_small.json): identical ids on every fixture string, HF's decoded
 * text, and training on tokenizer_corpus.txt that reproduces HF's BpeTrainer
 * vocab and merges (and the committed file byte for byte). Also: round
 * trips, determinism, save/load, HF's [a, b] merges layout, invalid bytes,
 * refused files, and textdocs' formats and counts case by case.
 */
#include "tests/lib/check.h"

#include "src/prep/textdocs.h"
#include "src/tokenizer/tokenizer.h"

#include <jansson.h>
#include <string.h>
#include <unistd.h>

static const char *TOK = "tests/fixtures/tokenizer_small.json";
static const char *REF = "tests/fixtures/tokenizer_ref.json";
static const char *CORPUS = "tests/fixtures/tokenizer_corpus.txt";
static char tmpdir[] = "/tmp/zeropt-tok-XXXXXX";

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    fclose(f);
    s[got] = 0;
    if (len) *len = got;
    return s;
}

static const char *write_tmp(const char *name, const char *data, size_t n) {
    static char path[8][256];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return p;
}

/* ids of text as a fresh array (n in *n), with HF's defaults */
static int32_t *encode(const Tokenizer *t, const char *s, size_t len, size_t *n) {
    int32_t *ids = NULL;
    size_t cap = 0;
    *n = tok_encode(t, s, len, &ids, &cap);
    return ids;
}

/* the same with special-token strings encoded as text (encode_special_tokens) */
static int32_t *encode_as_text(const Tokenizer *t, const char *s, size_t len, size_t *n) {
    int32_t *ids = NULL;
    size_t cap = 0;
    *n = tok_encode_opt(t, s, len, 1, &ids, &cap);
    return ids;
}

static int ids_equal(const int32_t *a, size_t na, const json_t *b) {
    if (na != json_array_size(b)) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i] != json_integer_value(json_array_get(b, i))) return 0;
    return 1;
}

/* s with newlines and tabs escaped, for one-line details (static buffer). */
static const char *esc(const char *s) {
    static char out[4][512];
    static int k;
    char *o = out[k++ % 4];
    size_t j = 0;
    for (; *s && j + 3 < sizeof out[0]; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r') {
            o[j++] = '\\';
            o[j++] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
        } else
            o[j++] = *s;
    }
    o[j] = 0;
    return o;
}

static int valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        int k = b < 0x80                 ? 1
                : b >= 0xC2 && b <= 0xDF ? 2
                : b >= 0xE0 && b <= 0xEF ? 3
                : b >= 0xF0 && b <= 0xF4 ? 4
                                         : 0;
        if (!k || i + (size_t)k > n) return 0;
        for (int j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        if ((b == 0xE0 && s[i + 1] < 0xA0) || (b == 0xED && s[i + 1] > 0x9F) ||
            (b == 0xF0 && s[i + 1] < 0x90) || (b == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += (size_t)k;
    }
    return 1;
}

/* ---- against HF ------------------------------------------------------------ */

static void test_hf_parity(const Tokenizer *t, const json_t *ref) {
    json_t *cases = json_object_get(ref, "cases");
    size_t i, bad_ids = 0, bad_dec = 0, bad_rt = 0, first_ids = SIZE_MAX, first_dec = SIZE_MAX;
    size_t bad_txt = 0, first_txt = SIZE_MAX, with_special = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        json_t *tx = json_object_get(c, "text");
        const char *s = json_string_value(tx);
        size_t len = json_string_length(tx), n, dn, nt;
        int32_t *ids = encode(t, s, len, &n), *txt = encode_as_text(t, s, len, &nt);
        if (!ids_equal(ids, n, json_object_get(c, "ids")) && bad_ids++ == 0) first_ids = i;
        if (!ids_equal(txt, nt, json_object_get(c, "ids_special_as_text")) && bad_txt++ == 0)
            first_txt = i;
        with_special += !ids_equal(txt, nt, json_object_get(c, "ids"));
        free(txt);
        char *d = tok_decode_len(t, ids, n, &dn);
        json_t *hd = json_object_get(c, "decoded");
        if ((dn != json_string_length(hd) || memcmp(d, json_string_value(hd), dn)) &&
            bad_dec++ == 0)
            first_dec = i;
        if (dn != len || memcmp(d, s, len)) bad_rt++;
        free(d);
        free(ids);
    }
    size_t nc = json_array_size(cases);
    const char *first =
        bad_ids ? json_string_value(json_object_get(json_array_get(cases, first_ids), "text")) : "";
    check(nc >= 100 && bad_ids == 0,
          "encode gives HF's ids (HF's defaults: special tokens matched)",
          "%zu strings, %zu differ%s%.60s", nc, bad_ids, bad_ids ? ", first: " : "", esc(first));
    const char *ft =
        bad_txt ? json_string_value(json_object_get(json_array_get(cases, first_txt), "text")) : "";
    check(bad_txt == 0 && with_special >= 6,
          "encode with special tokens as text gives HF's ids with encode_special_tokens=True",
          "%zu strings, %zu differ%s%.60s; %zu strings where the two settings differ", nc, bad_txt,
          bad_txt ? ", first: " : "", esc(ft), with_special);
    check(bad_dec == 0, "decode gives HF's text", "%zu strings, %zu differ (first #%zu)", nc,
          bad_dec, bad_dec ? first_dec : 0);
    check(bad_rt == 0, "decode(encode(s)) == s", "%zu strings, %zu differ", nc, bad_rt);
}

/* Documents of a file as two arrays (caller frees each text). */
static size_t read_docs(const char *path, DocFormat fmt, const char *sep, char ***docs,
                        size_t **lens) {
    char err[256];
    DocReader *r = docs_open(path, fmt, sep, 0, err, sizeof err);
    size_t n = 0, cap = 256;
    *docs = malloc(cap * sizeof **docs);
    *lens = malloc(cap * sizeof **lens);
    const char *s;
    size_t len;
    while (r && docs_next(r, &s, &len)) {
        if (n == cap) {
            *docs = realloc(*docs, (cap *= 2) * sizeof **docs);
            *lens = realloc(*lens, cap * sizeof **lens);
        }
        (*docs)[n] = malloc(len + 1);
        memcpy((*docs)[n], s, len + 1);
        (*lens)[n++] = len;
    }
    docs_close(r);
    return n;
}

static void free_docs(char **docs, size_t *lens, size_t n) {
    for (size_t i = 0; i < n; i++) free(docs[i]);
    free(docs);
    free(lens);
}

/* Training on the corpus: HF's BpeTrainer vocab and merges, and the
 * committed tokenizer_small.json byte for byte. */
static void test_train_vs_hf(const json_t *ref) {
    char **docs;
    size_t *lens, nd = read_docs(CORPUS, DOCS_TEXT, NULL, &docs, &lens);
    const json_t *hf = json_object_get(ref, "hf_trainer");
    int vs = (int)json_integer_value(json_object_get(hf, "vocab_size"));
    Tokenizer *t = tok_train((const char *const *)docs, lens, nd, vs,
                             (int)json_integer_value(json_object_get(hf, "min_frequency")));
    char *js = tok_to_json(t);
    json_t *ours = json_loads(js, 0, NULL), *model = json_object_get(ours, "model");
    check(nd == 122 && json_equal(json_object_get(model, "vocab"), json_object_get(hf, "vocab")),
          "training reproduces HF BpeTrainer's vocab", "%zu documents, vocab %d", nd,
          tok_vocab_size(t));
    check(json_equal(json_object_get(model, "merges"), json_object_get(hf, "merges")),
          "training reproduces HF BpeTrainer's merges", "%zu merges",
          json_array_size(json_object_get(model, "merges")));
    size_t flen;
    char *file = slurp(TOK, &flen);
    check(file && flen == strlen(js) + 1 && !memcmp(file, js, flen - 1),
          "training reproduces tokenizer_small.json", "%zu vs %zu bytes", file ? flen : 0,
          strlen(js) + 1);
    free(file);
    json_decref(ours);
    free(js);
    tok_free(t);
    free_docs(docs, lens, nd);
}

/* ---- own properties -------------------------------------------------------- */

static const char *const SMALL_DOCS[] = {
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "   ",
    "I'll say it: don't stop, won't stop!\n\tDone.",
    "数字 123 4567 and émigré café",
    "aaaa aaaa aaaa",
};

static Tokenizer *train_small(int vocab) {
    size_t lens[7];
    for (int i = 0; i < 7; i++) lens[i] = strlen(SMALL_DOCS[i]);
    return tok_train(SMALL_DOCS, lens, 7, vocab, 1);
}

static void test_layout_and_determinism(void) {
    Tokenizer *a = train_small(400), *b = train_small(400);
    char *ja = tok_to_json(a), *jb = tok_to_json(b);
    check(!strcmp(ja, jb), "training is deterministic", "%zu bytes of JSON", strlen(ja));
    SpecialIds s = tok_specials(a);
    check(s.pad == 0 && s.unk == 1 && s.cls == 2 && s.sep == 3 && s.mask == 4 && s.bos == 5 &&
              s.eos == 5,
          "special ids 0..5", "pad %d unk %d cls %d sep %d mask %d bos %d eos %d", s.pad, s.unk,
          s.cls, s.sep, s.mask, s.bos, s.eos);
    const char *t6 = tok_id_to_token(a, 6), *t261 = tok_id_to_token(a, 261),
               *t100 = tok_id_to_token(a, 6 + 32);
    check(t6 && !strcmp(t6, "!") && t100 && !strcmp(t100, "A") && t261 &&
              !strcmp(t261, "\xC5\x83") && !strcmp(tok_id_to_token(a, 5), "<|endoftext|>") &&
              !tok_id_to_token(a, tok_vocab_size(a)),
          "byte symbols at 6..261 in code point order", "6=%s 38=%s 261=%s", t6, t100, t261);
    check(tok_vocab_size(a) <= 400 && tok_vocab_size(a) > 262, "vocab size bounded by the request",
          "%d", tok_vocab_size(a));
    Tokenizer *c = train_small(262);
    check(tok_vocab_size(c) == 262, "vocab 262 means bytes only", "%d", tok_vocab_size(c));
    size_t n;
    int32_t *ids = encode(c, "hi there", 8, &n);
    check(n == 8, "bytes-only vocabulary gives one id per byte", "%zu ids", n);
    free(ids);
    tok_free(c);
    free(ja);
    free(jb);
    tok_free(a);
    tok_free(b);
}

static void test_save_load(const json_t *ref) {
    Tokenizer *t = train_small(330);
    const char *path = write_tmp("saved.json", "", 0);
    int rc = tok_save(t, path);
    char err[512] = "";
    Tokenizer *u = rc ? NULL : tok_load(path, err, sizeof err);
    int same = u && tok_vocab_size(u) == tok_vocab_size(t);
    json_t *cases = json_object_get(ref, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        json_t *tx = json_object_get(c, "text");
        size_t na, nb = 0;
        int32_t *a = encode(t, json_string_value(tx), json_string_length(tx), &na);
        int32_t *b = u ? encode(u, json_string_value(tx), json_string_length(tx), &nb) : NULL;
        same = same && na == nb && !memcmp(a, b, na * sizeof *a);
        free(a);
        free(b);
    }
    char *j1 = tok_to_json(t), *j2 = u ? tok_to_json(u) : NULL;
    check(same && j2 && !strcmp(j1, j2), "train -> save -> load: same ids and same JSON", "%s",
          err);
    free(j1);
    free(j2);
    tok_free(u);
    tok_free(t);
}

/* HF's newer layout: merges as ["a", "b"] pairs; extra fields ignored. */
static void test_pair_merges(const Tokenizer *t, const json_t *ref) {
    char *js = tok_to_json(t);
    json_t *root = json_loads(js, 0, NULL),
           *merges = json_object_get(json_object_get(root, "model"), "merges");
    json_t *pairs = json_array(), *m;
    size_t i;
    json_array_foreach(merges, i, m) {
        const char *s = json_string_value(m), *sp = strchr(s, ' ');
        json_array_append_new(pairs, json_pack("[s%s]", s, (size_t)(sp - s), sp + 1));
    }
    json_object_set_new(json_object_get(root, "model"), "merges", pairs);
    json_object_set_new(root, "truncation", json_pack("{s:i}", "max_length", 512));
    char *js2 = json_dumps(root, JSON_COMPACT), err[256] = "";
    Tokenizer *u = tok_from_json(js2, strlen(js2), err, sizeof err);
    size_t bad = 0;
    json_t *c;
    json_array_foreach(json_object_get(ref, "cases"), i, c) {
        json_t *tx = json_object_get(c, "text");
        size_t n;
        int32_t *ids = u ? encode(u, json_string_value(tx), json_string_length(tx), &n) : NULL;
        bad += !ids || !ids_equal(ids, n, json_object_get(c, "ids"));
        free(ids);
    }
    check(u && bad == 0, "reads HF's [\"a\", \"b\"] merges layout", "%s %zu differ", err, bad);
    tok_free(u);
    free(js2);
    free(js);
    json_decref(root);
}

static void test_invalid_bytes(const Tokenizer *t) {
    unsigned char buf[4096];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    int ok = 1;
    for (size_t len = 0; len <= sizeof buf && ok; len += 97) {
        size_t n, dn;
        int32_t *ids = encode(t, (const char *)buf, len, &n);
        char *d = tok_decode_len(t, ids, n, &dn);
        ok = dn == len && !memcmp(d, buf, len);
        for (size_t i = 0; i < n; i++) ok = ok && ids[i] >= 6 && ids[i] < tok_vocab_size(t);
        free(d);
        free(ids);
    }
    static const char mixed[] = "ok \xff\xfe caf\xc3 \xe2\x82 \xed\xa0\x80 end\xf0\x9f\x98";
    size_t n, dn;
    int32_t *ids = encode(t, mixed, sizeof mixed - 1, &n);
    char *d = tok_decode_len(t, ids, n, &dn);
    ok = ok && dn == sizeof mixed - 1 && !memcmp(d, mixed, dn);
    free(d);
    free(ids);
    int32_t weird[] = {-1, 1 << 30, 50, 7};
    d = tok_decode_len(t, weird, 4, &dn);
    check(ok && dn == 2, "invalid UTF-8 and random bytes: valid ids, exact byte round trip", "%zu",
          dn);
    free(d);
}

/* ---- refused files --------------------------------------------------------- */

static void expect_refused(const char *name, const char *json, const char *want) {
    char err[512] = "";
    Tokenizer *t = tok_from_json(json, strlen(json), err, sizeof err);
    check(!t && strstr(err, want), name, "message: %s", err);
    tok_free(t);
}

/* A minimal good file with one edit: the model object's text. */
static char *with_model(const char *model, const char *pre) {
    static char buf[8192];
    char vocab[6000];
    size_t o = 0;
    for (int b = 0; b < 256; b++) { /* byte-level symbols, ids 0..255 */
        int cp = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE ? b
                 : b <= 0x20                                                       ? 0x100 + b
                 : b <= 0xA0 ? 0x100 + 33 + b - 0x7F
                             : 0x100 + 67;
        char c[8];
        if (cp == '"' || cp == '\\')
            snprintf(c, sizeof c, "\\%c", cp);
        else if (cp < 0x80)
            snprintf(c, sizeof c, "%c", cp);
        else
            snprintf(c, sizeof c, "%c%c", 0xC0 | (cp >> 6), 0x80 | (cp & 0x3F));
        o += (size_t)snprintf(vocab + o, sizeof vocab - o, "%s\"%s\":%d", b ? "," : "", c, b);
    }
    snprintf(buf, sizeof buf, "{\"pre_tokenizer\":%s,\"model\":%s}", pre,
             model ? model
                   : "{\"type\":\"BPE\",\"vocab\":{VOCAB,\"ab\":256},\"merges\":[\"a b\"]}");
    char *v = strstr(buf, "VOCAB");
    if (v) {
        char tail[8192];
        snprintf(tail, sizeof tail, "%s", v + 5);
        snprintf(v, sizeof buf - (size_t)(v - buf), "%s%s", vocab, tail);
    }
    return buf;
}

static void test_refused(void) {
    const char *bl = "{\"type\":\"ByteLevel\"}";
    char err[256] = "";
    Tokenizer *good =
        tok_from_json(with_model(NULL, bl), strlen(with_model(NULL, bl)), err, sizeof err);
    size_t n;
    int32_t *ids = good ? encode(good, "abab", 4, &n) : NULL;
    check(good && n == 2 && ids[0] == 256 && ids[1] == 256, "minimal hand-written file loads", "%s",
          err);
    free(ids);
    tok_free(good);
    expect_refused("refuses non-JSON", "this is not json", "not JSON");
    expect_refused("refuses a JSON array", "[1, 2]", "not an object");
    expect_refused("refuses a file without a model",
                   "{\"version\":\"1.0\",\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}",
                   "no \"model\"");
    expect_refused("refuses WordPiece behind a ByteLevel pre-tokenizer",
                   with_model("{\"type\":\"WordPiece\",\"vocab\":{}}", bl),
                   "pre_tokenizer ByteLevel is not supported with a WordPiece model");
    expect_refused("refuses a missing vocab", with_model("{\"type\":\"BPE\",\"merges\":[]}", bl),
                   "vocab");
    expect_refused("refuses a merge part not in the vocab",
                   with_model("{\"type\":\"BPE\",\"vocab\":{VOCAB},\"merges\":[\"a zz\"]}", bl),
                   "\"zz\" is not in the vocab");
    expect_refused("refuses a merge result not in the vocab",
                   with_model("{\"type\":\"BPE\",\"vocab\":{VOCAB},\"merges\":[\"a b\"]}", bl),
                   "\"ab\" is not in the vocab");
    expect_refused("refuses a malformed merge",
                   with_model("{\"type\":\"BPE\",\"vocab\":{VOCAB},\"merges\":[\"a b c\"]}", bl),
                   "merges[0]");
    expect_refused("refuses a missing byte symbol",
                   with_model("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}", bl),
                   "lacks the symbol");
    expect_refused("refuses a bad id",
                   with_model("{\"type\":\"BPE\",\"vocab\":{\"a\":-3},\"merges\":[]}", bl),
                   "bad id");
    expect_refused("refuses a non-byte-level pre-tokenizer",
                   with_model(NULL, "{\"type\":\"Whitespace\"}"), "not ByteLevel");
    expect_refused("refuses a normalizer", "{\"normalizer\":{\"type\":\"NFC\"},\"model\":{}}",
                   "normalizer NFC");
    Tokenizer *t = tok_load("tests/fixtures/no-such-tokenizer.json", err, sizeof err);
    check(!t && strstr(err, "cannot open") && strstr(err, "no-such-tokenizer.json"),
          "tok_load: missing file named", "%s", err);
    const char *trunc = write_tmp("trunc.json", "{\"model\": {", 11);
    t = tok_load(trunc, err, sizeof err);
    check(!t && strstr(err, trunc) && strstr(err, "not JSON"), "truncated file: path and reason",
          "%s", err);
}

/* ---- textdocs -------------------------------------------------------------- */

typedef struct {
    int n;
    char text[8][128];
    size_t len[8];
    DocStats st;
    int opened;
} Docs;

static Docs docs_of(const char *data, size_t n, DocFormat fmt, const char *sep, size_t max_line) {
    Docs d = {0};
    char err[256];
    DocReader *r = docs_open(write_tmp("docs.txt", data, n), fmt, sep, max_line, err, sizeof err);
    const char *s;
    size_t len;
    d.opened = r != NULL;
    while (r && docs_next(r, &s, &len)) {
        if (d.n < 8) {
            snprintf(d.text[d.n], sizeof d.text[0], "%.*s", (int)len, s);
            d.len[d.n] = len;
        }
        d.n++;
    }
    if (r) d.st = docs_stats(r);
    docs_close(r);
    return d;
}

#define DOCS(lit, fmt, sep, max) docs_of(lit, sizeof lit - 1, fmt, sep, max)

static void test_textdocs(void) {
    Docs d = DOCS("a\nb\n%\nc\n%\n%\n  \n%\nd", DOCS_TEXT, "%", 0);
    check(d.n == 3 && !strcmp(d.text[0], "a\nb") && !strcmp(d.text[1], "c") &&
              !strcmp(d.text[2], "d") && d.st.docs == 3 && d.st.empty == 2 && d.st.bytes == 5,
          "separator lines, empty documents counted, no final newline",
          "%d docs, %ld empty, %ld bytes", d.n, d.st.empty, d.st.bytes);
    d = DOCS("a\r\nb\r\n%\r\nc%\r\n% \r\nd\r\n", DOCS_TEXT, "%", 0);
    check(d.n == 2 && !strcmp(d.text[0], "a\nb") && !strcmp(d.text[1], "c%\n% \nd"),
          "CRLF stripped; only an exact separator line splits", "%d docs: [%s] [%s]", d.n,
          esc(d.text[0]), esc(d.text[1]));
    d = DOCS("\xEF\xBB\xBFp1 l1\np1 l2\n\n\n \t \np2\n\n", DOCS_TEXT, NULL, 0);
    check(d.n == 2 && !strcmp(d.text[0], "p1 l1\np1 l2") && !strcmp(d.text[1], "p2") &&
              d.st.empty == 0,
          "blank-line documents (BOM dropped)", "%d docs: [%s] [%s], %ld empty", d.n,
          esc(d.text[0]), esc(d.text[1]), d.st.empty);
    d = DOCS("ok \xff\xfe bad \xc3\x28 \xe2\x82 x\xed\xa0\x80y end\xf0\x9f\x98\n\nclean\n",
             DOCS_TEXT, "", 0);
    check(d.n == 2 &&
              !strcmp(d.text[0], "ok \xEF\xBF\xBD\xEF\xBF\xBD bad \xEF\xBF\xBD( \xEF\xBF\xBD "
                                 "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy end\xEF\xBF\xBD") &&
              d.st.invalid_utf8 == 1,
          "invalid UTF-8: one U+FFFD per maximal subpart", "[%s] invalid %ld", esc(d.text[0]),
          d.st.invalid_utf8);
    d = DOCS("0123456789abc\naaaaaaaa\xE2\x82\xAC"
             "b\nshort\n%\n",
             DOCS_TEXT, "%", 10);
    check(d.n == 1 && !strcmp(d.text[0], "0123456789\naaaaaaaa\nshort") && d.st.long_lines == 2,
          "long lines cut at a character boundary", "[%s] long %ld", esc(d.text[0]),
          d.st.long_lines);
    d = DOCS("a\0b\n%\n\0\n", DOCS_TEXT, "%", 0);
    check(d.n == 2 && d.len[0] == 3 && d.text[0][1] == 0 && d.len[1] == 1, "NUL bytes kept",
          "%d docs, len %zu", d.n, d.len[0]);
    d = DOCS(
        "{\"text\": \"one\"}\n{\"text\": \n{\"text\": 5}\n[1]\n{\"other\": \"x\"}\n\n   \n"
        "{\"text\": \"\"}\n{\"text\": \"  \\n \"}\r\n{\"text\": \"two\\nlines\", \"id\": 3}\r\n"
        "{\"text\": \"bad \xff byte\"}\n{\"text\": \"nul\\u0000in\"}\n\"just a "
        "string\"\n{\"text\": \"last\"}",
        DOCS_JSONL, NULL, 0);
    check(d.n == 5 && !strcmp(d.text[0], "one") && !strcmp(d.text[1], "two\nlines") &&
              !strcmp(d.text[2], "bad \xEF\xBF\xBD byte") && d.len[3] == 6 &&
              !strcmp(d.text[4], "last") && d.st.bad_json == 5 && d.st.empty == 2 &&
              d.st.invalid_utf8 == 1,
          "JSONL: bad lines, non-string text, empty, invalid UTF-8, NUL",
          "%d docs, bad %ld, empty %ld, invalid %ld", d.n, d.st.bad_json, d.st.empty,
          d.st.invalid_utf8);
    d = DOCS("{\"text\": \"0123456789abcdef\\nok\"}\n", DOCS_JSONL, NULL, 8);
    check(d.n == 1 && !strcmp(d.text[0], "01234567\nok") && d.st.long_lines == 1,
          "JSONL: long text lines cut", "[%s] long %ld", esc(d.text[0]), d.st.long_lines);
    d = DOCS("", DOCS_TEXT, "%", 0);
    Docs e = DOCS("", DOCS_JSONL, NULL, 0);
    check(d.opened && d.n == 0 && e.n == 0 && d.st.empty == 0, "empty file: no documents", "%d %d",
          d.n, e.n);
    char err[256] = "";
    DocReader *r =
        docs_open("tests/fixtures/no-such-file.txt", DOCS_TEXT, NULL, 0, err, sizeof err);
    check(!r && strstr(err, "cannot open tests/fixtures/no-such-file.txt"),
          "docs_open: missing file named", "%s", err);
    r = docs_open("tests", DOCS_TEXT, NULL, 0, err, sizeof err);
    check(!r && strstr(err, "directory"), "directory refused", "%s", err);
}

/* Random bytes in every mode: valid UTF-8 out, counts that add up. */
static void test_textdocs_garbage(void) {
    static char buf[200000];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (char)(x >> 56);
        if ((x & 0xFF) < 8) buf[i] = '\n';
        if ((x & 0xFF) == 9) buf[i] = '%';
    }
    const char *path = write_tmp("garbage.bin", buf, sizeof buf);
    int ok = 1;
    for (int mode = 0; mode < 4; mode++) {
        char err[256];
        DocReader *r = docs_open(path, mode == 3 ? DOCS_JSONL : DOCS_TEXT, mode == 1 ? "%" : NULL,
                                 mode == 2 ? 64 : 0, err, sizeof err);
        const char *s;
        size_t len;
        long n = 0, bytes = 0;
        while (r && docs_next(r, &s, &len)) {
            ok = ok && valid_utf8((const unsigned char *)s, len) && len > 0 && s[len] == 0;
            n++;
            bytes += (long)len;
        }
        DocStats st = r ? docs_stats(r) : (DocStats){0};
        ok = ok && r && st.docs == n && st.bytes == bytes &&
             (mode == 3 ? n == 0 && st.bad_json > 0 : n > 0);
        docs_close(r);
    }
    check(ok, "random bytes: valid UTF-8 documents in every mode, stats add up", "%d modes", 4);
}

int main(void) {
    check_plan(45);
    if (!mkdtemp(tmpdir)) {
        printf("not ok - mkdtemp\n");
        return 1;
    }
    char err[512];
    Tokenizer *t = tok_load(TOK, err, sizeof err);
    json_error_t je;
    json_t *ref = json_load_file(REF, JSON_ALLOW_NUL, &je);
    check(t && ref, "fixtures load", "%s %s", t ? "" : err, ref ? "" : je.text);
    if (!t || !ref) return 1;
    check(tok_vocab_size(t) == json_integer_value(json_object_get(ref, "vocab_size")),
          "vocab size as HF's", "%d", tok_vocab_size(t));
    test_hf_parity(t, ref);
    test_train_vs_hf(ref);
    test_layout_and_determinism();
    test_save_load(ref);
    test_pair_merges(t, ref);
    test_invalid_bytes(t);
    test_refused();
    test_textdocs();
    test_textdocs_garbage();
    json_decref(ref);
    tok_free(t);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) printf("# could not remove %s\n", tmpdir);
    return check_exit();
}
