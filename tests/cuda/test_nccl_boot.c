/*
 * test_nccl_boot.c — the CUDA build's start on a machine without a GPU:
 * kc_device_count says none and why (the CUDA runtime's reason), kc_open
 * refuses with one line, and comm_nccl_open refuses while no device is open.
 * Where a GPU is present the device opens and NCCL starts (0) or stays off
 * for a GPU shared by two ranks (1); tests/gpu/run.sh covers the GPU itself.
 */
#include "tests/lib/check.h"

#include "kernels/cuda/kcuda.h"
#include "mpi/comm.h"
#include "mpi/comm_nccl.h"
#include "mpi/err.h"

#include <string.h>

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    check_quiet = comm_rank() != 0;
    check_plan(3);
    char why[Z_ERR_MAX] = "", err[Z_ERR_MAX] = "";
    int ngpu = kc_device_count(why, sizeof why);
    if (ngpu > 0) {
        if (!check_quiet)
            printf("# a GPU is present: this test checks the no-GPU refusal; tests/gpu/run.sh "
                   "covers the GPU\n");
        check(1, "kc_device_count sees a device", "%d device(s)", ngpu);
        int rc = kc_open(comm_rank(), err, sizeof err);
        check(rc == 0, "kc_open opens a device", "%s", rc ? err : kc_device_name());
        rc = rc ? -1 : comm_nccl_open(err, sizeof err);
        check(rc == 0 || rc == 1, "comm_nccl_open starts NCCL or leaves it off", "rc %d %s", rc,
              rc < 0 ? err : "");
        comm_nccl_close();
        if (kc_is_open()) kc_close();
    } else {
        check(ngpu == 0 && why[0], "kc_device_count: none, and the reason", "%s", why);
        int rc = kc_open(0, err, sizeof err);
        check(rc == -1 && err[0] && !strchr(err, '\n'), "kc_open refuses with one line", "%s", err);
        err[0] = 0;
        rc = comm_nccl_open(err, sizeof err);
        check(rc == -1 && strstr(err, "no CUDA device is open") && !comm_nccl_active(),
              "comm_nccl_open refuses without a device", "%s", err);
    }
    int rc = check_exit();
    comm_finalize();
    return rc;
}
