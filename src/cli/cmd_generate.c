/*
 * cmd_generate.c — `zeropt generate`: continue a prompt with a causal
 * decoder from a checkpoint or an HF folder, token by token through the
 * key/value cache (src/model/infer.h): greedy by default, or sampled with a
 * temperature, top-k and top-p from a seed (the same seed, the same text).
 *
 * One process, no MPI: it starts in a fraction of a second, on a login
 * node too.
 */
#include "cmd.h"
#include "source.h"

#include "src/model/infer.h"

#include "kernels/clock.h"
#include "mpi/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char USAGE_GENERATE[] =
    "zeropt generate <ckpt.h5|ckpt dir|HF dir> (--prompt TEXT | --ids \"ID ...\")\n"
    "       [--max-new N] [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
    "       [--tokenizer FILE] [--ignore-eos] [--json] [--no-cache]\n"
    "    continue the prompt with a causal decoder, KV-cached (time per token flat in\n"
    "    length); greedy unless --temperature > 0 (default max-new 32, top-k 0 = all,\n"
    "    top-p 1 = all); stops at the tokenizer's end-of-text unless --ignore-eos;\n"
    "    --json: prompt_ids, new_ids, text and the milliseconds of each token; --no-cache:\n"
    "    recompute the whole prefix for every token (to measure what the cache saves)\n";

static double num(const char *s, const char *flag) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) z_die_all("generate: %s %s: not a number", flag, s);
    return v;
}

static int32_t *parse_ids(const char *s, size_t *n) {
    size_t cap = 16, k = 0;
    int32_t *o = z_malloc(cap * sizeof *o, "ids");
    for (char *end; *s;) {
        while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n') s++;
        if (!*s) break;
        long v = strtol(s, &end, 10);
        if (end == s) z_die_all("generate: --ids: '%s' is not a list of integers", s);
        if (k == cap) o = realloc(o, (cap *= 2) * sizeof *o);
        o[k++] = (int32_t)v, s = end;
    }
    *n = k;
    return o;
}

/* --no-cache: logits of the last of ids[0, t) from a forward over all of them
 * (what generation costs without the cache; the test checks both agree) */
static const float *full_logits(Model *m, const int32_t *ids, int t, const int32_t *lab) {
    Batch b = {1, t, ids, lab, NULL, NULL, NULL, 0, 0};
    model_forward(m, &b);
    return m->logits + (size_t)(t - 1) * m->c.vocab_size;
}

