/*
 * cmd_fill_mask.c — `zeropt fill-mask`: a masked-LM encoder's k most likely
 * tokens for each mask token of a text, with their probabilities (the
 * softmax of the MLM head's logits at that position, as transformers'
 * fill-mask pipeline reports them).
 *
 * One process, no MPI: it starts in a fraction of a second, on a login
 * node too.
 */
#include "cmd.h"
#include "source.h"

#include "mpi/err.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char USAGE_FILL_MASK[] =
    "zeropt fill-mask <ckpt.h5|ckpt dir|HF dir> --text TEXT [--text TEXT ...]\n"
    "       [--top-k K] [--tokenizer FILE] [--json]\n"
    "    the K (default 5) most likely tokens for each [MASK] (<mask>) of each text, with\n"
    "    probabilities; --json: one object per text (ids, and per mask its position,\n"
    "    ids, tokens and scores)\n";

/* One text: ids framed [CLS] … [SEP], every mask position labelled so the
 * head evaluates it; returns the JSON of the answer. */
static json_t *fill(Source *s, const char *text, int k, int json) {
    size_t n;
    int32_t *ids = source_encode(s, text, &n);
    SpecialIds sp = tok_specials(s->tok);
    Model *m = &s->m;
    int V = m->c.vocab_size;
    if ((int)n > model_max_len(&m->c))
        z_die_all("fill-mask: the text has %zu tokens; the model holds %d positions", n,
                  model_max_len(&m->c));
    int32_t *lab = z_malloc(n * sizeof *lab, "labels");
    int nm = 0;
    for (size_t i = 0; i < n; i++) lab[i] = ids[i] == sp.mask ? (nm++, 0) : -1;
    if (!nm) z_die_all("fill-mask: '%s' has no mask token", text);
    model_alloc_acts(m, 1, (int)n, nm, 1, 0);
    Batch b = {1, (int)n, ids, lab, NULL, NULL, NULL, 0, 0};
    model_forward(m, &b);
    json_t *masks = json_array();
    if (!json) printf("%s\n", text);
    int *top = z_malloc((size_t)k * sizeof *top, "top");
    for (int r = 0, pos = 0; r < nm; r++, pos++) {
        while (lab[pos] < 0) pos++;
        const float *z = m->logits + (size_t)r * V;
        double mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
        for (int j = 0; j < k; j++) { /* k passes of argmax: k is small */
            int best = -1;
            for (int v = 0; v < V; v++) {
                int used = 0;
                for (int q = 0; q < j; q++) used |= top[q] == v;
                if (!used && (best < 0 || z[v] > z[best])) best = v;
            }
            top[j] = best;
        }
        json_t *ti = json_array(), *tt = json_array(), *ts = json_array();
        if (!json) printf("  mask %d (position %d):", r + 1, pos);
        for (int j = 0; j < k; j++) {
            double p = exp((double)z[top[j]] - mx) / sum;
            const char *tok = tok_id_to_token(s->tok, top[j]);
            json_array_append_new(ti, json_integer(top[j]));
            json_array_append_new(tt, json_string(tok ? tok : ""));
            json_array_append_new(ts, json_real(p));
            if (!json) printf("  %s %.4g", tok ? tok : "?", p);
        }
        if (!json) printf("\n");
        json_array_append_new(masks, json_pack("{s:i,s:o,s:o,s:o}", "position", pos, "ids", ti,
                                               "tokens", tt, "scores", ts));
    }
    json_t *jid = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(jid, json_integer(ids[i]));
    free(top), free(lab), free(ids);
    model_free_acts(m);
    return json_pack("{s:s,s:o,s:o}", "text", text, "ids", jid, "masks", masks);
}

int cmd_fill_mask(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_FILL_MASK)) return 0;
    const char *target = NULL, *tok_file = NULL;
    const char **texts = z_calloc((size_t)argc + 1, sizeof *texts, "texts");
    int nt = 0, k = 5, json = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json"))
            json = 1;
        else if (a[0] == '-' && a[1] == '-' && !v)
            z_die_all("fill-mask: %s needs a value", a);
        else if (!strcmp(a, "--text"))
            texts[nt++] = v, i++;
        else if (!strcmp(a, "--tokenizer"))
            tok_file = v, i++;
        else if (!strcmp(a, "--top-k")) {
            char *end;
            k = (int)strtol(v, &end, 10), i++;
            if (*end || k < 1) z_die_all("fill-mask: --top-k %s: a positive integer", v);
        } else if (a[0] != '-' && !target)
            target = a;
        else
            z_die_all("fill-mask: unknown argument %s (zeropt fill-mask --help)", a);
    }
    if (!target) z_die_all("fill-mask: which model? (a checkpoint or an HF folder)");
    if (!nt) z_die_all("fill-mask: give --text TEXT with a mask token");
    Source s;
    source_open(&s, target, tok_file, 1);
    if (s.m.c.arch != ARCH_ENCODER)
        z_die_all("%s: fill-mask needs a masked-LM encoder; this model is a decoder", s.path);
    if (tok_specials(s.tok).mask < 0) z_die_all("%s: the tokenizer has no mask token", s.path);
    if (k > s.m.c.vocab_size) k = s.m.c.vocab_size;
    for (int i = 0; i < nt; i++) {
        json_t *o = fill(&s, texts[i], k, json);
        if (json) {
            char *d = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            printf("%s\n", d);
            free(d);
        }
        json_decref(o);
    }
    free(texts);
    source_close(&s);
    return 0;
}
