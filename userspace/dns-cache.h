/* SPDX-License-Identifier: MIT */
/*
 * dns-cache.h -- a bounded IP -> name cache fed by DNS responses: for each
 * address an answer chain gave, the name the client asked for (the qname).
 * All memory is allocated by dns_cache_new(); nothing is allocated after.
 * Entries hash (seeded by the caller) into chains kept inside one array, and
 * when the cache is full the least recently used entry is evicted.  An entry
 * put at time P with a TTL of T seconds is returned by lookups at any time
 * t < P + max(T, ttl_floor_s) * 1e9 (saturating); at that instant it is
 * stale.  All times are packet times in nanoseconds supplied by the caller,
 * never wall-clock.
 * Not thread-safe: one cache per thread, or external locking.
 */
#ifndef MAILTAP_DNS_CACHE_H
#define MAILTAP_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app-dns.h"
#include "net-addr.h"

#define DNS_CACHE_NAME_LEN 256          /* name slot incl. NUL (DNS_NAME_BUF) */
#define DNS_CACHE_MAX_CAPACITY 0x1000000 /* 16M entries (~5 GB): sanity cap */

struct dns_cache;

struct dns_cache_stats {
	uint64_t inserts;   /* puts of a new address */
	uint64_t updates;   /* puts of an address already cached */
	uint64_t hits;      /* gets that returned a name */
	uint64_t misses;    /* gets that returned NULL (absent or expired) */
	uint64_t expired;   /* entries dropped because their time was up */
	uint64_t evictions; /* live entries dropped to make room (LRU) */
	size_t entries;     /* live + not-yet-reclaimed entries now */
	size_t capacity;
};

/*
 * Returns a new cache holding at most @capacity entries, or NULL with errno
 * set (EINVAL: capacity 0 or above DNS_CACHE_MAX_CAPACITY; ENOMEM).  @seed
 * keys the hash (a per-process random value).  Caller frees with
 * dns_cache_free().
 */
struct dns_cache *dns_cache_new(size_t capacity, uint32_t ttl_floor_s, uint64_t seed);

/* Frees the cache and every name it holds; NULL is a no-op. */
void dns_cache_free(struct dns_cache *c);

/*
 * Map @a to @name (copied; truncated to DNS_CACHE_NAME_LEN - 1 bytes) until
 * now_ns + max(ttl_s, ttl_floor_s) seconds.  Re-putting an address replaces
 * its name and expiry.  Addresses whose family is not NET_ADDR_V4/V6 are
 * ignored.  @a and @name are borrowed for the call.
 */
void dns_cache_put(struct dns_cache *c, const struct net_addr *a, const char *name,
		   uint32_t ttl_s, uint64_t now_ns);

/*
 * The name cached for @a, or NULL when absent or expired at @now_ns (an
 * expired entry is dropped).  A hit makes the entry most recently used.
 * Returns a borrowed pointer, valid until the next dns_cache_put(),
 * dns_cache_learn() or dns_cache_free().
 */
const char *dns_cache_get(struct dns_cache *c, const struct net_addr *a, uint64_t now_ns);

/* Put every answer of @r (borrowed) under r->qname; a response without a
 * question name ("" or ".") teaches nothing. */
void dns_cache_learn(struct dns_cache *c, const struct dns_response *r, uint64_t now_ns);

/* Copy the counters into @out (caller-owned). */
void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out);

/* Walk every internal link and count; true when consistent.  O(capacity),
 * for tests and fuzzers. */
bool dns_cache_check(const struct dns_cache *c);

#endif
