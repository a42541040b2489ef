/*
 * zero.c — buffers and collectives of the ZeRO stages (see zero.h).
 */
#include "zero.h"

#include "err.h"

#include "kernels/kernels.h"
#include "kernels/optim_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ZERO_MAX_INFLIGHT + ZERO_POOL <= COMM_MAX_REQ,
               "ZeRO's reductions and gathers in flight must fit comm's requests");

/* A range of a unit whose bf16 copy holds the distance from `value`. */
typedef struct {
    int u;
    size_t lo, n;
    float value;
} Offset;

typedef struct {
    CommReq req;
    int u;
    int wslot; /* working buffer to free (−1: none, −2: the tied unit's) */
} Flight;

struct Zero {
    int stage, overlap, rank, n, nunits, tied, last_micro;
    int first_micro;  /* no micro-batch of this step has landed its gradients yet */
    int mixed, red16; /* bf16 copies with fp32 master; reductions in bf16 */
    long step;
    size_t *numel, *padded, *shard;
    size_t maxwork;  /* the largest unit but the tied one: a working buffer's length */
    float **params;  /* stages 0–2: [padded] */
    float **grads;   /* stages 0–1: [padded] */
    float **sparams; /* stage 3: [shard] */
    float **sgrads;  /* stages 2–3: [shard] */
    /* stage 3: the gather arena; slot 0 at its front, slot 1 at its back */
    float *arena;
    size_t arena_len;
    /* mixed precision (see zero.h): bf16 copies, the fp32 master, fp32 views */
    uint16_t **hparams;  /* stages 0–2: [padded] */
    uint16_t **hsparams; /* stage 3: [shard] */
    uint16_t **hgrads;   /* stages 0–1: [padded] */
    uint16_t **hsgrads;  /* stages 2–3: [shard] */
    float **master;      /* stage 0: [padded]; 1–3: [shard] */
    float *view;         /* [arena_len] the resident units in fp32, slots as the arena's */
    uint16_t *harena;    /* stage 3: [arena_len] the bf16 gather arena */
    Offset *offs;        /* zero_bf16_offset's ranges */
    int noffs;
    Offset *lazy; /* zero_bf16_lazy's ranges (value unused) */
    int nlazy, poison, poisoned;
    int ready[ZERO_POOL]; /* the slot's view holds its unit */
    int gunit[ZERO_POOL];
    CommReq greq[ZERO_POOL];
    int *gslot; /* per unit: gather slot or −1 */
    /* stages 2–3: working gradient buffers and the tied unit's */
    float *wbuf[ZERO_POOL], *tbuf;
    int wunit[ZERO_POOL];
    float **cur; /* the unit's working gradient buffer in backward */
    Flight flight[ZERO_MAX_INFLIGHT];
    int nflight;
};

static float *fbuf(size_t n, MemCat cat, const char *what) {
    return z_alloc(n * sizeof(float), cat, what);
}
static uint16_t *hbuf(size_t n, MemCat cat, const char *what) {
    return z_alloc(n * sizeof(uint16_t), cat, what);
}

/* Units take slots of the arena while resident: gathered at stage 3,
 * converted to fp32 in mixed precision. */
static int pooled(const Zero *z) {
    return z->stage == 3 || z->mixed;
}
/* The backward accumulates a unit's gradient in an fp32 working buffer:
 * stages 2–3, and every stage in mixed precision. */
static int working(const Zero *z) {
    return z->stage >= 2 || z->mixed;
}

