/*
 * report.c — prep's statistics as a table and as JSON (see report.h).
 */
#include "report.h"

#include "mpi/err.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

/* input bytes (files as stored) per second */
static double mb_per_s(const PrepStats *st) {
    return st->seconds > 0 ? (double)st->bytes_in / 1e6 / st->seconds : 0;
}

void prep_report_print(FILE *f, const PrepOptions *o, const PrepStats *st) {
    fprintf(f, "prep: %d input file(s) of %ld bytes, %ld documents, %ld bytes of text\n",
            o->ninputs, st->bytes_in, st->docs.docs, st->docs.bytes);
    fprintf(f,
            "prep: %ld documents kept (%ld train, %ld validation); skipped %ld empty, %ld with no "
            "tokens, %ld empty file(s)\n",
            st->kept, st->kept - st->val, st->val, st->docs.empty, st->no_tokens, st->empty_files);
    fprintf(f,
            "prep: repaired %ld documents with invalid UTF-8, cut %ld over-long lines, skipped %ld "
            "bad JSON lines, %ld truncated gzip file(s)\n",
            st->docs.invalid_utf8, st->docs.long_lines, st->docs.bad_json, st->docs.truncated);
    if (o->quality_model) {
        fprintf(f,
                "prep: quality (%s, label %s): %ld documents dropped below %.4f; scores in tenths:",
                o->quality_model, o->quality_label, st->low_quality, st->cutoff);
        for (int b = 0; b < 10; b++) fprintf(f, " %ld", st->histogram[b]);
        fprintf(f, "\n");
    }
    if (o->spans) fprintf(f, "prep: %ld salient spans\n", st->spans);
    if (o->clean) {
        long all = 0;
        for (int r = 0; r < CLEAN_NRULES; r++) all += st->cleaned[r];
        fprintf(f, "prep: cleaning dropped %ld documents:", all);
        for (int r = 0; r < CLEAN_NRULES; r++)
            fprintf(f, " %s %ld", clean_rule_name(r), st->cleaned[r]);
        fprintf(f, "\n");
    }
    if (o->dedup)
        fprintf(f,
                "prep: duplicates dropped: %ld exact, %ld near (MinHash %d x %d at Jaccard %.2f)\n",
                st->dups.exact, st->dups.near, st->dups.bands, st->dups.rows, o->dedup->threshold);
    if (st->shards)
        fprintf(f, "prep: %ld shards of about %lld tokens, listed by the index %s\n", st->shards,
                o->shard_tokens, o->output);
    fprintf(f, "prep: %ld train tokens, %ld validation tokens, vocab %d (%s ids) -> %s\n",
            st->tokens[0], st->tokens[1], st->vocab_size,
            st->vocab_size <= 65535 ? "uint16" : "uint32", o->output);
    fprintf(f, "prep: %d rank(s), %ld unit(s) read in %.1f s, %.1f s in all: %.2f MB/s\n",
            st->ranks, st->units, st->seconds_read, st->seconds, mb_per_s(st));
}

int prep_report_json(const char *path, const PrepOptions *o, const PrepStats *st, char *err,
                     size_t errlen) {
    json_t *r = json_object(), *in = json_array();
    for (int i = 0; i < o->ninputs; i++) json_array_append_new(in, json_string(o->inputs[i]));
    json_object_set_new(r, "inputs", in);
    json_object_set_new(r, "output", json_string(o->output));
    json_object_set_new(r, "ranks", json_integer(st->ranks));
    json_object_set_new(r, "units", json_integer(st->units));
    json_t *read = json_object();
    json_object_set_new(read, "file_bytes", json_integer(st->bytes_in));
    json_object_set_new(read, "documents", json_integer(st->docs.docs));
    json_object_set_new(read, "bytes", json_integer(st->docs.bytes));
    json_object_set_new(read, "empty_documents", json_integer(st->docs.empty));
    json_object_set_new(read, "empty_files", json_integer(st->empty_files));
    json_object_set_new(read, "invalid_utf8_documents", json_integer(st->docs.invalid_utf8));
    json_object_set_new(read, "long_lines_cut", json_integer(st->docs.long_lines));
    json_object_set_new(read, "bad_json_lines", json_integer(st->docs.bad_json));
    json_object_set_new(read, "truncated_gzip_files", json_integer(st->docs.truncated));
    json_object_set_new(r, "read", read);
    json_t *dropped = json_object();
    if (o->clean) {
        json_t *c = json_object();
        for (int i = 0; i < CLEAN_NRULES; i++)
            json_object_set_new(c, clean_rule_name(i), json_integer(st->cleaned[i]));
        json_object_set_new(dropped, "cleaning", c);
    }
    if (o->dedup) {
        json_object_set_new(dropped, "exact_duplicates", json_integer(st->dups.exact));
        json_object_set_new(dropped, "near_duplicates", json_integer(st->dups.near));
    }
    if (o->quality_model)
        json_object_set_new(dropped, "low_quality", json_integer(st->low_quality));
    json_object_set_new(dropped, "no_tokens", json_integer(st->no_tokens));
    json_object_set_new(r, "dropped", dropped);
    if (o->dedup) {
        json_t *d = json_object();
        json_object_set_new(d, "threshold", json_real(o->dedup->threshold));
        json_object_set_new(d, "bands", json_integer(st->dups.bands));
        json_object_set_new(d, "rows", json_integer(st->dups.rows));
        json_object_set_new(r, "dedup", d);
    }
    if (o->quality_model) {
        json_t *q = json_object(), *h = json_array();
        json_object_set_new(q, "model", json_string(o->quality_model));
        json_object_set_new(q, "label", json_string(o->quality_label));
        json_object_set_new(q, "cutoff",
                            isfinite(st->cutoff) ? json_real(st->cutoff) : json_null());
        for (int b = 0; b < 10; b++) json_array_append_new(h, json_integer(st->histogram[b]));
        json_object_set_new(q, "histogram_tenths", h);
        json_object_set_new(r, "quality", q);
    }
    json_t *out = json_object();
    json_object_set_new(out, "documents", json_integer(st->kept));
    json_object_set_new(out, "train_documents", json_integer(st->kept - st->val));
    json_object_set_new(out, "val_documents", json_integer(st->val));
    json_object_set_new(out, "train_tokens", json_integer(st->tokens[0]));
    json_object_set_new(out, "val_tokens", json_integer(st->tokens[1]));
    json_object_set_new(out, "spans", json_integer(st->spans));
    json_object_set_new(out, "shards", json_integer(st->shards));
    json_object_set_new(out, "vocab_size", json_integer(st->vocab_size));
    json_object_set_new(r, "written", out);
    json_object_set_new(r, "seconds", json_real(st->seconds));
    json_object_set_new(r, "seconds_reading", json_real(st->seconds_read));
    json_object_set_new(r, "mb_per_s", json_real(mb_per_s(st)));
    int rc = json_dump_file(r, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(r);
    return rc ? z_fail(err, errlen, "%s: cannot write the statistics", path) : 0;
}
