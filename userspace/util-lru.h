/* SPDX-License-Identifier: MIT */
/*
 * util-lru.h -- a bounded map from fixed-size keys to fixed-size values,
 * with least-recently-used eviction: the scoring engine's per-host tables
 * (pairs, novelty sets, fingerprint prevalence) are all one of these.
 *
 * Memory is one calloc at lru_new(); nothing is allocated afterwards.
 * Keys are hashed with util-hash.h's hash64() under the caller's seed.
 * Keys are compared with memcmp, so callers zero any padding.  A get or put
 * makes the entry most recently used; a put into a full map evicts the
 * least recently used entry first (counted, and reported to an optional
 * callback before its slot is reused).
 */
#ifndef MAILTAP_UTIL_LRU_H
#define MAILTAP_UTIL_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lru;

/* Called for an entry about to be evicted; key and value are borrowed. */
typedef void lru_evict_fn(const void *key, void *value, void *arg);

/* Returns a new map of @capacity entries (free with lru_free) or NULL +
 * errno. */
struct lru *lru_new(size_t capacity, size_t key_size, size_t value_size, uint64_t seed);
void lru_free(struct lru *m);
void lru_set_evict_cb(struct lru *m, lru_evict_fn *fn, void *arg);

/* The value for @key, or NULL.  Borrowed: valid until the next put. */
void *lru_get(struct lru *m, const void *key);

/* The value for @key, inserting a zeroed one when absent (*created tells).
 * Never NULL. */
void *lru_put(struct lru *m, const void *key, bool *created);

/* Walk every entry, least recently used first; stop when fn returns
 * non-zero.  Does not change the order. */
int lru_foreach(const struct lru *m, int (*fn)(const void *key, void *value, void *arg), void *arg);

size_t lru_count(const struct lru *m);
size_t lru_capacity(const struct lru *m);
uint64_t lru_evictions(const struct lru *m);

#endif
