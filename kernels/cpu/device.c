/*
 * device.c — the installed device backend (kdev.h); NULL: the CPU computes.
 */
#include "kernels/kdev.h"

const KDevOps *k_dev = NULL;
const char *k_dev_last = "";

void k_device_use(const KDevOps *ops) {
    k_dev = ops;
}
