/*
 * cmd_prep.c — `zeropt prep`: raw text → corpus.h5.
 *
 *   zeropt prep --tokenizer tokenizer.json --input FILE [--input FILE ...]
 *               --output corpus.h5 [--format text|jsonl] [--separator SEP]
 *               [--val-fraction 0.02] [--max-line BYTES] [--seed N]
 *
 * Each document is tokenized (no special tokens: packing adds them at
 * training time) and appended to the train or the validation split; a
 * document goes to validation when a seeded hash of its index falls below
 * --val-fraction, so the split is by document and reproducible. Runs in one
 * process.
 */
#include "cmd.h"
#include "textdocs.h"
#include "tokenizer.h"

#include "../io/corpus.h"
#include "../kernels/rng.h"
#include "../mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INPUTS 4096

/* prep writes one file from one process: refuse to run as several ranks,
 * which would all write the same file. */
static void refuse_parallel(void) {
    const char *size[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    const char *rank[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(size[i]), *r = getenv(rank[i]);
        if (!v || atoi(v) <= 1) continue;
        if (r && atoi(r) != 0) exit(1); /* rank 0 alone explains */
        z_die_all("prep: runs as one process (launched as %s ranks); run it without mpirun", v);
    }
}

int cmd_prep(int argc, char **argv) {
    refuse_parallel();
    const char *inputs[MAX_INPUTS], *out = NULL, *tokpath = NULL, *sep = NULL;
    int ninputs = 0;
    DocFormat fmt = DOCS_TEXT;
    double val_frac = 0.02;
    size_t max_line = 0;
    unsigned long long seed = 1234;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) z_die_all("prep: %s needs a value", a);
        if (!strcmp(a, "--input")) {
            if (ninputs == MAX_INPUTS) z_die_all("prep: more than %d inputs", MAX_INPUTS);
            inputs[ninputs++] = v;
        } else if (!strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--tokenizer"))
            tokpath = v;
        else if (!strcmp(a, "--separator"))
            sep = v;
        else if (!strcmp(a, "--format")) {
            if (!strcmp(v, "text"))
                fmt = DOCS_TEXT;
            else if (!strcmp(v, "jsonl"))
                fmt = DOCS_JSONL;
            else
                z_die_all("prep: --format %s: expected text or jsonl", v);
        } else if (!strcmp(a, "--val-fraction")) {
            char *end;
            val_frac = strtod(v, &end);
            if (*end || val_frac < 0 || val_frac >= 1)
                z_die_all("prep: --val-fraction %s: expected a number in [0, 1)", v);
        } else if (!strcmp(a, "--max-line"))
            max_line = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else
            z_die_all("prep: unknown argument %s", a);
        i++;
    }
    if (!ninputs || !out || !tokpath)
        z_die_all("prep: usage: zeropt prep --tokenizer tokenizer.json --input FILE [--input ...] "
                  "--output corpus.h5 [--format text|jsonl] [--separator SEP] [--val-fraction F]");
    char err[2048];
    Tokenizer *tok = tok_load(tokpath, err, sizeof err);
    if (!tok) z_die_all("%s", err);
    SpecialIds sp = tok_specials(tok);
    char *json = tok_to_json(tok);
    CorpusMeta meta = {tok_vocab_size(tok), sp.pad, sp.unk, sp.cls, sp.sep, sp.mask, sp.bos, sp.eos,
                       "byte-level-bpe",    json};
    CorpusWriter *w = corpus_writer_open(out, &meta, err, sizeof err);
    if (!w) z_die_all("%s", err);

    clock_t t0 = clock();
    int32_t *ids = NULL;
    size_t cap = 0;
    long ndoc = 0, nval = 0, ntok[2] = {0, 0}, empty_tok = 0;
    DocStats tot = {0};
    for (int f = 0; f < ninputs; f++) {
        DocReader *r = docs_open(inputs[f], fmt, sep, max_line, err, sizeof err);
        if (!r) {
            corpus_writer_close(w, NULL, 0);
            remove(out);
            z_die_all("%s", err);
        }
        const char *text;
        size_t len;
        while (docs_next(r, &text, &len)) {
            size_t n = tok_encode(tok, text, len, &ids, &cap);
            if (n == 0) {
                empty_tok++;
                continue;
            }
            int split = k_rng_uniform(seed, (uint64_t)ndoc) < val_frac;
            if (corpus_writer_add(w, split, ids, n, err, sizeof err)) {
                corpus_writer_close(w, NULL, 0);
                remove(out);
                z_die_all("%s", err);
            }
            ntok[split] += (long)n;
            nval += split;
            ndoc++;
        }
        DocStats s = docs_stats(r);
        tot.docs += s.docs, tot.empty += s.empty, tot.invalid_utf8 += s.invalid_utf8;
        tot.long_lines += s.long_lines, tot.bad_json += s.bad_json, tot.bytes += s.bytes;
        docs_close(r);
    }
    if (corpus_writer_close(w, err, sizeof err)) {
        remove(out);
        z_die_all("%s", err);
    }
    printf("prep: %d input file(s), %ld bytes of text\n", ninputs, tot.bytes);
    printf("prep: %ld documents kept (%ld train, %ld validation); skipped %ld empty, %ld with no "
           "tokens\n",
           ndoc, ndoc - nval, nval, tot.empty, empty_tok);
    printf("prep: repaired %ld documents with invalid UTF-8, cut %ld over-long lines, skipped %ld "
           "bad JSON lines\n",
           tot.invalid_utf8, tot.long_lines, tot.bad_json);
    printf("prep: %ld train tokens, %ld validation tokens, vocab %d (%s ids) -> %s in %.1f s\n",
           ntok[0], ntok[1], meta.vocab_size, meta.vocab_size <= 65535 ? "uint16" : "uint32", out,
           (double)(clock() - t0) / CLOCKS_PER_SEC);
    free(ids);
    free(json);
    tok_free(tok);
    return 0;
}