Zero *zero_create(int stage, int overlap, int nunits, const size_t *numel, const size_t *padded,
                  int tied_unit, int mixed, int reduce_bf16) {
    Zero *z = z_calloc(1, sizeof *z, "zero");
    z->stage = stage, z->overlap = overlap, z->nunits = nunits, z->tied = tied_unit;
    z->mixed = mixed, z->red16 = mixed && reduce_bf16;
    z->rank = z_rank(), z->n = z_nranks();
    z->numel = z_malloc(nunits * sizeof(size_t), "zero");
    z->padded = z_malloc(nunits * sizeof(size_t), "zero");
    z->shard = z_malloc(nunits * sizeof(size_t), "zero");
    z->params = z_calloc(nunits, sizeof(float *), "zero");
    z->grads = z_calloc(nunits, sizeof(float *), "zero");
    z->sparams = z_calloc(nunits, sizeof(float *), "zero");
    z->sgrads = z_calloc(nunits, sizeof(float *), "zero");
    z->cur = z_calloc(nunits, sizeof(float *), "zero");
    z->hparams = z_calloc(nunits, sizeof(uint16_t *), "zero");
    z->hsparams = z_calloc(nunits, sizeof(uint16_t *), "zero");
    z->hgrads = z_calloc(nunits, sizeof(uint16_t *), "zero");
    z->hsgrads = z_calloc(nunits, sizeof(uint16_t *), "zero");
    z->master = z_calloc(nunits, sizeof(float *), "zero");
    z->gslot = z_malloc(nunits * sizeof(int), "zero");
    size_t maxwork = 0;
    for (int u = 0; u < nunits; u++) {
        z->numel[u] = numel[u], z->padded[u] = padded[u];
        if (padded[u] % z->n)
            z_die("unit %d: %zu floats do not split over %d ranks", u, padded[u], z->n);
        z->shard[u] = padded[u] / z->n;
        z->gslot[u] = -1;
        if (u != tied_unit && padded[u] > maxwork) maxwork = padded[u];
        /* the arena holds any pair resident together */
        size_t pair = padded[u] + (u + 1 < nunits ? padded[u + 1] : 0);
        if (pair > z->arena_len) z->arena_len = pair;
        if (mixed) {
            if (stage <= 2) z->hparams[u] = hbuf(padded[u], MEM_PARAMS, "bf16 parameters");
            if (stage == 3) z->hsparams[u] = hbuf(z->shard[u], MEM_PARAMS, "bf16 parameter shard");
            if (stage <= 1) z->hgrads[u] = hbuf(padded[u], MEM_GRADS, "bf16 gradients");
            if (stage >= 2) z->hsgrads[u] = hbuf(z->shard[u], MEM_GRADS, "bf16 gradient shard");
            z->master[u] = fbuf(stage == 0 ? padded[u] : z->shard[u], MEM_OPTIM, "fp32 master");
            continue;
        }
        if (stage <= 2) z->params[u] = fbuf(padded[u], MEM_PARAMS, "parameters");
        if (stage == 3) z->sparams[u] = fbuf(z->shard[u], MEM_PARAMS, "parameter shard");
        if (stage <= 1) z->grads[u] = fbuf(padded[u], MEM_GRADS, "gradients");
        if (stage >= 2) z->sgrads[u] = fbuf(z->shard[u], MEM_GRADS, "gradient shard");
    }
    z->maxwork = maxwork;
    if (tied_unit >= 0 && padded[tied_unit] + padded[nunits - 1] > z->arena_len)
        z->arena_len = padded[tied_unit] + padded[nunits - 1];
    for (int i = 0; i < ZERO_POOL; i++) {
        z->gunit[i] = z->wunit[i] = -1;
        z->greq[i] = COMM_NONE;
        if (working(z)) z->wbuf[i] = fbuf(maxwork, MEM_BUFFERS, "working gradients");
    }
    if (stage == 3 && !mixed) z->arena = fbuf(z->arena_len, MEM_BUFFERS, "gather arena");
    if (stage == 3 && mixed) z->harena = hbuf(z->arena_len, MEM_BUFFERS, "bf16 gather arena");
    if (mixed) z->view = fbuf(z->arena_len, MEM_BUFFERS, "fp32 parameter views");
    if (working(z) && tied_unit >= 0)
        z->tbuf = fbuf(padded[tied_unit], MEM_BUFFERS, "tied-unit gradients");
    return z;
}

