/*
 * prep.c — text → corpus.h5 (see prep.h).
 */
#include "prep.h"

#include "src/tokenizer/tokenizer.h"

#include "io/corpus.h"
#include "kernels/clock.h"
#include "kernels/rng.h"
#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_removing(CorpusWriter *w, const char *out) {
    if (w) corpus_writer_close(w, NULL, 0);
    remove(out);
    return -1;
}

int prep_corpus(const PrepOptions *o, PrepStats *st, char *err, size_t errlen) {
    memset(st, 0, sizeof *st);
    double t0 = k_now();
    Tokenizer *tok = tok_load(o->tokenizer, err, errlen);
    if (!tok) return -1;
    SpecialIds sp = tok_specials(tok);
    char *json = tok_to_json(tok);
    CorpusMeta meta = {tok_vocab_size(tok), sp.pad, sp.unk, sp.cls, sp.sep, sp.mask, sp.bos, sp.eos,
                       "byte-level-bpe",    json};
    st->vocab_size = meta.vocab_size;
    CorpusWriter *w = corpus_writer_open(o->output, &meta, err, errlen);
    int rc = w ? 0 : -1;
    int32_t *ids = NULL;
    size_t cap = 0;
    long ndoc = 0;
    for (int f = 0; f < o->ninputs && !rc; f++) {
        DocReader *r = docs_open(o->inputs[f], o->format, o->separator, o->max_line, err, errlen);
        if (!r) {
            rc = fail_removing(w, o->output);
            break;
        }
        const char *text;
        size_t len;
        while (!rc && docs_next(r, &text, &len)) {
            size_t n = tok_encode_opt(tok, text, len, o->special_as_text, &ids, &cap);
            if (n == 0) {
                st->no_tokens++;
                continue;
            }
            int split = k_rng_uniform(o->seed, (uint64_t)ndoc) < o->val_fraction;
            if (corpus_writer_add(w, split, ids, n, err, errlen)) {
                rc = fail_removing(w, o->output);
                break;
            }
            st->tokens[split] += (long)n;
            st->val += split;
            ndoc++;
        }
        DocStats s = docs_stats(r);
        st->docs.docs += s.docs, st->docs.empty += s.empty, st->docs.invalid_utf8 += s.invalid_utf8;
        st->docs.long_lines += s.long_lines, st->docs.bad_json += s.bad_json;
        st->docs.truncated += s.truncated;
        if (docs_error(r)) fprintf(stderr, "zeropt: prep: warning: %s\n", docs_error(r));
        st->docs.bytes += s.bytes;
        docs_close(r);
    }
    if (!rc && corpus_writer_close(w, err, errlen)) rc = fail_removing(NULL, o->output);
    st->kept = ndoc;
    st->seconds = k_now() - t0;
    free(ids);
    free(json);
    tok_free(tok);
    return rc;
}
