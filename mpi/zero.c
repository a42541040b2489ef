/*
 * zero.c — buffers and collectives of the ZeRO stages (see zero.h).
 */
#include "zero.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

#define POOL 2 /* gather buffers (stage 3) and working gradient buffers (2–3) */
#define MAX_FLIGHT 64

typedef struct {
    CommReq req;
    int u;
    int wslot; /* working buffer to free (−1: none, −2: the pinned one) */
} Flight;

struct Zero {
    int stage, overlap, rank, n, nunits, pinned, last_micro;
    long step;
    size_t *numel, *padded, *shard, maxpad, maxshard;
    float **params;  /* stages 0–2: [padded] */
    float **grads;   /* stages 0–1: [padded] */
    float **sparams; /* stage 3: [shard] */
    float **sgrads;  /* stages 1–3: [shard] */
    float **m, **v;  /* stage 0: [padded]; 1–3: [shard] */
    float *gbuf[POOL];
    int gunit[POOL];
    CommReq greq[POOL];
    int *gslot; /* per unit: gather slot or −1 */
    int ngathered, peak_gathered;
    float *wbuf[POOL], *wtmp[POOL], *pbuf, *ptmp;
    int wunit[POOL];
    float **cur; /* stages 2–3: the unit's working gradient buffer in backward */
    Flight flight[MAX_FLIGHT];
    int nflight;
};

static float *fbuf(size_t n, const char *what) {
    return z_calloc(n ? n : 1, sizeof(float), what);
}

Zero *zero_create(int stage, int overlap, int nunits, const size_t *numel, const size_t *padded,
                  int pinned_grad_unit) {
    Zero *z = z_calloc(1, sizeof *z, "zero");
    z->stage = stage, z->overlap = overlap, z->nunits = nunits, z->pinned = pinned_grad_unit;
    z->rank = z_rank(), z->n = z_nranks();
    z->numel = z_malloc(nunits * sizeof(size_t), "zero");
    z->padded = z_malloc(nunits * sizeof(size_t), "zero");
    z->shard = z_malloc(nunits * sizeof(size_t), "zero");
    z->params = z_calloc(nunits, sizeof(float *), "zero");
    z->grads = z_calloc(nunits, sizeof(float *), "zero");
    z->sparams = z_calloc(nunits, sizeof(float *), "zero");
    z->sgrads = z_calloc(nunits, sizeof(float *), "zero");
    z->m = z_calloc(nunits, sizeof(float *), "zero");
    z->v = z_calloc(nunits, sizeof(float *), "zero");
    z->cur = z_calloc(nunits, sizeof(float *), "zero");
    z->gslot = z_malloc(nunits * sizeof(int), "zero");
    for (int u = 0; u < nunits; u++) {
        z->numel[u] = numel[u], z->padded[u] = padded[u];
        if (padded[u] % z->n)
            z_die("unit %d: %zu floats do not split over %d ranks", u, padded[u], z->n);
        z->shard[u] = padded[u] / z->n;
        if (padded[u] > z->maxpad) z->maxpad = padded[u];
        if (z->shard[u] > z->maxshard) z->maxshard = z->shard[u];
        z->gslot[u] = -1;
        size_t own = stage == 0 ? padded[u] : z->shard[u];
        if (stage <= 2) z->params[u] = fbuf(padded[u], "parameters");
        if (stage == 3) z->sparams[u] = fbuf(z->shard[u], "parameter shard");
        if (stage <= 1) z->grads[u] = fbuf(padded[u], "gradients");
        if (stage >= 1) z->sgrads[u] = fbuf(z->shard[u], "gradient shard");
        z->m[u] = fbuf(own, "Adam m");
        z->v[u] = fbuf(own, "Adam v");
    }
    for (int i = 0; i < POOL; i++) {
        z->gunit[i] = z->wunit[i] = -1;
        z->greq[i] = COMM_NONE;
        if (stage == 3) z->gbuf[i] = fbuf(z->maxpad, "gather buffer");
        if (stage >= 2) {
            z->wbuf[i] = fbuf(z->maxpad, "working gradients");
            z->wtmp[i] = fbuf(z->maxshard, "reduce-scatter buffer");
        }
    }
    if (stage >= 2 && z->pinned >= 0) {
        z->pbuf = fbuf(z->padded[z->pinned], "pinned gradients");
        z->ptmp = fbuf(z->shard[z->pinned], "reduce-scatter buffer");
    }
    return z;
}