void zero_free(Zero *z) {
    if (!z) return;
    for (int u = 0; u < z->nunits; u++) {
        k_free(z->params[u]), k_free(z->grads[u]), k_free(z->sparams[u]), k_free(z->sgrads[u]);
        k_free(z->hparams[u]), k_free(z->hsparams[u]), k_free(z->hgrads[u]);
        k_free(z->hsgrads[u]), k_free(z->master[u]);
    }
    for (int i = 0; i < ZERO_POOL; i++) k_free(z->wbuf[i]);
    k_free(z->arena), k_free(z->tbuf), k_free(z->view), k_free(z->harena);
    free(z->offs), free(z->lazy);
    free(z->hparams), free(z->hsparams), free(z->hgrads), free(z->hsgrads), free(z->master);
    free(z->numel), free(z->padded), free(z->shard), free(z->params), free(z->grads);
    free(z->sparams), free(z->sgrads), free(z->cur), free(z->gslot);
    free(z);
}

int zero_stage(const Zero *z) {
    return z->stage;
}

/* Where slot s of the arena starts for unit u. */
static size_t slot_off(const Zero *z, int s, int u) {
    return s == 0 ? 0 : z->arena_len - z->padded[u];
}

float *zero_params(const Zero *z, int u) {
    if (!pooled(z)) return z->params[u];
    int s = z->gslot[u];
    return s >= 0 ? (z->mixed ? z->view : z->arena) + slot_off(z, s, u) : NULL;
}

float *zero_grads(const Zero *z, int u) {
    return working(z) ? z->cur[u] : z->grads[u];
}

int zero_mixed(const Zero *z) {
    return z->mixed;
}

float *zero_scratch(const Zero *z, size_t *n) {
    size_t w = z->maxwork, t = z->tbuf ? z->padded[z->tied] : 0;
    if (!z->wbuf[0]) return *n = 0, NULL;
    *n = t > w ? t : w;
    return t > w ? z->tbuf : z->wbuf[0];
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
    if (z->mixed) return z->master[u];
    if (z->stage == 3) return z->sparams[u];
    return z->params[u] + (z->stage == 0 ? 0 : (size_t)z->rank * z->shard[u]);
}
const uint16_t *zero_own_grads_bf16(const Zero *z, int u) {
    if (!z->mixed) return NULL;
    if (z->stage == 0) return z->hgrads[u];
    if (z->stage == 1) return comm_rs_slice_bf16(z->hgrads[u], z->shard[u]);
    return z->hsgrads[u];
}
float *zero_own_grads(const Zero *z, int u) {
    if (z->mixed) return NULL;
    if (z->stage == 0) return z->grads[u];
    if (z->stage == 1) return comm_rs_slice(z->grads[u], z->shard[u]);
    return z->sgrads[u];
}

static size_t slice_off(const Zero *z, int u) {
    return (size_t)z->rank * z->shard[u];
}
float *zero_slice_params(const Zero *z, int u) {
    if (z->mixed) return z->master[u] + (z->stage == 0 ? slice_off(z, u) : 0);
    return z->stage == 3 ? z->sparams[u] : z->params[u] + slice_off(z, u);
}

void zero_bf16_offset(Zero *z, int u, size_t lo, size_t n, float value) {
    z->offs = realloc(z->offs, (size_t)(z->noffs + 1) * sizeof *z->offs);
    if (!z->offs) z_die("out of memory for ZeRO's bf16 offsets");
    z->offs[z->noffs++] = (Offset){u, lo, n, value};
}

void zero_bf16_lazy(Zero *z, int u, size_t lo, size_t n) {
    z->lazy = realloc(z->lazy, (size_t)(z->nlazy + 1) * sizeof *z->lazy);
    if (!z->lazy) z_die("out of memory for ZeRO's lazy ranges");
    z->lazy[z->nlazy++] = (Offset){u, lo, n, 0};
    const char *p = getenv("ZEROPT_POISON_LAZY");
    z->poison = p && *p && strcmp(p, "0");
}

/* The first of ranges r[0..n) of unit u that ends past lo, clipped to start
 * at lo or later: [*a, *b), or *a = *b = end when there is none. */
static void next_range(const Offset *r, int n, int u, size_t lo, size_t end, size_t *a, size_t *b) {
    *a = *b = end;
    for (int i = 0; i < n; i++)
        if (r[i].u == u && r[i].lo + r[i].n > lo && r[i].lo < *a)
            *a = r[i].lo > lo ? r[i].lo : lo, *b = r[i].lo + r[i].n;
}

