/*
 * comm_nccl_none.c — the NCCL transport in a build without CUDA: never on.
 * (`make CUDA=1` compiles mpi/comm_nccl.c instead.)
 */
#include "comm_nccl.h"

#include <stdio.h>

int comm_nccl_open(char *err, size_t n) {
    snprintf(err, n, "this zeropt was built without CUDA and NCCL (build it with make CUDA=1)");
    return -1;
}

int comm_nccl_active(void) {
    return 0;
}

void comm_nccl_close(void) {}

const CommTensorOps *comm_nccl_ops(void) {
    return NULL;
}
