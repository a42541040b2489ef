/*
 * none.c — the CUDA backend's device calls in a build without CUDA (the
 * default `make`): no device, and the reason says how to get one. A
 * `make CUDA=1` build links the .cu files of kernels/cuda/ instead.
 */
#include "kcuda.h"

#include <stdio.h>

static const char *why = "this zeropt was built without CUDA (build it with make CUDA=1)";

int kc_device_count(char *w, size_t n) {
    if (w) snprintf(w, n, "%s", why);
    return 0;
}

int kc_open(int local_rank, char *err, size_t n) {
    (void)local_rank;
    snprintf(err, n, "device = cuda: %s", why);
    return -1;
}

int kc_is_open(void) {
    return 0;
}

const char *kc_device_name(void) {
    return "";
}

const struct KDevOps *kc_ops(void) {
    return NULL;
}

int kc_device(void) {
    return -1;
}