/* Offset i's part of unit u's elements [lo, lo + n): [*a, *b), or 0 when
 * it has none. */
static int overlap(const Zero *z, int i, int u, size_t lo, size_t n, size_t *a, size_t *b) {
    const Offset *r = &z->offs[i];
    *a = r->lo > lo ? r->lo : lo;
    *b = r->lo + r->n < lo + n ? r->lo + r->n : lo + n;
    return r->u == u && *a < *b;
}

/* The bf16 copy h of x, both holding unit u's elements [lo, lo + n): plain
 * conversions, then zero_bf16_offset's ranges again as distances (a few
 * LayerNorm gains per unit); from_bf16 the other way. */
static void to_bf16(const Zero *z, int u, uint16_t *h, const float *x, size_t lo, size_t n) {
    k_f32_to_bf16(h, x, n);
    for (int i = 0; i < z->noffs; i++) {
        size_t a, b;
        if (overlap(z, i, u, lo, n, &a, &b))
            k_f32_to_bf16_off(h + (a - lo), x + (a - lo), b - a, z->offs[i].value);
    }
}
static void from_bf16(const Zero *z, int u, float *x, const uint16_t *h, size_t lo, size_t n) {
    k_bf16_to_f32(x, h, n);
    for (int i = 0; i < z->noffs; i++) {
        size_t a, b;
        if (overlap(z, i, u, lo, n, &a, &b))
            k_bf16_to_f32_off(x + (a - lo), h + (a - lo), b - a, z->offs[i].value);
    }
}

/* Mixed precision: the bf16 copy of what this rank updates, from the master
 * (stages 1–2: its slice of the full copy, for the all-gather that follows). */
static void publish(Zero *z, int u) {
    if (z->stage == 0)
        to_bf16(z, u, z->hparams[u], z->master[u], 0, z->padded[u]);
    else if (z->stage <= 2)
        to_bf16(z, u, z->hparams[u] + slice_off(z, u), z->master[u], slice_off(z, u), z->shard[u]);
    else
        to_bf16(z, u, z->hsparams[u], z->master[u], slice_off(z, u), z->shard[u]);
}

void zero_gather_resident(Zero *z) {
    for (int u = 0; u < z->nunits; u++) {
        if (z->mixed) {
            if (z->stage == 0)
                comm_wait(comm_iallgather_f32(NULL, z->master[u], z->shard[u],
                                              "master parameters (load)", -1));
            publish(z, u);
            if (z->stage == 1 || z->stage == 2)
                comm_wait(comm_iallgather_bf16(NULL, z->hparams[u], z->shard[u],
                                               "bf16 parameters (load)", -1));
        } else if (z->stage <= 2)
            comm_wait(
                comm_iallgather_f32(NULL, z->params[u], z->shard[u], "parameters (load)", -1));
    }
}

float *zero_full_scratch(Zero *z, int u) {
    if (z->mixed) return z->stage == 0 ? z->master[u] : z->view;
    return z->stage == 3 ? z->arena : z->params[u];
}

void zero_store_full(Zero *z, int u, const float *full) {
    if (z->mixed) {
        if (z->stage > 0) memcpy(z->master[u], full + slice_off(z, u), z->shard[u] * sizeof(float));
        if (z->stage <= 2)
            to_bf16(z, u, z->hparams[u], full, 0, z->padded[u]);
        else
            publish(z, u);
        return;
    }
    if (z->stage != 3) return;
    memcpy(z->sparams[u], full + slice_off(z, u), z->shard[u] * sizeof(float));
}

float *zero_full_params(Zero *z, int u) {
    if (z->mixed) {
        if (z->stage == 0) return z->master[u];
        comm_wait(comm_iallgather_f32(z->master[u], z->view, z->shard[u],
                                      "master parameters (whole)", z->step));
        return z->view;
    }
    if (z->stage != 3) return z->params[u];
    comm_wait(
        comm_iallgather_f32(z->sparams[u], z->arena, z->shard[u], "parameters (whole)", z->step));
    return z->arena;
}

