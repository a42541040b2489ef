/*
 * device.cu — the CUDA device of this process: selection by node-local rank,
 * the compute and communication streams, the cuBLASLt handle and workspace,
 * memory, and the checked-call failure path.
 */
#include "kc_internal.cuh"

#include "kernels/kdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int open, device;
    char name[256];
    cudaStream_t compute, comm;
    cudaEvent_t ev_compute, ev_comm;
    cublasLtHandle_t lt;
    cublasHandle_t blas;
    void *lt_ws, *scratch, *attn;
    size_t scratch_bytes, attn_bytes;
    size_t free_at_open, managed; /* device bytes free after opening; managed bytes handed out */
    int sharers;                  /* local ranks on this device (its memory is split) */
} D;

static void (*fatal)(const char *) = NULL;

void kc_set_fatal(void (*f)(const char *msg)) {
    fatal = f;
}

static const char *env_rank(void) {
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r) r = getenv("PMI_RANK");
    if (!r) r = getenv("SLURM_PROCID");
    return r ? r : "0";
}

void kc_fail(const char *call, const char *why, const char *file, int line) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s failed (%s:%d, device %d, after kernel %s): %s", call, file, line,
             D.device, k_dev_last[0] ? k_dev_last : "none", why);
    if (fatal) fatal(msg);
    fprintf(stderr, "zeropt: rank %s: %s\n", env_rank(), msg);
    exit(1);
}

int kc_device_count(char *why, size_t n) {
    int c = 0;
    cudaError_t e = cudaGetDeviceCount(&c);
    if (e != cudaSuccess) {
        if (why) snprintf(why, n, "%s", cudaGetErrorString(e));
        (void)cudaGetLastError(); /* clear it */
        return 0;
    }
    if (c == 0 && why) snprintf(why, n, "the CUDA runtime sees no device");
    return c;
}

