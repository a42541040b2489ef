/*
 * main.c — the zeropt command line: dispatch to a subcommand.
 */
#include "cmd.h"
#include "train.h"

#include "../kernels/kernels.h"
#include "../mpi/err.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * OpenMP threads that spin after a parallel region steal the cores from the
 * BLAS threads that run next: measured on 2 cores, a training step is 3.5x
 * slower with GNU OpenMP's default wait policy than with PASSIVE. The policy
 * is read when the runtime loads, before main, so when the user has not
 * chosen one we set it and re-execute (same PID: safe before MPI_Init).
 */
static void ensure_passive_wait(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = 0;
    execv(self, argv); /* the real path, so ps and top still show "zeropt" */
    /* exec failed (no /proc): carry on with the default policy */
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: zeropt <command> [options]\n"
            "\n"
            "  model  -c <model.ini> [--json] [--ranks N] [section.key=value ...]\n"
            "         parameter count and unit layout, without allocating\n"
            "  prep   --tokenizer T.json --input FILE... --output corpus.h5 [--format text|jsonl]\n"
            "         [--separator SEP] [--val-fraction F]   text -> HDF5 corpus\n"
            "  train  -c <config.ini> [section.key=value ...]   (under mpirun / srun)\n"
            "         train; the run directory gets config.ini, metrics.jsonl, model.h5\n"
            "  eval   -c <config.ini> --model <model.h5> [section.key=value ...]\n"
            "         validation loss (and MLM accuracy) of a model on the corpus\n"
            "  plan   --model <model.ini> | -c <config.ini> | --params P  [--ranks N]\n"
            "         [--stage 0-3|all] [--micro-batch B] [--seq T] [--recompute]\n"
            "         [--precision fp32|mixed] [--device-gib M] [--mask-rate R] [--json]\n"
            "         [--device-tflops F --link-gbps G --link-us U] [section.key=value ...]\n"
            "         per-rank memory, communication and step time, without allocating\n"
            "  ckpt   info|verify <ckpt.h5|dir> [--json]   inspect or check a checkpoint\n"
            "  ckpt   export <ckpt.h5|dir> --format safetensors --out DIR   to HF BERT / GPT-2\n"
            "  ckpt   import --from HF_DIR --out ckpt.h5 [--ini model.ini]   from HF safetensors\n"
            "  model  --keys\n"
            "         every configuration key with its default\n"
            "  tokenizer train --input FILE... --vocab-size N --output T.json\n"
            "         [--format text|jsonl] [--separator SEP] [--min-frequency K]\n"
            "         byte-level BPE vocabulary -> HF tokenizer.json\n"
            "  tokenizer encode --tokenizer T.json [--text TEXT] [--tokens]\n"
            "  tokenizer decode --tokenizer T.json [ID ...]\n");
}

int main(int argc, char **argv) {
    ensure_passive_wait(argv);
    /* Files are closed explicitly, and MPI_Finalize shuts HDF5 down. An error
     * exit must not have HDF5 flush, at exit, a file that a failed write left
     * half-closed (it would write to a full disk, or crash). */
    H5dont_atexit();
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
    fprintf(stderr, "zeropt: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
