/* SPDX-License-Identifier: MIT */
/*
 * dns-cache.c -- bounded IP -> qname cache.  One array of entries, allocated
 * up front, threaded three ways by 32-bit indices: hash chains hanging off a
 * power-of-two bucket array, a doubly-linked LRU list (head = most recent),
 * and a free list.  The hash is util-hash.h's seeded hash64() of the
 * address: not a PRF, but the per-process seed defeats precomputed collision
 * sets, and a chain can never be longer than the capacity.
 */
#include "dns-cache.h"
#include "util-hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DNS_CACHE_NIL UINT32_MAX
#define NS_PER_S 1000000000ULL

struct dns_cache_entry {
	struct net_addr addr; /* normalised key: zero pad, zero tail for v4 */
	uint32_t hnext;       /* next in hash chain, or next free */
	uint32_t prev, next;  /* LRU list */
	uint64_t expires_ns;  /* first instant the entry is stale */
	char name[DNS_CACHE_NAME_LEN];
};

struct dns_cache {
	struct dns_cache_entry *ent; /* owned: cap entries */
	uint32_t *bucket;            /* owned: mask + 1 chain heads */
	uint32_t cap, mask, used;
	uint32_t lru_head, lru_tail, free_head;
	uint32_t ttl_floor_s;
	uint64_t seed;
	struct dns_cache_stats st;
};

struct dns_cache *dns_cache_new(size_t capacity, uint32_t ttl_floor_s, uint64_t seed)
{
	struct dns_cache *c;
	size_t nb = 1;

	if (capacity == 0 || capacity > DNS_CACHE_MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < capacity)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out_fail;
	c->ent = calloc(capacity, sizeof(*c->ent));
	if (!c->ent)
		goto out_free_cache;
	c->bucket = malloc(nb * sizeof(*c->bucket));
	if (!c->bucket)
		goto out_free_entries;
	memset(c->bucket, 0xff, nb * sizeof(*c->bucket)); /* all DNS_CACHE_NIL */
	c->cap = (uint32_t)capacity;
	c->mask = (uint32_t)(nb - 1);
	c->lru_head = c->lru_tail = DNS_CACHE_NIL;
	for (uint32_t i = 0; i < c->cap; i++)
		c->ent[i].hnext = i + 1 < c->cap ? i + 1 : DNS_CACHE_NIL;
	c->free_head = 0;
	c->ttl_floor_s = ttl_floor_s;
	c->seed = seed;
	c->st.capacity = capacity;
	return c;

out_free_entries:
	free(c->ent);
out_free_cache:
	free(c);
out_fail:
	errno = ENOMEM;
	return NULL;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	free(c->bucket);
	free(c->ent);
	free(c);
}

/* @k is normalised (dns_cache_key: zero pad and tail), so every byte of it
 * may be hashed. */
static uint32_t dns_cache_bucket(const struct dns_cache *c, const struct net_addr *k)
{
	return (uint32_t)hash64(k, sizeof(*k), c->seed) & c->mask;
}

/* Copy @a into @k with only the meaningful bytes set; false if unusable. */
static bool dns_cache_key(const struct net_addr *a, struct net_addr *k)
{
	if (a->family == NET_ADDR_V4)
		net_addr_set_v4(k, a->b);
	else if (a->family == NET_ADDR_V6)
		net_addr_set_v6(k, a->b);
	else
		return false;
	return true;
}

static uint32_t dns_cache_find(const struct dns_cache *c, const struct net_addr *k, uint32_t b)
{
	uint32_t i = c->bucket[b];

	while (i != DNS_CACHE_NIL && net_addr_cmp(&c->ent[i].addr, k))
		i = c->ent[i].hnext;
	return i;
}

static void dns_cache_lru_unlink(struct dns_cache *c, uint32_t i)
{
	struct dns_cache_entry *e = &c->ent[i];

	if (e->prev != DNS_CACHE_NIL)
		c->ent[e->prev].next = e->next;
	else
		c->lru_head = e->next;
	if (e->next != DNS_CACHE_NIL)
		c->ent[e->next].prev = e->prev;
	else
		c->lru_tail = e->prev;
}

static void dns_cache_lru_push(struct dns_cache *c, uint32_t i)
{
	struct dns_cache_entry *e = &c->ent[i];

	e->prev = DNS_CACHE_NIL;
	e->next = c->lru_head;
	if (c->lru_head != DNS_CACHE_NIL)
		c->ent[c->lru_head].prev = i;
	else
		c->lru_tail = i;
	c->lru_head = i;
}