/* The bf16 gradients need no clearing where the first micro-batch writes
 * them and the later ones add (h + w rounded once is w rounded when h = 0);
 * the shard of bf16 reductions is summed in bf16 from zero. */
void zero_begin_step(Zero *z, long step) {
    z->step = step;
    z->first_micro = 1;
    for (int u = 0; u < z->nunits; u++) {
        if (z->grads[u]) k_zero(z->grads[u], z->padded[u]);
        if (z->sgrads[u]) k_zero(z->sgrads[u], z->shard[u]);
        if (z->hsgrads[u] && z->red16) k_zero16(z->hsgrads[u], z->shard[u]);
    }
}

void zero_begin_micro(Zero *z, int last) {
    z->last_micro = last;
}

/* ------------------------------------------------------------------------- */
/* stage 3 gathers                                                            */

/* A slot whose place in the arena holds u beside the other slot's unit, or −1. */
static int fitting_slot(const Zero *z, int u) {
    for (int s = 0; s < ZERO_POOL; s++) {
        if (z->gunit[s] >= 0) continue;
        int other = z->gunit[1 - s];
        if (other < 0) return s;
        size_t lo = slot_off(z, s, u), hi = lo + z->padded[u];
        size_t olo = slot_off(z, 1 - s, other), ohi = olo + z->padded[other];
        if (hi <= olo || ohi <= lo) return s;
    }
    return -1;
}

/* Unit u takes slot s: stage 3 gathers it (in bf16 when mixed); stages
 * 0–2 in mixed precision only convert it, at acquire. */
static void post_gather(Zero *z, int u, int s) {
    z->gunit[s] = u;
    z->gslot[u] = s;
    z->ready[s] = 0;
    if (z->stage != 3) return;
    size_t off = slot_off(z, s, u);
    z->greq[s] = z->mixed ? comm_iallgather_bf16(z->hsparams[u], z->harena + off, z->shard[u],
                                                 "bf16 parameters (gather)", z->step)
                          : comm_iallgather_f32(z->sparams[u], z->arena + off, z->shard[u],
                                                "parameters (gather)", z->step);
}

/* Slot s's fp32 view x of unit u, from its bf16 copy h. Outside
 * zero_bf16_offset's ranges x mirrors h: the bf16 products are told
 * (k_bf16_mirror_add), so they read the weights from h instead of
 * converting x back. Where every mirror is kept and the products take
 * bf16 inputs, zero_bf16_lazy's ranges are not converted at all. */
static void make_view(Zero *z, int s, int u, float *x, const uint16_t *h) {
    size_t P = z->padded[u], a, b;
    int kept = 1;
    for (size_t lo = 0; lo < P; lo = b) {
        next_range(z->offs, z->noffs, u, lo, P, &a, &b);
        if (a > lo) kept &= k_bf16_mirror_add(s, x + lo, h + lo, a - lo);
    }
    if (!kept || !z->nlazy || !k_bf16_gemm_on()) {
        from_bf16(z, u, x, h, 0, P);
        return;
    }
    for (size_t lo = 0; lo < P; lo = b) { /* the gaps between lazy ranges, then the ranges */
        next_range(z->lazy, z->nlazy, u, lo, P, &a, &b);
        if (a > lo) from_bf16(z, u, x + lo, h + lo, lo, a - lo);
        if (z->poison)
            for (size_t i = a; i < b; i++) x[i] = NAN;
        if (z->poison && a < b && !z->poisoned++)
            z_log("ZEROPT_POISON_LAZY: unit %d's views of its product weights are NaN (%zu "
                  "elements from %zu)",
                  u, b - a, a);
    }
}

void zero_prefetch(Zero *z, int u) {
    if (z->stage != 3 || u < 0 || u >= z->nunits || z->gslot[u] >= 0) return;
    int s = fitting_slot(z, u);
    if (s < 0) return;
    post_gather(z, u, s);
    if (!z->overlap) comm_wait(z->greq[s]), z->greq[s] = COMM_NONE;
}

