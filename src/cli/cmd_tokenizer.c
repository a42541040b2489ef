/*
 * cmd_tokenizer.c — `zeropt tokenizer train|encode|decode`: learn a
 * byte-level BPE vocabulary from text files into an HF tokenizer.json, and
 * encode / decode with one. Bad input ends with one line through z_die_all.
 *
 *   train   --input FILE [--input FILE ...] --vocab-size N --output F
 *           [--format text|jsonl] [--separator SEP] [--min-frequency K]
 *           documents split at blank lines unless --separator; merging stops
 *           at N tokens or when the best pair occurs fewer than K times
 *           (default 2; 0 for WordPiece, as HF); prints what was read and the
 *           time taken. --model wordpiece: a BERT vocabulary (BertNormalizer,
 *           lower-cased unless --cased; ## continuations) as HF's
 *           WordPieceTrainer learns one
 *   encode  --tokenizer F [--text TEXT] [--tokens]   (stdin without --text)
 *   decode  --tokenizer F [ID ...]                   (stdin without IDs)
 *           writes the exact decoded bytes, no newline added
 */
#include "cmd.h"

#include "src/prep/textdocs.h"
#include "src/tokenizer/tokenizer.h"

#include "kernels/clock.h"
#include "mpi/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE_TOK_TRAIN                                                                            \
    "zeropt tokenizer train --input FILE [--input FILE ...] --vocab-size N --output F "            \
    "[--format text|jsonl] [--separator SEP] [--min-frequency K] [--model bpe|wordpiece] "         \
    "[--cased]"
#define USAGE_TOK_ENCODE                                                                           \
    "zeropt tokenizer encode --tokenizer F [--text TEXT] [--tokens] [--special-tokens-as-text]"
#define USAGE_TOK_DECODE "zeropt tokenizer decode --tokenizer F [ID ...]"
#define MIN_VOCAB 262 /* 6 special tokens + 256 byte symbols */

/* The value after flag argv[*i], or a one-line error. */
static const char *value(int argc, char **argv, int *i, const char *sub) {
    if (*i + 1 >= argc) z_die_all("tokenizer %s: %s needs a value", sub, argv[*i]);
    return argv[++*i];
}

static long parse_long(const char *s, const char *what, const char *sub) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno) z_die_all("tokenizer %s: %s '%s' is not an integer", sub, what, s);
    return v;
}

/* ---- train ------------------------------------------------------------------ */

typedef struct {
    char *text; /* all documents, each NUL-terminated */
    size_t len, cap;
    size_t *off, *lens, n, capn;
    DocStats st;
} Corpus;

static void corpus_add(Corpus *c, const char *s, size_t n) {
    if (c->len + n + 1 > c->cap) {
        while (c->len + n + 1 > c->cap) c->cap = c->cap ? 2 * c->cap : (size_t)1 << 20;
        if (!(c->text = realloc(c->text, c->cap))) z_die("out of memory reading the corpus");
    }
    if (c->n == c->capn) {
        c->capn = c->capn ? 2 * c->capn : 1024;
        c->off = realloc(c->off, c->capn * sizeof *c->off);
        c->lens = realloc(c->lens, c->capn * sizeof *c->lens);
        if (!c->off || !c->lens) z_die("out of memory indexing the corpus");
    }
    memcpy(c->text + c->len, s, n);
    c->text[c->len + n] = 0;
    c->off[c->n] = c->len;
    c->lens[c->n++] = n;
    c->len += n + 1;
}

static void corpus_read(Corpus *c, const char *path, DocFormat fmt, const char *sep) {
    char err[Z_ERR_MAX];
    DocReader *r = docs_open(path, fmt, sep, 0, err, sizeof err);
    if (!r) z_die_all("tokenizer train: %s", err);
    const char *s;
    size_t n;
    while (docs_next(r, &s, &n)) corpus_add(c, s, n);
    DocStats st = docs_stats(r);
    c->st.docs += st.docs;
    c->st.empty += st.empty;
    c->st.invalid_utf8 += st.invalid_utf8;
    c->st.long_lines += st.long_lines;
    c->st.bad_json += st.bad_json;
    c->st.truncated += st.truncated;
    if (docs_error(r)) fprintf(stderr, "zeropt: tokenizer train: warning: %s\n", docs_error(r));
    c->st.bytes += st.bytes;
    docs_close(r);
}

/* Fails before the reading and training when the output's folder is not
 * writable. */
static void check_writable(const char *path) {
    char *dir = z_strdup(path), *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0; /* "/name": the root */
    else if (slash)
        *slash = 0;
    if (access(slash ? dir : ".", W_OK))
        z_die_all("tokenizer train: cannot write %s: %s", path, strerror(errno));
    free(dir);
}

