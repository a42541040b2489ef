/*
 * tok_bench.c — tokenizer throughput, one thread: the documents of a JSONL
 * file (read first, not timed) encoded `reps` times; the median pass gives
 * MB/s of text. Prints one JSON line: {"mb_per_s", "tokens", "bytes",
 * "docs"} for bench/tokenizer_bench.sh, which runs HF tokenizers on the
 * same documents.
 *   tok_bench TOKENIZER.json DOCS.jsonl [reps]
 */
#include "kernels/clock.h"
#include "src/prep/textdocs.h"
#include "src/tokenizer/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tok_bench TOKENIZER.json DOCS.jsonl [reps]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    char err[1024];
    Tokenizer *t = tok_load(argv[1], err, sizeof err);
    DocReader *r =
        t ? docs_open(argv[2], DOCS_JSONL, NULL, (size_t)1 << 30, err, sizeof err) : NULL;
    if (!r) {
        fprintf(stderr, "tok_bench: %s\n", err);
        return 1;
    }
    char **docs = NULL;
    size_t *lens = NULL, n = 0, cap = 0, bytes = 0;
    const char *s;
    size_t len;
    while (docs_next(r, &s, &len)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            docs = realloc(docs, cap * sizeof *docs), lens = realloc(lens, cap * sizeof *lens);
        }
        docs[n] = malloc(len), memcpy(docs[n], s, len), lens[n++] = len, bytes += len;
    }
    docs_close(r);
    int32_t *ids = NULL;
    size_t icap = 0, tokens = 0;
    double *sec = malloc((size_t)reps * sizeof *sec);
    for (int k = 0; k < reps; k++) {
        double t0 = k_now();
        tokens = 0;
        for (size_t i = 0; i < n; i++) tokens += tok_encode(t, docs[i], lens[i], &ids, &icap);
        sec[k] = k_now() - t0;
    }
    qsort(sec, (size_t)reps, sizeof *sec, by_value);
    printf(
        "{\"mb_per_s\": %.3f, \"tokens\": %zu, \"bytes\": %zu, \"docs\": %zu, \"seconds\": %.4f}\n",
        (double)bytes / 1e6 / sec[reps / 2], tokens, bytes, n, sec[reps / 2]);
    for (size_t i = 0; i < n; i++) free(docs[i]);
    free(docs), free(lens), free(ids), free(sec);
    tok_free(t);
    return 0;
}