void zero_acquire(Zero *z, int u) {
    if (!pooled(z)) return;
    if (z->gslot[u] < 0) {
        int s = fitting_slot(z, u);
        if (s < 0)
            z_die("ZeRO: unit %d does not fit the %s arena beside units %d and %d", u,
                  z->stage == 3 ? "gather" : "view", z->gunit[0], z->gunit[1]);
        post_gather(z, u, s);
    }
    int s = z->gslot[u];
    comm_wait(z->greq[s]);
    z->greq[s] = COMM_NONE;
    if (z->mixed && !z->ready[s]) { /* the fp32 view the model computes with */
        size_t off = slot_off(z, s, u);
        make_view(z, s, u, z->view + off, z->stage == 3 ? z->harena + off : z->hparams[u]);
        z->ready[s] = 1;
    }
}

void zero_release(Zero *z, int u) {
    if (!pooled(z) || z->gslot[u] < 0) return;
    int s = z->gslot[u];
    comm_wait(z->greq[s]);
    z->greq[s] = COMM_NONE;
    z->gunit[s] = -1;
    z->gslot[u] = -1;
    if (z->ready[s]) k_bf16_mirror_drop(s);
    z->ready[s] = 0;
}

/* ------------------------------------------------------------------------- */
/* gradient reductions                                                        */

static float *wbuf_of(const Zero *z, int wslot) {
    return wslot == -2 ? z->tbuf : z->wbuf[wslot];
}

/* A reduction is done: at stages 2–3 add this micro-batch's reduced slice
 * (in place at the front of its working buffer) into the shard; mixed
 * precision with fp32 reductions at stages 0–1: round the sum into the bf16
 * gradient (stage 1: the slice). */
static void land(Zero *z, const Flight *f) {
    int u = f->u;
    size_t S = z->shard[u];
    if (f->wslot == -1) return; /* reduced in its own buffer */
    float *buf = wbuf_of(z, f->wslot);
    if (!z->mixed)
        k_accum(z->sgrads[u], comm_rs_slice(buf, S), S);
    else if (z->stage == 0)
        k_f32_to_bf16(z->hgrads[u], buf, z->padded[u]);
    else if (z->stage == 1)
        k_f32_to_bf16(comm_rs_slice_bf16(z->hgrads[u], S), comm_rs_slice(buf, S), S);
    else if (z->red16)
        k_bf16_add_bf16(z->hsgrads[u], comm_rs_slice_bf16((uint16_t *)buf, S), S);
    else if (z->first_micro)
        k_f32_to_bf16(z->hsgrads[u], comm_rs_slice(buf, S), S);
    else
        k_bf16_add_f32(z->hsgrads[u], comm_rs_slice(buf, S), S);
    if (f->wslot >= 0) z->wunit[f->wslot] = -1;
}

static void finish(Zero *z, int i) {
    comm_wait(z->flight[i].req);
    land(z, &z->flight[i]);
    memmove(&z->flight[i], &z->flight[i + 1], (size_t)(z->nflight - i - 1) * sizeof(Flight));
    z->nflight--;
}

void zero_progress(Zero *z) {
    for (int i = 0; i < z->nflight;) {
        if (comm_test(z->flight[i].req)) {
            land(z, &z->flight[i]);
            memmove(&z->flight[i], &z->flight[i + 1],
                    (size_t)(z->nflight - i - 1) * sizeof(Flight));
            z->nflight--;
        } else
            i++;
    }
}

void zero_bwd_begin(Zero *z) {
    if (working(z) && z->tied >= 0) {
        k_zero(z->tbuf, z->padded[z->tied]);
        z->cur[z->tied] = z->tbuf;
    }
}

