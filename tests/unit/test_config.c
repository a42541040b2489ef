/*
 * test_config.c — the configuration: the key table's defaults, INI text,
 * includes, command-line overrides, what config_finish derives, the
 * resolved text reading back to the same config, and config_model_differs.
 * (Bad input — one line and exit 1 — is tests/cli/test_config_errors.sh.)
 */
#include "tests/lib/check.h"

#include "kernels/kernels.h"
#include "src/config/config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *write_file(const char *name, const char *text) {
    return check_file(name, text, strlen(text));
}

int main(void) {
    check_plan(9);
    if (!check_tmpdir()) {
        printf("not ok - mkdtemp\n");
        return 1;
    }
    Config c;
    config_defaults(&c);
    check(c.model.arch == ARCH_ENCODER && c.model.layers == 12 && c.model.width == 768 &&
              c.model.ffn == 0 && c.model.norm == NORM_POST && c.model.tied &&
              c.model.gelu == K_GELU_ERF && c.model.pos_init == POS_INIT_NORMAL &&
              c.data.mask_rate == 0.15 && c.train.lr == 1e-3 && c.train.beta2 == 0.999 &&
              c.zero.stage == 0 && c.zero.overlap && c.ckpt.io == 0 &&
              !strcmp(c.ckpt.resume, "auto") && !strcmp(c.run.dir, "runs/default"),
          "defaults from the key table", NULL);

    config_load_string(&c,
                       "[model]\narch = decoder\nlayers = 3\nwidth = 96\nheads = 4\ngelu = tanh\n"
                       "[train]\nlr = 2.5e-4\nschedule = wsd\n",
                       "text");
    check(c.model.arch == ARCH_DECODER && c.model.layers == 3 && c.model.width == 96 &&
              c.model.heads == 4 && c.model.gelu == K_GELU_TANH && c.train.lr == 2.5e-4 &&
              c.train.schedule == SCHED_WSD,
          "INI text sets typed values", NULL);
    check(config_override(&c, "train.lr=3e-3") && config_override(&c, "zero.stage=3") &&
              config_override(&c, "model.tied=false") && !config_override(&c, "plain-word") &&
              c.train.lr == 3e-3 && c.zero.stage == 3 && !c.model.tied,
          "section.key=value overrides; a word without '=' is not one", NULL);

    config_finish(&c, "text");
    check(c.model.ffn == 4 * 96 && c.data.objective == OBJ_CLM && c.model.type_vocab_size == 0,
          "finish derives ffn = 4 x width, the objective from the architecture, no segments "
          "for decoders",
          "ffn %d, objective %d, type_vocab %d", c.model.ffn, c.data.objective,
          c.model.type_vocab_size);

    /* the resolved text reads back to the same config */
    char *text = config_format(&c, NULL);
    Config d;
    config_defaults(&d);
    config_load_string(&d, text, "resolved");
    config_finish(&d, "resolved");
    char *again = config_format(&d, NULL);
    check(!strcmp(text, again), "the resolved config reads back to itself", "%zu bytes",
          strlen(text));
    free(again);
    free(text);

    /* shortest text that reads back to the same double */
    config_override(&d, "train.lr=0.30000000000000004");
    config_override(&d, "train.min_lr=1e-7");
    char *t2 = config_format(&d, "train");
    check(strstr(t2, "lr = 0.30000000000000004\n") && strstr(t2, "min_lr = 1e-07\n") &&
              !strstr(t2, "[model]"),
          "reals print in their shortest exact form; one section on request", NULL);
    free(t2);

    /* include, relative to the including file, then an override of one key */
    write_file("base.ini", "[model]\nlayers = 7\nwidth = 64\nheads = 2\n");
    const char *top = write_file("top.ini", "include = base.ini\n[model]\nwidth = 128\n");
    Config e;
    config_defaults(&e);
    config_load(&e, top);
    config_finish(&e, top);
    check(e.model.layers == 7 && e.model.width == 128 && e.model.heads == 2,
          "include (relative to the file) then override", NULL);

    char what[256] = "";
    Config f = e;
    check(!config_model_differs(&e.model, &f.model, what, sizeof what),
          "the same model does not differ", "%s", what);
    f.model.layers = 8;
    f.train.lr = 1; /* training keys are not the model's */
    check(config_model_differs(&e.model, &f.model, what, sizeof what) &&
              strstr(what, "layers = 7 in the checkpoint, 8 in this run"),
          "a model that differs names the key", "%s", what);
    remove(check_path("base.ini")), remove(top), rmdir(check_dir);
    return check_exit();
}
