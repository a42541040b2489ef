/*
 * main.c — the zeropt command line: dispatch to a subcommand.
 */
#include "cmd.h"

#include "../kernels/kernels.h"
#include "../mpi/err.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: zeropt <command> [options]\n"
               "\n"
               "  model  -c <model.ini> [--json] [--ranks N] [section.key=value ...]\n"
               "         parameter count and unit layout, without allocating\n"
               "  model  --keys\n"
               "         every configuration key with its default\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "model")) return cmd_model(argc - 2, argv + 2);
    fprintf(stderr, "zeropt: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