int kc_open(int local_rank, char *err, size_t n) {
    char why[256] = "";
    int c = kc_device_count(why, sizeof why);
    if (c <= 0) {
        snprintf(err, n, "device = cuda, but no CUDA device is usable here: %s", why);
        return -1;
    }
    D.device = (local_rank < 0 ? 0 : local_rank) % c;
    cudaError_t e = cudaSetDevice(D.device);
    if (e == cudaSuccess) e = cudaFree(0); /* create the context now, not in the first kernel */
    if (e != cudaSuccess) {
        snprintf(err, n, "cannot open CUDA device %d of %d: %s", D.device, c,
                 cudaGetErrorString(e));
        return -1;
    }
    cudaDeviceProp p;
    KC_CHECK(cudaGetDeviceProperties(&p, D.device));
    int cma = 0;
    KC_CHECK(cudaDeviceGetAttribute(&cma, cudaDevAttrConcurrentManagedAccess, D.device));
    if (!cma) { /* the host touches managed buffers while kernels run (kernels/kdev.h) */
        snprintf(err, n,
                 "CUDA device %d (%s) lacks concurrent managed access, which this version "
                 "needs (a Linux driver on the host, not WSL or a vGPU without it)",
                 D.device, p.name);
        return -1;
    }
    snprintf(D.name, sizeof D.name, "%s", p.name);
    KC_CHECK(cudaStreamCreateWithFlags(&D.compute, cudaStreamNonBlocking));
    KC_CHECK(cudaStreamCreateWithFlags(&D.comm, cudaStreamNonBlocking));
    KC_CHECK(cudaEventCreateWithFlags(&D.ev_compute, cudaEventDisableTiming));
    KC_CHECK(cudaEventCreateWithFlags(&D.ev_comm, cudaEventDisableTiming));
    KC_BLAS(cublasLtCreate(&D.lt));
    KC_BLAS(cublasCreate(&D.blas));
    KC_BLAS(cublasSetStream(D.blas, D.compute));
    KC_CHECK(cudaMalloc(&D.scratch, 1 << 20));
    D.scratch_bytes = 1 << 20;
    KC_CHECK(cudaMalloc(&D.lt_ws, KC_LT_WORKSPACE));
    size_t total = 0;
    KC_CHECK(cudaMemGetInfo(&D.free_at_open, &total));
    /* ranks of this node that share the device split its memory */
    int local = 0;
    const char *ls[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"};
    for (int i = 0; i < 3 && !local; i++)
        if (getenv(ls[i])) local = atoi(getenv(ls[i]));
    D.sharers = local > c ? (local + c - 1) / c : 1;
    D.open = 1;
    return 0;
}

int kc_is_open(void) {
    return D.open;
}
int kc_device(void) {
    return D.device;
}
const char *kc_device_name(void) {
    return D.open ? D.name : "";
}

void kc_close(void) {
    if (!D.open) return;
    KC_CHECK(cudaDeviceSynchronize());
    cudaFree(D.lt_ws);
    cublasLtDestroy(D.lt);
    cublasDestroy(D.blas);
    cudaFree(D.scratch);
    if (D.attn) cudaFree(D.attn);
    D.attn = NULL, D.attn_bytes = 0;
    cudaEventDestroy(D.ev_compute);
    cudaEventDestroy(D.ev_comm);
    cudaStreamDestroy(D.compute);
    cudaStreamDestroy(D.comm);
    D.open = 0;
}

void *kc_stream(void) {
    return (void *)D.compute;
}
void *kc_comm_stream(void) {
    return (void *)D.comm;
}
cudaStream_t kc_s(void) {
    return D.compute;
}
cublasLtHandle_t kc_lt(void) {
    return D.lt;
}
cublasHandle_t kc_blas(void) {
    return D.blas;
}
void *kc_scratch(size_t bytes) {
    if (bytes > D.scratch_bytes) { /* queued kernels may still use the old one */
        KC_CHECK(cudaStreamSynchronize(D.compute));
        KC_CHECK(cudaFree(D.scratch));
        KC_CHECK(cudaMalloc(&D.scratch, bytes));
        D.scratch_bytes = bytes;
    }
    return D.scratch;
}
void *kc_attn_workspace(size_t bytes) {
    if (bytes > D.attn_bytes) {
        KC_CHECK(cudaStreamSynchronize(D.compute));
        if (D.attn) KC_CHECK(cudaFree(D.attn));
        KC_CHECK(cudaMalloc(&D.attn, bytes));
        D.attn_bytes = bytes;
    }
    return D.attn;
}
/* Managed memory never beyond what the device holds: oversubscribed managed
 * memory pages to the host and back (and can stall a GPU), so the blocks
 * handed out stay under 90 % of the memory free when the device was opened
 * (the workspaces come from that too), divided among the node's ranks that
 * share the device; beyond it k_alloc reports out of memory, as on the CPU. */
void *kc_managed_alloc(size_t bytes) {
    void *p = NULL;
    if (D.managed + bytes > D.free_at_open / 10 * 9 / (size_t)(D.sharers > 0 ? D.sharers : 1))
        return NULL;
    if (cudaMallocManaged(&p, bytes, cudaMemAttachGlobal) != cudaSuccess) {
        (void)cudaGetLastError();
        return NULL;
    }
    KC_CHECK(cudaMemsetAsync(p, 0, bytes, D.compute));
    KC_CHECK(cudaStreamSynchronize(D.compute));
    D.managed += bytes;
    return p;
}
void kc_managed_free(void *p, size_t bytes) {
    if (!p) return;
    KC_CHECK(cudaDeviceSynchronize()); /* no kernel may still use it */
    KC_CHECK(cudaFree(p));
    D.managed -= bytes < D.managed ? bytes : D.managed;
}
void *kc_lt_workspace(void) {
    return D.lt_ws;
}

void kc_sync(void) {
    KC_CHECK(cudaStreamSynchronize(D.compute));
}
void kc_comm_sync(void) {
    KC_CHECK(cudaStreamSynchronize(D.comm));
}
void kc_comm_after_compute(void) {
    KC_CHECK(cudaEventRecord(D.ev_compute, D.compute));
    KC_CHECK(cudaStreamWaitEvent(D.comm, D.ev_compute, 0));
}
void kc_compute_after_comm(void) {
    KC_CHECK(cudaEventRecord(D.ev_comm, D.comm));
    KC_CHECK(cudaStreamWaitEvent(D.compute, D.ev_comm, 0));
}

void *kc_malloc(size_t bytes) {
    void *p = NULL;
    if (!bytes) return NULL;
    KC_CHECK(cudaMalloc(&p, bytes));
    KC_CHECK(cudaMemsetAsync(p, 0, bytes, D.compute));
    return p;
}
void kc_free(void *p) {
    if (p) KC_CHECK(cudaFree(p));
}
void *kc_host_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes) KC_CHECK(cudaMallocHost(&p, bytes));
    return p;
}
void kc_host_free(void *p) {
    if (p) KC_CHECK(cudaFreeHost(p));
}
void kc_to_device(void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    KC_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, D.compute));
    kc_sync();
}
void kc_to_host(void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    KC_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, D.compute));
    kc_sync();
}
void kc_memset0(void *p, size_t bytes) {
    if (bytes) KC_CHECK(cudaMemsetAsync(p, 0, bytes, D.compute));
}
