/*
 * mem.c — the counting allocator (see mem.h). Each block carries a 64-byte
 * header in front holding its size and category, and the release function
 * of the device backend that allocated it (managed memory, kdev.h), if any.
 */
#include "../kdev.h"
#include "../mem.h"

#include <stdlib.h>
#include <string.h>

enum { HEAD = 64 };

typedef struct {
    size_t bytes;
    int cat;
    void (*dev_free)(void *, size_t); /* NULL: posix_memalign's */
} Head;

static MemStats stats;

void *k_alloc(size_t bytes, MemCat cat) {
    void *raw = NULL;
    if (cat < 0 || cat >= MEM_NCAT || bytes > (size_t)-1 - HEAD) return NULL;
    if (k_dev) { /* zeroed by the device */
        if (!(raw = k_dev->alloc(HEAD + bytes))) return NULL;
    } else {
        if (posix_memalign(&raw, HEAD, HEAD + bytes)) return NULL;
        memset(raw, 0, HEAD + bytes); /* resident now, not at first touch */
    }
    Head *h = raw;
    h->bytes = bytes, h->cat = cat, h->dev_free = k_dev ? k_dev->free : NULL;
    stats.now[cat] += bytes;
    stats.total += bytes;
    if (stats.now[cat] > stats.peak[cat]) stats.peak[cat] = stats.now[cat];
    if (stats.total > stats.total_peak) stats.total_peak = stats.total;
    return (char *)raw + HEAD;
}

void k_free(void *p) {
    if (!p) return;
    Head *h = (Head *)((char *)p - HEAD);
    stats.now[h->cat] -= h->bytes;
    stats.total -= h->bytes;
    if (h->dev_free)
        h->dev_free(h, HEAD + h->bytes);
    else
        free(h);
}

MemStats k_mem_stats(void) {
    return stats;
}

const char *k_mem_name(MemCat c) {
    static const char *const name[MEM_NCAT] = {"params",  "grads",       "optim",
                                               "buffers", "activations", "data"};
    return c >= 0 && c < MEM_NCAT ? name[c] : "?";
}
