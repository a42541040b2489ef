/*
 * cmd_ckpt.c — `zeropt ckpt info|verify|export|import|logits`: checkpoints
 * from the command line, one process.
 *
 *   zeropt ckpt info   <ckpt.h5 | ckpt dir> [--json]
 *   zeropt ckpt verify <ckpt.h5 | ckpt dir>          exit 0 only when it all holds
 *   zeropt ckpt export <ckpt.h5 | ckpt dir> --format safetensors --out DIR
 *   zeropt ckpt import --from HF_DIR --out ckpt.h5 [--ini model.ini]
 *   zeropt ckpt logits <ckpt.h5 | ckpt dir> --tokens IN.h5 --out OUT.h5
 *          logits [B, T, V] and last hidden states [B, T, C] of the checkpoint's
 *          model (dropout off) for the int dataset "tokens" [B, T] of IN.h5, with
 *          its attention_mask and token_type_ids when present — for comparing
 *          with other frameworks
 */
#include "cmd.h"
#include "source.h"

#include "src/config/config.h"
#include "src/model/hf.h"
#include "src/model/infer.h"
#include "src/tokenizer/tokenizer.h"
#include "src/train/trainer.h"

#include "io/ckpt.h"
#include "io/tensorfile.h"
#include "mpi/comm.h"
#include "mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    json_t *arr;
    double bytes;
    int count;
} ListAcc;

static void collect(void *ctx, const char *name, int ndim, const int64_t *dims) {
    ListAcc *a = ctx;
    json_t *shape = json_array();
    double n = 1;
    for (int i = 0; i < ndim; i++)
        json_array_append_new(shape, json_integer(dims[i])), n *= dims[i];
    json_array_append_new(
        a->arr, json_pack("{s:s,s:o,s:s}", "name", name, "shape", shape, "dtype", "float32"));
    a->bytes += 4 * n;
    a->count++;
}

static int info(const char *path, int as_json) {
    char err[Z_ERR_MAX];
    CkptInfo *c = ckpt_open(path, err, sizeof err);
    if (!c) z_die_all("%s", err);
    ListAcc acc = {json_array(), 0, 0};
    ckpt_list(c, collect, &acc);
    const char *ik[] = {"step",       "tokens_seen",  "ranks_at_save",
                        "zero_stage", "global_batch", "version"};
    json_t *root = json_object();
    json_object_set_new(root, "path", json_string(path));
    for (int i = 0; i < 6; i++) {
        int64_t v;
        if (!ckpt_attr_int(c, ik[i], &v)) json_object_set_new(root, ik[i], json_integer(v));
    }
    const char *sk[] = {"time", "code_revision", "config"};
    for (int i = 0; i < 3; i++) {
        char *s = ckpt_attr_str(c, sk[i]);
        if (s) json_object_set_new(root, sk[i], json_string(s));
        free(s);
    }
    json_t *state = json_object();
    const char *st[] = {"step", "cursor", "seed", "global_batch"};
    for (int i = 0; i < 4; i++) {
        int64_t v;
        if (!ckpt_state(c, st[i], &v)) json_object_set_new(state, st[i], json_integer(v));
    }
    json_object_set_new(root, "state", state);
    json_object_set_new(root, "tensor_count", json_integer(acc.count));
    json_object_set_new(root, "tensor_bytes", json_integer((json_int_t)acc.bytes));
    json_object_set_new(root, "tensors", acc.arr);
    if (as_json) {
        json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        printf("\n");
    } else {
        printf("%s\n", path);
        const char *keys[] = {"step",         "tokens_seen", "ranks_at_save", "zero_stage",
                              "global_batch", "time",        "code_revision"};
        for (int i = 0; i < 7; i++) {
            json_t *v = json_object_get(root, keys[i]);
            if (json_is_integer(v))
                printf("  %-14s %lld\n", keys[i], (long long)json_integer_value(v));
            else if (json_is_string(v))
                printf("  %-14s %s\n", keys[i], json_string_value(v));
        }
        printf("  %-14s cursor %lld, seed %lld\n", "state",
               (long long)json_integer_value(json_object_get(state, "cursor")),
               (long long)json_integer_value(json_object_get(state, "seed")));
        printf("  %-14s %d (%.1f MB)\n", "tensors", acc.count, acc.bytes / 1e6);
        size_t i;
        json_t *t;
        json_array_foreach(acc.arr, i, t) {
            json_t *sh = json_object_get(t, "shape");
            printf("    %-48s [%lld", json_string_value(json_object_get(t, "name")),
                   (long long)json_integer_value(json_array_get(sh, 0)));
            for (size_t d = 1; d < json_array_size(sh); d++)
                printf(", %lld", (long long)json_integer_value(json_array_get(sh, d)));
            printf("]\n");
        }
        json_t *cfg = json_object_get(root, "config");
        if (cfg) printf("config:\n%s", json_string_value(cfg));
    }
    json_decref(root);
    ckpt_close(c);
    return 0;
}

