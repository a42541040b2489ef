/*
 * cmd_prep.c — `zeropt prep`: raw text → corpus.h5 (src/prep/prep.h).
 */
#include "cmd.h"

#include "src/prep/prep.h"
#include "src/prep/report.h"

#include "mpi/comm.h"

#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 4096

const char USAGE_PREP[] =
    "zeropt prep --tokenizer T.json|vocab.txt --input FILE [--input FILE ...] --output corpus.h5\n"
    "    [--format text|jsonl|nvidia-bert] [--separator SEP] [--val-fraction F]\n"
    "    [--max-line BYTES] [--seed N] [--special-tokens-as-text] [--spans]\n"
    "    [--quality MODEL.bin --quality-label L\n"
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
    "    >= J, default 0.8; 0: exact only) dropped, the first of each kept.\n"
    "    [--shard-tokens N] [--chunk-bytes N] [--stats FILE.json]\n"
    "    --format nvidia-bert: NVIDIA DeepLearningExamples BERT shards (HDF5, pre-masked):\n"
    "    each sample's tokens restored, [CLS] and the final [SEP] dropped, one document each\n"
    "    (--tokenizer: the vocabulary that made them, e.g. BERT's vocab.txt).\n"
    "    --shard-tokens 100M: shards of about N tokens (OUT-00000.h5, ...) and the index OUT,\n"
    "    which train reads as one corpus. Under mpirun the ranks share the files (ranges of\n"
    "    --chunk-bytes of uncompressed ones: by default 8 a rank, 1M-64M) and dedup across\n"
    "    each other; the output is the same, byte for byte, at any rank count.\n"
    "    --stats: the report as JSON.";

int cmd_prep(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_PREP)) return 0;
    comm_init(&argc, &argv);
    const char *inputs[MAX_INPUTS];
    PrepOptions o = {inputs, 0,    NULL, NULL, NULL, DOCS_TEXT, 0.02, 0, 1234, 0,
                     NULL,   NULL, 0,    0,    0,    NULL,      NULL, 0, 0};
    const char *stats = NULL;
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
            else if (!strcmp(v, "nvidia-bert"))
                o.format = DOCS_NVIDIA_BERT;
            else
                z_die_all("prep: --format %s: expected text, jsonl or nvidia-bert", v);
        } else if (!strcmp(a, "--val-fraction")) {
            char *end;
            o.val_fraction = strtod(v, &end);
            if (*end || o.val_fraction < 0 || o.val_fraction >= 1)
                z_die_all("prep: --val-fraction %s: expected a number in [0, 1)", v);
        } else if (!strcmp(a, "--stats"))
            stats = v;
        else if (!strcmp(a, "--shard-tokens") || !strcmp(a, "--chunk-bytes")) {
            char *end;
            double x = strtod(v, &end);
            double mul = !*end                                    ? 1
                         : !strcmp(end, "K") || !strcmp(end, "k") ? 1e3
                         : !strcmp(end, "M")                      ? 1e6
                         : !strcmp(end, "G")                      ? 1e9
                                                                  : -1;
            if (mul < 0 || !(x * mul >= 1) || x * mul > 9e18)
                z_die_all("prep: %s %s: expected a positive count (K, M, G allowed)", a, v);
            *(!strcmp(a, "--shard-tokens") ? &o.shard_tokens : &o.chunk_bytes) =
                (long long)(x * mul);
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
    if (o.format == DOCS_NVIDIA_BERT && (o.clean || o.quality_model))
        z_die_all("prep: --format nvidia-bert reads token ids: --clean and --quality work on text "
                  "(--dedup and --spans work on the ids)");
    if (o.quality_min > 0 && o.quality_top > 0)
        z_die_all("prep: --quality-min and --quality-top: choose one");
    PrepStats st;
    if (prep_corpus(&o, &st, err, sizeof err))
        z_exit_agreed(st.alike && z_rank() != 0 ? NULL : err);
    if (z_rank() == 0) {
        prep_report_print(stdout, &o, &st);
        if (stats && prep_report_json(stats, &o, &st, err, sizeof err)) {
            fprintf(stderr, "zeropt: rank 0: prep: %s\n", err);
            exit(1);
        }
    }
    clean_free_rules(&rules);
    comm_finalize();
    return 0;
}
