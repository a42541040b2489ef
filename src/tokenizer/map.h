/*
 * tokenizer_map.h — the hash maps of tokenizer.c and tokenizer_train.c
 * (private to them): byte string -> int64 and uint64 -> int64. Open
 * addressing, linear probing, power-of-two capacity kept at most half full.
 * String keys are not copied: they must outlive the map. The uint64 key
 * UINT64_MAX is reserved (marks an empty slot).
 */
#ifndef ZEROPT_TOKENIZER_MAP_H
#define ZEROPT_TOKENIZER_MAP_H

#include "mpi/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *k; /* NULL: empty slot */
    uint32_t n, h;
    int64_t v;
} SSlot;

typedef struct {
    SSlot *slot;
    size_t cap, used;
} SMap;

typedef struct {
    uint64_t *key;
    int64_t *val;
    size_t cap, used;
} U64Map;

#define MAP_EMPTY UINT64_MAX

/* splitmix64's finalizer */
static inline uint64_t map_mix(uint64_t h) {
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 31);
}

/* 8 bytes at a time, then the tail (byte order only changes the value). */
static inline uint64_t map_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    return map_mix(h ^ w);
}

static inline SSlot *smap_slot(const SMap *m, const char *s, size_t n, uint64_t h) {
    size_t i = (size_t)h & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        SSlot *e = &m->slot[i];
        if (!e->k || (e->h == (uint32_t)h && e->n == n && !memcmp(e->k, s, n))) return e;
    }
}

static inline const int64_t *smap_get(const SMap *m, const char *s, size_t n) {
    if (!m->cap) return NULL;
    SSlot *e = smap_slot(m, s, n, map_hash(s, n));
    return e->k ? &e->v : NULL;
}

static inline void smap_grow(SMap *m) {
    SMap g = {z_calloc(m->cap ? 2 * m->cap : 64, sizeof(SSlot), "string map"),
              m->cap ? 2 * m->cap : 64, m->used};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i].k)
            *smap_slot(&g, m->slot[i].k, m->slot[i].n, map_hash(m->slot[i].k, m->slot[i].n)) =
                m->slot[i];
    free(m->slot);
    *m = g;
}

/* The value of key s (inserted as 0 when new; *isnew says which). */
static inline int64_t *smap_put(SMap *m, const char *s, size_t n, int *isnew) {
    if (2 * (m->used + 1) > m->cap) smap_grow(m);
    uint64_t h = map_hash(s, n);
    SSlot *e = smap_slot(m, s, n, h);
    if (isnew) *isnew = !e->k;
    if (!e->k) {
        *e = (SSlot){s, (uint32_t)n, (uint32_t)h, 0};
        m->used++;
    }
    return &e->v;
}

static inline void smap_free(SMap *m) {
    free(m->slot);
    *m = (SMap){0};
}

static inline size_t u64map_slot(const U64Map *m, uint64_t k) {
    size_t i = (size_t)map_mix(k) & (m->cap - 1);
    while (m->key[i] != MAP_EMPTY && m->key[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

static inline const int64_t *u64map_get(const U64Map *m, uint64_t k) {
    if (!m->cap) return NULL;
    size_t i = u64map_slot(m, k);
    return m->key[i] == k ? &m->val[i] : NULL;
}

static inline void u64map_grow(U64Map *m) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    U64Map g = {z_malloc(cap * sizeof(uint64_t), "map keys"),
                z_malloc(cap * sizeof(int64_t), "map values"), cap, m->used};
    memset(g.key, 0xFF, cap * sizeof(uint64_t)); /* MAP_EMPTY */
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i] != MAP_EMPTY) {
            size_t j = u64map_slot(&g, m->key[i]);
            g.key[j] = m->key[i];
            g.val[j] = m->val[i];
        }
    free(m->key);
    free(m->val);
    *m = g;
}

/* The value of key k (inserted as 0 when new; *isnew says which). */
static inline int64_t *u64map_put(U64Map *m, uint64_t k, int *isnew) {
    if (2 * (m->used + 1) > m->cap) u64map_grow(m);
    size_t i = u64map_slot(m, k);
    if (isnew) *isnew = m->key[i] == MAP_EMPTY;
    if (m->key[i] == MAP_EMPTY) {
        m->key[i] = k;
        m->val[i] = 0;
        m->used++;
    }
    return &m->val[i];
}

static inline void u64map_free(U64Map *m) {
    free(m->key);
    free(m->val);
    *m = (U64Map){0};
}

#endif
