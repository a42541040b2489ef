/*
 * cmd_prep.c — `zeropt prep`: raw text → corpus.h5 (src/prep/prep.h).
 */
#include "cmd.h"

#include "src/prep/prep.h"

#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 4096

const char USAGE_PREP[] =
    "zeropt prep --tokenizer T.json|vocab.txt --input FILE [--input FILE ...] --output corpus.h5\n"
    "    [--format text|jsonl] [--separator SEP] [--val-fraction F] [--max-line BYTES] [--seed N]\n"
    "    [--special-tokens-as-text] [--spans] [--quality MODEL.bin --quality-label L\n"
    "    [--quality-min P | --quality-top F]] [--clean] [--clean-rule NAME=VALUE ...]\n"
    "    [--bad-words FILE] [--dedup] [--dedup-threshold J]\n"
    "    text -> HDF5 corpus: documents split at SEP lines (else blank lines) or one JSON\n"
    "    {\"text\": ...} per line; a seeded fraction F of documents (default 0.02) held out.\n"
    "    Special-token strings in the text (\"[SEP]\", \"<|endoftext|>\") become their ids, as\n"
    "    Hugging Face tokenizers do by default; --special-tokens-as-text encodes them as text.\n"
    "    --spans: salient spans (names, numbers) as /spans, for [mask] scheme = salient.\n"
    "    --quality: each document's probability of label L under a fastText classifier\n"
    "    (zeropt quality train) as /quality; keep those scoring >= P, or the best fraction F.\n"
    "    --clean: NFKC, control characters out, spaces collapsed, then Gopher's document rules\n"
    "    (50-100000 words, mean word length 3-10, symbols, ellipsis and bullet lines,\n"
    "    alphabetic words, stop words, duplicate lines, repeated n-grams); --clean-rule\n"
    "    min_words=5 changes one (0 turns it off), --bad-words drops documents with a listed "
    "word.\n"
    "    --dedup: exact duplicates and near ones (MinHash-LSH over 5-word shingles, Jaccard\n"
    "    >= J, default 0.8; 0: exact only) dropped, the first of each kept.\n";

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
    if (cli_help(argc, argv, USAGE_PREP)) return 0;
    refuse_parallel();
    const char *inputs[MAX_INPUTS];
    PrepOptions o = {inputs, 0,    NULL, NULL, NULL, DOCS_TEXT, 0.02, 0,   1234,
                     0,      NULL, NULL, 0,    0,    0,         NULL, NULL};
    CleanRules rules;
    clean_default_rules(&rules);
    DedupOptions dedup;
    dedup_default_options(&dedup);
    char err[Z_ERR_MAX];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--special-tokens-as-text")) {
            o.special_as_text = 1;
            continue;
        }
        if (!strcmp(a, "--spans")) {
            o.spans = 1;
            continue;
        }
        if (!strcmp(a, "--clean")) {
            o.clean = &rules;
            continue;
        }
        if (!strcmp(a, "--dedup")) {
            o.dedup = &dedup;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) z_die_all("prep: %s needs a value (zeropt prep --help)", a);
        if (!strcmp(a, "--input")) {
            if (o.ninputs == MAX_INPUTS) z_die_all("prep: more than %d inputs", MAX_INPUTS);
            inputs[o.ninputs++] = v;
        } else if (!strcmp(a, "--output"))
            o.output = v;
        else if (!strcmp(a, "--tokenizer"))
            o.tokenizer = v;
        else if (!strcmp(a, "--separator"))
            o.separator = v;
        else if (!strcmp(a, "--format")) {
            if (!strcmp(v, "text"))
                o.format = DOCS_TEXT;
            else if (!strcmp(v, "jsonl"))
                o.format = DOCS_JSONL;
            else
                z_die_all("prep: --format %s: expected text or jsonl", v);
        } else if (!strcmp(a, "--val-fraction")) {
            char *end;
            o.val_fraction = strtod(v, &end);
            if (*end || o.val_fraction < 0 || o.val_fraction >= 1)
                z_die_all("prep: --val-fraction %s: expected a number in [0, 1)", v);
        } else if (!strcmp(a, "--max-line"))
            o.max_line = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--clean-rule")) {
            if (clean_set_rule(&rules, v, err, sizeof err)) z_die_all("prep: %s", err);
            o.clean = &rules;
        } else if (!strcmp(a, "--bad-words")) {
            if (clean_load_bad_words(&rules, v, err, sizeof err)) z_die_all("prep: %s", err);
            o.clean = &rules;
        } else if (!strcmp(a, "--dedup-threshold")) {
            char *end;
            dedup.threshold = strtod(v, &end);
            if (*end || !(dedup.threshold >= 0 && dedup.threshold <= 1))
                z_die_all("prep: --dedup-threshold %s: expected a number in [0, 1] (0: exact only)",
                          v);
            o.dedup = &dedup;
        } else if (!strcmp(a, "--quality"))
            o.quality_model = v;
        else if (!strcmp(a, "--quality-label"))
            o.quality_label = v;
        else if (!strcmp(a, "--quality-min") || !strcmp(a, "--quality-top")) {
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x > 0 && x <= 1))
                z_die_all("prep: %s %s: expected a number in (0, 1]", a, v);
            *(!strcmp(a, "--quality-min") ? &o.quality_min : &o.quality_top) = x;
        } else
            z_die_all("prep: unknown argument %s (zeropt prep --help)", a);
        i++;
    }
    if (!o.ninputs || !o.output || !o.tokenizer)
        z_die_all("prep: needs --tokenizer, --input and --output (zeropt prep --help)");
    if ((o.quality_label || o.quality_min > 0 || o.quality_top > 0) && !o.quality_model)
        z_die_all(
            "prep: --quality-label, --quality-min and --quality-top need --quality MODEL.bin");
    if (o.quality_model && !o.quality_label)
        z_die_all("prep: --quality %s needs --quality-label (the label whose probability scores "
                  "a document)",
                  o.quality_model);
    if (o.quality_min > 0 && o.quality_top > 0)
        z_die_all("prep: --quality-min and --quality-top: choose one");
    PrepStats st;
    if (prep_corpus(&o, &st, err, sizeof err)) z_die_all("%s", err);
    printf("prep: %d input file(s), %ld documents, %ld bytes of text\n", o.ninputs, st.docs.docs,
           st.docs.bytes);
    printf("prep: %ld documents kept (%ld train, %ld validation); skipped %ld empty, %ld with no "
           "tokens\n",
           st.kept, st.kept - st.val, st.val, st.docs.empty, st.no_tokens);
    printf("prep: repaired %ld documents with invalid UTF-8, cut %ld over-long lines, skipped %ld "
           "bad JSON lines, %ld truncated gzip file(s)\n",
           st.docs.invalid_utf8, st.docs.long_lines, st.docs.bad_json, st.docs.truncated);
    if (o.quality_model) {
        printf("prep: quality (%s, label %s): %ld documents dropped below %.4f; scores in tenths:",
               o.quality_model, o.quality_label, st.low_quality, st.cutoff);
        for (int b = 0; b < 10; b++) printf(" %ld", st.histogram[b]);
        printf("\n");
    }
    if (o.spans) printf("prep: %ld salient spans\n", st.spans);
    if (o.clean) {
        long all = 0;
        for (int r = 0; r < CLEAN_NRULES; r++) all += st.cleaned[r];
        printf("prep: cleaning dropped %ld documents:", all);
        for (int r = 0; r < CLEAN_NRULES; r++) printf(" %s %ld", clean_rule_name(r), st.cleaned[r]);
        printf("\n");
    }
    if (o.dedup)
        printf("prep: duplicates dropped: %ld exact, %ld near (MinHash %d x %d at Jaccard %.2f)\n",
               st.dups.exact, st.dups.near, st.dups.bands, st.dups.rows, dedup.threshold);
    clean_free_rules(&rules);
    printf("prep: %ld train tokens, %ld validation tokens, vocab %d (%s ids) -> %s in %.1f s\n",
           st.tokens[0], st.tokens[1], st.vocab_size, st.vocab_size <= 65535 ? "uint16" : "uint32",
           o.output, st.seconds);
    return 0;
}