static void train_usage_error(const char *arg) {
    z_die_all("tokenizer train: unknown argument %s (usage: " USAGE_TOK_TRAIN ")", arg);
}

static int train_main(int argc, char **argv) {
    const char **inputs = z_malloc((size_t)argc * sizeof *inputs, "input list");
    int ninputs = 0;
    const char *output = NULL, *sep = NULL, *fmtname = "text", *model = "bpe";
    long vocab = -1, minf = -1;
    int cased = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--input"))
            inputs[ninputs++] = value(argc, argv, &i, "train");
        else if (!strcmp(a, "--output"))
            output = value(argc, argv, &i, "train");
        else if (!strcmp(a, "--separator"))
            sep = value(argc, argv, &i, "train");
        else if (!strcmp(a, "--format"))
            fmtname = value(argc, argv, &i, "train");
        else if (!strcmp(a, "--vocab-size"))
            vocab = parse_long(value(argc, argv, &i, "train"), a, "train");
        else if (!strcmp(a, "--min-frequency"))
            minf = parse_long(value(argc, argv, &i, "train"), a, "train");
        else if (!strcmp(a, "--model"))
            model = value(argc, argv, &i, "train");
        else if (!strcmp(a, "--cased"))
            cased = 1;
        else
            train_usage_error(a);
    }
    if (!ninputs || !output || vocab < 0)
        z_die_all("tokenizer train: --input, --vocab-size and --output are required "
                  "(usage: " USAGE_TOK_TRAIN ")");
    int wp = !strcmp(model, "wordpiece");
    if (!wp && strcmp(model, "bpe"))
        z_die_all("tokenizer train: --model %s is not bpe or wordpiece", model);
    if (cased && !wp) z_die_all("tokenizer train: --cased is for --model wordpiece");
    if (minf < 0) minf = wp ? 0 : 2; /* HF's WordPieceTrainer default 0; ours for BPE 2 */
    if (vocab < (wp ? 6 : MIN_VOCAB) || vocab > (1 << 21))
        z_die_all("tokenizer train: --vocab-size %ld is out of range [%d, %d]%s", vocab,
                  wp ? 6 : MIN_VOCAB, 1 << 21,
                  wp ? "" : " (6 special tokens + 256 bytes at least)");
    if (minf < 0 || minf > (1L << 30))
        z_die_all("tokenizer train: --min-frequency %ld is negative or too large", minf);
    DocFormat fmt = !strcmp(fmtname, "jsonl") ? DOCS_JSONL : DOCS_TEXT;
    if (strcmp(fmtname, "jsonl") && strcmp(fmtname, "text"))
        z_die_all("tokenizer train: --format %s is not text or jsonl", fmtname);

    check_writable(output);
    double t0 = k_now();
    Corpus c = {0};
    for (int i = 0; i < ninputs; i++) corpus_read(&c, inputs[i], fmt, sep);
    z_log("read %ld documents, %.2f MB from %d file%s in %.2f s (skipped %ld empty, repaired %ld "
          "with invalid UTF-8, cut %ld long lines, %ld bad JSON lines)",
          c.st.docs, (double)c.st.bytes / 1e6, ninputs, ninputs == 1 ? "" : "s", k_now() - t0,
          c.st.empty, c.st.invalid_utf8, c.st.long_lines, c.st.bad_json);

    const char **docs = z_malloc((c.n + 1) * sizeof *docs, "document list");
    for (size_t i = 0; i < c.n; i++) docs[i] = c.text + c.off[i];
    double t1 = k_now();
    Tokenizer *t = wp ? tok_train_wordpiece(docs, c.lens, c.n, (int)vocab, (int)minf, !cased)
                      : tok_train(docs, c.lens, c.n, (int)vocab, (int)minf);
    double t2 = k_now();
    if (tok_save(t, output))
        z_die_all("tokenizer train: cannot write %s: %s", output, strerror(errno));
    z_log("trained a vocabulary of %d tokens (asked %ld) in %.2f s; wrote %s", tok_vocab_size(t),
          vocab, t2 - t1, output);
    tok_free(t);
    free(docs);
    free(c.text);
    free(c.off);
    free(c.lens);
    free(inputs);
    return 0;
}

/* ---- encode / decode -------------------------------------------------------- */

static Tokenizer *load(const char *path, const char *sub, const char *usage) {
    if (!path) z_die_all("tokenizer %s: --tokenizer FILE is required (usage: %s)", sub, usage);
    char err[Z_ERR_MAX];
    Tokenizer *t = tok_load(path, err, sizeof err);
    if (!t) z_die_all("tokenizer %s: %s", sub, err);
    return t;
}