void zero_grad_begin(Zero *z, int u) {
    if (!working(z) || u == z->tied) return;
    int s = -1;
    while (s < 0) {
        for (int i = 0; i < ZERO_POOL && s < 0; i++)
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
    k_zero(z->wbuf[s], z->padded[u]);
    z->cur[u] = z->wbuf[s];
}

/* Mixed precision: post unit u's reduction from its fp32 working buffer
 * (wslot: its slot, −2 the tied unit's buffer), or only accumulate it into
 * the bf16 gradient (stages 0–1 before the last micro-batch). */
static void grad_end_mixed(Zero *z, int u, Flight *f, int wslot) {
    float *w = wbuf_of(z, wslot);
    size_t S = z->shard[u], P = z->padded[u];
    z->cur[u] = NULL;
    if (z->stage <= 1) {
        if (!z->last_micro || z->red16) {
            if (z->first_micro)
                k_f32_to_bf16(z->hgrads[u], w, P);
            else
                k_bf16_add_f32(z->hgrads[u], w, P); /* added in fp32, rounded once */
            if (wslot >= 0) z->wunit[wslot] = -1;
            if (!z->last_micro) return;
            f->req =
                z->stage == 0
                    ? comm_iallreduce_bf16(z->hgrads[u], P, "bf16 gradients (all-reduce)", z->step)
                    : comm_ireduce_scatter_bf16(z->hgrads[u], S, "bf16 gradients (reduce-scatter)",
                                                z->step);
            return;
        }
        if (!z->first_micro) k_f32_add_bf16(w, z->hgrads[u], P); /* the earlier micro-batches */
        f->wslot = wslot;
        f->req = z->stage == 0
                     ? comm_iallreduce_f32(w, P, "gradients (all-reduce)", z->step)
                     : comm_ireduce_scatter_f32(w, S, "gradients (reduce-scatter)", z->step);
        return;
    }
    f->wslot = wslot;
    f->req = z->red16 ? comm_ireduce_scatter_bf16(k_bf16_in_place(w, P), S,
                                                  "bf16 gradients (reduce-scatter)", z->step)
                      : comm_ireduce_scatter_f32(w, S, "gradients (reduce-scatter)", z->step);
}

void zero_grad_end(Zero *z, int u) {
    if (!z->mixed && z->stage <= 1 && !z->last_micro) return;
    if (z->nflight == ZERO_MAX_INFLIGHT) finish(z, 0); /* the bound, before posting */
    Flight f = {COMM_NONE, u, -1};
    if (z->mixed) {
        int wslot = u == z->tied ? -2 : -1;
        for (int i = 0; i < ZERO_POOL && wslot == -1; i++)
            if (z->wunit[i] == u) wslot = i;
        grad_end_mixed(z, u, &f, wslot);
        if (f.req == COMM_NONE && f.wslot == -1) return; /* accumulated only */
    } else if (z->stage == 0) {
        f.req = comm_iallreduce_f32(z->grads[u], z->padded[u], "gradients (all-reduce)", z->step);
    } else if (z->stage == 1) {
        f.req = comm_ireduce_scatter_f32(z->grads[u], z->shard[u], "gradients (reduce-scatter)",
                                         z->step);
    } else {
        int tied = u == z->tied;
        for (int i = 0; i < ZERO_POOL && !tied; i++)
            if (z->wunit[i] == u) f.wslot = i;
        if (tied) f.wslot = -2;
        f.req = comm_ireduce_scatter_f32(tied ? z->tbuf : z->wbuf[f.wslot], z->shard[u],
                                         "gradients (reduce-scatter)", z->step);
        z->cur[u] = NULL;
    }
    z->flight[z->nflight++] = f;
    if (!z->overlap) finish(z, z->nflight - 1);
}

void zero_end_backward(Zero *z) {
    while (z->nflight) finish(z, 0);
    z->first_micro = 0;
}

void zero_after_update(Zero *z) {
    if (z->mixed)
        for (int u = 0; u < z->nunits; u++) publish(z, u);
    if (z->stage != 1 && z->stage != 2) return;
    CommReq r[ZERO_MAX_INFLIGHT];
    int n = 0;
    for (int u = 0; u < z->nunits; u++) {
        if (n == ZERO_MAX_INFLIGHT) { /* the bound: finish the oldest first */
            comm_wait(r[0]);
            memmove(r, r + 1, (size_t)(n - 1) * sizeof *r);
            n--;
        }
        r[n++] = z->mixed ? comm_iallgather_bf16(NULL, z->hparams[u], z->shard[u],
                                                 "bf16 parameters (all-gather)", z->step)
                          : comm_iallgather_f32(NULL, z->params[u], z->shard[u],
                                                "parameters (all-gather)", z->step);
    }
    for (int i = 0; i < n; i++) comm_wait(r[i]);
}
