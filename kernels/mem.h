/*
 * mem.h — the one allocator of long-lived buffers, counted by category.
 *
 * Every buffer a run holds for more than a step — parameters, gradients,
 * optimizer state, ZeRO's working and gather buffers, activations, the
 * batch — comes from k_alloc, so the bytes a run reports (its first metrics
 * record, `zeropt plan`'s figures in the tests) are the bytes it really
 * holds, not a formula. Blocks are 64-byte aligned and zeroed by writing, so
 * they are resident from the start: resident memory then follows the counted
 * bytes instead of lagging behind lazily mapped pages.
 *
 * Allocation and release happen on the main thread (the counters are not
 * atomic). The CUDA backend will count device buffers the same way.
 */
#ifndef ZEROPT_KERNELS_MEM_H
#define ZEROPT_KERNELS_MEM_H

#include <stddef.h>

typedef enum {
    MEM_PARAMS,  /* parameters as the model reads them, and their shards */
    MEM_GRADS,   /* gradients (full, shards) */
    MEM_OPTIM,   /* optimizer state (Adam m, v) */
    MEM_BUFFERS, /* ZeRO working gradients and gather buffers */
    MEM_ACTS,    /* activations and backward scratch of the model */
    MEM_DATA,    /* the step's tokens, labels and sample positions */
    MEM_NCAT
} MemCat;

/* bytes zeroed, 64-byte aligned; NULL when out of memory (callers check). */
void *k_alloc(size_t bytes, MemCat cat);
void k_free(void *p); /* NULL is fine */

typedef struct {
    size_t now[MEM_NCAT], peak[MEM_NCAT]; /* bytes per category */
    size_t total, total_peak;             /* all categories */
} MemStats;
MemStats k_mem_stats(void);
const char *k_mem_name(MemCat c); /* "params", "grads", ... (metrics keys) */

#endif