/* All of stdin, NUL-terminated. */
static char *read_stdin(size_t *len) {
    size_t n = 0, cap = 1 << 16, got;
    char *s = z_malloc(cap, "stdin");
    while ((got = fread(s + n, 1, cap - n - 1, stdin)) > 0)
        if ((n += got) + 1 == cap && !(s = realloc(s, cap *= 2)))
            z_die("out of memory reading stdin");
    s[n] = 0;
    *len = n;
    return s;
}

static int encode_main(int argc, char **argv) {
    const char *path = NULL, *text = NULL;
    int tokens = 0, as_text = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer"))
            path = value(argc, argv, &i, "encode");
        else if (!strcmp(argv[i], "--special-tokens-as-text"))
            as_text = 1;
        else if (!strcmp(argv[i], "--text"))
            text = value(argc, argv, &i, "encode");
        else if (!strcmp(argv[i], "--tokens"))
            tokens = 1;
        else
            z_die_all("tokenizer encode: unknown argument %s (usage: " USAGE_TOK_ENCODE ")",
                      argv[i]);
    }
    Tokenizer *t = load(path, "encode", USAGE_TOK_ENCODE);
    size_t len, cap = 0;
    char *in = text ? NULL : read_stdin(&len);
    if (text) len = strlen(text);
    int32_t *ids = NULL;
    size_t n = tok_encode_opt(t, text ? text : in, len, as_text, &ids, &cap);
    for (size_t i = 0; i < n; i++) {
        if (i) putchar(' ');
        if (tokens)
            fputs(tok_id_to_token(t, ids[i]), stdout);
        else
            printf("%d", ids[i]);
    }
    putchar('\n');
    free(ids);
    free(in);
    tok_free(t);
    return 0;
}

/* Ids from the command line, else whitespace-separated on stdin. */
static int32_t *read_ids(int argc, char **argv, const Tokenizer *t, size_t *n) {
    size_t len, cap = 16, k = 0;
    char *in = argc ? NULL : read_stdin(&len), *save = NULL;
    int32_t *ids = z_malloc(cap * sizeof *ids, "ids");
    for (int i = 0;; i++) {
        const char *a = in ? strtok_r(i ? NULL : in, " \t\r\n", &save) : i < argc ? argv[i] : NULL;
        if (!a) break;
        char *end;
        long v = strtol(a, &end, 10);
        if (!*a || *end || v < 0 || v >= tok_vocab_size(t) || !tok_id_to_token(t, (int)v))
            z_die_all("tokenizer decode: '%s' is not a token id (the vocabulary has ids 0..%d)", a,
                      tok_vocab_size(t) - 1);
        if (k == cap && !(ids = realloc(ids, (cap *= 2) * sizeof *ids))) z_die("out of memory");
        ids[k++] = (int32_t)v;
    }
    free(in);
    *n = k;
    return ids;
}

static int decode_main(int argc, char **argv) {
    const char *path = NULL;
    int i = 0;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--tokenizer"))
            path = value(argc, argv, &i, "decode");
        else
            z_die_all("tokenizer decode: unknown argument %s (usage: " USAGE_TOK_DECODE ")",
                      argv[i]);
    }
    Tokenizer *t = load(path, "decode", USAGE_TOK_DECODE);
    size_t n;
    int32_t *ids = read_ids(argc - i, argv + i, t, &n);
    size_t len;
    char *s = tok_decode_len(t, ids, n, &len);
    fwrite(s, 1, len, stdout);
    free(s);
    free(ids);
    tok_free(t);
    return 0;
}

const char USAGE_TOKENIZER[] = USAGE_TOK_TRAIN
    "\n"
    "    byte-level BPE vocabulary -> HF tokenizer.json (documents split at blank lines\n"
    "    unless --separator; stops at N tokens or when the best pair occurs fewer than\n"
    "    K times, default 2); --model wordpiece: a BERT vocabulary as HF's\n"
    "    WordPieceTrainer learns one (lower-cased unless --cased; K default 0)\n" USAGE_TOK_ENCODE
    "\n"
    "    ids (or --tokens: token strings) of TEXT or stdin; special-token strings in\n"
    "    the text become their ids (Hugging Face's default) unless\n"
    "    --special-tokens-as-text\n" USAGE_TOK_DECODE "\n"
    "    the exact bytes of the ids (arguments, or stdin), no newline added\n";

int cmd_tokenizer(int argc, char **argv) {
    const char *sub = argc > 0 ? argv[0] : "";
    if (cli_help(argc, argv, USAGE_TOKENIZER)) return 0;
    if (!strcmp(sub, "train")) return train_main(argc - 1, argv + 1);
    if (!strcmp(sub, "encode")) return encode_main(argc - 1, argv + 1);
    if (!strcmp(sub, "decode")) return decode_main(argc - 1, argv + 1);
    z_die_all(
        "tokenizer: unknown subcommand '%s' (train, encode or decode; zeropt tokenizer --help)",
        sub);
}