void zero_free(Zero *z) {
    if (!z) return;
    for (int u = 0; u < z->nunits; u++) {
        free(z->params[u]), free(z->grads[u]), free(z->sparams[u]), free(z->sgrads[u]);
        free(z->m[u]), free(z->v[u]);
    }
    for (int i = 0; i < POOL; i++) free(z->gbuf[i]), free(z->wbuf[i]), free(z->wtmp[i]);
    free(z->pbuf), free(z->ptmp);
    free(z->numel), free(z->padded), free(z->shard), free(z->params), free(z->grads);
    free(z->sparams), free(z->sgrads), free(z->m), free(z->v), free(z->cur), free(z->gslot);
    free(z);
}

int zero_stage(const Zero *z) {
    return z->stage;
}

ZeroBytes zero_plan_bytes(int stage, int nranks, int nunits, const size_t *padded, int pinned,
                          size_t param_bytes, size_t grad_bytes, size_t state_bytes) {
    ZeroBytes b = {0, 0, 0, 0};
    size_t maxpad = 0;
    for (int u = 0; u < nunits; u++) {
        size_t full = padded[u], sh = padded[u] / nranks;
        if (full > maxpad) maxpad = full;
        b.params += (stage <= 2 ? full : sh) * param_bytes;
        b.grads += (stage <= 1 ? full : sh) * grad_bytes;
        b.optim += (stage == 0 ? full : sh) * state_bytes;
        if (stage == 1) b.buffers += sh * grad_bytes; /* the reduced shard beside the full grads */
    }
    size_t maxshard = maxpad / nranks;
    if (stage >= 2) {
        b.buffers += POOL * (maxpad + maxshard) * grad_bytes;
        if (pinned >= 0) b.buffers += (padded[pinned] + padded[pinned] / nranks) * grad_bytes;
    }
    if (stage == 3) b.buffers += POOL * maxpad * param_bytes;
    return b;
}

double zero_plan_comm_bytes(int stage, int nranks, int nunits, const size_t *padded,
                            int regather_unit, size_t elem_bytes) {
    double psi = 0, f = (double)(nranks - 1) / nranks;
    for (int u = 0; u < nunits; u++) psi += (double)padded[u];
    double words = (stage < 3 ? 2 : 3) * psi * f;
    if (stage == 3 && regather_unit >= 0) words += 2 * (double)padded[regather_unit] * f;
    return words * (double)elem_bytes;
}

ZeroBytes zero_bytes(const Zero *z) {
    return zero_plan_bytes(z->stage, z->n, z->nunits, z->padded, z->pinned, sizeof(float),
                           sizeof(float), 2 * sizeof(float));
}

float *zero_params(const Zero *z, int u) {
    if (z->stage <= 2) return z->params[u];
    return z->gslot[u] >= 0 ? z->gbuf[z->gslot[u]] : NULL;
}

float *zero_grads(const Zero *z, int u) {
    return z->stage <= 1 ? z->grads[u] : z->cur[u];
}

size_t zero_shard(const Zero *z, int u) {
    return z->shard[u];
}
size_t zero_lo(const Zero *z, int u) {
    size_t lo = z->stage == 0 ? 0 : (size_t)z->rank * z->shard[u];
    return lo < z->numel[u] ? lo : z->numel[u];
}
size_t zero_hi(const Zero *z, int u) {
    size_t hi = z->stage == 0 ? z->numel[u] : (size_t)(z->rank + 1) * z->shard[u];
    return hi < z->numel[u] ? hi : z->numel[u];
}
float *zero_own_params(const Zero *z, int u) {
    if (z->stage == 3) return z->sparams[u];
    return z->params[u] + (z->stage == 0 ? 0 : (size_t)z->rank * z->shard[u]);
}
float *zero_own_grads(const Zero *z, int u) {
    return z->stage == 0 ? z->grads[u] : z->sgrads[u];
}
float *zero_m(const Zero *z, int u) {
    return z->m[u];
}
float *zero_v(const Zero *z, int u) {
    return z->v[u];
}

