/*
 * main.c — the zeropt command line: dispatch to a subcommand.
 */
#include "src/cli/cmd.h"

#include <hdf5.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    const char *const parts[] = {USAGE_TRAIN,     USAGE_EVAL,   USAGE_PREP, USAGE_TOKENIZER,
                                 USAGE_MODEL,     USAGE_PLAN,   USAGE_CKPT, USAGE_GENERATE,
                                 USAGE_FILL_MASK, USAGE_EMBED,  USAGE_BLAS, USAGE_PLOT,
                                 USAGE_SWEEP,     USAGE_QUALITY};
    fprintf(f, "usage: zeropt <command> [options]   (zeropt <command> --help for one)\n\n");
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) fprintf(f, "%s\n", parts[i]);
}

int main(int argc, char **argv) {
    cli_wait_policy(argv);
    /* Files are closed explicitly, and MPI_Finalize shuts HDF5 down. An error
     * exit must not have HDF5 flush, at exit, a file that a failed write left
     * half-closed (it would write to a full disk, or crash). */
    H5dont_atexit();
    cli_init();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "model")) return cmd_model(argc - 2, argv + 2);
    if (!strcmp(cmd, "tokenizer")) return cmd_tokenizer(argc - 2, argv + 2);
    if (!strcmp(cmd, "prep")) return cmd_prep(argc - 2, argv + 2);
    if (!strcmp(cmd, "ckpt")) return cmd_ckpt(argc - 2, argv + 2);
    if (!strcmp(cmd, "plan")) return cmd_plan(argc - 2, argv + 2);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "blas")) return cmd_blas(argc - 2, argv + 2);
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 2, argv + 2);
    if (!strcmp(cmd, "fill-mask")) return cmd_fill_mask(argc - 2, argv + 2);
    if (!strcmp(cmd, "embed")) return cmd_embed(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot")) return cmd_plot(argc - 2, argv + 2);
    if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 2, argv + 2);
    if (!strcmp(cmd, "quality")) return cmd_quality(argc - 2, argv + 2);
    fprintf(stderr,
            "zeropt: unknown command '%s' (train, eval, prep, tokenizer, model, plan, ckpt, "
            "generate, fill-mask, embed, blas, plot, sweep, quality; "
            "zeropt --help)\n",
            cmd);
    return 2;
}