int cmd_generate(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_GENERATE)) return 0;
    const char *target = NULL, *prompt = NULL, *ids_arg = NULL, *tok_file = NULL;
    Sampler smp = {0, 0, 1, 0};
    int max_new = 32, ignore_eos = 0, json = 0, no_cache = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--ignore-eos"))
            ignore_eos = 1;
        else if (!strcmp(a, "--no-cache"))
            no_cache = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (a[0] == '-' && a[1] == '-' && !v)
            z_die_all("generate: %s needs a value", a);
        else if (!strcmp(a, "--prompt"))
            prompt = v, i++;
        else if (!strcmp(a, "--ids"))
            ids_arg = v, i++;
        else if (!strcmp(a, "--tokenizer"))
            tok_file = v, i++;
        else if (!strcmp(a, "--max-new"))
            max_new = (int)num(v, a), i++;
        else if (!strcmp(a, "--temperature"))
            smp.temperature = num(v, a), i++;
        else if (!strcmp(a, "--top-k"))
            smp.top_k = (int)num(v, a), i++;
        else if (!strcmp(a, "--top-p"))
            smp.top_p = num(v, a), i++;
        else if (!strcmp(a, "--seed"))
            smp.seed = (uint64_t)num(v, a), i++;
        else if (a[0] != '-' && !target)
            target = a;
        else
            z_die_all("generate: unknown argument %s (zeropt generate --help)", a);
    }
    if (!target) z_die_all("generate: which model? (a checkpoint or an HF folder)");
    if (!prompt == !ids_arg) z_die_all("generate: give --prompt TEXT or --ids \"ID ...\"");
    if (max_new < 0 || smp.temperature < 0 || smp.top_k < 0 || smp.top_p <= 0 || smp.top_p > 1)
        z_die_all("generate: --max-new, --temperature and --top-k must be ≥ 0, --top-p in (0, 1]");
    Source s;
    source_open(&s, target, tok_file, prompt != NULL || !json);
    int V = s.m.c.vocab_size;
    size_t np;
    int32_t *pids = NULL;
    if (prompt) {
        size_t cap = 0;
        np = tok_encode(s.tok, prompt, strlen(prompt), &pids, &cap);
    } else
        pids = parse_ids(ids_arg, &np);
    for (size_t i = 0; i < np; i++)
        if (pids[i] < 0 || pids[i] >= V)
            z_die_all("generate: prompt id %d outside the vocabulary [0, %d)", pids[i], V);
    if (np == 0) z_die_all("generate: the prompt has no tokens");
    int P = s.m.c.max_positions;
    if ((int)np >= P)
        z_die_all("generate: the prompt has %zu tokens; the model holds %d positions", np, P);
    if ((int)np + max_new > P) {
        fprintf(stderr, "generate: note: %d new tokens at most (max_positions %d)\n", P - (int)np,
                P);
        max_new = P - (int)np;
    }
    char err[Z_ERR_MAX];
    KvCache kv;
    if (kv_init(&kv, &s.m, (int)np + max_new, (int)np, err, sizeof err))
        z_die_all("%s: %s", s.path, err);
    int eos = s.tok ? tok_specials(s.tok).eos : -1;
    int32_t *all = z_malloc((np + (size_t)max_new) * sizeof *all, "ids");
    memcpy(all, pids, np * sizeof *all);
    double *ms = z_calloc((size_t)max_new + 1, sizeof *ms, "times");
    int *order = z_malloc((size_t)V * sizeof *order, "order");
    int32_t *lab = NULL;
    if (no_cache) { /* the whole prefix through the training forward, every token */
        model_alloc_acts(&s.m, 1, (int)np + max_new, 1, 1, 0);
        lab = z_malloc((np + (size_t)max_new) * sizeof *lab, "labels");
        for (size_t i = 0; i < np + (size_t)max_new; i++) lab[i] = -1;
    }
    double t0 = k_now();
    int n = 0;
    const float *logits =
        no_cache ? full_logits(&s.m, all, (int)np, lab) : kv_append(&kv, pids, (int)np);
    while (n < max_new) {
        int next = sample_next(&smp, logits, V, (uint64_t)n, order);
        all[np + n++] = next;
        double t1 = k_now();
        ms[n - 1] = 1e3 * (t1 - t0), t0 = t1;
        if (next == eos && !ignore_eos) break;
        if (n < max_new)
            logits = no_cache ? full_logits(&s.m, all, (int)np + n, lab)
                              : kv_append(&kv, &all[np + n - 1], 1);
    }
    free(lab);
    char *text = s.tok ? tok_decode(s.tok, all, np + n) : NULL;
    if (json) {
        json_t *o = json_object(), *a = json_array(), *b = json_array(), *t = json_array();
        for (size_t i = 0; i < np; i++) json_array_append_new(a, json_integer(all[i]));
        for (int i = 0; i < n; i++) json_array_append_new(b, json_integer(all[np + i]));
        for (int i = 0; i < n; i++) json_array_append_new(t, json_real(ms[i]));
        json_object_set_new(o, "prompt_ids", a);
        json_object_set_new(o, "new_ids", b);
        if (text) json_object_set_new(o, "text", json_string(text));
        json_object_set_new(o, "token_ms", t);
        char *d = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        printf("%s\n", d);
        free(d), json_decref(o);
    } else
        printf("%s\n", text);
    free(text), free(all), free(ms), free(order), free(pids);
    kv_free(&kv);
    source_close(&s);
    return 0;
}
