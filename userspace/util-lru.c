/* SPDX-License-Identifier: MIT */
/* util-lru.c -- bounded keyed map with LRU eviction.  See util-lru.h. */
#include "util-lru.h"
#include "util-hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LRU_NIL UINT32_MAX

struct lru_node {
	uint32_t hnext;          /* bucket chain, index + 1 (0 = end) */
	uint32_t prev, next;     /* recency list */
};

struct lru {
	size_t cap, ksz, vsz, stride, voff; /* voff: value offset, 8-aligned */
	uint64_t seed, evictions;
	uint32_t *buckets;       /* index + 1 of the first node; 0 = empty */
	uint64_t mask;
	unsigned char *slab;     /* cap nodes of [node | key | value] */
	uint32_t used, count;
	uint32_t head, tail;     /* head = least recently used */
	uint32_t free_head;
	lru_evict_fn *evict_fn;
	void *evict_arg;
};

static inline struct lru_node *node_at(const struct lru *m, uint32_t i)
{
	return (struct lru_node *)(m->slab + (size_t)i * m->stride);
}

static inline void *key_at(const struct lru *m, uint32_t i)
{
	return m->slab + (size_t)i * m->stride + sizeof(struct lru_node);
}

static inline void *val_at(const struct lru *m, uint32_t i)
{
	return m->slab + (size_t)i * m->stride + m->voff;
}

static inline uint64_t hash_key(const struct lru *m, const void *key)
{
	return hash64(key, m->ksz, m->seed);
}

struct lru *lru_new(size_t capacity, size_t key_size, size_t value_size, uint64_t seed)
{
	struct lru *m;
	uint64_t nb = 1;

	/* keys and values are small records; refuse sizes whose sums wrap */
	if (!capacity || capacity >= LRU_NIL || !key_size || key_size > (1u << 20) ||
	    value_size > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = capacity;
	m->ksz = key_size;
	m->vsz = value_size;
	/* values start 8-aligned so they may hold uint64_t and double */
	m->voff = (sizeof(struct lru_node) + key_size + 7) & ~(size_t)7;
	m->stride = (m->voff + value_size + 7) & ~(size_t)7;
	while (nb < capacity)
		nb <<= 1;
	m->mask = nb - 1;
	m->seed = seed;
	m->buckets = calloc(nb, sizeof(*m->buckets));
	m->slab = calloc(capacity, m->stride);
	if (!m->buckets || !m->slab) {
		lru_free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->head = m->tail = m->free_head = LRU_NIL;
	return m;
}

void lru_free(struct lru *m)
{
	if (!m)
		return;
	free(m->buckets);
	free(m->slab);
	free(m);
}

void lru_set_evict_cb(struct lru *m, lru_evict_fn *fn, void *arg)
{
	m->evict_fn = fn;
	m->evict_arg = arg;
}

static void list_unlink(struct lru *m, uint32_t i)
{
	struct lru_node *n = node_at(m, i);
	if (n->prev != LRU_NIL)
		node_at(m, n->prev)->next = n->next;
	else
		m->head = n->next;
	if (n->next != LRU_NIL)
		node_at(m, n->next)->prev = n->prev;
	else
		m->tail = n->prev;
}

static void list_append(struct lru *m, uint32_t i)
{
	struct lru_node *n = node_at(m, i);
	n->prev = m->tail;
	n->next = LRU_NIL;
	if (m->tail != LRU_NIL)
		node_at(m, m->tail)->next = i;
	else
		m->head = i;
	m->tail = i;
}

static uint32_t find(const struct lru *m, const void *key, uint64_t b)
{
	for (uint32_t i1 = m->buckets[b]; i1; i1 = node_at(m, i1 - 1)->hnext)
		if (!memcmp(key_at(m, i1 - 1), key, m->ksz))
			return i1 - 1;
	return LRU_NIL;
}

void *lru_get(struct lru *m, const void *key)
{
	uint32_t i = find(m, key, hash_key(m, key) & m->mask);
	if (i == LRU_NIL)
		return NULL;
	list_unlink(m, i);
	list_append(m, i);
	return val_at(m, i);
}

static void evict_head(struct lru *m)
{
	uint32_t i = m->head;
	uint64_t b = hash_key(m, key_at(m, i)) & m->mask;
	uint32_t *pp = &m->buckets[b];

	if (m->evict_fn)
		m->evict_fn(key_at(m, i), val_at(m, i), m->evict_arg);
	while (*pp && *pp != i + 1)
		pp = &node_at(m, *pp - 1)->hnext;
	if (*pp)
		*pp = node_at(m, i)->hnext;
	list_unlink(m, i);
	node_at(m, i)->hnext = m->free_head;
	m->free_head = i;
	m->count--;
	m->evictions++;
}

void *lru_put(struct lru *m, const void *key, bool *created)
{
	uint64_t b = hash_key(m, key) & m->mask;
	uint32_t i = find(m, key, b);

	if (i != LRU_NIL) {
		list_unlink(m, i);
		list_append(m, i);
		if (created)
			*created = false;
		return val_at(m, i);
	}
	if (m->free_head == LRU_NIL && m->used == m->cap)
		evict_head(m);
	if (m->free_head != LRU_NIL) {
		i = m->free_head;
		m->free_head = node_at(m, i)->hnext;
	} else {
		i = m->used++;
	}
	memset(node_at(m, i), 0, m->stride);
	memcpy(key_at(m, i), key, m->ksz);
	node_at(m, i)->hnext = m->buckets[b];
	m->buckets[b] = i + 1;
	list_append(m, i);
	m->count++;
	if (created)
		*created = true;
	return val_at(m, i);
}

int lru_foreach(const struct lru *m, int (*fn)(const void *key, void *value, void *arg), void *arg)
{
	for (uint32_t i = m->head; i != LRU_NIL; i = node_at(m, i)->next) {
		int rc = fn(key_at(m, i), val_at(m, i), arg);
		if (rc)
			return rc;
	}
	return 0;
}

size_t lru_count(const struct lru *m) { return m->count; }
size_t lru_capacity(const struct lru *m) { return m->cap; }
uint64_t lru_evictions(const struct lru *m) { return m->evictions; }