/* What resume checks (trainer_verify_ckpt); exit 0 only when it all holds. */
static int verify(const char *path) {
    char err[Z_ERR_MAX];
    int n;
    if (trainer_verify_ckpt(path, &n, err, sizeof err)) z_die_all("%s", err);
    if (z_rank() == 0)
        printf("%s: ok: resume accepts it (complete, config and training state, %d tensors: "
               "model and optimizer state with their shapes, every crc32 holds)\n",
               path, n);
    return 0;
}

/* The checkpoint's model with its parameters, in one process. */
static void load_model(const char *path, Model *m) {
    char err[Z_ERR_MAX];
    if (trainer_ckpt_model(path, m, err, sizeof err)) z_die_all("%s", err);
}

static int logits(const char *path, const char *in, const char *out) {
    char err[Z_ERR_MAX];
    Model m;
    load_model(path, &m);
    TensorFile *f = tf_open(in, err, sizeof err);
    if (!f) z_die_all("%s", err);
    int64_t d[4];
    if (tf_shape(f, "tokens", d) != 2) z_die_all("%s: needs an int32 dataset tokens [B, T]", in);
    int B = (int)d[0], T = (int)d[1], N = B * T, V = m.c.vocab_size;
    if (T > model_max_len(&m.c))
        z_die_all("%s: T = %d exceeds the model's %d positions", in, T, model_max_len(&m.c));
    int32_t *tok = z_malloc((size_t)N * 4, "tokens"), *lab = z_calloc(N, 4, "labels");
    int32_t *seg = NULL, *am = NULL;
    uint8_t *mask = NULL;
    if (tf_read(f, "tokens", 'i', tok, (size_t)N)) z_die_all("%s", tf_error(f));
    /* optional, as transformers takes them: attention_mask (1 = attend) and
     * token_type_ids, each int [B, T] */
    const char *opt[2] = {"attention_mask", "token_type_ids"};
    int32_t **dst[2] = {&am, &seg};
    for (int k = 0; k < 2; k++) {
        int64_t e[4];
        if (tf_shape(f, opt[k], e) < 0) continue;
        if (tf_shape(f, opt[k], e) != 2 || e[0] != B || e[1] != T)
            z_die_all("%s: %s must be int [%d, %d] like tokens", in, opt[k], B, T);
        *dst[k] = z_malloc((size_t)N * 4, opt[k]);
        if (tf_read(f, opt[k], 'i', *dst[k], (size_t)N)) z_die_all("%s", tf_error(f));
    }
    tf_close(f);
    for (int i = 0; i < N; i++)
        if (tok[i] < 0 || tok[i] >= V) z_die_all("%s: token id %d outside [0, %d)", in, tok[i], V);
    if (am) {
        mask = z_malloc((size_t)N, "mask");
        for (int i = 0; i < N; i++) mask[i] = am[i] != 0;
    }
    if (seg)
        for (int i = 0; i < N; i++)
            if (seg[i] < 0 || seg[i] >= (m.c.type_vocab_size > 0 ? m.c.type_vocab_size : 1))
                z_die_all("%s: token_type_ids %d outside the model's %d types", in, seg[i],
                          m.c.type_vocab_size);
    model_alloc_acts(&m, B, T, N, 1, 0);
    Batch b = {B, T, tok, lab, seg, mask, NULL, 0, 0}; /* every position labelled: all logits */
    model_forward(&m, &b);
    TensorFile *o = tf_create(out, err, sizeof err);
    int64_t dims[3] = {B, T, V}, hd[3] = {B, T, m.c.width};
    float *pooled = NULL;
    int64_t pd[2] = {B, m.c.width};
    if (m.hl.pool_w >= 0) {
        pooled = z_malloc((size_t)B * m.c.width * sizeof(float), "pooled");
        model_pooled(&m, B, T, pooled);
    }
    if (!o || tf_write(o, "logits", 'f', m.logits, 3, dims) ||
        tf_write(o, "hidden", 'f', model_last_hidden(&m), 3, hd) ||
        (pooled && tf_write(o, "pooled", 'f', pooled, 2, pd)) || tf_close(o))
        z_die_all("%s: cannot write logits", out);
    free(pooled);
    printf("logits [%d, %d, %d] and last hidden states [%d, %d, %d] of %s%s -> %s\n", B, T, V, B, T,
           m.c.width, path, mask ? " (with its attention mask)" : "", out);
    free(tok), free(lab), free(seg), free(am), free(mask);
    model_free(&m);
    return 0;
}