static size_t slice_off(const Zero *z, int u) {
    return (size_t)z->rank * z->shard[u];
}
float *zero_slice_params(const Zero *z, int u) {
    return z->stage == 3 ? z->sparams[u] : z->params[u] + slice_off(z, u);
}
float *zero_slice_m(const Zero *z, int u) {
    return z->stage == 0 ? z->m[u] + slice_off(z, u) : z->m[u];
}
float *zero_slice_v(const Zero *z, int u) {
    return z->stage == 0 ? z->v[u] + slice_off(z, u) : z->v[u];
}

void zero_gather_resident(Zero *z) {
    for (int u = 0; u < z->nunits; u++) {
        if (z->stage <= 2)
            comm_wait(
                comm_iallgather_f32(NULL, z->params[u], z->shard[u], "parameters (load)", -1));
        if (z->stage == 0) {
            comm_wait(comm_iallgather_f32(NULL, z->m[u], z->shard[u], "Adam m (load)", -1));
            comm_wait(comm_iallgather_f32(NULL, z->v[u], z->shard[u], "Adam v (load)", -1));
        }
    }
}

void zero_begin_step(Zero *z, long step) {
    z->step = step;
    for (int u = 0; u < z->nunits; u++) {
        if (z->grads[u]) memset(z->grads[u], 0, z->padded[u] * sizeof(float));
        if (z->sgrads[u]) memset(z->sgrads[u], 0, z->shard[u] * sizeof(float));
    }
}

void zero_begin_micro(Zero *z, int last) {
    z->last_micro = last;
}

/* ------------------------------------------------------------------------- */
/* stage 3 gathers                                                            */

static int free_gslot(const Zero *z) {
    for (int i = 0; i < POOL; i++)
        if (z->gunit[i] < 0) return i;
    return -1;
}

static void post_gather(Zero *z, int u, int slot) {
    z->gunit[slot] = u;
    z->gslot[u] = slot;
    z->greq[slot] = comm_iallgather_f32(z->sparams[u], z->gbuf[slot], z->shard[u],
                                        "parameters (gather)", z->step);
    int inuse = 0;
    for (int i = 0; i < POOL; i++) inuse += z->gunit[i] >= 0;
    if (inuse > z->peak_gathered) z->peak_gathered = inuse;
}

void zero_prefetch(Zero *z, int u) {
    if (z->stage != 3 || u < 0 || u >= z->nunits || z->gslot[u] >= 0) return;
    int s = free_gslot(z);
    if (s < 0) return;
    post_gather(z, u, s);
    if (!z->overlap) comm_wait(z->greq[s]), z->greq[s] = COMM_NONE;
}

void zero_acquire(Zero *z, int u) {
    if (z->stage != 3) return;
    if (z->gslot[u] < 0) {
        int s = free_gslot(z);
        if (s < 0) z_die("ZeRO-3: no gather buffer free for unit %d (both in use)", u);
        post_gather(z, u, s);
    }
    int s = z->gslot[u];
    comm_wait(z->greq[s]);
    z->greq[s] = COMM_NONE;
}

void zero_release(Zero *z, int u) {
    if (z->stage != 3 || z->gslot[u] < 0) return;
    int s = z->gslot[u];
    comm_wait(z->greq[s]);
    z->greq[s] = COMM_NONE;
    z->gunit[s] = -1;
    z->gslot[u] = -1;
}

void zero_gather_into(Zero *z, int u, float *full) {
    comm_wait(comm_iallgather_f32(z->sparams[u], full, z->shard[u], "parameters (save)", z->step));
}