/* Unlink entry @i from its chain and the LRU list and free it. */
static void dns_cache_remove(struct dns_cache *c, uint32_t i)
{
	uint32_t *link = &c->bucket[dns_cache_bucket(c, &c->ent[i].addr)];

	while (*link != i)
		link = &c->ent[*link].hnext;
	*link = c->ent[i].hnext;
	dns_cache_lru_unlink(c, i);
	c->ent[i].hnext = c->free_head;
	c->free_head = i;
	c->used--;
}

static void dns_cache_set(struct dns_cache *c, struct dns_cache_entry *e, const char *name,
			  uint32_t ttl_s, uint64_t now_ns)
{
	uint64_t ttl_ns = (uint64_t)(ttl_s > c->ttl_floor_s ? ttl_s : c->ttl_floor_s) * NS_PER_S;
	size_t n = strnlen(name, DNS_CACHE_NAME_LEN - 1);

	e->expires_ns = now_ns + ttl_ns < now_ns ? UINT64_MAX : now_ns + ttl_ns;
	memcpy(e->name, name, n);
	e->name[n] = '\0';
}

void dns_cache_put(struct dns_cache *c, const struct net_addr *a, const char *name,
		   uint32_t ttl_s, uint64_t now_ns)
{
	struct net_addr k;
	uint32_t b, i;

	if (!dns_cache_key(a, &k))
		return;
	b = dns_cache_bucket(c, &k);
	i = dns_cache_find(c, &k, b);
	if (i != DNS_CACHE_NIL) {
		c->st.updates++;
		dns_cache_lru_unlink(c, i);
	} else {
		if (c->free_head == DNS_CACHE_NIL) {
			uint32_t t = c->lru_tail;
			if (now_ns >= c->ent[t].expires_ns)
				c->st.expired++;
			else
				c->st.evictions++;
			dns_cache_remove(c, t);
		}
		i = c->free_head;
		c->free_head = c->ent[i].hnext;
		c->ent[i].addr = k;
		c->ent[i].hnext = c->bucket[b];
		c->bucket[b] = i;
		c->used++;
		c->st.inserts++;
	}
	dns_cache_set(c, &c->ent[i], name, ttl_s, now_ns);
	dns_cache_lru_push(c, i);
}

const char *dns_cache_get(struct dns_cache *c, const struct net_addr *a, uint64_t now_ns)
{
	struct net_addr k;
	uint32_t i;

	if (!dns_cache_key(a, &k)) {
		c->st.misses++;
		return NULL;
	}
	i = dns_cache_find(c, &k, dns_cache_bucket(c, &k));
	if (i == DNS_CACHE_NIL) {
		c->st.misses++;
		return NULL;
	}
	if (now_ns >= c->ent[i].expires_ns) {
		c->st.expired++;
		c->st.misses++;
		dns_cache_remove(c, i);
		return NULL;
	}
	c->st.hits++;
	dns_cache_lru_unlink(c, i);
	dns_cache_lru_push(c, i);
	return c->ent[i].name;
}

void dns_cache_learn(struct dns_cache *c, const struct dns_response *r, uint64_t now_ns)
{
	if (!r->qname[0] || !strcmp(r->qname, "."))
		return;
	for (unsigned i = 0; i < r->n_answers && i < DNS_MAX_ANSWERS; i++)
		dns_cache_put(c, &r->answers[i].addr, r->qname, r->answers[i].ttl, now_ns);
}

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out)
{
	*out = c->st;
	out->entries = c->used;
}

bool dns_cache_check(const struct dns_cache *c)
{
	uint32_t n = 0, prev = DNS_CACHE_NIL, chained = 0, nfree = 0;

	for (uint32_t b = 0; b <= c->mask; b++)
		for (uint32_t i = c->bucket[b]; i != DNS_CACHE_NIL; i = c->ent[i].hnext)
			if (i >= c->cap || ++chained > c->used ||
			    dns_cache_bucket(c, &c->ent[i].addr) != b)
				return false;
	for (uint32_t i = c->lru_head; i != DNS_CACHE_NIL; i = c->ent[i].next) {
		if (i >= c->cap || c->ent[i].prev != prev || ++n > c->used)
			return false;
		if (dns_cache_find(c, &c->ent[i].addr, dns_cache_bucket(c, &c->ent[i].addr)) != i)
			return false;
		prev = i;
	}
	if (n != c->used || chained != c->used || c->lru_tail != prev)
		return false;
	for (uint32_t i = c->free_head; i != DNS_CACHE_NIL; i = c->ent[i].hnext)
		if (i >= c->cap || ++nfree > c->cap)
			return false;
	return nfree + c->used == c->cap;
}