static int export_hf(const char *path, const char *fmt, const char *out, const char *dtype,
                     const char *tok_file) {
    char err[Z_ERR_MAX];
    if (strcmp(fmt, "safetensors")) z_die_all("ckpt export: --format %s: only safetensors", fmt);
    if (strcmp(dtype, "fp32") && strcmp(dtype, "bf16"))
        z_die_all("ckpt export: --dtype %s: fp32 or bf16", dtype);
    Model m;
    load_model(path, &m);
    Tokenizer *tok = source_ckpt_tokenizer(path, tok_file, 0);
    if (tok && tok_vocab_size(tok) > m.c.vocab_size)
        z_die_all("%s: the tokenizer has %d tokens, the model's vocabulary %d", path,
                  tok_vocab_size(tok), m.c.vocab_size);
    if (mkdir(out, 0755) && errno != EEXIST)
        z_die_all("%s: cannot create: %s", out, strerror(errno));
    SpecialIds sp = tok ? tok_specials(tok) : (SpecialIds){-1, -1, -1, -1, -1, -1, -1};
    HfTokenIds ids = {sp.pad, sp.bos, sp.eos};
    if (hf_export(&m, out, !strcmp(dtype, "bf16"), ids, err, sizeof err)) z_die_all("%s", err);
    if (tok && tok_save_pretrained(tok, out, model_max_len(&m.c), m.c.arch == ARCH_ENCODER, err,
                                   sizeof err))
        z_die_all("%s", err);
    printf("exported %s -> %s: model.safetensors, config.json%s (%s, %s)\n", path, out,
           tok ? ", tokenizer.json, tokenizer_config.json, special_tokens_map.json"
               : " (no tokenizer: its corpus has none; --tokenizer FILE adds one)",
           hf_class(&m), dtype);
    if (tok) tok_free(tok);
    model_free(&m);
    return 0;
}

static int import_hf(const char *from, const char *out, const char *ini, const char *head) {
    int mode = !strcmp(head, "tie")       ? HF_HEAD_TIE
               : !strcmp(head, "init")    ? HF_HEAD_INIT
               : !strcmp(head, "require") ? HF_HEAD_REQUIRE
                                          : -1;
    if (mode < 0) z_die_all("ckpt import: --head %s: expected tie, init or require", head);
    char err[Z_ERR_MAX];
    Config cfg;
    config_defaults(&cfg);
    if (hf_read_config(from, &cfg.model, err, sizeof err)) z_die_all("%s", err);
    if (cfg.data.seq_len > model_max_len(&cfg.model)) cfg.data.seq_len = model_max_len(&cfg.model);
    config_finish(&cfg, from);
    Model m;
    model_layout(&m, &cfg.model, 1, 1);
    model_alloc_params(&m);
    int started;
    if (hf_import(&m, from, mode, &started, err, sizeof err)) z_die_all("%s", err);
    if (trainer_ckpt_from_model(out, &m, &cfg, from, err, sizeof err)) z_die_all("%s", err);
    if (z_rank() != 0) { /* under mpirun: one copy of the side file and the line */
        model_free(&m);
        return 0;
    }
    if (ini) {
        char *model = config_format(&cfg, "model");
        FILE *f = fopen(ini, "w");
        if (!f || fputs(model, f) < 0 || fclose(f)) z_die_all("%s: cannot write", ini);
        free(model);
    }
    printf("imported %s (%s, %zu parameters%s) -> %s%s%s\n", from, hf_class(&m), m.nparams,
           started ? "; MLM head started: transform N(0, init_std), tied decoder" : "", out,
           ini ? ", model config " : "", ini ? ini : "");
    model_free(&m);
    return 0;
}