int zero_peak_gathered(const Zero *z) {
    return z->peak_gathered;
}

/* ------------------------------------------------------------------------- */
/* gradient reductions                                                        */

static void land(Zero *z, Flight *f) {
    if (z->stage >= 2) { /* add this micro-batch's reduced slice into the shard */
        float *tmp = f->wslot == -2 ? z->ptmp : z->wtmp[f->wslot];
        float *g = z->sgrads[f->u];
        for (size_t i = 0; i < z->shard[f->u]; i++) g[i] += tmp[i];
        if (f->wslot >= 0) z->wunit[f->wslot] = -1;
    }
}

static void finish(Zero *z, int i) {
    comm_wait(z->flight[i].req);
    land(z, &z->flight[i]);
    z->flight[i] = z->flight[--z->nflight];
}

void zero_progress(Zero *z) {
    for (int i = 0; i < z->nflight;) {
        if (comm_test(z->flight[i].req)) {
            land(z, &z->flight[i]);
            z->flight[i] = z->flight[--z->nflight];
        } else
            i++;
    }
}

void zero_bwd_begin(Zero *z) {
    if (z->stage >= 2 && z->pinned >= 0) {
        memset(z->pbuf, 0, z->padded[z->pinned] * sizeof(float));
        z->cur[z->pinned] = z->pbuf;
    }
}

void zero_grad_begin(Zero *z, int u) {
    if (z->stage < 2 || u == z->pinned) return;
    int s = -1;
    while (s < 0) {
        for (int i = 0; i < POOL && s < 0; i++)
            if (z->wunit[i] < 0) s = i;
        if (s < 0) { /* wait for the oldest reduction holding a working buffer */
            int oldest = -1;
            for (int i = 0; i < z->nflight && oldest < 0; i++)
                if (z->flight[i].wslot >= 0) oldest = i;
            if (oldest < 0) z_die("ZeRO: no working gradient buffer free for unit %d", u);
            finish(z, oldest);
        }
    }
    z->wunit[s] = u;
    memset(z->wbuf[s], 0, z->padded[u] * sizeof(float));
    z->cur[u] = z->wbuf[s];
}

void zero_grad_end(Zero *z, int u) {
    Flight f = {COMM_NONE, u, -1};
    if (z->stage == 0) {
        if (!z->last_micro) return;
        f.req = comm_iallreduce_f32(z->grads[u], z->padded[u], "gradients (all-reduce)", z->step);
    } else if (z->stage == 1) {
        if (!z->last_micro) return;
        f.req = comm_ireduce_scatter_f32(z->grads[u], z->sgrads[u], z->shard[u],
                                         "gradients (reduce-scatter)", z->step);
    } else {
        int pinned = u == z->pinned;
        int s = -1;
        for (int i = 0; i < POOL && !pinned; i++)
            if (z->wunit[i] == u) s = i;
        f.wslot = pinned ? -2 : s;
        f.req =
            comm_ireduce_scatter_f32(pinned ? z->pbuf : z->wbuf[s], pinned ? z->ptmp : z->wtmp[s],
                                     z->shard[u], "gradients (reduce-scatter)", z->step);
        z->cur[u] = NULL;
    }
    if (z->nflight == MAX_FLIGHT) finish(z, 0);
    z->flight[z->nflight++] = f;
    if (!z->overlap) finish(z, z->nflight - 1);
}

void zero_end_backward(Zero *z) {
    while (z->nflight) finish(z, 0);
}

void zero_after_update(Zero *z) {
    if (z->stage != 1 && z->stage != 2) return;
    CommReq r[MAX_FLIGHT];
    int n = 0;
    for (int u = 0; u < z->nunits; u++) {
        r[n++] = comm_iallgather_f32(NULL, z->params[u], z->shard[u], "parameters (all-gather)",
                                     z->step);
        if (n == MAX_FLIGHT || u == z->nunits - 1) {
            for (int i = 0; i < n; i++) comm_wait(r[i]);
            n = 0;
        }
    }
}
