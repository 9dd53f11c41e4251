/* SPDX-License-Identifier: MIT */
/*
 * test-dns-cache.c -- unit tests for the bounded IP -> name cache: put/get,
 * expiry at the exact boundary, the TTL floor, updates, LRU eviction order,
 * capacity 1, v4/v6 keys with equal bytes, learning from a parsed response,
 * and 1e5 inserts into 1000 slots staying bounded and consistent.
 */
#include "dns-cache.h"

#include <errno.h>

#include "check.h"

#define S 1000000000ULL /* ns per second */

static struct net_addr v4(uint32_t x)
{
	uint8_t b[4] = { (uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };
	struct net_addr a;

	net_addr_set_v4(&a, b);
	return a;
}

static struct net_addr addr(const char *s)
{
	struct net_addr a;

	if (net_addr_parse(s, &a))
		memset(&a, 0, sizeof(a));
	return a;
}

static struct dns_cache_stats stats(const struct dns_cache *c)
{
	struct dns_cache_stats st;

	dns_cache_get_stats(c, &st);
	return st;
}

static void test_dns_cache__new_free(void)
{
	errno = 0;
	CHECK(dns_cache_new(0, 0, 1) == NULL);
	CHECK_EQ_I(errno, EINVAL);
	CHECK(dns_cache_new((size_t)DNS_CACHE_MAX_CAPACITY + 1, 0, 1) == NULL);
	dns_cache_free(NULL);
	struct dns_cache *c = dns_cache_new(3, 0, 1);
	CHECK(c != NULL);
	CHECK_EQ_U(stats(c).capacity, 3);
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

static void test_dns_cache__put_get(void)
{
	struct dns_cache *c = dns_cache_new(16, 0, 42);
	struct net_addr a = addr("192.0.2.1"), b = addr("2001:db8::1"), u = { 0 };

	dns_cache_put(c, &a, "mail.example.com", 60, 1 * S);
	dns_cache_put(c, &b, "mx.example.org", 60, 1 * S);
	dns_cache_put(c, &u, "ignored", 60, 1 * S); /* family 0: ignored */
	CHECK_STREQ(dns_cache_get(c, &a, 2 * S), "mail.example.com");
	CHECK_STREQ(dns_cache_get(c, &b, 2 * S), "mx.example.org");
	CHECK(dns_cache_get(c, &u, 2 * S) == NULL);
	struct net_addr other = addr("192.0.2.2");
	CHECK(dns_cache_get(c, &other, 2 * S) == NULL);
	struct dns_cache_stats st = stats(c);
	CHECK_EQ_U(st.inserts, 2);
	CHECK_EQ_U(st.hits, 2);
	CHECK_EQ_U(st.misses, 2);
	CHECK_EQ_U(st.entries, 2);
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

static void test_dns_cache__expiry_boundary(void)
{
	struct dns_cache *c = dns_cache_new(4, 0, 7);
	struct net_addr a = addr("198.51.100.1");
	const uint64_t t0 = 1700000000ULL * S;

	dns_cache_put(c, &a, "x.test", 30, t0);
	CHECK_STREQ(dns_cache_get(c, &a, t0), "x.test");
	CHECK_STREQ(dns_cache_get(c, &a, t0 + 30 * S - 1), "x.test");
	CHECK(dns_cache_get(c, &a, t0 + 30 * S) == NULL); /* exactly at expiry: gone */
	CHECK_EQ_U(stats(c).expired, 1);
	CHECK_EQ_U(stats(c).entries, 0);
	CHECK(dns_cache_get(c, &a, t0) == NULL); /* dropped, even if time goes back */
	CHECK_EQ_U(stats(c).expired, 1);
	CHECK_EQ_U(stats(c).misses, 2);

	/* ttl 0 without a floor: never visible */
	dns_cache_put(c, &a, "x.test", 0, t0);
	CHECK(dns_cache_get(c, &a, t0) == NULL);
	/* huge ttl near the end of time saturates instead of wrapping */
	dns_cache_put(c, &a, "x.test", UINT32_MAX, UINT64_MAX - S);
	CHECK_STREQ(dns_cache_get(c, &a, UINT64_MAX - 1), "x.test");
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

static void test_dns_cache__ttl_floor(void)
{
	struct dns_cache *c = dns_cache_new(4, 300, 7);
	struct net_addr a = addr("198.51.100.1"), b = addr("198.51.100.2");

	dns_cache_put(c, &a, "short.test", 5, 0);
	dns_cache_put(c, &b, "long.test", 600, 0);
	CHECK_STREQ(dns_cache_get(c, &a, 299 * S), "short.test");
	CHECK(dns_cache_get(c, &a, 300 * S) == NULL);
	CHECK_STREQ(dns_cache_get(c, &b, 599 * S), "long.test");
	CHECK(dns_cache_get(c, &b, 600 * S) == NULL);
	dns_cache_free(c);
}

static void test_dns_cache__update(void)
{
	struct dns_cache *c = dns_cache_new(4, 0, 7);
	struct net_addr a = addr("203.0.113.5");

	dns_cache_put(c, &a, "old.test", 10, 0);
	dns_cache_put(c, &a, "new.test", 100, 5 * S);
	CHECK_STREQ(dns_cache_get(c, &a, 50 * S), "new.test"); /* expiry moved too */
	CHECK(dns_cache_get(c, &a, 105 * S) == NULL);
	struct dns_cache_stats st = stats(c);
	CHECK_EQ_U(st.inserts, 1);
	CHECK_EQ_U(st.updates, 1);
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

static void test_dns_cache__lru_order(void)
{
	struct dns_cache *c = dns_cache_new(3, 0, 9);
	struct net_addr a = v4(1), b = v4(2), d = v4(3), e = v4(4), f = v4(5);

	dns_cache_put(c, &a, "a", 100, 0);
	dns_cache_put(c, &b, "b", 100, 0);
	dns_cache_put(c, &d, "d", 100, 0);
	CHECK_STREQ(dns_cache_get(c, &a, S), "a"); /* a is now most recent: b is LRU */
	dns_cache_put(c, &e, "e", 100, S);
	CHECK_EQ_U(stats(c).evictions, 1);
	CHECK(dns_cache_get(c, &b, S) == NULL);
	dns_cache_put(c, &d, "d2", 100, S);        /* update refreshes d: a is LRU */
	dns_cache_put(c, &f, "f", 100, S);
	CHECK_EQ_U(stats(c).evictions, 2);
	CHECK(dns_cache_get(c, &a, S) == NULL);
	CHECK_STREQ(dns_cache_get(c, &d, S), "d2");
	CHECK_STREQ(dns_cache_get(c, &e, S), "e");
	CHECK_STREQ(dns_cache_get(c, &f, S), "f");
	CHECK_EQ_U(stats(c).entries, 3);

	/* an expired LRU victim counts as expired, not as an eviction */
	struct net_addr g = v4(6);
	dns_cache_put(c, &g, "g", 1, 200 * S);
	CHECK_EQ_U(stats(c).evictions, 2);
	CHECK_EQ_U(stats(c).expired, 1);
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

static void test_dns_cache__capacity_one(void)
{
	struct dns_cache *c = dns_cache_new(1, 0, 3);
	struct net_addr a = v4(1), b = v4(2);

	dns_cache_put(c, &a, "a", 100, 0);
	CHECK_STREQ(dns_cache_get(c, &a, 0), "a");
	dns_cache_put(c, &b, "b", 100, 0);
	CHECK(dns_cache_get(c, &a, 0) == NULL);
	CHECK_STREQ(dns_cache_get(c, &b, 0), "b");
	dns_cache_put(c, &b, "b2", 100, 0);
	CHECK_STREQ(dns_cache_get(c, &b, 0), "b2");
	struct dns_cache_stats st = stats(c);
	CHECK_EQ_U(st.evictions, 1);
	CHECK_EQ_U(st.entries, 1);
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

static void test_dns_cache__v4_v6_distinct(void)
{
	static const uint8_t bytes[16] = { 192, 0, 2, 1 };
	struct dns_cache *c = dns_cache_new(8, 0, 3);
	struct net_addr a4, a6, dirty;

	net_addr_set_v4(&a4, bytes);
	net_addr_set_v6(&a6, bytes); /* c000:201:: -- same leading bytes */
	dns_cache_put(c, &a4, "four.test", 100, 0);
	CHECK(dns_cache_get(c, &a6, 0) == NULL);
	dns_cache_put(c, &a6, "six.test", 100, 0);
	CHECK_STREQ(dns_cache_get(c, &a4, 0), "four.test");
	CHECK_STREQ(dns_cache_get(c, &a6, 0), "six.test");
	/* a v4 key with junk past byte 4 and in pad still finds the entry */
	dirty = a4;
	dirty.pad[1] = 7;
	dirty.b[9] = 9;
	CHECK_STREQ(dns_cache_get(c, &dirty, 0), "four.test");
	CHECK_EQ_U(stats(c).entries, 2);
	dns_cache_free(c);
}

static void test_dns_cache__long_name(void)
{
	struct dns_cache *c = dns_cache_new(2, 0, 3);
	struct net_addr a = v4(1);
	char name[400];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	dns_cache_put(c, &a, name, 100, 0);
	CHECK_EQ_U(strlen(dns_cache_get(c, &a, 0)), DNS_CACHE_NAME_LEN - 1);
	dns_cache_free(c);
}

static void test_dns_cache__learn(void)
{
	/* www.example.com CNAME cdn.test, cdn.test A 192.0.2.9 (ttl 30) */
	static const uint8_t msg[] = {
		0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0x00, 0x01, 0x00, 0x01,
		0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x0a, /* CNAME len 10 */
		3, 'c', 'd', 'n', 4, 't', 'e', 's', 't', 0,
		0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x04, /* ->45 A ttl 30 */
		192, 0, 2, 9,
	};
	struct dns_response r;
	struct dns_cache *c = dns_cache_new(8, 0, 3);
	struct net_addr a = addr("192.0.2.9");

	CHECK_EQ_U(dns_response_parse(msg, sizeof(msg), &r), DNS_OK);
	CHECK_EQ_U(r.n_answers, 1);
	dns_cache_learn(c, &r, 10 * S);
	CHECK_STREQ(dns_cache_get(c, &a, 39 * S), "www.example.com"); /* the qname */
	CHECK(dns_cache_get(c, &a, 40 * S) == NULL);
	r.qname[0] = 0;
	dns_cache_learn(c, &r, 50 * S); /* no question: nothing learnt */
	CHECK_EQ_U(stats(c).inserts, 1);
	dns_cache_free(c);
}

static void test_dns_cache__many_bounded(void)
{
	enum { CAP = 1000, N = 100000 };
	struct dns_cache *c = dns_cache_new(CAP, 0, 0x5eed);
	unsigned hits = 0, wrong = 0;
	char name[32];

	for (uint32_t i = 0; i < N; i++) {
		struct net_addr a = v4(0x0a000000 + i);
		snprintf(name, sizeof(name), "h%u.test", i);
		dns_cache_put(c, &a, name, 3600, i);
		if (i % 9973 == 0)
			CHECK(dns_cache_check(c));
	}
	struct dns_cache_stats st = stats(c);
	CHECK_EQ_U(st.entries, CAP);
	CHECK_EQ_U(st.inserts, N);
	CHECK_EQ_U(st.evictions, N - CAP);
	CHECK(dns_cache_check(c));
	/* exactly the last CAP addresses survive, each with its own name */
	for (uint32_t i = 0; i < N; i++) {
		struct net_addr a = v4(0x0a000000 + i);
		const char *got = dns_cache_get(c, &a, N);
		snprintf(name, sizeof(name), "h%u.test", i);
		if (got) {
			hits++;
			if (i < N - CAP || strcmp(got, name))
				wrong++;
		}
	}
	CHECK_EQ_U(hits, CAP);
	CHECK_EQ_U(wrong, 0);
	/* everything expires; reclaim keeps the structure consistent */
	for (uint32_t i = N - CAP; i < N; i++) {
		struct net_addr a = v4(0x0a000000 + i);
		CHECK(dns_cache_get(c, &a, 3601 * S) == NULL);
	}
	CHECK_EQ_U(stats(c).entries, 0);
	CHECK_EQ_U(stats(c).expired, CAP);
	CHECK(dns_cache_check(c));
	dns_cache_free(c);
}

int main(void)
{
	RUN(test_dns_cache__new_free);
	RUN(test_dns_cache__put_get);
	RUN(test_dns_cache__expiry_boundary);
	RUN(test_dns_cache__ttl_floor);
	RUN(test_dns_cache__update);
	RUN(test_dns_cache__lru_order);
	RUN(test_dns_cache__capacity_one);
	RUN(test_dns_cache__v4_v6_distinct);
	RUN(test_dns_cache__long_name);
	RUN(test_dns_cache__learn);
	RUN(test_dns_cache__many_bounded);
	return CHECK_DONE();
}