const char USAGE_CKPT[] =
    "zeropt ckpt info <ckpt.h5|dir> [--json]      what a checkpoint holds\n"
    "zeropt ckpt verify <ckpt.h5|dir>             exit 0 only when resume would accept it\n"
    "zeropt ckpt export <ckpt.h5|dir> --format safetensors --out DIR [--dtype fp32|bf16]\n"
    "       [--tokenizer FILE]\n"
    "    to HF BERT / GPT-2 (the fp32 master weights, written as F32 or rounded to BF16), with\n"
    "    the tokenizer (--tokenizer, else the one the checkpoint's corpus stores) as\n"
    "    tokenizer.json, tokenizer_config.json and special_tokens_map.json\n"
    "zeropt ckpt import --from HF_DIR --out ckpt.h5 [--ini model.ini] [--head tie|init|require]\n"
    "    from HF safetensors (one file or sharded); --head: BERT's MLM head read when present\n"
    "    and started when not (tie, the default), always started (init), or required\n"
    "zeropt ckpt logits <ckpt.h5|dir> --tokens IN.h5 --out OUT.h5\n"
    "    logits [B, T, V] and last hidden states hidden [B, T, C] of the model (dropout off)\n"
    "    for the int dataset tokens [B, T], with attention_mask and token_type_ids [B, T]\n"
    "    when IN.h5 has them; pooled [B, C] when the model keeps BERT's pooler\n"
    "    (a directory means the checkpoint its `latest` names)\n";

int cmd_ckpt(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_CKPT)) return 0;
    comm_init(&argc, &argv);
    if (argc < 1) z_die_all("ckpt: which subcommand? (zeropt ckpt --help)");
    const char *sub = argv[0], *target = NULL, *fmt = "safetensors", *out = NULL, *from = NULL,
               *ini = NULL, *tokens = NULL, *dtype = "fp32", *head = "tie", *tok_file = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            fmt = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc)
            dtype = argv[++i];
        else if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from = argv[++i];
        else if (!strcmp(argv[i], "--head") && i + 1 < argc)
            head = argv[++i];
        else if (!strcmp(argv[i], "--ini") && i + 1 < argc)
            ini = argv[++i];
        else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
            tok_file = argv[++i];
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc)
            tokens = argv[++i];
        else if (argv[i][0] != '-' && !target)
            target = argv[i];
        else
            z_die_all("ckpt %s: unknown argument %s", sub, argv[i]);
    }
    char path[4096];
    int rc;
    if (!strcmp(sub, "import")) {
        if (!from || !out) z_die_all("ckpt import: usage: --from HF_DIR --out ckpt.h5 [--ini F]");
        rc = import_hf(from, out, ini, head);
    } else {
        if (!target) z_die_all("ckpt %s: which checkpoint?", sub);
        cli_resolve_ckpt(target, path, sizeof path);
        if (!strcmp(sub, "info"))
            rc = info(path, json);
        else if (!strcmp(sub, "verify"))
            rc = verify(path);
        else if (!strcmp(sub, "export")) {
            if (!out) z_die_all("ckpt export: --out DIR is required");
            rc = export_hf(path, fmt, out, dtype, tok_file);
        } else if (!strcmp(sub, "logits")) {
            if (!tokens || !out)
                z_die_all("ckpt logits: --tokens IN.h5 and --out OUT.h5 are required");
            rc = logits(path, tokens, out);
        } else
            z_die_all("ckpt: unknown subcommand %s (info, verify, export, import, logits; zeropt "
                      "ckpt --help)",
                      sub);
    }
    comm_finalize();
    return rc;
}
